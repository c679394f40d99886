package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"refit/models"
)

// A compose file's `command:` for Watchtower: each flag counts as the
// variable it stands for, in each of pflag's spellings, and refit's own
// flags pass through.
func TestWatchtowerFlagsStandForTheirVariables(t *testing.T) {
	tests := []struct {
		args    []string
		vars    map[string]string
		rest    []string
		ignored []string
	}{
		{args: []string{"--interval", "30"}, vars: map[string]string{"WATCHTOWER_POLL_INTERVAL": "30"}},
		// refit's own -cleanup is Watchtower's --cleanup too; -c is Watchtower's short form.
		{args: []string{"-i", "30", "--cleanup"}, vars: map[string]string{"WATCHTOWER_POLL_INTERVAL": "30"}, rest: []string{"--cleanup"}},
		{args: []string{"--interval=30", "-c"}, vars: map[string]string{"WATCHTOWER_POLL_INTERVAL": "30", "WATCHTOWER_CLEANUP": "true"}},
		{args: []string{"--debug", "--http-api-update"}, vars: map[string]string{"WATCHTOWER_DEBUG": "true", "WATCHTOWER_HTTP_API_UPDATE": "true"}},
		{args: []string{"--label-enable", "-m", "--stop-timeout", "30s", "--scope", "prod"},
			vars: map[string]string{"WATCHTOWER_LABEL_ENABLE": "true", "WATCHTOWER_MONITOR_ONLY": "true", "WATCHTOWER_TIMEOUT": "30s", "WATCHTOWER_SCOPE": "prod"}},
		{args: []string{"--notification-url", "ntfy://a/x", "--notification-url", "ntfy://b/y"},
			vars: map[string]string{"WATCHTOWER_NOTIFICATION_URL": "ntfy://a/x ntfy://b/y"}},
		{args: []string{"--enable-lifecycle-hooks", "--http-api-token", "t0k", "--http-api-metrics", "--http-api-periodic-polls"},
			vars: map[string]string{"WATCHTOWER_LIFECYCLE_HOOKS": "true", "WATCHTOWER_HTTP_API_TOKEN": "t0k",
				"WATCHTOWER_HTTP_API_METRICS": "true", "WATCHTOWER_HTTP_API_PERIODIC_POLLS": "true"}},
		// refit's own -schedule is Watchtower's too; -s is Watchtower's short form.
		{args: []string{"--schedule", "0 0 4 * * *", "-addr", ":9000"}, vars: map[string]string{}, rest: []string{"--schedule", "0 0 4 * * *", "-addr", ":9000"}},
		{args: []string{"-s", "0 0 4 * * *"}, vars: map[string]string{"WATCHTOWER_SCHEDULE": "0 0 4 * * *"}},
		{args: []string{"-H", "tcp://127.0.0.1:2375"}, vars: map[string]string{}, rest: []string{"-hosts", "local=tcp://127.0.0.1:2375"}},
		// refit's -log-level takes Watchtower's --log-level info as it is.
		{args: []string{"--run-once", "--log-level", "info", "--no-startup-message"}, vars: map[string]string{},
			rest: []string{"--log-level", "info"}, ignored: []string{"--run-once", "--no-startup-message"}},
		{args: []string{"-no-such-flag"}, vars: map[string]string{}, rest: []string{"-no-such-flag"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			rest, vars, ignored, err := watchtowerArgs(tc.args, isOption)
			if err != nil {
				t.Fatal(err)
			}
			if !equalMaps(vars, tc.vars) || !slices.Equal(rest, tc.rest) || !slices.Equal(ignored, tc.ignored) {
				t.Errorf("got vars %v rest %q ignored %q; want %v %q %q", vars, rest, ignored, tc.vars, tc.rest, tc.ignored)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// What refit cannot do as Watchtower would, it refuses to start on, rather
// than update more than Watchtower did: container names (Watchtower
// watches those alone), --disable-containers, --tlsverify.
func TestWatchtowerFlagsRefitCannotHonourStopTheStart(t *testing.T) {
	for _, args := range [][]string{{"--interval", "30", "nginx", "redis"}, {"-x", "db"}, {"--disable-containers=db"}, {"--tlsverify"},
		{"--interval"}} {
		if _, _, _, err := watchtowerArgs(args, isOption); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	err := run(t.Context(), nil, env(map[string]string{"WATCHTOWER_DISABLE_CONTAINERS": "db"}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "WATCHTOWER_DISABLE_CONTAINERS") {
		t.Errorf("WATCHTOWER_DISABLE_CONTAINERS: %v", err)
	}
}

// The flags end in the configuration as their variables do, a flag over
// its variable; a token given as a Docker secret's file is read from it.
func TestWatchtowerFlagsReachTheConfig(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "access_token")
	if err := os.WriteFile(secret, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rest, vars, _, err := watchtowerArgs([]string{"--interval", "30", "--label-enable", "--http-api-update", "--http-api-periodic-polls"}, isOption)
	if err != nil {
		t.Fatal(err)
	}
	getenv := watchtowerEnv(env(map[string]string{"WATCHTOWER_POLL_INTERVAL": "600", "WATCHTOWER_HTTP_API_TOKEN": secret}), vars)
	c, err := parseConfig("serve", rest, getenv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.CheckInterval != 30*time.Second || c.AutoUpdateDefault != models.AutoUpdateLabelled || c.Watchtower.APIToken != "s3cret-token" ||
		!c.Watchtower.APIUpdate || c.Watchtower.APIOnly() {
		t.Errorf("config = interval %s, default %s, token set %v, api %v only %v", c.CheckInterval, c.AutoUpdateDefault,
			c.Watchtower.APIToken == "s3cret-token", c.Watchtower.APIUpdate, c.Watchtower.APIOnly())
	}
}
