package services

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// Toggles keeps the per-container auto-update flags. They are keyed by
// host and container name, because a recreate changes the ID, and cached in
// memory so listing images never waits on SQLite.
type Toggles struct {
	db *gorm.DB

	mu  sync.RWMutex
	on  map[models.ContainerRef]bool
	ver atomic.Uint64 // bumped on every change
	// def is what a container without a saved flag gets, decided by its
	// labels as the last snapshot had them (see SetDefault).
	def    models.AutoUpdateDefault
	labels map[models.ContainerRef]map[string]string
}

// SetDefault sets what a container that was never toggled gets:
// off, labelled (Watchtower's enable=true) or all.
func (t *Toggles) SetDefault(def models.AutoUpdateDefault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.def = def
	t.ver.Add(1)
}

// noteLabels keeps the containers' labels for the default; Containers
// calls it with each new snapshot.
func (t *Toggles) noteLabels(groups []models.ImageGroup) {
	m := map[models.ContainerRef]map[string]string{}
	for _, g := range groups {
		for _, c := range g.Containers {
			m[c.Ref] = c.Labels
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.labels = m
}

// Explicit returns the container's saved flag; set is false when it was
// never toggled.
func (t *Toggles) Explicit(ref models.ContainerRef) (on, set bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	on, set = t.on[ref]
	return on, set
}

// effectiveLocked is the saved flag, else the default for its labels.
func (t *Toggles) effectiveLocked(ref models.ContainerRef) bool {
	if on, ok := t.on[ref]; ok {
		return on
	}
	if t.def != models.AutoUpdateAll && t.def != models.AutoUpdateLabelled {
		return false
	}
	return !models.ParseWatchtowerLabels(t.labels[ref]).Excluded(t.def)
}

// NewToggles loads the flags from db.
func NewToggles(db *gorm.DB) (*Toggles, error) {
	var rows []models.Toggle
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load toggles: %w", err)
	}
	t := &Toggles{db: db, on: make(map[models.ContainerRef]bool, len(rows))}
	for _, r := range rows {
		t.on[r.Ref()] = r.AutoUpdate
	}
	return t, nil
}

// AutoUpdate reports whether auto-update is on for the container: its
// saved flag, else the default (SetDefault).
func (t *Toggles) AutoUpdate(ref models.ContainerRef) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.effectiveLocked(ref)
}

// Flip turns the container's flag over, persists it, and returns the new
// value.
func (t *Toggles) Flip(ref models.ContainerRef) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := !t.effectiveLocked(ref)
	if err := t.save(ref, v); err != nil {
		return !v, err
	}
	return v, nil
}

// Set sets the container's flag.
func (t *Toggles) Set(ref models.ContainerRef, on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.save(ref, on)
}

// Enabled lists the containers with auto-update on, sorted by host and name.
func (t *Toggles) Enabled() []models.ContainerRef {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []models.ContainerRef
	for r, v := range t.on {
		if v {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, models.CompareRefs)
	return out
}

func (t *Toggles) save(ref models.ContainerRef, on bool) error {
	row := models.Toggle{Host: ref.Host, Name: ref.Name, AutoUpdate: on}
	err := t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "host"}, {Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"auto_update", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save toggle %s: %w", ref, err)
	}
	t.on[ref] = on
	t.ver.Add(1)
	return nil
}

// Version changes whenever a flag changes, so a rendering of the flags can be
// cached under it.
func (t *Toggles) Version() uint64 { return t.ver.Load() }
