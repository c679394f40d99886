package services_test

import (
	"context"
	"errors"
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
