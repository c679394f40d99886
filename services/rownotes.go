package services

import (
	"strings"

	"refit/models"
)

// LabelNotes words what c's Watchtower labels do to it, for its row: why
// auto-update passes it by, what it waits for, what refit leaves out.
// A label with no effect here (hooks while -lifecycle-hooks is off) says
// nothing.
func (u *Updates) LabelNotes(c models.ContainerItem) []string {
	if len(c.Labels) == 0 {
		return nil
	}
	var out []string
	if h := u.labelHold(c); h != "" {
		out = append(out, h)
	}
	w := models.ParseWatchtowerLabels(c.Labels)
	if len(w.DependsOn) > 0 {
		out = append(out, "depends on "+strings.Join(w.DependsOn, ", "))
	}
	if w.NoPull {
		out = append(out, "no pull")
	}
	if w.StopSignal != "" {
		out = append(out, "stops with "+w.StopSignal)
	}
	if u.opts.Watchtower.Hooks {
		var hooks []string
		for _, name := range []string{models.HookPreCheck, models.HookPreUpdate, models.HookPostUpdate, models.HookPostCheck} {
			if _, ok := models.HookOf(c.Labels, name); ok {
				hooks = append(hooks, name)
			}
		}
		if len(hooks) > 0 {
			out = append(out, "hooks: "+strings.Join(hooks, ", "))
		}
	}
	return out
}
