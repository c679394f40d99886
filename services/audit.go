package services

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

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
	e.ID = 0
	if err := a.db.Create(&e).Error; err != nil {
		a.log.Error("audit log write failed", "action", e.Action, "actor", e.Actor, "error", err)
	}
}

// Recent returns up to limit entries, newest first (100 when limit is not
// between 1 and 1000).
func (a *Audit) Recent(limit int) ([]models.AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	out := []models.AuditEntry{}
	if err := a.db.Order("at desc, id desc").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
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
