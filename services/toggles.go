package services

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// Toggles keeps the per-container auto-update flags. They are keyed by
// container name, because a recreate changes the ID, and cached in memory so
// listing images never waits on SQLite.
type Toggles struct {
	db *gorm.DB

	mu  sync.RWMutex
	on  map[string]bool
	ver atomic.Uint64 // bumped on every change
}

// NewToggles loads the flags from db.
func NewToggles(db *gorm.DB) (*Toggles, error) {
	var rows []models.Toggle
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load toggles: %w", err)
	}
	t := &Toggles{db: db, on: make(map[string]bool, len(rows))}
	for _, r := range rows {
		t.on[r.Name] = r.AutoUpdate
	}
	return t, nil
}

// AutoUpdate reports whether auto-update is on for the named container.
func (t *Toggles) AutoUpdate(name string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.on[name]
}

// Flip turns the named container's flag over, persists it, and returns the
// new value.
func (t *Toggles) Flip(name string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := !t.on[name]
	if err := t.save(name, v); err != nil {
		return !v, err
	}
	return v, nil
}

// Set sets the named container's flag.
func (t *Toggles) Set(name string, on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.save(name, on)
}

// Enabled lists the containers with auto-update on, sorted.
func (t *Toggles) Enabled() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for n, v := range t.on {
		if v {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (t *Toggles) save(name string, on bool) error {
	row := models.Toggle{Name: name, AutoUpdate: on}
	err := t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"auto_update", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save toggle %q: %w", name, err)
	}
	t.on[name] = on
	t.ver.Add(1)
	return nil
}

// Version changes whenever a flag changes, so a rendering of the flags can be
// cached under it.
func (t *Toggles) Version() uint64 { return t.ver.Load() }
