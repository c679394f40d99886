package services_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

func TestWindow(t *testing.T) {
	loc := time.FixedZone("test", 3600)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("Mon 2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		window, at string
		in         bool
		next       string // start of the window open at or after at
	}{
		{"Sat,Sun 02:00-05:00", "Sat 2026-12-05 03:00", true, "Sat 2026-12-05 02:00"},
		{"Sat,Sun 02:00-05:00", "Sat 2026-12-05 05:00", false, "Sun 2026-12-06 02:00"},
		{"Sat,Sun 02:00-05:00", "Wed 2026-12-02 12:00", false, "Sat 2026-12-05 02:00"},
		{"Mon-Fri 22:00-06:00", "Sat 2026-12-05 01:00", true, "Fri 2026-12-04 22:00"}, // Friday's, over midnight
		{"Mon-Fri 22:00-06:00", "Sat 2026-12-05 07:00", false, "Mon 2026-12-07 22:00"},
		{"fri-mon 23:00-01:00", "Sun 2026-12-06 23:30", true, "Sun 2026-12-06 23:00"},
		{"02:00-05:00", "Wed 2026-12-02 04:59", true, "Wed 2026-12-02 02:00"},
		{"02:00-05:00", "Wed 2026-12-02 05:01", false, "Thu 2026-12-03 02:00"},
	} {
		w, err := services.ParseWindow(tc.window, loc)
		if err != nil {
			t.Fatalf("%s: %v", tc.window, err)
		}
		if got := w.Contains(at(tc.at)); got != tc.in {
			t.Errorf("%q contains %s = %v, want %v", tc.window, tc.at, got, tc.in)
		}
		if start, _ := w.Next(at(tc.at)); !start.Equal(at(tc.next)) {
			t.Errorf("%q after %s opens %s, want %s", tc.window, tc.at, start, tc.next)
		}
	}
	for _, bad := range []string{"Sat", "Sat 02:00", "Xyz 02:00-03:00", "Sat 25:00-26:00", "02:00-02:00", "a b c"} {
		if _, err := services.ParseWindow(bad, loc); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("ParseWindow(%q) = %v, want invalid", bad, err)
		}
	}
}

// Run checks at start and on the cron schedule, tells when the window
// opens, and says when the next check is due.
func TestScheduleRunsOnCronAndOpensTheWindow(t *testing.T) {
	s, err := services.NewSchedule(services.ScheduleOptions{Cron: "@every 200ms", Window: "00:00-23:59", Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var checks atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, func(context.Context) { checks.Add(1) }, func() {}); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for checks.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := checks.Load(); n < 3 {
		t.Errorf("checks = %d after the start and two @every 200ms", n)
	}
	if next := s.NextCheck(); next.IsZero() || time.Until(next) > time.Second {
		t.Errorf("next check = %v", next)
	}
	cancel()
	<-done
	if _, err := services.NewSchedule(services.ScheduleOptions{Cron: "0 4 * * *"}); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("a five-field cron = %v, want invalid (Watchtower's six fields, with seconds)", err)
	}
	s, _ = services.NewSchedule(services.ScheduleOptions{Cron: "0 0 4 * * *", Loc: time.UTC})
	if !s.Periodic() || !s.InWindow(time.Now()) {
		t.Error("a cron schedule without a window: not periodic, or outside a window")
	}
	var none *services.Schedule
	if none.Periodic() || !none.InWindow(time.Now()) || !none.NextCheck().IsZero() {
		t.Error("a nil schedule checks periodically or holds auto-updates")
	}
}

// stepClock is a clock that moves only when a test fires the timer Run
// waits on: step jumps to the instant Run asked to wake at.
type stepClock struct {
	clock
	waits chan stepWait
}

type stepWait struct {
	d time.Duration
	c chan time.Time
}

func newStepClock(t time.Time) *stepClock {
	return &stepClock{clock: clock{t: t}, waits: make(chan stepWait, 1)}
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- stepWait{d, ch}
	return ch
}

// step waits for Run's next timer and fires it.
func (c *stepClock) step(t *testing.T) {
	t.Helper()
	select {
	case w := <-c.waits:
		c.Add(w.d)
		w.c <- c.Now()
	case <-time.After(10 * time.Second):
		t.Fatal("Run set no timer")
	}
}

