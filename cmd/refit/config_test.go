package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig("serve", nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8099" || c.DB != "refit.db" || c.CheckInterval != 6*time.Hour || c.LogFormat != "text" ||
		c.AuditRetention != 90*24*time.Hour || c.TrustedProxies != nil {
		t.Errorf("defaults = %+v", c)
	}
}

func TestDurationsTakeDays(t *testing.T) {
	for v, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "1d": 24 * time.Hour, "0": 0, "36h": 36 * time.Hour} {
		c, err := parseConfig("serve", []string{"-audit-retention", v}, env(nil), &bytes.Buffer{})
		if err != nil || c.AuditRetention != want {
			t.Errorf("-audit-retention %s = %v, %v; want %v", v, c.AuditRetention, err, want)
		}
	}
	c, err := parseConfig("serve", nil, env(map[string]string{"REFIT_SESSION_MAX": "30d"}), &bytes.Buffer{})
	if err != nil || c.SessionMax != 30*24*time.Hour {
		t.Errorf("REFIT_SESSION_MAX=30d = %v, %v", c.SessionMax, err)
	}
}

func TestParseConfigFlagBeatsEnvBeatsDefault(t *testing.T) {
	c, err := parseConfig("serve", []string{"-addr", "127.0.0.1:9000"},
		env(map[string]string{"REFIT_ADDR": ":7000", "REFIT_DB": "/tmp/x.db", "REFIT_CHECK_INTERVAL": "30m"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DB != "/tmp/x.db" || c.CheckInterval != 30*time.Minute {
		t.Errorf("got %+v", c)
	}
}

func TestParseConfigRejectsBadValuesWithOneLine(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-addr", "8099"}, nil, `invalid -addr "8099"`},
		{nil, map[string]string{"REFIT_CHECK_INTERVAL": "soon"}, `invalid -check-interval "soon"`},
		{[]string{"-settle", "0s"}, nil, `invalid -settle "0s"`},
		{[]string{"-max-pulls", "0"}, nil, `invalid -max-pulls "0"`},
		{[]string{"-log-level", "loud"}, nil, `invalid -log-level "loud"`},
		{[]string{"-log-format", "xml"}, nil, `invalid -log-format "xml"`},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{nil, map[string]string{"REFIT_AUDIT_RETENTION": "forever"}, `invalid -audit-retention "forever"`},
		{nil, map[string]string{"REFIT_AUDIT_RETENTION": "-1d"}, `invalid -audit-retention "-1d"`},
		{nil, map[string]string{"REFIT_AUDIT_RETENTION": "9999999d"}, `invalid -audit-retention "9999999d"`},
	}
	for _, tc := range tests {
		_, err := parseConfig("serve", tc.args, env(tc.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseConfig(%v, %v) error = %v, want one line containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestHelpListsEveryOptionWithItsEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig("serve", []string{"-h"}, env(nil), &out)
	if err == nil {
		t.Fatal("-h gave no error; want flag.ErrHelp")
	}
	for _, o := range options {
		if !strings.Contains(out.String(), "-"+o.name) || !strings.Contains(out.String(), o.env) {
			t.Errorf("help lacks -%s or %s:\n%s", o.name, o.env, out.String())
		}
	}
}

// The README's options table has a row for every option, with its default.
func TestREADMEListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		row := fmt.Sprintf("| `-%s` | `%s` | ", o.name, o.env)
		if o.def != "" {
			row += "`" + o.def + "` |"
		}
		if !strings.Contains(string(b), row) {
			t.Errorf("README.md has no options row starting %q", row)
		}
	}
}

func TestParseHosts(t *testing.T) {
	c, err := parseConfig("serve", nil, env(map[string]string{"REFIT_HOSTS": " home=unix:///var/run/docker.sock\n\tnas=tcp://10.0.0.5:2375 "}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := []HostSpec{{"home", "unix:///var/run/docker.sock"}, {"nas", "tcp://10.0.0.5:2375"}}
	if fmt.Sprint(c.Hosts) != fmt.Sprint(want) {
		t.Errorf("hosts = %v, want %v", c.Hosts, want)
	}
	if c, err := parseConfig("serve", nil, env(nil), &bytes.Buffer{}); err != nil || c.Hosts != nil {
		t.Errorf("no -hosts = %v, %v; want none (one host, local)", c.Hosts, err)
	}
}

// A bad entry stops start-up with one line that names it, and never shows
// a password.
func TestParseHostsRejectsBadEntriesWithOneLine(t *testing.T) {
	for _, tc := range []struct{ hosts, want string }{
		{"nas", `invalid -hosts entry "nas": want name=url`},
		{"NAS=unix:///x.sock", `invalid -hosts entry "NAS": a host name is lower-case`},
		{"-a=unix:///x.sock", `invalid -hosts entry "-a"`},
		{"a=unix:///x.sock a=unix:///y.sock", `host a is named twice`},
		{"a=http://10.0.0.5", "invalid -hosts entry a=http://10.0.0.5: "},
		{"a=tcp://10.0.0.5:2376?certs=/nonexistent", "invalid -hosts entry a=tcp://10.0.0.5:2376?certs=/nonexistent: "},
		{"a=ssh://u:s3cret@vps", "invalid -hosts entry a=ssh://u:xxxxx@vps: "},
	} {
		_, err := parseConfig("serve", []string{"-hosts", tc.hosts}, env(nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("-hosts %q: %v, want one line with %q", tc.hosts, err, tc.want)
		}
	}
}

// -schedule, -update-window and -min-age, from flags and from REFIT_*; a
// bad value names its option.
func TestParseConfigScheduleWindowMinAge(t *testing.T) {
	c, err := parseConfig("serve", []string{"-schedule", "0 0 4 * * *", "-update-window", "Sat,Sun 02:00-05:00", "-min-age", "7d"},
		env(nil), &bytes.Buffer{})
	if err != nil || c.Schedule != "0 0 4 * * *" || c.UpdateWindow != "Sat,Sun 02:00-05:00" || c.MinAge != 7*24*time.Hour {
		t.Errorf("flags = %q, %q, %v, %v", c.Schedule, c.UpdateWindow, c.MinAge, err)
	}
	c, err = parseConfig("serve", nil, env(map[string]string{"REFIT_SCHEDULE": "@every 6h",
		"REFIT_UPDATE_WINDOW": "Mon-Fri 22:00-06:00", "REFIT_MIN_AGE": "36h"}), &bytes.Buffer{})
	if err != nil || c.Schedule != "@every 6h" || c.UpdateWindow != "Mon-Fri 22:00-06:00" || c.MinAge != 36*time.Hour {
		t.Errorf("env = %q, %q, %v, %v", c.Schedule, c.UpdateWindow, c.MinAge, err)
	}
	c, err = parseConfig("serve", []string{"-min-age", "1d"}, env(map[string]string{"REFIT_MIN_AGE": "3d"}), &bytes.Buffer{})
	if err != nil || c.MinAge != 24*time.Hour || c.Schedule != "" || c.UpdateWindow != "" {
		t.Errorf("-min-age over REFIT_MIN_AGE = %v, %v (schedule %q, window %q)", c.MinAge, err, c.Schedule, c.UpdateWindow)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-schedule", "0 4 * * *"}, nil, `invalid -schedule: schedule "0 4 * * *"`}, // five fields: Watchtower's have six
		{nil, map[string]string{"REFIT_SCHEDULE": "often"}, `invalid -schedule: schedule "often"`},
		{[]string{"-update-window", "Sat 02:00"}, nil, `invalid -update-window: update window "Sat 02:00"`},
		{nil, map[string]string{"REFIT_UPDATE_WINDOW": "Xyz 02:00-03:00"}, `invalid -update-window: update window "Xyz 02:00-03:00"`},
		{[]string{"-min-age", "a week"}, nil, `invalid -min-age "a week"`},
		{nil, map[string]string{"REFIT_MIN_AGE": "-1d"}, `invalid -min-age "-1d"`},
	} {
		_, err := parseConfig("serve", tc.args, env(tc.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseConfig(%v, %v) error = %v, want one line containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}
