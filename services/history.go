package services

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// History records finished updates.
type History struct {
	db        *gorm.DB
	aud       *Audit
	hostNames bool // audit targets are host/name: refit has several hosts
	observe   []func(models.UpdateRecord)

	mu      sync.Mutex
	problem string // why the last write failed, "" once one succeeds
	// moved is each container's last move onto a newer tag, read from the
	// records once and kept up by Add; nil until first asked.
	moved map[models.ContainerRef]models.UpdateRecord
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

// NameHosts makes audit entries name their container as host/name, which
// refit does when it has several hosts.
func (h *History) NameHosts(on bool) *History {
	h.hostNames = on
	return h
}

// Observe makes every record also reach f, stored or not; metrics count
// updates here, where each one ends exactly once, and notifications start
// here. Each call adds one.
func (h *History) Observe(f func(models.UpdateRecord)) *History {
	h.observe = append(h.observe, f)
	return h
}

// Add stores one record. A record that names no host belongs to
// models.LocalHost.
func (h *History) Add(r models.UpdateRecord) error {
	if r.Host == "" {
		r.Host = models.LocalHost
	}
	for _, f := range h.observe {
		f(r)
	}
	if err := h.db.Create(&r).Error; err != nil {
		h.setProblem(unwritable(err))
		return fmt.Errorf("record update: %w", err)
	}
	if r.FromImage != "" && r.Result == models.ResultUpdated {
		h.mu.Lock()
		if h.moved != nil {
			h.moved[models.Ref(r.Host, r.Container)] = r
		}
		h.mu.Unlock()
	}
	// A failed container's lines are kept until its next update: they
	// explain the last outcome, not the history.
	if err := h.db.Model(&models.UpdateRecord{}).Where("host = ? AND container = ? AND id <> ? AND logs <> ''",
		r.Host, r.Container, r.ID).Update("logs", "").Error; err != nil {
		return fmt.Errorf("record update: %w", err)
	}
	if h.aud != nil {
		result := r.Result
		if r.Error != "" {
			result += ": " + r.Error
		}
		target := r.Container
		if h.hostNames {
			target = models.Ref(r.Host, r.Container).String()
		}
		h.aud.Record(models.AuditEntry{Actor: r.By, Action: models.AuditUpdateResult, Target: target, Result: result})
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
		h.setProblem(nil)
		return nil
	}
	k := unwritable(err)
	h.setProblem(k)
	return fmt.Errorf("%w (%v)", k, err)
}

// unwritable is the public form of a failed write: the reason without paths.
func unwritable(err error) *models.Kind {
	reason := "write failed"
	switch msg := strings.ToLower(err.Error()); {
	case strings.Contains(msg, "full"):
		reason = "disk is full"
	case strings.Contains(msg, "readonly"), strings.Contains(msg, "read-only"):
		reason = "read-only"
	}
	return models.NewKind("database not writable: "+reason+"; updates are refused until it is", models.ErrUnavailable)
}

func (h *History) setProblem(k *models.Kind) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.problem = ""
	if k != nil {
		h.problem = k.Error()
	}
}

// Problem says why the database took no write last time it was tried, or ""
// when it did; the dashboard shows it.
func (h *History) Problem() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.problem
}

// LatestFor returns the newest record of the container that started at or
// after since; ok is false when there is none.
func (h *History) LatestFor(ref models.ContainerRef, since time.Time) (rec models.UpdateRecord, ok bool, err error) {
	res := h.db.Where("host = ? AND container = ? AND started_at >= ?", ref.Host, ref.Name, since).Order("started_at desc, id desc").Limit(1).Find(&rec)
	if res.Error != nil {
		return rec, false, fmt.Errorf("read history: %w", res.Error)
	}
	return rec, res.RowsAffected > 0, nil
}

// CrashLogs returns the newest record of the container when it kept the
// lines of a new container that failed; ok is false when it did not.
func (h *History) CrashLogs(ref models.ContainerRef) (rec models.UpdateRecord, ok bool, err error) {
	rec, ok, err = h.LatestFor(ref, time.Time{})
	return rec, ok && rec.Logs != "", err
}

// Recent returns up to limit records, newest first.
func (h *History) Recent(limit int) ([]models.UpdateRecord, error) {
	return h.Find(models.HistoryFilter{Limit: limit})
}

// Find returns the records f selects, newest first; an outcome that is
// none of models.Results is refused with models.ErrInvalid.
func (h *History) Find(f models.HistoryFilter) ([]models.UpdateRecord, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := h.db.Order("started_at desc, id desc").Limit(f.Limit)
	if f.Host != "" {
		q = q.Where("host = ?", f.Host)
	}
	if f.Container != "" {
		q = q.Where("container = ?", f.Container)
	}
	if f.Result != "" {
		if !slices.Contains(models.Results, f.Result) {
			return nil, fmt.Errorf("%w: unknown outcome %q", models.ErrInvalid, f.Result)
		}
		q = q.Where("result = ?", f.Result)
	}
	out := []models.UpdateRecord{}
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}

// Containers names every container that has a record, for the history
// page's filter: host/name refs, sorted.
func (h *History) Containers() ([]models.ContainerRef, error) {
	var rows []struct{ Host, Container string }
	if err := h.db.Model(&models.UpdateRecord{}).Distinct("host", "container").Order("container, host").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := make([]models.ContainerRef, 0, len(rows))
	for _, r := range rows {
		out = append(out, models.Ref(r.Host, r.Container))
	}
	return out, nil
}

// MovedFrom is the image the container ran before refit moved it onto
// configured, a newer tag, or "" when refit did not: a Compose file still
// names that one. Answered from memory after the first call.
func (h *History) MovedFrom(ref models.ContainerRef, configured string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.moved == nil {
		var recs []models.UpdateRecord
		if err := h.db.Where("from_image <> '' AND result = ?", models.ResultUpdated).Order("id").Find(&recs).Error; err != nil {
			return "" // asked again next time
		}
		h.moved = make(map[models.ContainerRef]models.UpdateRecord, len(recs))
		for _, r := range recs {
			h.moved[models.Ref(r.Host, r.Container)] = r
		}
	}
	if r, ok := h.moved[ref]; ok && r.Image == configured {
		return r.FromImage
	}
	return ""
}
