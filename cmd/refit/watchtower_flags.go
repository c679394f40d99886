package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// watchtowerFlag is one of Watchtower's command-line flags, as a compose
// file's `command: --interval 30 --cleanup` passes them: refit reads each
// as the variable it stands for, so the compose file needs no other change.
type watchtowerFlag struct {
	long, short string
	env         string // "" : Watchtower's, read and ignored (named in the warning)
	value       bool   // takes a value; else a bool flag (--cleanup, --cleanup=false)
}

// watchtowerFlags are Watchtower's flags (internal/flags there). Those
// whose name is one of refit's own options (-schedule) are refit's.
var watchtowerFlags = []watchtowerFlag{
	{long: "interval", short: "i", env: "WATCHTOWER_POLL_INTERVAL", value: true},
	{long: "schedule", short: "s", env: "WATCHTOWER_SCHEDULE", value: true},
	{long: "stop-timeout", short: "t", env: "WATCHTOWER_TIMEOUT", value: true},
	{long: "no-pull", env: "WATCHTOWER_NO_PULL"},
	{long: "cleanup", short: "c", env: "WATCHTOWER_CLEANUP"},
	{long: "label-enable", short: "e", env: "WATCHTOWER_LABEL_ENABLE"},
	{long: "debug", short: "d", env: "WATCHTOWER_DEBUG"},
	{long: "monitor-only", short: "m", env: "WATCHTOWER_MONITOR_ONLY"},
	{long: "include-stopped", short: "S", env: "WATCHTOWER_INCLUDE_STOPPED"},
	{long: "revive-stopped", env: "WATCHTOWER_REVIVE_STOPPED"},
	{long: "enable-lifecycle-hooks", env: "WATCHTOWER_LIFECYCLE_HOOKS"},
	{long: "rolling-restart", env: "WATCHTOWER_ROLLING_RESTART"},
	{long: "http-api-update", env: "WATCHTOWER_HTTP_API_UPDATE"},
	{long: "http-api-metrics", env: "WATCHTOWER_HTTP_API_METRICS"},
	{long: "http-api-token", env: "WATCHTOWER_HTTP_API_TOKEN", value: true},
	{long: "http-api-periodic-polls", env: "WATCHTOWER_HTTP_API_PERIODIC_POLLS"},
	{long: "scope", env: "WATCHTOWER_SCOPE", value: true},
	{long: "notifications", short: "n", env: "WATCHTOWER_NOTIFICATIONS", value: true},
	{long: "notification-url", env: "WATCHTOWER_NOTIFICATION_URL", value: true},
	{long: "notifications-level", env: "WATCHTOWER_NOTIFICATIONS_LEVEL", value: true},
	{long: "notification-email-from", env: "WATCHTOWER_NOTIFICATION_EMAIL_FROM", value: true},
	{long: "notification-email-to", env: "WATCHTOWER_NOTIFICATION_EMAIL_TO", value: true},
	{long: "notification-email-server", env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER", value: true},
	{long: "notification-email-server-port", env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PORT", value: true},
	{long: "notification-email-server-user", env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_USER", value: true},
	{long: "notification-email-server-password", env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD", value: true},
	{long: "notification-email-server-tls-skip-verify", env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_TLS_SKIP_VERIFY"},
	{long: "notification-slack-hook-url", env: "WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL", value: true},
	{long: "notification-slack-identifier", env: "WATCHTOWER_NOTIFICATION_SLACK_IDENTIFIER", value: true},
	{long: "notification-slack-channel", env: "WATCHTOWER_NOTIFICATION_SLACK_CHANNEL", value: true},
	{long: "notification-slack-icon-emoji", env: "WATCHTOWER_NOTIFICATION_SLACK_ICON_EMOJI", value: true},
	{long: "notification-slack-icon-url", env: "WATCHTOWER_NOTIFICATION_SLACK_ICON_URL", value: true},
	{long: "notification-msteams-hook", env: "WATCHTOWER_NOTIFICATION_MSTEAMS_HOOK_URL", value: true},
	{long: "notification-gotify-url", env: "WATCHTOWER_NOTIFICATION_GOTIFY_URL", value: true},
	{long: "notification-gotify-token", env: "WATCHTOWER_NOTIFICATION_GOTIFY_TOKEN", value: true},
	{long: "notification-gotify-tls-skip-verify", env: "WATCHTOWER_NOTIFICATION_GOTIFY_TLS_SKIP_VERIFY"},
	{long: "host", short: "H", value: true}, // refit's -hosts local=URL
	// Read, and without effect here: refit negotiates the API version, runs
	// as a service, logs its own way.
	{long: "api-version", short: "a", value: true},
	{long: "no-restart"}, {long: "no-startup-message"}, {long: "remove-volumes"}, {long: "trace"},
	{long: "run-once", short: "R"}, {long: "include-restarting"}, {long: "no-color"}, {long: "health-check"},
	{long: "label-take-precedence"}, {long: "notification-report"}, {long: "notification-skip-title"},
	{long: "notification-log-stdout"},
	{long: "porcelain", short: "P", value: true},
	{long: "warn-on-head-failure", value: true}, {long: "notification-msteams-data"},
	{long: "notification-email-delay", value: true}, {long: "notification-email-subjecttag", value: true},
	{long: "notifications-delay", value: true}, {long: "notifications-hostname", value: true},
	{long: "notification-template", value: true}, {long: "notification-title-tag", value: true},
}

// watchtowerNarrowing are Watchtower's ways to leave containers out by
// name. refit has none; ignoring one would update containers Watchtower
// left alone, so refit refuses to start instead.
var watchtowerNarrowing = map[string]bool{"disable-containers": true, "x": true}

// watchtowerTLS is Watchtower's --tlsverify, which reads DOCKER_CERT_PATH:
// refit reads them itself, or a host's ?certs= in -hosts.
var watchtowerTLS = map[string]bool{"tlsverify": true, "v": true}

// watchtowerArgs takes Watchtower's flags out of args and returns refit's
// own (own reports a refit option name), the variables the taken flags
// stand for (a flag wins over the variable, as in Watchtower), and the
// flags read without effect, for the start-up warning. Container names,
// which Watchtower watches alone, are an error: refit cannot narrow by
// name, and watching every container instead would update what Watchtower
// left alone.
func watchtowerArgs(args []string, own func(string) bool) (rest []string, vars map[string]string, ignored []string, err error) {
	vars = map[string]string{}
	byName := map[string]watchtowerFlag{}
	for _, f := range watchtowerFlags {
		byName[f.long] = f
		if f.short != "" {
			byName[f.short] = f
		}
	}
	var names []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			names = append(names, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			names = append(names, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if own(name) {
			rest = append(rest, a)
			if !hasVal && i+1 < len(args) && !boolOptions[name] && !strings.HasPrefix(args[i+1], "-") {
				i++ // its value, which may look like a name
				rest = append(rest, args[i])
			}
			continue
		}
		if watchtowerNarrowing[name] {
			return nil, nil, nil, fmt.Errorf("refit does not take Watchtower's %s: label those containers com.centurylinklabs.watchtower.enable=false instead", a)
		}
		if watchtowerTLS[name] {
			return nil, nil, nil, fmt.Errorf("refit does not take Watchtower's %s: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or -hosts name=tcp://…?certs=DIR", a)
		}
		f, ok := byName[name]
		if !ok {
			rest = append(rest, a) // refit's flag parsing names it
			continue
		}
		if f.value && !hasVal {
			if i+1 >= len(args) {
				return nil, nil, nil, fmt.Errorf("watchtower flag %s needs a value", a)
			}
			i++
			val = args[i]
		} else if !f.value && !hasVal {
			val = "true"
		}
		if f.long == "host" { // one host, as Watchtower watches one
			rest = append(rest, "-hosts", "local="+val)
			continue
		}
		if f.env == "" {
			ignored = append(ignored, "--"+f.long)
			continue
		}
		if f.long == "notification-url" && vars[f.env] != "" { // repeated, as Watchtower takes it
			val = vars[f.env] + " " + val
		}
		vars[f.env] = val
	}
	if len(names) > 0 {
		return nil, nil, nil, fmt.Errorf("refit does not take Watchtower's container names (%s): label the containers to watch "+
			"com.centurylinklabs.watchtower.enable=true and set WATCHTOWER_LABEL_ENABLE=true", strings.Join(names, " "))
	}
	return rest, vars, ignored, nil
}

// isOption reports whether name is one of refit's own options.
func isOption(name string) bool {
	return slices.ContainsFunc(options, func(o option) bool { return o.name == name })
}

// watchtowerSecretVars are the variables whose value may name a file that
// holds it (a Docker secret, /run/secrets/…), as Watchtower reads them.
var watchtowerSecretVars = map[string]bool{"WATCHTOWER_HTTP_API_TOKEN": true, "WATCHTOWER_NOTIFICATION_URL": true,
	"WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD": true, "WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL": true,
	"WATCHTOWER_NOTIFICATION_MSTEAMS_HOOK_URL": true, "WATCHTOWER_NOTIFICATION_GOTIFY_TOKEN": true}

// watchtowerEnv is getenv with the variables Watchtower's flags stand for
// on top, and a secret variable that names a file read from that file
// (its non-empty lines, space-separated).
func watchtowerEnv(getenv func(string) string, vars map[string]string) func(string) string {
	return func(k string) string {
		v, ok := vars[k]
		if !ok {
			v = getenv(k)
		}
		if watchtowerSecretVars[k] && strings.HasPrefix(v, "/") {
			if b, err := os.ReadFile(v); err == nil {
				v = strings.Join(strings.Fields(string(b)), " ")
			}
		}
		return v
	}
}
