package services

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// Policies keeps each container's update policy (skips and snooze), in
// SQLite and cached in memory, so reading it never waits on the database.
// The clock is injected: a snooze ends at its time, which tests control.
type Policies struct {
	db  *gorm.DB
	now func() time.Time

	mu  sync.RWMutex
	m   map[models.ContainerRef]models.UpdatePolicy
	ver atomic.Uint64 // bumped on every change
}

// NewPolicies loads the policies from db. now is time.Now outside tests.
func NewPolicies(db *gorm.DB, now func() time.Time) (*Policies, error) {
	var rows []models.UpdatePolicy
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load update policies: %w", err)
	}
	p := &Policies{db: db, now: now, m: make(map[models.ContainerRef]models.UpdatePolicy, len(rows))}
	for _, r := range rows {
		p.m[models.Ref(r.Host, r.Name)] = r
	}
	return p, nil
}

// Get returns the container's policy (empty when it has none).
func (p *Policies) Get(ref models.ContainerRef) models.UpdatePolicy {
	p.mu.RLock()
	defer p.mu.RUnlock()
	pol := p.m[ref]
	pol.Host, pol.Name = ref.Host, ref.Name
	return pol
}

// Holds reports whether the container's policy keeps c from being offered
// now: Auto-update, "Update all" and group updates leave it alone.
func (p *Policies) Holds(ref models.ContainerRef, c models.Candidate) bool {
	p.mu.RLock()
	pol, ok := p.m[ref]
	p.mu.RUnlock()
	return ok && pol.Holds(c, p.now())
}

// Apply runs one policy action on the container, with c the candidate the
// last check found (what skip-current skips), and returns the new policy.
func (p *Policies) Apply(ref models.ContainerRef, act models.PolicyAction, c models.Candidate) (models.UpdatePolicy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pol := p.m[ref]
	pol.Host, pol.Name = ref.Host, ref.Name
	switch act.Action {
	case models.PolicySkipCurrent:
		if c.Digest == "" && c.Tag == "" {
			return pol, fmt.Errorf("skip %s: %w", ref, models.ErrNothingToSkip)
		}
		if c.Digest != "" && !slices.Contains(pol.SkipDigests, c.Digest) {
			pol.SkipDigests = append(slices.Clone(pol.SkipDigests), c.Digest)
		}
		if c.Tag != "" && !slices.Contains(pol.SkipTags, c.Tag) {
			pol.SkipTags = append(slices.Clone(pol.SkipTags), c.Tag)
		}
	case models.PolicyClearSkips:
		pol.SkipDigests, pol.SkipTags = nil, nil
	case models.PolicySnooze:
		until, err := p.snoozeEnd(act)
		if err != nil {
			return pol, fmt.Errorf("snooze %s: %w", ref, err)
		}
		pol.SnoozeUntil = &until
	case models.PolicyUnsnooze:
		pol.SnoozeUntil = nil
	case models.PolicyClear:
		pol = models.UpdatePolicy{Host: ref.Host, Name: ref.Name}
	default:
		return pol, fmt.Errorf("policy %q: %w", act.Action, models.ErrUnknownPolicyAction)
	}
	if err := p.save(pol); err != nil {
		return p.m[ref], err
	}
	return pol, nil
}

// snoozeEnd is when a snooze asked for ends: days from now, or the time
// given, which must be ahead.
func (p *Policies) snoozeEnd(act models.PolicyAction) (time.Time, error) {
	now := p.now()
	switch {
	case act.SnoozeUntil != nil && act.SnoozeUntil.After(now):
		return act.SnoozeUntil.UTC(), nil
	case act.SnoozeUntil == nil && act.Days > 0 && act.Days <= 3650:
		return now.Add(time.Duration(act.Days * float64(24*time.Hour))).UTC(), nil
	}
	return time.Time{}, models.ErrBadSnooze
}

func (p *Policies) save(pol models.UpdatePolicy) error {
	ref := models.Ref(pol.Host, pol.Name)
	var err error
	if pol.Empty() {
		err = p.db.Delete(&models.UpdatePolicy{}, "host = ? AND name = ?", pol.Host, pol.Name).Error
	} else {
		err = p.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&pol).Error
	}
	if err != nil {
		return fmt.Errorf("save update policy %s: %w", ref, err)
	}
	if pol.Empty() {
		delete(p.m, ref)
	} else {
		p.m[ref] = pol
	}
	p.ver.Add(1)
	return nil
}

// Version changes whenever a policy changes and whenever a snooze ends, so
// a rendering that shows policies can be cached under it: a snooze that
// runs out changes what is offered without anything else happening.
func (p *Policies) Version() uint64 {
	now := p.now()
	p.mu.RLock()
	ended := uint64(0)
	for _, pol := range p.m {
		if pol.SnoozeUntil != nil && !now.Before(*pol.SnoozeUntil) {
			ended++
		}
	}
	p.mu.RUnlock()
	return p.ver.Load()<<20 | ended
}
