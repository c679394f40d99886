package models

import (
	"strconv"
	"strings"
	"time"
)

// Watchtower's container labels, read as Watchtower reads them so that a
// compose file written for it keeps its meaning here.
const (
	WatchtowerPrefix     = "com.centurylinklabs.watchtower."
	LabelWTEnable        = WatchtowerPrefix + "enable"
	LabelWTMonitorOnly   = WatchtowerPrefix + "monitor-only"
	LabelWTNoPull        = WatchtowerPrefix + "no-pull"
	LabelWTDependsOn     = WatchtowerPrefix + "depends-on"
	LabelWTStopSignal    = WatchtowerPrefix + "stop-signal"
	LabelWTScope         = WatchtowerPrefix + "scope"
	LabelWTHookPrefix    = WatchtowerPrefix + "lifecycle."
	HookPreCheck         = "pre-check"
	HookPreUpdate        = "pre-update"
	HookPostUpdate       = "post-update"
	HookPostCheck        = "post-check"
	HookSkipUpdateCode   = 75 // EX_TEMPFAIL: a pre-update hook that exits with it skips the update
	defaultHookTimeout   = time.Minute
	hookTimeoutLabelTail = "-timeout"
)

// AutoUpdateDefault is what a container refit has no toggle for gets:
// off (refit's own default), labelled (Watchtower with
// WATCHTOWER_LABEL_ENABLE) or all (Watchtower's default).
type AutoUpdateDefault string

// The -auto-update-default values.
const (
	AutoUpdateOff      AutoUpdateDefault = "off"
	AutoUpdateLabelled AutoUpdateDefault = "labelled"
	AutoUpdateAll      AutoUpdateDefault = "all"
)

// WatchtowerLabels are a container's Watchtower labels, parsed.
type WatchtowerLabels struct {
	Enable      *bool // nil when the label is absent
	MonitorOnly bool
	NoPull      bool
	DependsOn   []string // container names, without a leading slash
	StopSignal  string
	Scope       string
}

// ParseWatchtowerLabels reads the Watchtower labels of a container. Values
// are read as Watchtower's strconv.ParseBool does; a bad one counts as unset.
func ParseWatchtowerLabels(labels map[string]string) WatchtowerLabels {
	var w WatchtowerLabels
	if b, err := strconv.ParseBool(strings.TrimSpace(labels[LabelWTEnable])); err == nil {
		w.Enable = &b
	}
	w.MonitorOnly, _ = strconv.ParseBool(strings.TrimSpace(labels[LabelWTMonitorOnly]))
	w.NoPull, _ = strconv.ParseBool(strings.TrimSpace(labels[LabelWTNoPull]))
	for _, n := range strings.Split(labels[LabelWTDependsOn], ",") {
		if n = strings.TrimPrefix(strings.TrimSpace(n), "/"); n != "" {
			w.DependsOn = append(w.DependsOn, n)
		}
	}
	w.StopSignal = strings.TrimSpace(labels[LabelWTStopSignal])
	w.Scope = strings.TrimSpace(labels[LabelWTScope])
	return w
}

// Excluded reports whether the labels leave the container out of
// automatic updates under def: enable=false always does; with labelled,
// anything but enable=true does.
func (w WatchtowerLabels) Excluded(def AutoUpdateDefault) bool {
	if w.Enable != nil && !*w.Enable {
		return true
	}
	return def == AutoUpdateLabelled && (w.Enable == nil || !*w.Enable)
}

// InScope reports whether a container with these labels belongs to scope,
// as Watchtower's filter says: no scope takes every container, "none" the
// ones without a scope label, any other only those labelled with it.
func (w WatchtowerLabels) InScope(scope string) bool {
	switch scope {
	case "":
		return true
	case "none":
		return w.Scope == "" || w.Scope == "none"
	}
	return w.Scope == scope
}

// Hook is one lifecycle hook of a container: the command Watchtower runs
// with sh -c inside it, and how long it may take (0: no limit).
type Hook struct {
	Name    string // HookPreCheck, HookPreUpdate, HookPostUpdate or HookPostCheck
	Command string
	Timeout time.Duration
}

// HookOf returns the container's hook called name; ok is false when it has
// none. The timeout label is in minutes, as in Watchtower, default one.
func HookOf(labels map[string]string, name string) (h Hook, ok bool) {
	cmd := strings.TrimSpace(labels[LabelWTHookPrefix+name])
	if cmd == "" {
		return Hook{}, false
	}
	h = Hook{Name: name, Command: cmd, Timeout: defaultHookTimeout}
	if v := strings.TrimSpace(labels[LabelWTHookPrefix+name+hookTimeoutLabelTail]); v != "" {
		if m, err := strconv.Atoi(v); err == nil && m >= 0 {
			h.Timeout = time.Duration(m) * time.Minute
		}
	}
	return h, true
}

// ExecResult is how a command run inside a container ended.
type ExecResult struct {
	ExitCode int
	Output   string // stdout and stderr, interleaved, cut to a few KiB
}

// ErrExecNotFound: the command's executable is not in the container, such
// as sh in an image built FROM scratch.
var ErrExecNotFound = NewKind("executable not found in the container", ErrInvalid)

// WatchtowerNotification is one of Watchtower's notifications from before
// URLs: WATCHTOWER_NOTIFICATIONS names the kind (email, slack, msteams,
// gotify) and WATCHTOWER_NOTIFICATION_* its settings. The shoutrrr adapter
// turns it into a URL as Watchtower does.
type WatchtowerNotification struct {
	Kind string
	// email
	EmailFrom, EmailTo, EmailServer, EmailUser, EmailPassword string
	EmailPort                                                 int
	// slack and msteams
	HookURL, Identifier, IconEmoji, IconURL string
	// gotify
	GotifyURL, GotifyToken string
	// email and gotify
	TLSSkipVerify bool
}
