package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

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
	// Hooks runs the lifecycle labels' commands (pre-check, post-check,
	// pre-update, post-update).
	Hooks bool
	// StopTimeout is how long an old container may take to stop during its
	// recreate (WATCHTOWER_TIMEOUT); 0 leaves each its own.
	StopTimeout time.Duration
	// NoPull pulls nothing (WATCHTOWER_NO_PULL), as the no-pull label does
	// for one container: an update moves it onto the image its tag names
	// locally.
	NoPull bool
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

// noPull reports whether an update of refs pulls nothing: WATCHTOWER_NO_PULL,
// or each of them labelled no-pull. Then the update recreates each onto the
// image its tag names locally, when that is not the one it runs, as
// Watchtower's no-pull does; one labelled no-pull beside others that are not
// gets what their pull brought, as there.
func (u *Updates) noPull(refs ...models.ContainerRef) bool {
	if u.opts.Watchtower.NoPull {
		return true
	}
	for _, r := range refs {
		it, _, err := u.ctr.FindRef(r)
		if err != nil || !models.ParseWatchtowerLabels(it.Labels).NoPull {
			return false
		}
	}
	return len(refs) > 0
}

// noPullDue reports whether auto-update has anything to do for c when it
// pulls nothing: only when the image its tag names locally is not the one
// it runs (one image inspect, no registry). Others always have.
func (u *Updates) noPullDue(c models.ContainerItem) bool {
	if !u.noPull(c.Ref) {
		return true
	}
	e, err := u.ctr.updater(c.Ref.Host)
	if err != nil {
		return false
	}
	img, err := e.Image(u.ctx, c.Configured)
	return err == nil && img.ID != c.ImageID
}

// onHostNamed is the containers of host, by name, as the snapshot has them.
func (u *Updates) onHostNamed(host string) map[string]models.ContainerItem {
	out := map[string]models.ContainerItem{}
	for _, g := range u.ctr.Groups() {
		for _, c := range g.Containers {
			if c.Ref.Host == host && c.Kind != models.KindService {
				out[c.Ref.Name] = c
			}
		}
	}
	return out
}

// dependsOn reports whether from depends on to, directly or through
// others, by their depends-on labels.
func dependsOn(all map[string]models.ContainerItem, from, to string) bool {
	seen := map[string]bool{}
	next := []string{from}
	for len(next) > 0 {
		n := next[0]
		next = next[1:]
		for _, d := range models.ParseWatchtowerLabels(all[n].Labels).DependsOn {
			if d == to {
				return true
			}
			if !seen[d] {
				seen[d] = true
				next = append(next, d)
			}
		}
	}
	return false
}

