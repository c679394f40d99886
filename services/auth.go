package services

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/sessions"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"refit/models"
)

// AnonymousName is who everyone is when auth is off.
const AnonymousName = "anonymous"

// AuthOptions configure Auth. The zero value is auth on with the defaults.
type AuthOptions struct {
	// Disabled turns auth off: every request acts as an admin named
	// "anonymous". REFIT_AUTH=off.
	Disabled bool
	// SessionIdle ends a session nobody used for this long; default 24h.
	SessionIdle time.Duration
	// SessionMax ends a session this long after login; default 30 days.
	SessionMax time.Duration
	// CookieSecure always marks the session cookie Secure. It is marked
	// anyway when the request came over TLS.
	CookieSecure bool
	// TrustedOrigins are origins besides the request's own host that may
	// send unsafe requests (a reverse proxy's public URL), e.g.
	// "https://refit.example.com".
	TrustedOrigins []string
	// BcryptCost is the cost of new password hashes; default 12.
	BcryptCost int
	// MaxFailures is how many failed logins of one user from one client
	// address within FailureWindow refuse further attempts from there;
	// default 5.
	MaxFailures int
	// MaxAddrFailures is the same for one client address, whatever the
	// user; default 20.
	MaxAddrFailures int
	// FailureWindow is how long a failed login counts; default 15m.
	FailureWindow time.Duration
	// FailureDelay is how much longer every login of a user waits for each
	// of the user's failures in the window, from any address; default
	// 250ms, negative for none.
	FailureDelay time.Duration
	// MaxFailureDelay caps that wait; default 3s.
	MaxFailureDelay time.Duration
	// Sleep waits that long; default time.Sleep.
	Sleep func(time.Duration)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Auth is users, sessions, API tokens and login throttling. It records what
// it does in the audit log.
type Auth struct {
	db       *gorm.DB
	audit    *Audit
	log      *slog.Logger
	opts     AuthOptions
	store    *SessionStore
	throttle *throttle

	dummyOnce sync.Once
	dummyHash []byte
}

// NewAuth returns Auth over db, creating the session keys on first start.
func NewAuth(db *gorm.DB, audit *Audit, log *slog.Logger, opts AuthOptions) (*Auth, error) {
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 24 * time.Hour
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = 30 * 24 * time.Hour
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = 12
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.MaxAddrFailures <= 0 {
		opts.MaxAddrFailures = 20
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = 15 * time.Minute
	}
	if opts.FailureDelay == 0 {
		opts.FailureDelay = 250 * time.Millisecond
	}
	if opts.MaxFailureDelay <= 0 {
		opts.MaxFailureDelay = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = time.Sleep
	}
	store, err := newSessionStore(db, opts.SessionIdle, opts.SessionMax, opts.CookieSecure, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("session keys: %w", err)
	}
	return &Auth{db: db, audit: audit, log: log, opts: opts, store: store,
		throttle: newThrottle(opts.FailureWindow, opts.MaxFailures, opts.MaxAddrFailures, opts.FailureDelay, opts.MaxFailureDelay)}, nil
}

// Enabled reports whether requests need a session or a token.
func (a *Auth) Enabled() bool { return !a.opts.Disabled }

// TrustedOrigin reports whether origin (scheme://host[:port]) was
// configured as trusted besides the request's own host.
func (a *Auth) TrustedOrigin(origin string) bool {
	for _, o := range a.opts.TrustedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// Bootstrap runs at start. With auth off it warns. With auth on and no user
// yet it creates an admin: adminUser (default "admin") with adminPassword,
// or with a generated password that it logs this once.
func (a *Auth) Bootstrap(adminUser, adminPassword string) error {
	if !a.Enabled() {
		a.log.Warn("auth is off (REFIT_AUTH=off): anyone who can reach refit acts as an admin")
		return nil
	}
	var n int64
	if err := a.db.Model(&models.User{}).Count(&n).Error; err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		if adminPassword != "" {
			a.log.Info("REFIT_ADMIN_PASSWORD ignored: users exist (use refit user passwd)")
		}
		return nil
	}
	if adminUser == "" {
		adminUser = "admin"
	}
	generated := adminPassword == ""
	if generated {
		adminPassword = rand.Text()
	}
	by := models.Principal{Name: "refit", Via: models.ViaCLI, Addr: "local"}
	u, err := a.AddUser(by, adminUser, adminPassword, models.RoleAdmin)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if generated {
		// The one secret refit ever logs: there is no other way to hand it over.
		a.log.Warn("FIRST START: created admin user with a generated password, shown only this once; sign in and change it",
			"user", u.Name, "password", adminPassword)
	} else {
		a.log.Info("first start: created admin user from REFIT_ADMIN_USER/REFIT_ADMIN_PASSWORD", "user", u.Name)
	}
	return nil
}

// Authenticate returns who the request acts as: the owner of its bearer
// token, or of its session cookie. Returns an error wrapping
// models.ErrUnauthorized when it has neither or they are not valid.
func (a *Auth) Authenticate(r *http.Request) (models.Principal, error) {
	if !a.Enabled() {
		return models.Principal{Name: AnonymousName, Role: models.RoleAdmin, Via: models.ViaOff, Addr: r.RemoteAddr}, nil
	}
	if tok, ok := BearerToken(r.Header.Get("Authorization")); ok {
		return a.tokenPrincipal(tok, r.RemoteAddr)
	}
	sess, err := a.store.Get(r, CookieName)
	if err != nil {
		return models.Principal{}, err
	}
	uid, _ := sess.Values[keyUserID].(uint)
	csrf, _ := sess.Values[keyCSRF].(string)
	var u models.User
	if err := a.db.Take(&u, uid).Error; err != nil {
		return models.Principal{}, fmt.Errorf("session user %d: %w", uid, models.ErrUnauthorized)
	}
	return models.Principal{UserID: u.ID, Name: u.Name, Role: u.Role, Via: models.ViaSession, CSRFToken: csrf, Addr: r.RemoteAddr}, nil
}

// BearerToken returns the token of an "Authorization: Bearer …" header.
// Other schemes are not refit's (a proxy's basic auth) and are ignored.
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// Login checks the credentials and starts a new session, whose cookie it
// sets on w. Any session the request had is ended first, so a session ID
// planted before login is worthless. Returns models.ErrInvalidCredentials
// or models.ErrTooManyAttempts.
func (a *Auth) Login(w http.ResponseWriter, r *http.Request, name, pass string) (models.Principal, error) {
	name = clip(normalizeName(name), maxAuditName) // the client's choice: it goes into the throttle and the audit log
	addr := r.RemoteAddr
	if !a.Enabled() {
		return a.Authenticate(r)
	}
	now := a.opts.Now()
	if wait := a.throttle.blocked(name, addr, now); wait > 0 {
		if a.throttle.firstRefusal(name, addr, now) { // one line per client and window, or 429s would fill the log
			a.audit.Record(models.AuditEntry{Actor: name, Action: models.AuditLoginFailed, Result: "too many attempts", Addr: addr})
		}
		return models.Principal{}, &models.RetryLater{Err: models.ErrTooManyAttempts, After: wait}
	}
	a.opts.Sleep(a.throttle.delay(name, now))
	u, err := a.verify(name, pass)
	if err != nil {
		if errors.Is(err, models.ErrInvalidCredentials) {
			a.throttle.fail(name, addr, now)
			a.audit.Record(models.AuditEntry{Actor: name, Action: models.AuditLoginFailed, Result: "invalid credentials", Addr: addr})
		}
		return models.Principal{}, err
	}
	a.throttle.reset(name, addr)
	if old, err := a.store.Get(r, CookieName); err == nil && !old.IsNew {
		if err := a.store.delete(old.ID); err != nil {
			return models.Principal{}, err
		}
	}
	sess := sessions.NewSession(a.store, CookieName)
	sess.Options = a.store.options(r)
	sess.IsNew = true
	sess.Values[keyUserID] = u.ID
	sess.Values[keyCSRF] = newSecret(32)
	if err := a.store.Save(r, w, sess); err != nil {
		return models.Principal{}, err
	}
	if err := a.db.Model(&u).Update("last_login_at", now.UTC()).Error; err != nil {
		a.log.Warn("recording last login failed", "user", u.Name, "error", err)
	}
	a.audit.Record(models.AuditEntry{Actor: u.Name, Action: models.AuditLogin, Addr: addr})
	return models.Principal{UserID: u.ID, Name: u.Name, Role: u.Role, Via: models.ViaSession,
		CSRFToken: sess.Values[keyCSRF].(string), Addr: addr}, nil
}

// Logout ends the request's session, server side too, and sets an expired
// cookie on w. p is who logs out, for the audit log.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request, p models.Principal) error {
	sess, _ := a.store.Get(r, CookieName) // a new, empty session when there is none
	sess.Options.MaxAge = -1
	if err := a.store.Save(r, w, sess); err != nil {
		return err
	}
	if a.Enabled() {
		a.audit.Record(models.AuditEntry{Actor: p.Name, Action: models.AuditLogout, Addr: p.Addr})
	}
	return nil
}

