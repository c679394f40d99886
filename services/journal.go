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
// what may still be in flight. Entries are keyed by container name and
// removed once the recreate ended cleanly.
type Journal struct {
	db *gorm.DB // nil: in memory only (tests without a database)

	mu  sync.Mutex
	mem map[string]models.RecreateState
}

// NewJournal returns a journal stored in db; a nil db keeps it in memory,
// which survives nothing.
func NewJournal(db *gorm.DB) *Journal {
	return &Journal{db: db, mem: map[string]models.RecreateState{}}
}

// Note records st, or removes the entry when st.Step is models.StepDone.
func (j *Journal) Note(st models.RecreateState) error {
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		if st.Step == models.StepDone {
			delete(j.mem, st.Name)
		} else {
			j.mem[st.Name] = st
		}
		return nil
	}
	var err error
	if st.Step == models.StepDone {
		err = j.db.Delete(&models.RecreateState{}, "name = ?", st.Name).Error
	} else {
		err = j.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", st.Name, err)
	}
	return nil
}

// Pending returns every entry: the recreates that have not ended cleanly.
func (j *Journal) Pending() ([]models.RecreateState, error) {
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		out := make([]models.RecreateState, 0, len(j.mem))
		for _, st := range j.mem {
			out = append(out, st)
		}
		return out, nil
	}
	var out []models.RecreateState
	if err := j.db.Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	return out, nil
}

// Clear removes the entry of a recreate that recovery settled.
func (j *Journal) Clear(name string) error {
	return j.Note(models.RecreateState{Name: name, Step: models.StepDone})
}
