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
	// The settings of the notifications from before URLs, and the cosmetic
	// ones, alone: taken, and nothing to send without WATCHTOWER_NOTIFICATIONS.
	for _, k := range []string{"NOTIFICATIONS_LEVEL", "NOTIFICATION_EMAIL_FROM", "NOTIFICATION_EMAIL_TO", "NOTIFICATION_EMAIL_SERVER",
		"NOTIFICATION_EMAIL_SERVER_PORT", "NOTIFICATION_EMAIL_SERVER_USER", "NOTIFICATION_EMAIL_SERVER_PASSWORD",
		"NOTIFICATION_EMAIL_SERVER_TLS_SKIP_VERIFY", "NOTIFICATION_SLACK_HOOK_URL", "NOTIFICATION_SLACK_IDENTIFIER",
		"NOTIFICATION_SLACK_CHANNEL", "NOTIFICATION_SLACK_ICON_EMOJI", "NOTIFICATION_SLACK_ICON_URL", "NOTIFICATION_MSTEAMS_HOOK_URL",
		"NOTIFICATION_GOTIFY_URL", "NOTIFICATION_GOTIFY_TOKEN", "NOTIFICATION_GOTIFY_TLS_SKIP_VERIFY", "NOTIFICATION_TEMPLATE",
		"NOTIFICATION_REPORT", "NOTIFICATION_TITLE_TAG", "NOTIFICATION_SKIP_TITLE", "NOTIFICATION_LOG_STDOUT",
		"NOTIFICATION_EMAIL_DELAY", "NOTIFICATION_EMAIL_SUBJECTTAG", "NOTIFICATION_MSTEAMS_USE_LOG_DATA",
		"NOTIFICATIONS_HOSTNAME", "NOTIFICATIONS_DELAY"} {
		value := "x"
		if k == "NOTIFICATIONS_LEVEL" {
			value = "info"
		}
		tests = append(tests, struct {
			env, value string
			check      func(Config) bool
		}{"WATCHTOWER_" + k, value, func(c Config) bool { return c.Notify == nil }})
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
	got := unknownWatchtower([]string{"WATCHTOWER_POLL_INTERVAL=30", "WATCHTOWER_NOTIFICATION_TEMPLATE={{x}}", "WATCHTOWER_FUTURE_OPTION={{x}}",
		"PATH=/bin", "WATCHTOWER_HTTP_API_TOKEN=secret", "WATCHTOWER_NOTIFICATION_MATRIX_PASSWORD=hunter2"})
	if strings.Join(got, " ") != "WATCHTOWER_FUTURE_OPTION WATCHTOWER_NOTIFICATION_MATRIX_PASSWORD" {
		t.Errorf("unknown = %v", got)
	}
	var buf bytes.Buffer
	logWatchtower(slog.New(slog.NewTextHandler(&buf, nil)), WatchtowerConfig{
		Taken: []string{"WATCHTOWER_HTTP_API_TOKEN"}, APIToken: "secret", Unknown: got}, models.AutoUpdateAll)
	out := buf.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "WATCHTOWER_HTTP_API_TOKEN") ||
		!strings.Contains(out, "WATCHTOWER_FUTURE_OPTION") || strings.Contains(out, "secret") || strings.Contains(out, "hunter2") {
		t.Errorf("log = %q: want one info and one warning line, no values", out)
	}
}

