package services

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"refit/models"
)

// Schedule decides when checks run (every interval, or on a cron
// schedule) and when auto-updates may (inside the update window, or at any
// time without one). It remembers when the next check is due, for the
// dashboard. A nil Schedule has no periodic checks and no window.
type Schedule struct {
	every  time.Duration
	cron   cron.Schedule // nil: every
	window *Window       // nil: auto-updates at any time
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time

	mu   sync.Mutex
	next time.Time
}

// ScheduleOptions configure a Schedule.
type ScheduleOptions struct {
	// Every is the time between checks (0: only at start-up and by hand);
	// Cron, when set, replaces it: six fields with seconds, as Watchtower's
	// (0 0 4 * * *), or a descriptor such as @daily or @every 6h.
	Every time.Duration
	Cron  string
	// Window, when set, is when auto-updates may run: "Sat,Sun 02:00-05:00",
	// "Mon-Fri 22:00-06:00" (over midnight), "02:00-05:00" (every day).
	Window string
	// Loc is the zone of Cron and Window (time.Local, from TZ).
	Loc *time.Location
	// Now and After are the clock (time.Now, time.After), for tests.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NewSchedule checks opts.
func NewSchedule(opts ScheduleOptions) (*Schedule, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Loc == nil {
		opts.Loc = time.Local
	}
	if opts.After == nil {
		opts.After = time.After
	}
	s := &Schedule{every: opts.Every, now: opts.Now, after: opts.After}
	if opts.Cron != "" {
		c, err := cronParser.Parse(withZone(opts.Cron, opts.Loc))
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %v (want six fields with seconds, such as 0 0 4 * * *): %w", opts.Cron, err, models.ErrInvalid)
		}
		s.cron = c
	}
	if opts.Window != "" {
		w, err := ParseWindow(opts.Window, opts.Loc)
		if err != nil {
			return nil, err
		}
		s.window = w
	}
	return s, nil
}

// withZone gives a cron expression the zone loc, as CRON_TZ= does.
func withZone(expr string, loc *time.Location) string {
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "@every") {
		return expr
	}
	return "CRON_TZ=" + loc.String() + " " + expr
}

// Periodic reports whether checks run by themselves.
func (s *Schedule) Periodic() bool { return s != nil && (s.cron != nil || s.every > 0) }

// nextAfter is when the check after t is due.
func (s *Schedule) nextAfter(t time.Time) time.Time {
	if s.cron != nil {
		return s.cron.Next(t)
	}
	return t.Add(s.every)
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

// InWindow reports whether auto-updates may run at t.
func (s *Schedule) InWindow(t time.Time) bool {
	return s == nil || s.window == nil || s.window.Contains(t)
}

// NextWindow is the update window open now or the next one; ok is false
// when auto-updates may run at any time.
func (s *Schedule) NextWindow() (start, end time.Time, ok bool) {
	if s == nil || s.window == nil {
		return time.Time{}, time.Time{}, false
	}
	start, end = s.window.Next(s.now())
	return start, end, true
}

// WindowText is the window as configured, "" without one.
func (s *Schedule) WindowText() string {
	if s == nil || s.window == nil {
		return ""
	}
	return s.window.text
}

// Run calls check now and then whenever the schedule says, and opened each
// time the update window opens (what waited for it is due), until ctx
// ends. opened may be nil. A window opening does not move the next check:
// only a check does.
func (s *Schedule) Run(ctx context.Context, check func(context.Context), opened func()) {
	check(ctx)
	due := s.dueAfter(s.now())
	for {
		s.mu.Lock()
		s.next = due
		s.mu.Unlock()
		now := s.now()
		var open time.Time
		if s.window != nil && opened != nil {
			open = s.window.NextOpening(now)
		}
		wake, isCheck := due, true
		if !open.IsZero() && (wake.IsZero() || open.Before(wake)) {
			wake, isCheck = open, false
		}
		if wake.IsZero() {
			<-ctx.Done()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.after(wake.Sub(now)):
		}
		if isCheck {
			check(ctx)
			due = s.dueAfter(s.now())
		} else {
			opened()
		}
	}
}

// dueAfter is when the check after t is due; zero when checks do not
// run by themselves.
func (s *Schedule) dueAfter(t time.Time) time.Time {
	if !s.Periodic() {
		return time.Time{}
	}
	return s.nextAfter(t)
}

// Window is a weekly update window: on Days, from Start to End (minutes
// after midnight in Loc); End before Start runs over midnight, into the
// next day.
type Window struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes after midnight
	loc        *time.Location
	text       string
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseWindow reads "Sat,Sun 02:00-05:00", "Mon-Fri 22:00-06:00" or
// "02:00-05:00" (every day) in loc.
func ParseWindow(v string, loc *time.Location) (*Window, error) {
	bad := func(why string) error {
		return fmt.Errorf("update window %q: %s (want days and times, such as Sat,Sun 02:00-05:00): %w", v, why, models.ErrInvalid)
	}
	w := &Window{loc: loc, text: strings.TrimSpace(v)}
	fields := strings.Fields(v)
	var times string
	switch len(fields) {
	case 1:
		times = fields[0]
		for d := range w.days {
			w.days[d] = true
		}
	case 2:
		times = fields[1]
		for _, part := range strings.Split(fields[0], ",") {
			from, to, isRange := strings.Cut(strings.ToLower(part), "-")
			a, ok := weekdays[prefix3(from)]
			if !ok {
				return nil, bad("unknown day " + from)
			}
			b := a
			if isRange {
				if b, ok = weekdays[prefix3(to)]; !ok {
					return nil, bad("unknown day " + to)
				}
			}
			for d := a; ; d = (d + 1) % 7 {
				w.days[d] = true
				if d == b {
					break
				}
			}
		}
	default:
		return nil, bad("too many fields")
	}
	from, to, ok := strings.Cut(times, "-")
	if !ok {
		return nil, bad("no end time")
	}
	var err error
	if w.start, err = clock(from); err != nil {
		return nil, bad(err.Error())
	}
	if w.end, err = clock(to); err != nil {
		return nil, bad(err.Error())
	}
	if w.start == w.end {
		return nil, bad("it starts when it ends")
	}
	return w, nil
}

func prefix3(s string) string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}

