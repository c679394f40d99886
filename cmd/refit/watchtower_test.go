package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"refit/models"
)

// Every variable refit reads, with what it becomes: a variable added to
// watchtowerVars without a row here fails the test.
func TestWatchtowerVariablesMapOntoRefit(t *testing.T) {
	tests := []struct {
		env, value string
		check      func(Config) bool
	}{
		{"WATCHTOWER_POLL_INTERVAL", "30", func(c Config) bool { return c.CheckInterval == 30*time.Second }},
		{"WATCHTOWER_SCHEDULE", "0 0 4 * * *", func(c Config) bool { return c.Schedule == "0 0 4 * * *" }},
		{"WATCHTOWER_NOTIFICATION_URL", "ntfy://ntfy.sh/a generic+https://example.com/hook",
			func(c Config) bool { return len(c.Notify) == 2 && c.Notify[0].URL == "ntfy://ntfy.sh/a" }},
		{"WATCHTOWER_DEBUG", "true", func(c Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"WATCHTOWER_LIFECYCLE_HOOKS", "true", func(c Config) bool { return c.LifecycleHooks }},
		{"WATCHTOWER_LABEL_ENABLE", "true", func(c Config) bool {
			return c.Watchtower.LabelEnable && c.AutoUpdateDefault == models.AutoUpdateLabelled
		}},
		{"WATCHTOWER_MONITOR_ONLY", "true", func(c Config) bool {
			return c.Watchtower.MonitorOnly && c.AutoUpdateDefault == models.AutoUpdateOff
		}},
		{"WATCHTOWER_CLEANUP", "true", func(c Config) bool { return c.Cleanup }},
		{"WATCHTOWER_NO_PULL", "true", func(c Config) bool { return c.Watchtower.NoPull }},
		{"WATCHTOWER_TIMEOUT", "30s", func(c Config) bool { return c.Watchtower.StopTimeout == 30*time.Second }},
		{"WATCHTOWER_SCOPE", "myscope", func(c Config) bool { return c.Watchtower.Scope == "myscope" }},
		{"WATCHTOWER_HTTP_API_UPDATE", "true", func(c Config) bool {
			return c.Watchtower.APIOnly() && c.AutoUpdateDefault == models.AutoUpdateAll // what /v1/update takes
		}},
		{"WATCHTOWER_HTTP_API_TOKEN", "mytoken", func(c Config) bool { return c.Watchtower.APIToken == "mytoken" }},
		{"WATCHTOWER_HTTP_API_PERIODIC_POLLS", "true", func(c Config) bool {
			return c.Watchtower.PeriodicPolls && c.AutoUpdateDefault == models.AutoUpdateAll
		}},
		{"WATCHTOWER_HTTP_API_METRICS", "true", func(c Config) bool { return c.Watchtower.APIMetrics }},
		{"WATCHTOWER_INCLUDE_STOPPED", "true", func(c Config) bool { return c.AutoUpdateDefault == models.AutoUpdateAll }},
		{"WATCHTOWER_REVIVE_STOPPED", "true", func(c Config) bool { return c.AutoUpdateDefault == models.AutoUpdateAll }},
		{"WATCHTOWER_ROLLING_RESTART", "true", func(c Config) bool { return c.AutoUpdateDefault == models.AutoUpdateAll }},
		{"WATCHTOWER_NOTIFICATIONS", "shoutrrr", func(c Config) bool { return c.Notify == nil }},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.env] = true
		t.Run(tc.env, func(t *testing.T) {
			c, err := parseConfig("serve", nil, env(map[string]string{tc.env: tc.value}), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%s=%q gave %+v", tc.env, tc.value, c)
			}
			if len(c.Watchtower.Taken) != 1 || c.Watchtower.Taken[0] != tc.env {
				t.Errorf("taken = %v, want [%s]", c.Watchtower.Taken, tc.env)
			}
		})
	}
	for _, wv := range watchtowerVars {
		if !covered[wv.env] {
			t.Errorf("%s has no row in this table", wv.env)
		}
	}
}

func TestRefitOptionsBeatWatchtowerVariables(t *testing.T) {
	c, err := parseConfig("serve", []string{"-schedule", "@daily"}, env(map[string]string{
		"WATCHTOWER_SCHEDULE": "0 0 4 * * *", "WATCHTOWER_POLL_INTERVAL": "30", "REFIT_CHECK_INTERVAL": "1h",
		"WATCHTOWER_LABEL_ENABLE": "true", "REFIT_AUTO_UPDATE_DEFAULT": "off",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule != "@daily" || c.CheckInterval != time.Hour || c.AutoUpdateDefault != models.AutoUpdateOff {
		t.Errorf("got schedule %q, interval %v, default %q", c.Schedule, c.CheckInterval, c.AutoUpdateDefault)
	}
	if strings.Join(c.Watchtower.Taken, " ") != "WATCHTOWER_LABEL_ENABLE" {
		t.Errorf("taken = %v, want only WATCHTOWER_LABEL_ENABLE", c.Watchtower.Taken)
	}
}

func TestAutoUpdateDefaultStaysOffWithoutWatchtower(t *testing.T) {
	c, err := parseConfig("serve", nil, env(nil), &bytes.Buffer{})
	if err != nil || c.AutoUpdateDefault != models.AutoUpdateOff || c.LifecycleHooks {
		t.Errorf("default = %q, hooks %v, %v; want off, off", c.AutoUpdateDefault, c.LifecycleHooks, err)
	}
	for _, bad := range []map[string]string{
		{"REFIT_AUTO_UPDATE_DEFAULT": "some"}, {"WATCHTOWER_POLL_INTERVAL": "5m"}, {"WATCHTOWER_CLEANUP": "maybe"},
	} {
		if _, err := parseConfig("serve", nil, env(bad), &bytes.Buffer{}); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err = %v, want one line", bad, err)
		}
	}
}

func TestUnknownWatchtowerVariablesAreNamedOnce(t *testing.T) {
	got := unknownWatchtower([]string{"WATCHTOWER_POLL_INTERVAL=30", "WATCHTOWER_NOTIFICATION_TEMPLATE={{x}}",
		"PATH=/bin", "WATCHTOWER_HTTP_API_TOKEN=secret", "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD=hunter2"})
	if strings.Join(got, " ") != "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD WATCHTOWER_NOTIFICATION_TEMPLATE" {
		t.Errorf("unknown = %v", got)
	}
	var buf bytes.Buffer
	logWatchtower(slog.New(slog.NewTextHandler(&buf, nil)), WatchtowerConfig{
		Taken: []string{"WATCHTOWER_HTTP_API_TOKEN"}, APIToken: "secret", Unknown: got}, models.AutoUpdateAll)
	out := buf.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "WATCHTOWER_HTTP_API_TOKEN") ||
		!strings.Contains(out, "WATCHTOWER_NOTIFICATION_TEMPLATE") || strings.Contains(out, "secret") || strings.Contains(out, "hunter2") {
		t.Errorf("log = %q: want one info and one warning line, no values", out)
	}
}