// Watchtower's notifications from before URLs become targets: each kind
// WATCHTOWER_NOTIFICATIONS names, converted as Watchtower converts it, beside
// WATCHTOWER_NOTIFICATION_URL's; WATCHTOWER_NOTIFICATIONS_LEVEL=error sends
// only failures. The flags do the same. A kind missing its settings stops
// refit, naming the kind, never the password.
func TestWatchtowerLegacyNotificationsBecomeTargets(t *testing.T) {
	vars := map[string]string{
		"WATCHTOWER_NOTIFICATIONS":                      "email slack msteams gotify",
		"WATCHTOWER_NOTIFICATION_URL":                   "ntfy://ntfy.sh/alerts",
		"WATCHTOWER_NOTIFICATIONS_LEVEL":                "error",
		"WATCHTOWER_NOTIFICATION_EMAIL_FROM":            "watchtower@example.com",
		"WATCHTOWER_NOTIFICATION_EMAIL_TO":              "ops@example.com",
		"WATCHTOWER_NOTIFICATION_EMAIL_SERVER":          "mail.example.com",
		"WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PORT":     "587",
		"WATCHTOWER_NOTIFICATION_EMAIL_SERVER_USER":     "watchtower",
		"WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD": "hunter2",
		"WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL":        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
		"WATCHTOWER_NOTIFICATION_MSTEAMS_HOOK_URL": "https://example.webhook.office.com/webhookb2/11111111-2222-3333-4444-555555555555@" +
			"66666666-7777-8888-9999-000000000000/IncomingWebhook/abcdef0123456789abcdef0123456789/77777777-8888-9999-aaaa-bbbbbbbbbbbb/V2abcdef",
		"WATCHTOWER_NOTIFICATION_GOTIFY_URL":   "https://gotify.example.com",
		"WATCHTOWER_NOTIFICATION_GOTIFY_TOKEN": "Aabcdefghijklmn",
	}
	c, err := parseConfig("serve", nil, env(vars), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var schemes []string
	for _, n := range c.Notify {
		scheme, _, _ := strings.Cut(n.URL, "://")
		schemes = append(schemes, scheme)
		if len(n.Events) != 1 || n.Events[0] != models.EventFailed {
			t.Errorf("%s: events %v, want only failed (the level is error)", scheme, n.Events)
		}
	}
	if got := strings.Join(schemes, " "); got != "ntfy smtp slack teams gotify" {
		t.Errorf("targets = %s, want ntfy smtp slack teams gotify", got)
	}
	if !strings.Contains(c.Notify[1].URL, "watchtower:hunter2@mail.example.com:587") || !strings.Contains(c.Notify[1].URL, "auth=Plain") {
		t.Errorf("email URL = %s", models.MaskNotifyURL(c.Notify[1].URL))
	}

	// The same as flags, the level left at info: every event.
	rest, flagVars, _, err := watchtowerArgs([]string{"--notifications", "gotify", "--notification-gotify-url", "http://gotify.lan:8080",
		"--notification-gotify-token", "Aabcdefghijklmn"}, isOption)
	if err != nil {
		t.Fatal(err)
	}
	c, err = parseConfig("serve", rest, watchtowerEnv(env(nil), flagVars), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notify) != 1 || !strings.HasPrefix(c.Notify[0].URL, "gotify://gotify.lan:8080/Aabcdefghijklmn") || c.Notify[0].Events != nil {
		t.Errorf("from flags: %+v", c.Notify)
	}

	// refit's own -notify wins.
	c, err = parseConfig("serve", nil, env(map[string]string{"REFIT_NOTIFY": "ntfy://ntfy.sh/mine", "WATCHTOWER_NOTIFICATIONS": "email"}), &bytes.Buffer{})
	if err != nil || len(c.Notify) != 1 || c.Notify[0].URL != "ntfy://ntfy.sh/mine" {
		t.Errorf("REFIT_NOTIFY beside WATCHTOWER_NOTIFICATIONS: %+v, %v", c.Notify, err)
	}

	for _, bad := range []map[string]string{
		{"WATCHTOWER_NOTIFICATIONS": "email", "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD": "hunter2"},
		{"WATCHTOWER_NOTIFICATIONS": "pager"},
		{"WATCHTOWER_NOTIFICATIONS_LEVEL": "loud"},
	} {
		_, err := parseConfig("serve", nil, env(bad), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "WATCHTOWER_NOTIFICATIONS") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: err = %v, want one naming WATCHTOWER_NOTIFICATIONS… without the password", bad, err)
		}
	}
}
