package services

import (
	"fmt"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// Journal keeps the step each recreate is at, written before every engine
// call, so that recovery after a crash, a kill or an engine restart knows
// what may still be in flight. Entries are keyed by host and container name
// and removed once the recreate ended cleanly.
type Journal struct {
	db *gorm.DB // nil: in memory only (tests without a database)

	mu  sync.Mutex
	mem map[models.ContainerRef]models.RecreateState
}

// NewJournal returns a journal stored in db; a nil db keeps it in memory,
// which survives nothing.
func NewJournal(db *gorm.DB) *Journal {
	return &Journal{db: db, mem: map[models.ContainerRef]models.RecreateState{}}
}

// Note records st, or removes the entry when st.Step is models.StepDone.
// An entry that names no host belongs to models.LocalHost.
func (j *Journal) Note(st models.RecreateState) error {
	if st.Host == "" {
		st.Host = models.LocalHost
	}
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		if st.Step == models.StepDone {
			delete(j.mem, models.Ref(st.Host, st.Name))
		} else {
			j.mem[models.Ref(st.Host, st.Name)] = st
		}
		return nil
	}
	var err error
	if st.Step == models.StepDone {
		err = j.db.Delete(&models.RecreateState{}, "host = ? AND name = ?", st.Host, st.Name).Error
	} else {
		err = j.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", models.Ref(st.Host, st.Name), err)
	}
	return nil
}

// Pending returns the entries of one host: the recreates there that have
// not ended cleanly.
func (j *Journal) Pending(host string) ([]models.RecreateState, error) {
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		out := make([]models.RecreateState, 0, len(j.mem))
		for r, st := range j.mem {
			if r.Host == host {
				out = append(out, st)
			}
		}
		return out, nil
	}
	var out []models.RecreateState
	if err := j.db.Where("host = ?", host).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	return out, nil
}

// Clear removes the entry of a recreate that recovery settled.
func (j *Journal) Clear(ref models.ContainerRef) error {
	return j.Note(models.RecreateState{Host: ref.Host, Name: ref.Name, Step: models.StepDone})
}

// On returns the journal's Note for the recreates of one host: the adapter
// talks to one engine and leaves the host to its caller.
func (j *Journal) On(host string) func(models.RecreateState) error {
	return func(st models.RecreateState) error {
		st.Host = host
		return j.Note(st)
	}
}
