package views_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{-5, "0 B"},
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1536, "1.5 kB"},
		{1048576, "1.0 MB"},
		{8388608, "8.4 MB"},
		{999_960, "1.0 MB"},
		{1_234_567_890, "1.2 GB"},
	}
	for _, tc := range tests {
		if got := views.HumanBytes(tc.in); got != tc.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"zero", time.Time{}, "never"},
		{"now", now, "just now"},
		{"seconds", now.Add(-59 * time.Second), "just now"},
		{"minutes", now.Add(-2*time.Minute - 10*time.Second), "2 min ago"},
		{"hours", now.Add(-3 * time.Hour), "3 h ago"},
		{"one day", now.Add(-25 * time.Hour), "1 day ago"},
		{"days", now.Add(-72 * time.Hour), "3 days ago"},
		{"future", now.Add(5*time.Minute + time.Second), "in 5 min"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := views.RelativeTime(tc.t, now); got != tc.want {
				t.Errorf("RelativeTime() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		in    int
		want  string
		clamp int
	}{
		{-3, "0%", 0},
		{0, "0%", 0},
		{12, "12%", 12},
		{100, "100%", 100},
		{140, "100%", 100},
	}
	for _, tc := range tests {
		if got := views.Percent(tc.in); got != tc.want {
			t.Errorf("Percent(%d) = %q, want %q", tc.in, got, tc.want)
		}
		if got := views.ClampPercent(tc.in); got != tc.clamp {
			t.Errorf("ClampPercent(%d) = %d, want %d", tc.in, got, tc.clamp)
		}
	}
}

func TestPhaseWordsAndFailureText(t *testing.T) {
	tests := []struct {
		name               string
		p                  models.Progress
		phase, job, failed string
	}{
		{"engine words", models.Progress{Status: "Downloading", Phase: models.PhasePulling}, "Downloading", "pulling", "Downloading"},
		{"phase only", models.Progress{Phase: models.PhaseRecreating}, "recreating", "recreating", "update failed"},
		{"settling", models.Progress{Status: "settling 10s", Phase: models.PhaseRecreating}, "recreating", "settling 10s", "settling 10s"},
		{"queued after the shared pull", models.Progress{Status: "queued", Phase: models.PhaseQueued}, "queued", "queued", "queued"},
		{"recovering", models.Progress{Status: "recovering", Phase: models.PhaseRecovering}, "recovering", "recovering", "recovering"},
		{"nothing yet", models.Progress{}, "starting", "updating", "update failed"},
		{"error", models.Progress{Status: "error: port in use (rolled back)", Phase: models.PhaseFailed}, "failed", "failed", "port in use (rolled back)"},
		{"rolled back", models.Progress{Status: "error: port in use (rolled back)", Phase: models.PhaseFailed, RolledBack: true}, "failed", "failed", "port in use"},
		{"bare failed", models.Progress{Status: "error:", Phase: models.PhaseFailed}, "failed", "failed", "update failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := views.PhaseWords(tc.p); got != tc.phase {
				t.Errorf("PhaseWords() = %q, want %q", got, tc.phase)
			}
			if got := views.JobWord(tc.p); got != tc.job {
				t.Errorf("JobWord() = %q, want %q", got, tc.job)
			}
			if got := views.FailureText(tc.p); got != tc.failed {
				t.Errorf("FailureText() = %q, want %q", got, tc.failed)
			}
		})
	}
}

func TestShortText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"dial unix: no such file", 40, "dial unix: no such file"},
		{"two\n  lines\tof it", 40, "two lines of it"},
		{"Cannot connect to the Docker daemon at unix:///x.sock. Is it running?", 30, "Cannot connect to the Docker…"},
		{"ünïcödé ünïcödé ünïcödé", 12, "ünïcödé…"},
		{strings.Repeat("x", 50), 10, "xxxxxxxxx…"},
	}
	for _, tc := range tests {
		got := views.ShortText(tc.in, tc.n)
		if got != tc.want || len([]rune(got)) > tc.n {
			t.Errorf("ShortText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestStatusWord(t *testing.T) {
	tests := map[models.Status]string{
		models.StatusUpToDate: "up to date",
		models.StatusOutdated: "outdated",
		models.StatusPartial:  "partly outdated",
		models.StatusUnknown:  "unknown",
		"":                    "unknown",
	}
	for in, want := range tests {
		if got := views.StatusWord(in); got != want {
			t.Errorf("StatusWord(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRateLimitText(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rl   models.RateLimit
		want string
	}{
		{"budget", models.RateLimit{Registry: "docker.io", Limit: 100, Remaining: 87}, "docker.io: 87/100 pulls left"},
		{"limited with retry", models.RateLimit{Registry: "docker.io", Limit: 100, Limited: true, RetryAfter: now.Add(10 * time.Minute)}, "docker.io: rate limited, retry in 10 min"},
		{"limited, retry passed", models.RateLimit{Registry: "docker.io", Limited: true, RetryAfter: now.Add(-time.Minute)}, "docker.io: rate limited"},
		{"no headers", models.RateLimit{Registry: "ghcr.io"}, "ghcr.io: no limit reported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := views.RateLimitText(tc.rl, now); got != tc.want {
				t.Errorf("RateLimitText() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatusBadgeClasses(t *testing.T) {
	for s, want := range map[models.Status]string{
		models.StatusUpToDate: "badge badge-uptodate", models.StatusOutdated: "badge badge-outdated",
		models.StatusPartial: "badge badge-partial", models.StatusUnknown: "badge badge-unknown",
		models.Status("other"): "badge badge-unknown",
	} {
		var b strings.Builder
		if err := views.StatusBadge(s).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if want := `<span class="` + want + `">` + views.StatusWord(s) + `</span>`; b.String() != want {
			t.Errorf("StatusBadge(%q) = %s, want %s", s, b.String(), want)
		}
	}
}
