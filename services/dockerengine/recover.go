package dockerengine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"

	"refit/models"
)

// stopGrace is added to a container's stop timeout when waiting for a stop
// that may be in flight: after the timeout the engine kills, which is quick.
const stopGrace = 5 * time.Second

// Recover implements services.Updater. It looks at every container named in
// opts.Pending (the journal) and every container left named N+OldSuffix, and
// ends each interrupted recreate with N running the old or the new version:
//   - A stop the dead process asked for may still be running in the engine:
//     it is waited for (bounded by the container's stop timeout) first.
//   - The new container N is kept ("finished", the old one removed) only when
//     it passes the recreate's own rule: healthy, or running for Settle
//     without a restart. A healthcheck still "starting" is waited for.
//   - Otherwise N is removed and the old container gets its name back and
//     runs again if it ran before ("restored").
//
// Containers this Engine is recreating right now are left alone, and so is
// one a running self-update helper is recreating (the new refit starts
// while its helper still waits for it to be healthy).
func (e *Engine) Recover(ctx context.Context, opts models.RecoverOptions) ([]models.Recovery, error) {
	e.removeIdleHelpers(ctx)
	owned := e.helpedNames(ctx)
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", OldSuffix))})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	todo := map[string]models.RecreateState{}
	for _, st := range opts.Pending {
		if !e.isBusy(st.Name) && !owned[st.Name] && e.inScope(st.Name) {
			todo[st.Name] = st
		}
	}
	for _, c := range list {
		n, ok := strings.CutSuffix(containerName(c.Names), OldSuffix)
		if !ok || e.isBusy(n) || owned[n] || !e.inScope(n) {
			continue
		}
		if st, ok := todo[n]; !ok || st.OldID == "" {
			// Parked without a journal entry (an older refit, or a lost
			// database): refit recreates running containers, so it runs again.
			todo[n] = models.RecreateState{Name: n, OldID: c.ID, MustRun: true, StopTimeout: defaultStopTimeout}
		}
	}

	// Namespace owners first: a joiner cannot start before its owner runs.
	var owners, joiners []models.RecreateState
	for _, st := range todo {
		if c, err := e.cli.ContainerInspect(ctx, st.OldID); err == nil && c.HostConfig.NetworkMode.IsContainer() {
			joiners = append(joiners, st)
		} else {
			owners = append(owners, st)
		}
	}
	byName := func(s []models.RecreateState) {
		sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	}
	byName(owners)
	byName(joiners)

	var out []models.Recovery
	var errs []error
	for _, st := range append(owners, joiners...) {
		rec, err := e.recoverOne(ctx, st, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover %s: %w", st.Name, err))
			continue
		}
		out = append(out, rec)
	}
	return out, errors.Join(errs...)
}

func (e *Engine) inScope(name string) bool { return e.recoverScope == nil || e.recoverScope(name) }

// inspectNamed inspects the container called exactly name; ok is false when
// there is none (inspect also matches an ID prefix).
func (e *Engine) inspectNamed(ctx context.Context, name string) (container.InspectResponse, bool, error) {
	c, ok, err := e.inspectID(ctx, name)
	return c, ok && c.Name == "/"+name, err
}

func (e *Engine) recoverOne(ctx context.Context, st models.RecreateState, opts models.RecoverOptions) (models.Recovery, error) {
	name := st.Name
	rec := models.Recovery{Container: name}
	oldRef := cmp.Or(st.OldID, name+OldSuffix)
	old, oldOK, err := e.inspectID(ctx, oldRef)
	if err != nil {
		return rec, err
	}
	if oldOK && old.State.Running && st.StopSent && (st.Step == StepStopping || st.Step == StepRollingBack) {
		e.awaitStopped(ctx, old.ID, st.StopTimeout)
		if old, oldOK, err = e.inspectID(ctx, old.ID); err != nil {
			return rec, err
		}
	}
	cur, curOK, err := e.inspectNamed(ctx, name)
	if err != nil {
		return rec, err
	}
	if curOK && oldOK && cur.ID == old.ID {
		curOK = false // the old container holds the name: nothing new exists
	}

	switch {
	case curOK:
		up, why, err := e.isUp(ctx, cur, opts)
		if err != nil {
			return rec, err
		}
		if up {
			rec.Action = models.RecoveryFinished
			rec.Detail = fmt.Sprintf("%s (%s) runs", name, models.ShortID(cur.ID))
			if oldOK {
				if err := e.cli.ContainerRemove(ctx, old.ID, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
					return rec, fmt.Errorf("remove the old container %s: %w", models.ShortID(old.ID), err)
				}
				rec.Detail += fmt.Sprintf("; removed the old container %s", models.ShortID(old.ID))
			}
			return rec, nil
		}
		if !oldOK {
			// No way back: the old container is gone. Run what there is.
			if err := e.cli.ContainerStart(ctx, cur.ID, container.StartOptions{}); err != nil && !isAlreadyRunning(err) {
				return rec, fmt.Errorf("start %s (%s), whose old container is gone: %w", name, models.ShortID(cur.ID), err)
			}
			rec.Action = models.RecoveryFinished
			rec.Detail = fmt.Sprintf("the old container was already removed; started %s (%s), which was %s", name, models.ShortID(cur.ID), why)
			return rec, nil
		}
		if err := e.cli.ContainerRemove(ctx, cur.ID, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
			return rec, fmt.Errorf("remove the unfinished new container %s: %w", models.ShortID(cur.ID), err)
		}
		rec.Detail = fmt.Sprintf("removed the new container %s, which was %s; ", models.ShortID(cur.ID), why)
	case !oldOK:
		rec.Action = models.RecoveryUntouched
		rec.Detail = fmt.Sprintf("no container of the update is left (neither %s nor %s)", name, models.ShortID(st.OldID))
		return rec, nil
	}

	// Restore the old container under its name.
	renamed := false
	if old.Name != "/"+name {
		if err := e.renameBack(ctx, old.ID, name); err != nil {
			return rec, err
		}
		renamed = true
	}
	started := false
	if st.MustRun && !old.State.Running {
		if err := e.cli.ContainerStart(ctx, old.ID, container.StartOptions{}); err != nil && !isAlreadyRunning(err) {
			return rec, fmt.Errorf("start the old container %s: %w", models.ShortID(old.ID), err)
		}
		started = true
	}
	if !renamed && !started && rec.Detail == "" {
		rec.Action = models.RecoveryUntouched
		rec.Detail = fmt.Sprintf("%s (%s) was not changed", name, models.ShortID(old.ID))
		return rec, nil
	}
	rec.Action = models.RecoveryRestored
	state := "is back"
	if st.MustRun {
		state = "runs again"
	}
	rec.Detail += fmt.Sprintf("the old container %s %s as %s", models.ShortID(old.ID), state, name)
	return rec, nil
}