// runSchedule runs s in the background, recording "check" and "open" with
// the clock's time, until the test ends.
func runSchedule(t *testing.T, s *services.Schedule, clk *stepClock, opened func()) func() []string {
	var mu sync.Mutex
	var events []string
	note := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, what+" "+clk.Now().Format("Mon 15:04"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx, func(context.Context) { note("check") }, func() {
			note("open")
			if opened != nil {
				opened()
			}
		})
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(events) }
}

// Without periodic checks the window still opens every time, not only the
// first.
func TestScheduleOpensEveryWindowWithoutChecks(t *testing.T) {
	clk := newStepClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)) // a Wednesday
	s, err := services.NewSchedule(services.ScheduleOptions{Window: "02:00-03:00", Loc: time.UTC, Now: clk.Now, After: clk.After})
	if err != nil {
		t.Fatal(err)
	}
	events := runSchedule(t, s, clk, nil)
	for range 3 {
		clk.step(t)
	}
	want := []string{"check Wed 12:00", "open Thu 02:00", "open Fri 02:00", "open Sat 02:00"}
	waitEvents(t, events, want)
	if !s.NextCheck().IsZero() {
		t.Errorf("next check = %v, want none with -check-interval 0", s.NextCheck())
	}
}

// A window opening between two checks leaves the next check where it was:
// with 6h checks from 22:00, a window at 02:00 does not move 04:00 to 08:00.
func TestScheduleWindowKeepsTheNextCheck(t *testing.T) {
	clk := newStepClock(time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)) // a Tuesday
	s, err := services.NewSchedule(services.ScheduleOptions{Every: 6 * time.Hour, Window: "02:00-05:00", Loc: time.UTC,
		Now: clk.Now, After: clk.After})
	if err != nil {
		t.Fatal(err)
	}
	var nextAtOpen atomic.Value
	events := runSchedule(t, s, clk, func() { nextAtOpen.Store(s.NextCheck()) })
	for range 6 {
		clk.step(t)
	}
	want := []string{"check Tue 22:00", "open Wed 02:00", "check Wed 04:00", "check Wed 10:00", "check Wed 16:00",
		"check Wed 22:00", "open Thu 02:00"}
	waitEvents(t, events, want)
	if got, want := nextAtOpen.Load(), time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC); got == nil || !got.(time.Time).Equal(want) {
		t.Errorf("next check when the window last opened = %v, want %v", got, want)
	}
}

func waitEvents(t *testing.T, events func() []string, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(events()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := events(); !slices.Equal(got, want) {
		t.Errorf("events = %q\nwant     %q", got, want)
	}
}

// The window is where the clocks show it on the days they change: in
// Europe/Berlin, Sun 02:00-05:00 opens at 03:00 CEST on 2026-03-29 (02:00
// to 03:00 does not exist; the first instant after 02:00 is the jump) and
// at the first 02:00 (CEST) on 2026-10-25, closing at 05:00 CET.
func TestWindowOnClockChangeDays(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		window, after, start, end string // start and end in UTC
	}{
		{"Sun 02:00-05:00", "2026-03-28 12:00", "2026-03-29 01:00", "2026-03-29 03:00"}, // 03:00-05:00 CEST
		{"Sun 02:00-05:00", "2026-10-24 12:00", "2026-10-25 00:00", "2026-10-25 04:00"}, // 02:00 CEST-05:00 CET
		{"Sun 02:30-04:00", "2026-03-28 12:00", "2026-03-29 01:00", "2026-03-29 02:00"}, // in the gap: at the jump
		{"Sat 22:00-06:00", "2026-03-28 12:00", "2026-03-28 21:00", "2026-03-29 04:00"}, // over the night of the change
		{"Sun 06:00-07:00", "2026-10-24 12:00", "2026-10-25 05:00", "2026-10-25 06:00"}, // after the change: CET
	} {
		w, err := services.ParseWindow(tc.window, loc)
		if err != nil {
			t.Fatal(err)
		}
		start, end := w.Next(utc(tc.after))
		if !start.Equal(utc(tc.start)) || !end.Equal(utc(tc.end)) {
			t.Errorf("%q after %s = %v to %v, want %s to %s UTC", tc.window, tc.after, start.UTC(), end.UTC(), tc.start, tc.end)
		}
	}
}
