package services

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// TagRules keeps the tag rules set in refit (the API and the UI), in SQLite
// and cached in memory. A container's labels give its rule by default; a
// rule set in refit wins, and one with no include turns tag tracking off
// whatever the labels say.
type TagRules struct {
	db *gorm.DB

	mu  sync.RWMutex
	m   map[models.ContainerRef]models.TagRule
	ver atomic.Uint64
}

// NewTagRules loads the rules set in refit from db.
func NewTagRules(db *gorm.DB) (*TagRules, error) {
	var rows []models.TagRule
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load tag rules: %w", err)
	}
	t := &TagRules{db: db, m: make(map[models.ContainerRef]models.TagRule, len(rows))}
	for _, r := range rows {
		r.Source = "refit"
		t.m[models.Ref(r.Host, r.Name)] = r
	}
	return t, nil
}

// Rule is the container's rule: the one set in refit, else its labels'.
// A nil TagRules knows only labels.
func (t *TagRules) Rule(ref models.ContainerRef, labels map[string]string) models.TagRule {
	if t != nil {
		t.mu.RLock()
		r, ok := t.m[ref]
		t.mu.RUnlock()
		if ok {
			return r
		}
	}
	return models.TagRuleFromLabels(labels)
}

// Set keeps r as the container's rule, over its labels; an empty Include
// stops tag tracking for it. A rule that does not compile is refused.
func (t *TagRules) Set(ref models.ContainerRef, r models.TagRule) (models.TagRule, error) {
	r.Host, r.Name, r.Source, r.UpdatedAt = ref.Host, ref.Name, "refit", time.Now()
	if r.Include != "" {
		if _, _, err := r.Compile(); err != nil {
			return models.TagRule{}, err
		}
	} else if r.Exclude != "" || r.Bump != "" {
		return models.TagRule{}, fmt.Errorf("include: set it to follow tags, or leave exclude and bump empty to stop: %w", models.ErrBadTagRule)
	}
	if err := t.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&r).Error; err != nil {
		return models.TagRule{}, fmt.Errorf("save tag rule: %w", err)
	}
	t.mu.Lock()
	t.m[ref] = r
	t.mu.Unlock()
	t.ver.Add(1)
	return r, nil
}

// Clear forgets the rule set in refit: the labels decide again.
func (t *TagRules) Clear(ref models.ContainerRef) error {
	if err := t.db.Where("host = ? AND name = ?", ref.Host, ref.Name).Delete(&models.TagRule{}).Error; err != nil {
		return fmt.Errorf("clear tag rule: %w", err)
	}
	t.mu.Lock()
	delete(t.m, ref)
	t.mu.Unlock()
	t.ver.Add(1)
	return nil
}

// Version changes with every Set and Clear, for caches of what rules show.
func (t *TagRules) Version() uint64 {
	if t == nil {
		return 0
	}
	return t.ver.Load()
}

// Candidates remembers when refit first knew each container's candidates,
// in SQLite, so a minimum age survives restarts. It costs no registry
// request: the check's results are its input.
type Candidates struct {
	db  *gorm.DB
	now func() time.Time

	mu sync.Mutex
	m  map[models.ContainerRef]map[string]time.Time
}

// NewCandidates loads the first-seen times from db; now is the clock.
func NewCandidates(db *gorm.DB, now func() time.Time) (*Candidates, error) {
	var rows []models.CandidateSeen
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load candidates: %w", err)
	}
	c := &Candidates{db: db, now: now, m: map[models.ContainerRef]map[string]time.Time{}}
	for _, r := range rows {
		ref := models.Ref(r.Host, r.Name)
		if c.m[ref] == nil {
			c.m[ref] = map[string]time.Time{}
		}
		c.m[ref][r.Candidate] = r.FirstSeen
	}
	return c, nil
}

// Unknown says which of a container's candidates a check could not tell:
// its digest (status unknown), its newer tag (the tag list failed).
type Unknown struct{ Digest, Tag bool }

// unknownOf is what the check could not tell of c.
func unknownOf(c models.ContainerItem) Unknown {
	return Unknown{Digest: c.Status == models.StatusUnknown, Tag: c.TagFailed}
}

// candidatesOf is what the check found for c in its group g: the group's
// remote digest when c is outdated, and c's newer tag.
func candidatesOf(g models.ImageGroup, c models.ContainerItem) []models.Candidate {
	var cands []models.Candidate
	if c.Status == models.StatusOutdated && g.RemoteFull != "" {
		cands = append(cands, models.Candidate{Digest: g.RemoteFull})
	}
	if c.NewerTag != "" {
		cands = append(cands, models.Candidate{Tag: c.NewerTag})
	}
	return cands
}

// keeps reports whether the candidate keyed k is of a kind not told.
func (u Unknown) keeps(k string) bool {
	if models.IsTagKey(k) {
		return u.Tag
	}
	return u.Digest
}

// Seen returns when the container's candidates were first known, keeping
// now for those new; the container's other candidates are forgotten, so
// one that comes back counts again from then. Those of a kind unknown
// stay: one failed check must not restart a minimum age.
func (c *Candidates) Seen(ref models.ContainerRef, unknown Unknown, cands ...models.Candidate) map[string]time.Time {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m[ref]
	cur := make(map[string]time.Time, len(cands))
	var add []models.CandidateSeen
	for _, cd := range cands {
		k := cd.Key()
		if k == "" {
			continue
		}
		if t, ok := old[k]; ok {
			cur[k] = t
			continue
		}
		cur[k] = now
		add = append(add, models.CandidateSeen{Host: ref.Host, Name: ref.Name, Candidate: k, FirstSeen: now})
	}
	var gone []string
	for k, t := range old {
		if _, ok := cur[k]; ok {
			continue
		}
		if unknown.keeps(k) {
			cur[k] = t
			continue
		}
		gone = append(gone, k)
	}
	if len(add) > 0 {
		if err := c.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&add).Error; err != nil {
			return cur // kept in memory; a restart starts these again
		}
	}
	if len(gone) > 0 {
		c.db.Where("host = ? AND name = ? AND candidate IN ?", ref.Host, ref.Name, gone).Delete(&models.CandidateSeen{})
	}
	if len(cur) == 0 {
		delete(c.m, ref)
	} else {
		c.m[ref] = cur
	}
	return cur
}

// FirstSeen is when refit first knew the container's candidate; ok is
// false when it has not seen it.
func (c *Candidates) FirstSeen(ref models.ContainerRef, cd models.Candidate) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[ref][cd.Key()]
	return t, ok
}