// inspectID inspects a container by ID (or name); ok is false when it is gone.
func (e *Engine) inspectID(ctx context.Context, id string) (container.InspectResponse, bool, error) {
	c, err := e.cli.ContainerInspect(ctx, id)
	switch {
	case errdefs.IsNotFound(err):
		return c, false, nil
	case err != nil:
		return c, false, fmt.Errorf("inspect %s: %w", models.ShortID(id), err)
	}
	return c, true, nil
}

// renameBack gives the old container its name back. A create the dead
// process sent can still land after recovery looked, taking the name: such
// a container never ran, so it is removed and the rename tried again.
func (e *Engine) renameBack(ctx context.Context, oldID, name string) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = e.cli.ContainerRename(ctx, oldID, name); err == nil {
			return nil
		}
		holder, ok, ierr := e.inspectNamed(ctx, name)
		if ierr != nil || !ok || holder.ID == oldID {
			break
		}
		if rerr := e.cli.ContainerRemove(ctx, holder.ID, container.RemoveOptions{Force: true}); rerr != nil && !errdefs.IsNotFound(rerr) {
			return fmt.Errorf("remove %s (%s), which holds the name: %w", name, models.ShortID(holder.ID), rerr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("rename %s back to %s: %w", models.ShortID(oldID), name, err)
}

// isUp applies the recreate's rule to a new container found after a crash:
// healthy (a "starting" healthcheck is waited for), or, without a
// healthcheck, running for opts.Settle without a restart. why describes a
// container that is not up.
func (e *Engine) isUp(ctx context.Context, c container.InspectResponse, opts models.RecoverOptions) (up bool, why string, err error) {
	settle := cmp.Or(opts.Settle, DefaultSettle)
	if c.State.Running && c.State.Health != nil && c.State.Health.Status == container.Starting {
		if c, err = e.awaitHealth(ctx, c); err != nil {
			return false, "", err
		}
	}
	st := c.State
	switch {
	case !st.Running || st.Restarting:
		return false, describeState(st), nil
	case st.Health != nil:
		return st.Health.Status == container.Healthy, describeState(st), nil
	}
	// No healthcheck: it must keep running for settle since its start.
	started, perr := time.Parse(time.RFC3339Nano, st.StartedAt)
	if perr != nil {
		started = time.Now()
	}
	if wait := settle - time.Since(started); wait > 0 {
		select {
		case <-ctx.Done():
			return false, "", ctx.Err()
		case <-time.After(wait):
		}
	}
	again, ok, err := e.inspectID(ctx, c.ID)
	if err != nil {
		return false, "", err
	}
	if !ok {
		return false, "removed", nil
	}
	if !again.State.Running || again.State.Restarting || again.State.StartedAt != st.StartedAt || again.RestartCount != c.RestartCount {
		return false, "restarting or exited within " + settle.String(), nil
	}
	return true, "", nil
}

// awaitStopped waits until the container is not running, for at most its
// stop timeout plus a grace: the time a stop in flight can still take.
func (e *Engine) awaitStopped(ctx context.Context, id string, stopTimeout int) {
	if stopTimeout < 0 {
		stopTimeout = defaultStopTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(stopTimeout)*time.Second+stopGrace)
	defer cancel()
	res, errc := e.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-res:
	case <-errc:
	case <-ctx.Done():
	}
}

func isAlreadyRunning(err error) bool {
	return err != nil && strings.Contains(err.Error(), "already started")
}

// awaitHealth polls c until its healthcheck is past "starting" or it stops,
// for at most as long as Docker needs to call it unhealthy: the start period,
// then Retries failed checks of Interval + Timeout each.
func (e *Engine) awaitHealth(ctx context.Context, c container.InspectResponse) (container.InspectResponse, error) {
	budget := 3 * time.Minute // Docker's defaults: 3 retries of 30s + 30s
	if hc := c.Config.Healthcheck; hc != nil {
		interval, timeout, retries := cmp.Or(hc.Interval, 30*time.Second), cmp.Or(hc.Timeout, 30*time.Second), cmp.Or(hc.Retries, 3)
		budget = hc.StartPeriod + time.Duration(retries)*(interval+timeout)
	}
	budget = min(budget, 10*time.Minute)
	deadline := time.Now().Add(budget)
	for c.State.Running && c.State.Health != nil && c.State.Health.Status == container.Starting && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		next, err := e.cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			return c, fmt.Errorf("inspect %s: %w", models.ShortID(c.ID), err)
		}
		c = next
	}
	return c, nil
}

func describeState(st *container.State) string {
	if st == nil {
		return "unknown"
	}
	if st.Running && st.Health != nil {
		return string(st.Health.Status)
	}
	return string(st.Status)
}
