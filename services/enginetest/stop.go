package enginetest

import (
	"testing"
	"time"

	"refit/models"
)

// testRecreateStopSignalAndTimeout: a recreate stops the old container with
// the options' signal and timeout instead of its own. The slow stopper
// ignores its own SIGUSR1 for 3 s; SIGINT ends it at once, and a timeout of
// 1 s has it killed after one second.
func testRecreateStopSignalAndTimeout(t *testing.T, f Fixture) {
	e := f.Engine()
	cases := []struct {
		name     string
		signal   string
		timeout  time.Duration
		min, max time.Duration
	}{
		{"signal", "SIGINT", 0, 0, 2 * time.Second},
		{"timeout", "", time.Second, 900 * time.Millisecond, 2500 * time.Millisecond},
		{"ignored-signal", "SIGUSR2", time.Second, 900 * time.Millisecond, 2500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := uniqueName("stop-" + tc.name)
			id := f.RunSlowStopper(t, name, 1)
			var stopAt, startAt time.Time
			opts := recreateOpts
			opts.StopSignal, opts.StopTimeout = tc.signal, tc.timeout
			opts.Step = func(s string) {
				switch s {
				case models.StepStopping:
					stopAt = time.Now()
				case models.StepStarting:
					startAt = time.Now()
				}
			}
			if _, err := e.Recreate(ctxTimeout(t, 2*time.Minute), id, opts); err != nil {
				t.Fatalf("Recreate: %v", err)
			}
			if took := startAt.Sub(stopAt); took < tc.min || took > tc.max {
				t.Errorf("the stop with signal %q, timeout %s took %s, want %s to %s", tc.signal, tc.timeout, took, tc.min, tc.max)
			}
		})
	}
}
