package services

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"refit/models"
)

// WatchtowerOptions are what a Watchtower user's settings ask of updates.
type WatchtowerOptions struct {
	// Scope keeps automatic updates to the containers of that
	// com.centurylinklabs.watchtower.scope ("none": those without one).
	Scope string
	// APIOnly leaves updating to the HTTP API (/v1/update): Watchtower's
	// --http-api-update without --http-api-periodic-polls.
	APIOnly bool
	// Hooks runs the lifecycle labels' commands (pre-update, post-update).
	Hooks bool
}

// labelHold says why c's labels keep it from automatic updates, or "":
// monitor-only, enable=false, or a scope other than refit's.
func (u *Updates) labelHold(c models.ContainerItem) string {
	w := models.ParseWatchtowerLabels(c.Labels)
	switch {
	case w.MonitorOnly:
		return "monitor only"
	case w.Enable != nil && !*w.Enable:
		return "excluded by label"
	case !w.InScope(u.opts.Watchtower.Scope):
		return "outside scope " + u.opts.Watchtower.Scope
	}
	return ""
}

// errSkippedByHook is a pre-update hook's exit code 75: the update is not
// made, and the container runs on untouched.
var errSkippedByHook = errors.New("skipped: the pre-update hook exited 75")

// runHook runs c's hook called name with sh -c inside the container id,
// within its timeout. It returns the hook's exit code, or an error whose
// text the history can show (a container without a shell says so).
func (u *Updates) runHook(engine Updater, id string, labels map[string]string, name string) (code int, ran bool, err error) {
	h, ok := models.HookOf(labels, name)
	if !ok || !u.opts.Watchtower.Hooks {
		return 0, false, nil
	}
	ctx, cancel := u.ctx, context.CancelFunc(func() {})
	if h.Timeout > 0 {
		ctx, cancel = context.WithTimeout(u.ctx, h.Timeout)
	}
	defer cancel()
	res, err := engine.Exec(ctx, id, []string{"sh", "-c", h.Command})
	switch {
	case errors.Is(err, models.ErrExecNotFound):
		return 0, true, fmt.Errorf("%s hook: the container has no shell (sh) to run it", name)
	case errors.Is(err, context.DeadlineExceeded):
		return 0, true, fmt.Errorf("%s hook: still running after %s", name, h.Timeout)
	case err != nil:
		return 0, true, fmt.Errorf("%s hook: %w", name, err)
	}
	if res.ExitCode != 0 && res.ExitCode != models.HookSkipUpdateCode {
		out := strings.TrimSpace(res.Output)
		if len(out) > 200 {
			out = out[:200] + "…"
		}
		return res.ExitCode, true, fmt.Errorf("%s hook exited %d: %s", name, res.ExitCode, out)
	}
	return res.ExitCode, true, nil
}