// awaitDependencies holds name's recreate back while a container it
// depends on (its depends-on label, same host) is being updated, so that
// dependencies go first as in Watchtower. It does not wait for one queued
// behind it in its own run, nor across a cycle of labels.
func (u *Updates) awaitDependencies(log *slog.Logger, r *run, name models.ContainerRef) {
	all := u.onHostNamed(name.Host)
	deps := models.ParseWatchtowerLabels(all[name.Name].Labels).DependsOn
	for _, d := range deps {
		dep := models.ContainerRef{Host: name.Host, Name: d}
		if dependsOn(all, d, name.Name) {
			log.Warn("depends-on labels form a cycle; not waiting", "dependency", d)
			continue
		}
		for {
			u.mu.Lock()
			j := u.jobs[dep]
			waiting := j != nil && j.p.Running() && !slices.Contains(r.queue, dep)
			u.mu.Unlock()
			if !waiting {
				break
			}
			select {
			case <-u.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// restartDependents restarts, after name was recreated, each running
// container of its host whose depends-on label names it, and theirs in
// turn, as Watchtower does; one being updated itself is left to its own
// update, which follows.
func (u *Updates) restartDependents(log *slog.Logger, engine Updater, name models.ContainerRef) {
	all := u.onHostNamed(name.Host)
	done := map[string]bool{name.Name: true}
	next := []string{name.Name}
	for len(next) > 0 {
		changed := next[0]
		next = next[1:]
		for _, n := range slices.Sorted(maps.Keys(all)) {
			c := all[n]
			if done[n] || !slices.Contains(models.ParseWatchtowerLabels(c.Labels).DependsOn, changed) {
				continue
			}
			done[n] = true
			if p, ok := u.ProgressOf(c.Ref); ok && p.Running() {
				continue
			}
			if c.State != "" && c.State != "running" {
				continue
			}
			if err := engine.Restart(u.ctx, c.FullID); err != nil {
				log.Warn("dependent not restarted", "dependent", n, "error", err)
				continue
			}
			log.Info("dependent restarted", "dependent", n, "dependency", changed)
			next = append(next, n)
		}
	}
}

// dependencyDepth is how many levels of depends-on labels lie below each
// container: 0 for one that depends on none. Cycles count once.
type dependencyDepth struct {
	u     *Updates
	hosts map[string]map[string]models.ContainerItem
}

func (dd *dependencyDepth) of(c models.ContainerItem) int {
	if c.Labels[models.LabelWTDependsOn] == "" {
		return 0
	}
	if dd.hosts == nil {
		dd.hosts = map[string]map[string]models.ContainerItem{}
	}
	all := dd.hosts[c.Ref.Host]
	if all == nil {
		all = dd.u.onHostNamed(c.Ref.Host)
		dd.hosts[c.Ref.Host] = all
	}
	d, seen := 0, map[string]bool{c.Ref.Name: true}
	level := []string{c.Ref.Name}
	for len(level) > 0 {
		var next []string
		for _, n := range level {
			for _, dep := range models.ParseWatchtowerLabels(all[n].Labels).DependsOn {
				if !seen[dep] {
					seen[dep] = true
					next = append(next, dep)
				}
			}
		}
		if len(next) > 0 {
			d++
		}
		level = next
	}
	return d
}

// dependenciesFirst orders groups so that each comes after the groups of
// the containers its containers depend on (depends-on, same host): the
// jobs of dependencies exist by the time a dependent's run looks for them.
func (u *Updates) dependenciesFirst(groups []models.ImageGroup) []models.ImageGroup {
	dd := &dependencyDepth{u: u}
	key := make(map[string]int, len(groups))
	for _, g := range groups {
		for _, c := range g.Containers {
			key[g.Image] = max(key[g.Image], dd.of(c))
		}
	}
	out := slices.Clone(groups)
	slices.SortStableFunc(out, func(a, b models.ImageGroup) int { return key[a.Image] - key[b.Image] })
	return out
}

// dependencyOrder sorts the containers of one run so that dependencies
// come first.
func (u *Updates) dependencyOrder(items []models.ContainerItem) []models.ContainerItem {
	dd := &dependencyDepth{u: u}
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b models.ContainerItem) int { return dd.of(a) - dd.of(b) })
	return out
}

// checkHooks runs hook (pre-check, post-check) in each running container
// of cs that has it, one after the other, as Watchtower does around each
// check. A failure is logged and holds nothing back; containers without
// the label cost nothing.
func (u *Updates) checkHooks(ctx context.Context, hook string, cs []models.Container) {
	for _, c := range cs {
		if _, ok := models.HookOf(c.Labels, hook); !ok || c.State != "running" || ctx.Err() != nil {
			continue
		}
		engine, err := u.ctr.updater(c.Host)
		if err == nil {
			_, _, err = u.runHook(engine, c.ID, c.Labels, hook)
		}
		if err != nil {
			u.log.Warn("lifecycle hook failed", "container", c.Name, "host", c.Host, "error", err)
		}
	}
}

// listedContainers is every container of the snapshot as last listed.
func (u *Updates) listedContainers() []models.Container {
	var out []models.Container
	for _, g := range u.ctr.Groups() {
		for _, c := range g.Containers {
			if c.Kind != models.KindService {
				out = append(out, models.Container{Host: c.Ref.Host, ID: c.FullID, Name: c.Ref.Name, State: c.State, Labels: c.Labels})
			}
		}
	}
	return out
}
