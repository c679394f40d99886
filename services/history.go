package services

import (
	"fmt"

	"gorm.io/gorm"

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
