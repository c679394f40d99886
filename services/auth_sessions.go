package services

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// CookieName is the name of the session cookie.
const CookieName = "refit_session"

// The session values refit keeps.
const (
	keyUserID = "uid"
	keyCSRF   = "csrf"
)

var (
	errNoSession      = fmt.Errorf("no session: %w", models.ErrUnauthorized)
	errBadSession     = fmt.Errorf("session cookie does not verify: %w", models.ErrUnauthorized)
	errUnknownSession = fmt.Errorf("session unknown or ended: %w", models.ErrUnauthorized)
	errExpiredSession = fmt.Errorf("session expired: %w", models.ErrUnauthorized)
)

// authSecret is a key generated on first start and kept in the database, so
// sessions survive a restart.
type authSecret struct {
	Name  string `gorm:"primaryKey"`
	Value []byte `gorm:"not null"`
}

// secret returns the named key, creating it with size random bytes the first
// time. Insert-or-ignore then read: two processes starting at once agree.
func secret(db *gorm.DB, name string, size int) ([]byte, error) {
	row := authSecret{Name: name, Value: securecookie.GenerateRandomKey(size)}
	if row.Value == nil {
		return nil, fmt.Errorf("generate %s: no randomness", name)
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}
	var got authSecret
	if err := db.Take(&got, "name = ?", name).Error; err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return got.Value, nil
}

// SessionStore is a gorilla/sessions Store backed by the sessions table. The
// cookie carries the session ID, signed and encrypted with securecookie; the
// table keys rows by the ID's SHA-256 and holds the values, encoded with the
// same keys. Sessions end after an idle time and after an absolute maximum.
type SessionStore struct {
	db     *gorm.DB
	codecs []securecookie.Codec
	idle   time.Duration
	max    time.Duration
	secure bool
	now    func() time.Time

	mu        sync.Mutex
	lastPurge time.Time
}

func newSessionStore(db *gorm.DB, idle, max time.Duration, secure bool, now func() time.Time) (*SessionStore, error) {
	hashKey, err := secret(db, "session-hash-key", 64)
	if err != nil {
		return nil, err
	}
	blockKey, err := secret(db, "session-block-key", 32)
	if err != nil {
		return nil, err
	}
	sc := securecookie.New(hashKey, blockKey)
	// The table decides expiry with the injected clock; this only stops a
	// cookie older than any session could be.
	sc.MaxAge(int((max + time.Hour) / time.Second))
	return &SessionStore{db: db, codecs: []securecookie.Codec{sc}, idle: idle, max: max, secure: secure, now: now}, nil
}

// options are the cookie attributes: HttpOnly, SameSite=Lax, and Secure
// when configured or when the request came over TLS.
func (s *SessionStore) options(r *http.Request) *sessions.Options {
	return &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure || r.TLS != nil}
}

// Get returns the request's session, cached for the rest of the request.
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New returns the session the request's cookie names, or a new empty one
// with an error wrapping models.ErrUnauthorized when the cookie is missing,
// forged, unknown or expired.
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.options(r)
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return sess, errNoSession
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return sess, errBadSession
	}
	row, err := s.load(id)
	if err != nil {
		return sess, err
	}
	if err := securecookie.DecodeMulti(name, row.Data, &sess.Values, s.codecs...); err != nil {
		return sess, errBadSession
	}
	sess.ID = id
	sess.IsNew = false
	return sess, nil
}

// Save stores the session and sets its cookie. A session without an ID gets
// a new random one; Options.MaxAge < 0 deletes the row and expires the
// cookie.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.delete(sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	now := s.now().UTC()
	data, err := securecookie.EncodeMulti(sess.Name(), sess.Values, s.codecs...)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	uid, _ := sess.Values[keyUserID].(uint)
	expires := now.Add(s.max)
	if sess.ID == "" {
		sess.ID = newSecret(32)
		row := models.Session{IDHash: hashSecret(sess.ID), UserID: uid, Data: data,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: expires}
		if err := s.db.Create(&row).Error; err != nil {
			return fmt.Errorf("create session: %w", err)
		}
	} else {
		var row models.Session
		if err := s.db.Take(&row, "id_hash = ?", hashSecret(sess.ID)).Error; err != nil {
			return fmt.Errorf("save session: %w", errUnknownSession)
		}
		expires = row.ExpiresAt
		if err := s.db.Model(&row).Updates(map[string]any{"data": data, "user_id": uid, "last_seen_at": now}).Error; err != nil {
			return fmt.Errorf("save session: %w", err)
		}
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return fmt.Errorf("encode session cookie: %w", err)
	}
	opts := *sess.Options
	opts.MaxAge = int(expires.Sub(now) / time.Second)
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, &opts))
	return nil
}

// load returns the live row of session id, deleting it when it has expired
// and marking it seen (at most once a minute, so polling does not write on
// every request).
func (s *SessionStore) load(id string) (models.Session, error) {
	now := s.now().UTC()
	s.purge(now)
	var row models.Session
	err := s.db.Take(&row, "id_hash = ?", hashSecret(id)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, errUnknownSession
	}
	if err != nil {
		return row, fmt.Errorf("load session: %w", err)
	}
	if now.After(row.ExpiresAt) || now.Sub(row.LastSeenAt) > s.idle {
		if err := s.delete(id); err != nil {
			return row, err
		}
		return row, errExpiredSession
	}
	if now.Sub(row.LastSeenAt) >= min(time.Minute, s.idle/10) {
		if err := s.db.Model(&row).Update("last_seen_at", now).Error; err != nil {
			return row, fmt.Errorf("touch session: %w", err)
		}
	}
	return row, nil
}

func (s *SessionStore) delete(id string) error {
	if err := s.db.Delete(&models.Session{}, "id_hash = ?", hashSecret(id)).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// deleteUser ends every session of a user.
func (s *SessionStore) deleteUser(db *gorm.DB, userID uint) error {
	if err := db.Delete(&models.Session{}, "user_id = ?", userID).Error; err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// purge deletes expired rows, at most every ten minutes: sessions nobody
// comes back to would otherwise stay forever.
func (s *SessionStore) purge(now time.Time) {
	s.mu.Lock()
	if !s.lastPurge.IsZero() && now.Sub(s.lastPurge) < 10*time.Minute && !now.Before(s.lastPurge) {
		s.mu.Unlock()
		return
	}
	s.lastPurge = now
	s.mu.Unlock()
	// Times are stored in UTC, so SQLite's text comparison orders them.
	s.db.Where("expires_at < ? OR last_seen_at < ?", now, now.Add(-s.idle)).Delete(&models.Session{})
}

// newSecret returns n random bytes as unpadded base64url.
func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is what the database keeps of a session ID or an API token.
// A plain SHA-256 is enough for 32 random bytes: there is nothing to guess.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
