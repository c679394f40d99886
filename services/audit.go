package services

import (
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"refit/models"
)

// Audit keeps the audit log: logins, logouts, updates, toggles, checks,
// token and user changes.
type Audit struct {
	db  *gorm.DB
	log *slog.Logger
	now func() time.Time
}

// NewAudit returns an Audit over db. now is the clock; nil means time.Now.
func NewAudit(db *gorm.DB, log *slog.Logger, now func() time.Time) *Audit {
	if now == nil {
		now = time.Now
	}
	return &Audit{db: db, log: log, now: now}
}

// Record adds one entry, stamped now when e.At is zero. A failure to write
// is logged, not returned: the action it records has already happened.
func (a *Audit) Record(e models.AuditEntry) {
	if e.At.IsZero() {
		e.At = a.now()
	}
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
