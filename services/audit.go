package services

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"refit/models"
)

// Audit keeps the audit log: logins, logouts, updates, toggles, checks,
// token and user changes.
type Audit struct {
	db        *gorm.DB
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration // 0 keeps everything

	mu        sync.Mutex
	lastPrune time.Time
}

// NewAudit returns an Audit over db. now is the clock; nil means time.Now.
func NewAudit(db *gorm.DB, log *slog.Logger, now func() time.Time) *Audit {
	if now == nil {
		now = time.Now
	}
	return &Audit{db: db, log: log, now: now}
}

// KeepFor makes the log drop entries older than d (0, the default, keeps
// them all) and returns a.
func (a *Audit) KeepFor(d time.Duration) *Audit {
	a.retention = d
	return a
}

// Record adds one entry, stamped now when e.At is zero. A failure to write
// is logged, not returned: the action it records has already happened.
func (a *Audit) Record(e models.AuditEntry) {
	if e.At.IsZero() {
		e.At = a.now()
	}
	e.At = e.At.UTC() // stored as text: one zone keeps them in order
	a.prune(e.At)
	if e.Result == "" {
		e.Result = "ok"
	}
	// Most of these come from the client (a failed login's user name, a
	// path): bounded, so that nobody can fill the disk or the admin's page.
	e.Actor, e.Action, e.Addr = clip(e.Actor, maxAuditName), clip(e.Action, maxAuditName), clip(e.Addr, maxAuditName)
	e.Target, e.Result = clip(e.Target, maxAuditText), clip(e.Result, maxAuditText)
	e.ID = 0
	if err := a.db.Create(&e).Error; err != nil {
		a.log.Error("audit log write failed", "action", e.Action, "actor", e.Actor, "error", err)
	}
}

// MaxAuditLimit is the most entries one read of the audit log returns.
const MaxAuditLimit = 500

// The longest actor, action and address, and the longest target and
// result, an audit entry keeps, in bytes.
const (
	maxAuditName = 100
	maxAuditText = 300
)

// AuditQuery selects a page of the audit log, newest first.
type AuditQuery struct {
	// Limit is how many entries: 100 when 0, at most MaxAuditLimit.
	Limit int
	// Before, when set, returns the entries older than the one with this
	// ID: the next page down.
	Before uint
	// After, when set and Before is not, returns the entries just newer
	// than the one with this ID: the page up.
	After uint
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Entries []models.AuditEntry // newest first
	// Older and Newer report whether there are entries past each end.
	Older, Newer bool
}

// List returns the page of the audit log q asks for. Pages go by ID, not
// by offset, so that entries written meanwhile do not shift them.
func (a *Audit) List(q AuditQuery) (AuditPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxAuditLimit)
	tx := a.db.Limit(limit + 1) // one more says whether the page has a further side
	switch {
	case q.Before > 0:
		tx = tx.Where("id < ?", q.Before).Order("id desc")
	case q.After > 0:
		tx = tx.Where("id > ?", q.After).Order("id asc")
	default:
		tx = tx.Order("id desc")
	}
	var es []models.AuditEntry
	if err := tx.Find(&es).Error; err != nil {
		return AuditPage{}, fmt.Errorf("read audit log: %w", err)
	}
	more := len(es) > limit
	es = es[:min(len(es), limit)]
	p := AuditPage{Entries: es}
	if q.Before == 0 && q.After > 0 {
		slices.Reverse(es)
		p.Newer, p.Older = more, true
	} else {
		p.Older, p.Newer = more, q.Before > 0
	}
	if p.Entries == nil {
		p.Entries = []models.AuditEntry{}
	}
	return p, nil
}

// Recent returns up to limit entries, newest first (see AuditQuery.Limit).
func (a *Audit) Recent(limit int) ([]models.AuditEntry, error) {
	p, err := a.List(AuditQuery{Limit: limit})
	return p.Entries, err
}

// clip cuts s to at most n bytes, on a character boundary, and marks the
// cut with the number of bytes left out.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(0, n-len(fmt.Sprintf("…(+%d bytes)", len(s))))
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(+%d bytes)", len(s)-cut)
}

// prune deletes entries past the retention, at most once an hour: the log
// is written rarely, so pruning on write needs no timer of its own.
func (a *Audit) prune(now time.Time) {
	if a.retention <= 0 {
		return
	}
	a.mu.Lock()
	if !a.lastPrune.IsZero() && now.Sub(a.lastPrune) < time.Hour && !now.Before(a.lastPrune) {
		a.mu.Unlock()
		return
	}
	a.lastPrune = now
	a.mu.Unlock()
	res := a.db.Where("at < ?", now.Add(-a.retention).UTC()).Delete(&models.AuditEntry{})
	if res.Error != nil {
		a.log.Error("audit log prune failed", "error", res.Error)
	} else if res.RowsAffected > 0 {
		a.log.Info("audit log pruned", "entries", res.RowsAffected, "older_than", a.retention)
	}
}
