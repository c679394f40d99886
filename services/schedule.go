package services

import (
	"context"
	"sync"
	"time"
)

// Schedule decides when checks run and when auto-updates may: every
// interval (0: no periodic checks). It remembers when the next check is
// due, for the dashboard. A nil Schedule has no periodic checks and no
// window.
type Schedule struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	next time.Time
}

// NewSchedule checks every interval (0: only at start-up and by hand);
// now is the clock (time.Now outside tests).
func NewSchedule(every time.Duration, now func() time.Time) *Schedule {
	return &Schedule{every: every, now: now}
}

// NextCheck is when the next periodic check is due; zero when none is.
func (s *Schedule) NextCheck() time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// NextWindow is the next (or current) update window; ok is false when
// auto-updates may run at any time.
func (s *Schedule) NextWindow() (start, end time.Time, ok bool) {
	return time.Time{}, time.Time{}, false
}

// InWindow reports whether auto-updates may run at t.
func (s *Schedule) InWindow(time.Time) bool { return true }

// Run calls check now and then whenever the schedule says, until ctx ends.
func (s *Schedule) Run(ctx context.Context, check func(context.Context)) {
	for {
		check(ctx)
		if s.every == 0 {
			return
		}
		s.mu.Lock()
		s.next = s.now().Add(s.every)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.every):
		}
	}
}
