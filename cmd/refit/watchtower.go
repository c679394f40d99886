package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"refit/models"
	"refit/services/shoutrrr"
)

// WatchtowerConfig is what a Watchtower user's WATCHTOWER_* variables ask
// for that no refit option says. Taken and Unknown name variables, never
// their values: a token or a notification URL is a secret.
type WatchtowerConfig struct {
	Present     bool // any known WATCHTOWER_* variable is set: Watchtower's defaults apply
	LabelEnable bool
	MonitorOnly bool
	NoPull      bool
	Scope       string
	StopTimeout time.Duration // 0: the container's own
	// The HTTP API: Token lets /v1/update (and /v1/metrics) in; Update
	// without PeriodicPolls means only the API updates.
	APIUpdate, PeriodicPolls, APIMetrics bool
	APIToken                             string
	Taken, Unknown                       []string
}

// watchtowerVar is one Watchtower variable: the refit option it falls back
// for (with its value converted), or what it sets in WatchtowerConfig.
type watchtowerVar struct {
	env    string
	option string                       // "" when no refit option says it
	conv   func(string) (string, error) // the option's value; nil keeps it
	set    func(*WatchtowerConfig, string) error
}

var watchtowerVars = []watchtowerVar{
	{env: "WATCHTOWER_POLL_INTERVAL", option: "check-interval", conv: func(v string) (string, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return "", fmt.Errorf("want whole seconds")
		}
		return strconv.Itoa(n) + "s", nil
	}},
	{env: "WATCHTOWER_SCHEDULE", option: "schedule"},
	{env: "WATCHTOWER_NOTIFICATION_URL", set: readLater}, // with the others, in legacyNotify
	{env: "WATCHTOWER_DEBUG", option: "log-level", conv: func(v string) (string, error) {
		if b, err := strconv.ParseBool(v); err != nil || !b {
			return "", err
		}
		return "debug", nil
	}},
	{env: "WATCHTOWER_LIFECYCLE_HOOKS", option: "lifecycle-hooks"},
	{env: "WATCHTOWER_LABEL_ENABLE", set: flagOf(func(w *WatchtowerConfig) *bool { return &w.LabelEnable })},
	{env: "WATCHTOWER_MONITOR_ONLY", set: flagOf(func(w *WatchtowerConfig) *bool { return &w.MonitorOnly })},
	{env: "WATCHTOWER_CLEANUP", option: "cleanup", conv: boolValue},
	{env: "WATCHTOWER_NO_PULL", set: flagOf(func(w *WatchtowerConfig) *bool { return &w.NoPull })},
	{env: "WATCHTOWER_TIMEOUT", set: func(w *WatchtowerConfig, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 10s")
		}
		w.StopTimeout = d
		return nil
	}},
	{env: "WATCHTOWER_SCOPE", set: func(w *WatchtowerConfig, v string) error { w.Scope = strings.TrimSpace(v); return nil }},
	{env: "WATCHTOWER_HTTP_API_UPDATE", set: flagOf(func(w *WatchtowerConfig) *bool { return &w.APIUpdate })},
	{env: "WATCHTOWER_HTTP_API_TOKEN", set: func(w *WatchtowerConfig, v string) error { w.APIToken = strings.TrimSpace(v); return nil }},
	{env: "WATCHTOWER_HTTP_API_PERIODIC_POLLS", set: flagOf(func(w *WatchtowerConfig) *bool { return &w.PeriodicPolls })},
	{env: "WATCHTOWER_HTTP_API_METRICS", set: flagOf(func(w *WatchtowerConfig) *bool { return &w.APIMetrics })},
	// Read, and what refit does anyway: it lists stopped containers apart
	// and updates running ones, and it recreates one container at a time.
	{env: "WATCHTOWER_INCLUDE_STOPPED", set: func(*WatchtowerConfig, string) error { return nil }},
	{env: "WATCHTOWER_REVIVE_STOPPED", set: func(*WatchtowerConfig, string) error { return nil }},
	{env: "WATCHTOWER_ROLLING_RESTART", set: func(*WatchtowerConfig, string) error { return nil }},
	// The notifications from before URLs: WATCHTOWER_NOTIFICATIONS names
	// their kinds and these their settings; legacyNotify turns them into
	// shoutrrr URLs after the loop, as Watchtower does.
	{env: "WATCHTOWER_NOTIFICATIONS", set: readLater},
	{env: "WATCHTOWER_NOTIFICATIONS_LEVEL", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_FROM", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_TO", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PORT", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_USER", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PASSWORD", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_SERVER_TLS_SKIP_VERIFY", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_SLACK_HOOK_URL", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_SLACK_IDENTIFIER", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_SLACK_CHANNEL", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_SLACK_ICON_EMOJI", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_SLACK_ICON_URL", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_MSTEAMS_HOOK_URL", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_GOTIFY_URL", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_GOTIFY_TOKEN", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_GOTIFY_TLS_SKIP_VERIFY", set: readLater},
	// Read, and without effect: refit words its own messages and sends them
	// as they come.
	{env: "WATCHTOWER_NOTIFICATION_TEMPLATE", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_REPORT", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_TITLE_TAG", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_SKIP_TITLE", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_LOG_STDOUT", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_DELAY", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_EMAIL_SUBJECTTAG", set: readLater},
	{env: "WATCHTOWER_NOTIFICATION_MSTEAMS_USE_LOG_DATA", set: readLater},
	{env: "WATCHTOWER_NOTIFICATIONS_HOSTNAME", set: readLater},
	{env: "WATCHTOWER_NOTIFICATIONS_DELAY", set: readLater},
}

