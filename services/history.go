package services

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// History records finished updates.
type History struct {
	db  *gorm.DB
	aud *Audit
}

// NewHistory returns a History over db.
func NewHistory(db *gorm.DB) *History { return &History{db: db} }

// AuditTo makes every record also an audit entry: the request that started
// an update is audited when it is accepted, this says how each container's
// update really ended.
func (h *History) AuditTo(aud *Audit) *History {
	h.aud = aud
	return h
}

// Add stores one record.
func (h *History) Add(r models.UpdateRecord) error {
	if err := h.db.Create(&r).Error; err != nil {
		return fmt.Errorf("record update: %w", err)
	}
	if h.aud != nil {
		result := r.Result
		if r.Error != "" {
			result += ": " + r.Error
		}
		h.aud.Record(models.AuditEntry{Actor: r.By, Action: models.AuditUpdateResult, Target: r.Container, Result: result})
	}
	return nil
}

// writeProbe is the one row Writable rewrites to learn whether the database
// still takes writes.
type writeProbe struct {
	ID uint `gorm:"primaryKey"`
	At time.Time
}

// Writable writes to the database and reports why it could not, so an
// update is refused before it runs rather than run without a record (a
// full disk, a read-only mount). The error wraps models.ErrUnavailable.
func (h *History) Writable() error {
	err := h.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&writeProbe{ID: 1, At: time.Now()}).Error
	if err == nil {
		return nil
	}
	reason := "write failed"
	switch msg := strings.ToLower(err.Error()); {
	case strings.Contains(msg, "full"):
		reason = "disk is full"
	case strings.Contains(msg, "readonly"), strings.Contains(msg, "read-only"):
		reason = "read-only"
	}
	return fmt.Errorf("%w (%v)", models.NewKind("database not writable: "+reason+"; updates are refused until it is", models.ErrUnavailable), err)
}

// Recent returns up to limit records, newest first.
func (h *History) Recent(limit int) ([]models.UpdateRecord, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	out := []models.UpdateRecord{}
	if err := h.db.Order("started_at desc, id desc").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}