// clock reads "02:00" as minutes after midnight.
func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// openOn is the window that opens on the day y-m-d, in its zone.
func (w *Window) openOn(y int, m time.Month, d int) (start, end time.Time) {
	start = localTime(y, m, d, w.start, w.loc)
	if w.end < w.start {
		d++ // over midnight: time.Date normalises the day after
	}
	return start, localTime(y, m, d, w.end, w.loc)
}

// localTime is the instant the clocks in loc show min minutes after
// midnight on y-m-d; from wall clock, not midnight plus minutes, so a
// clock change that day does not shift it. A time the clock skips (02:30
// when it jumps from 02:00 to 03:00) is the instant of the jump, the
// first at or after it; a time it shows twice (when it falls back) is the
// first of the two.
func localTime(y int, m time.Month, d, min int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, min/60, min%60, 0, 0, loc)
	zoneStart, zoneEnd := t.ZoneBounds()
	if t.Hour()*60+t.Minute() != min {
		// In a gap, time.Date answers from one side of the jump or the other.
		if t.Hour()*60+t.Minute() > min || t.Day() != time.Date(y, m, d, 12, 0, 0, 0, loc).Day() {
			return zoneStart
		}
		return zoneEnd
	}
	if !zoneStart.IsZero() {
		_, off := t.Zone()
		_, before := zoneStart.Add(-time.Nanosecond).Zone()
		if first := t.Add(-time.Duration(before-off) * time.Second); before > off && first.Before(zoneStart) {
			return first
		}
	}
	return t
}

// Next is the window open at t, or the next one to open.
func (w *Window) Next(t time.Time) (start, end time.Time) {
	y, m, d := t.In(w.loc).Date()
	for i := -1; i <= 7; i++ { // yesterday's may run past midnight
		day := time.Date(y, m, d+i, 12, 0, 0, 0, w.loc) // noon: never skipped by a clock change
		if !w.days[day.Weekday()] {
			continue
		}
		start, end = w.openOn(day.Date())
		if t.Before(end) {
			return start, end
		}
	}
	return time.Time{}, time.Time{} // no day set: ParseWindow does not allow it
}

// NextOpening is when a window next opens after t: the one open at t has
// opened already.
func (w *Window) NextOpening(t time.Time) time.Time {
	start, end := w.Next(t)
	if start.After(t) {
		return start
	}
	start, _ = w.Next(end)
	return start
}

// Contains reports whether t is inside a window.
func (w *Window) Contains(t time.Time) bool {
	start, end := w.Next(t)
	return !t.Before(start) && t.Before(end)
}