// readLater takes a variable that is read after the others, or not at all.
func readLater(*WatchtowerConfig, string) error { return nil }

// legacyNotify is the notify entries Watchtower's variables ask for:
// WATCHTOWER_NOTIFICATION_URL's, and those WATCHTOWER_NOTIFICATIONS names
// from before URLs, each given the events WATCHTOWER_NOTIFICATIONS_LEVEL
// lets through. "" when they ask for none.
func legacyNotify(getenv func(string) string) (string, error) {
	entries := strings.Fields(getenv("WATCHTOWER_NOTIFICATION_URL"))
	for _, kind := range strings.FieldsFunc(getenv("WATCHTOWER_NOTIFICATIONS"), func(r rune) bool { return r == ' ' || r == ',' }) {
		if kind == "shoutrrr" {
			continue // its URLs are WATCHTOWER_NOTIFICATION_URL
		}
		n := models.WatchtowerNotification{Kind: kind}
		env := func(k string) string { return strings.TrimSpace(getenv("WATCHTOWER_NOTIFICATION_" + k)) }
		skip := func(k string) bool { b, _ := strconv.ParseBool(env(k)); return b }
		switch kind {
		case "email":
			n.EmailFrom, n.EmailTo, n.EmailServer = env("EMAIL_FROM"), env("EMAIL_TO"), env("EMAIL_SERVER")
			n.EmailUser, n.EmailPassword, n.TLSSkipVerify = env("EMAIL_SERVER_USER"), env("EMAIL_SERVER_PASSWORD"), skip("EMAIL_SERVER_TLS_SKIP_VERIFY")
			if p := env("EMAIL_SERVER_PORT"); p != "" {
				port, err := strconv.Atoi(p)
				if err != nil || port < 1 || port > 65535 {
					return "", fmt.Errorf("invalid WATCHTOWER_NOTIFICATION_EMAIL_SERVER_PORT: want a port number")
				}
				n.EmailPort = port
			}
		case "slack":
			n.HookURL, n.Identifier = env("SLACK_HOOK_URL"), env("SLACK_IDENTIFIER")
			n.IconEmoji, n.IconURL = env("SLACK_ICON_EMOJI"), env("SLACK_ICON_URL")
		case "msteams":
			n.HookURL = env("MSTEAMS_HOOK_URL")
		case "gotify":
			n.GotifyURL, n.GotifyToken, n.TLSSkipVerify = env("GOTIFY_URL"), env("GOTIFY_TOKEN"), skip("GOTIFY_TLS_SKIP_VERIFY")
		}
		u, err := shoutrrr.LegacyURL(n)
		if err != nil {
			return "", fmt.Errorf("invalid WATCHTOWER_NOTIFICATIONS %s: %s", kind, models.ScrubNotify(err.Error(), n.HookURL))
		}
		entries = append(entries, u)
	}
	events := ""
	switch lvl := strings.ToLower(strings.TrimSpace(getenv("WATCHTOWER_NOTIFICATIONS_LEVEL"))); lvl {
	case "", "info", "debug", "trace":
	case "panic", "fatal", "error", "warn", "warning":
		events = "#" + models.EventFailed // what Watchtower logs at warn and above
	default:
		return "", fmt.Errorf("invalid WATCHTOWER_NOTIFICATIONS_LEVEL %q: want panic, fatal, error, warn, info, debug or trace", lvl)
	}
	for i, e := range entries {
		if events != "" && !strings.Contains(e, "#") {
			entries[i] = e + events
		}
	}
	return strings.Join(entries, " "), nil
}