// ClearCookie sets an expired session cookie on w, for a request whose
// cookie no longer names a live session.
func (a *Auth) ClearCookie(w http.ResponseWriter, r *http.Request) {
	opts := a.store.options(r)
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(CookieName, "", opts))
}

// verify returns the user whose name and password these are. An unknown
// user costs a bcrypt comparison too, so timing does not tell which names
// exist.
func (a *Auth) verify(name, pass string) (models.User, error) {
	var u models.User
	err := gorm.ErrRecordNotFound
	if validName(name) == nil {
		err = a.db.Take(&u, "name = ?", name).Error
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(a.dummy(), []byte(pass))
		return u, models.ErrInvalidCredentials
	}
	if err != nil {
		return u, fmt.Errorf("load user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pass)) != nil {
		return u, models.ErrInvalidCredentials
	}
	return u, nil
}

func (a *Auth) dummy() []byte {
	a.dummyOnce.Do(func() {
		a.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(rand.Text()), a.opts.BcryptCost)
	})
	return a.dummyHash
}

// Users lists every user by name.
func (a *Auth) Users() ([]models.User, error) {
	out := []models.User{}
	if err := a.db.Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// AddUser creates a user. Names are lower-cased. Returns errors wrapping
// models.ErrInvalid for a bad name, role or password, and
// models.ErrUserExists.
func (a *Auth) AddUser(by models.Principal, name, pass string, role models.Role) (models.User, error) {
	name = normalizeName(name)
	if err := validName(name); err != nil {
		return models.User{}, err
	}
	if _, err := models.ParseRole(string(role)); err != nil {
		return models.User{}, err
	}
	hash, err := a.hash(name, pass)
	if err != nil {
		return models.User{}, err
	}
	u := models.User{Name: name, Role: role, PasswordHash: hash}
	err = a.db.Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.User{}).Where("name = ?", name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return models.ErrUserExists
		}
		return tx.Create(&u).Error
	})
	a.record(by, models.AuditUserAdd, name+" ("+string(role)+")", err)
	if err != nil {
		return models.User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	return u, nil
}

// SetPassword sets a user's password and ends the user's sessions, unless
// the user sets their own.
func (a *Auth) SetPassword(by models.Principal, name, pass string) error {
	name = normalizeName(name)
	hash, err := a.hash(name, pass)
	if err != nil {
		return err
	}
	err = a.db.Transaction(func(tx *gorm.DB) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if err := tx.Model(&u).Update("password_hash", hash).Error; err != nil {
			return err
		}
		if u.ID == by.UserID {
			return nil
		}
		return a.store.deleteUser(tx, u.ID)
	})
	a.record(by, models.AuditUserPassword, name, err)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	return nil
}

// ChangePassword sets p's own password after checking the current one, and
// ends every session of p's user, the one p came with too; API tokens stay
// valid. A wrong current password counts against the login throttle.
// Returns an error wrapping models.ErrForbidden unless p is a user,
// models.ErrInvalidCredentials, a *models.RetryLater wrapping
// models.ErrTooManyAttempts, or an error wrapping models.ErrInvalid for a
// new password the rules refuse.
func (a *Auth) ChangePassword(p models.Principal, current, next string) error {
	err := a.changePassword(p, current, next)
	a.record(p, models.AuditUserPassword, p.Name, err)
	return err
}

func (a *Auth) changePassword(p models.Principal, current, next string) error {
	if p.UserID == 0 {
		return fmt.Errorf("%w: only a signed-in user has a password to change", models.ErrForbidden)
	}
	now := a.opts.Now()
	if wait := a.throttle.blocked(p.Name, p.Addr, now); wait > 0 {
		return &models.RetryLater{Err: models.ErrTooManyAttempts, After: wait}
	}
	if err := checkPassword(p.Name, next); err != nil { // before the current one: a typo costs no attempt
		return err
	}
	a.opts.Sleep(a.throttle.delay(p.Name, now))
	u, err := a.verify(p.Name, current)
	if err != nil {
		if errors.Is(err, models.ErrInvalidCredentials) {
			a.throttle.fail(p.Name, p.Addr, now)
		}
		return err
	}
	hash, err := a.hash(p.Name, next)
	if err != nil {
		return err
	}
	err = a.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&u).Update("password_hash", hash).Error; err != nil {
			return err
		}
		return a.store.deleteUser(tx, u.ID)
	})
	if err != nil {
		return fmt.Errorf("change password of %q: %w", p.Name, err)
	}
	a.throttle.reset(p.Name, p.Addr)
	return nil
}