// boolValue is a Watchtower boolean as the option's value.
func boolValue(v string) (string, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return "", fmt.Errorf("want true or false")
	}
	return strconv.FormatBool(b), nil
}

func flagOf(field func(*WatchtowerConfig) *bool) func(*WatchtowerConfig, string) error {
	return func(w *WatchtowerConfig, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*field(w) = b
		return nil
	}
}

// readWatchtower applies the WATCHTOWER_* variables: to each option that
// neither its flag nor its REFIT_* variable set, and to the settings that
// have no option. A bad value is one error naming the variable.
func readWatchtower(getenv func(string) string, set map[string]bool, vals map[string]*string) (WatchtowerConfig, error) {
	var w WatchtowerConfig
	envOf := map[string]string{}
	for _, o := range options {
		envOf[o.name] = o.env
	}
	for _, wv := range watchtowerVars {
		v := getenv(wv.env)
		if v == "" {
			continue
		}
		w.Present = true
		if wv.option != "" {
			if set[wv.option] || getenv(envOf[wv.option]) != "" {
				continue // refit's own setting wins
			}
			if wv.conv != nil {
				var err error
				if v, err = wv.conv(v); err != nil {
					return w, fmt.Errorf("invalid %s: %v", wv.env, err)
				}
				if v == "" {
					continue
				}
			}
			*vals[wv.option] = v
		} else if err := wv.set(&w, v); err != nil {
			return w, fmt.Errorf("invalid %s: %v", wv.env, err)
		}
		w.Taken = append(w.Taken, wv.env)
	}
	if !set["notify"] && getenv(envOf["notify"]) == "" {
		v, err := legacyNotify(getenv)
		if err != nil {
			return w, err
		}
		if v != "" {
			*vals["notify"] = v
		}
	}
	return w, nil
}

// unknownWatchtower names the WATCHTOWER_* variables of environ that refit
// does not read, sorted.
func unknownWatchtower(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "WATCHTOWER_") && !slices.ContainsFunc(watchtowerVars, func(w watchtowerVar) bool { return w.env == k }) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// autoUpdateDefault is -auto-update-default, or, when neither its flag nor
// its variable is set and Watchtower's are, what Watchtower would do: every
// container, or the labelled ones; nothing with monitor-only. When only the
// HTTP API updates, the same containers are what a /v1/update takes (the
// periodic auto-update stands aside then, see services.WatchtowerOptions).
func autoUpdateDefault(v string, explicit bool, w WatchtowerConfig) (models.AutoUpdateDefault, error) {
	if explicit || !w.Present {
		switch d := models.AutoUpdateDefault(strings.TrimSpace(v)); d {
		case models.AutoUpdateOff, models.AutoUpdateLabelled, models.AutoUpdateAll:
			return d, nil
		}
		return "", fmt.Errorf("invalid -auto-update-default %q: want off, labelled or all", v)
	}
	switch {
	case w.MonitorOnly:
		return models.AutoUpdateOff, nil
	case w.LabelEnable:
		return models.AutoUpdateLabelled, nil
	}
	return models.AutoUpdateAll, nil
}

// APIOnly reports whether only the HTTP API updates, as in Watchtower with
// --http-api-update and without --http-api-periodic-polls.
func (w WatchtowerConfig) APIOnly() bool { return w.APIUpdate && !w.PeriodicPolls }

// logWatchtower says once which Watchtower variables were taken, and
// warns once of those refit does not know.
func logWatchtower(log *slog.Logger, w WatchtowerConfig, def models.AutoUpdateDefault) {
	if len(w.Taken) > 0 {
		log.Info("watchtower settings taken", "variables", strings.Join(w.Taken, " "), "auto_update_default", string(def))
	}
	if len(w.Unknown) > 0 {
		log.Warn("watchtower settings refit does not know, ignored", "variables", strings.Join(w.Unknown, " "))
	}
}