// SetRole changes a user's role. Returns models.ErrLastAdmin when that
// would leave no admin.
func (a *Auth) SetRole(by models.Principal, name string, role models.Role) error {
	name = normalizeName(name)
	if _, err := models.ParseRole(string(role)); err != nil {
		return err
	}
	err := a.db.Transaction(func(tx *gorm.DB) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if u.Role == models.RoleAdmin && role != models.RoleAdmin {
			if err := otherAdmin(tx, u.ID); err != nil {
				return err
			}
		}
		return tx.Model(&u).Update("role", role).Error
	})
	a.record(by, models.AuditUserRole, name+" → "+string(role), err)
	if err != nil {
		return fmt.Errorf("set role of %q: %w", name, err)
	}
	return nil
}

// UpdateUser changes a user's role, password or both; an empty value stays
// as it is. The password is checked before anything changes.
func (a *Auth) UpdateUser(by models.Principal, name string, role models.Role, pass string) error {
	if role == "" && pass == "" {
		return fmt.Errorf(`%w: set "role", "pass" or both`, models.ErrInvalid)
	}
	if pass != "" {
		if err := checkPassword(normalizeName(name), pass); err != nil {
			return err
		}
	}
	if role != "" {
		if err := a.SetRole(by, name, role); err != nil {
			return err
		}
	}
	if pass != "" {
		return a.SetPassword(by, name, pass)
	}
	return nil
}

// RemoveUser deletes a user with their sessions and tokens. Returns
// models.ErrLastAdmin for the last admin.
func (a *Auth) RemoveUser(by models.Principal, name string) error {
	name = normalizeName(name)
	err := a.db.Transaction(func(tx *gorm.DB) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if u.Role == models.RoleAdmin {
			if err := otherAdmin(tx, u.ID); err != nil {
				return err
			}
		}
		if err := a.store.deleteUser(tx, u.ID); err != nil {
			return err
		}
		if err := tx.Delete(&models.APIToken{}, "user_id = ?", u.ID).Error; err != nil {
			return err
		}
		return tx.Delete(&u).Error
	})
	a.record(by, models.AuditUserRemove, name, err)
	if err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	return nil
}

// record writes what by did to the audit log, with err's text as the result.
func (a *Auth) record(by models.Principal, action, target string, err error) {
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	a.audit.Record(models.AuditEntry{Actor: by.Name, Action: action, Target: target, Result: result, Addr: by.Addr})
}

// hash checks the password rules for the user named name and returns the
// bcrypt hash.
func (a *Auth) hash(name, pass string) (string, error) {
	if err := checkPassword(name, pass); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pass), a.opts.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

func findUser(tx *gorm.DB, name string) (models.User, error) {
	var u models.User
	err := tx.Take(&u, "name = ?", name).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, models.ErrUserNotFound
	}
	return u, err
}

// otherAdmin returns models.ErrLastAdmin unless an admin other than id exists.
func otherAdmin(tx *gorm.DB, id uint) error {
	var n int64
	if err := tx.Model(&models.User{}).Where("role = ? AND id <> ?", models.RoleAdmin, id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return models.ErrLastAdmin
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

func normalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: user name must be 1 to 64 of a-z, 0-9 and . _ @ - (starting with a letter or digit)", models.ErrInvalid)
	}
	return nil
}
