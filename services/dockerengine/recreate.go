package dockerengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"

	"refit/models"
)

// OldSuffix is models.OldSuffix, the parked name of a container being replaced.
const OldSuffix = models.OldSuffix

// swarmServiceLabel marks swarm tasks, which swarm recreates on its own.
const swarmServiceLabel = "com.docker.swarm.service.id"

// Defaults for a zero RecreateOptions.HealthTimeout and Settle.
const (
	DefaultHealthTimeout = 2 * time.Minute
	DefaultSettle        = 10 * time.Second
)

// rollbackTimeout bounds the rollback, which runs on a context of its own
// because the caller's may be the reason for it.
const rollbackTimeout = 2 * time.Minute

// The steps of a recreate, as RecreateOptions.Step, Hook and Journal see them.
const (
	StepRenaming    = models.StepRenaming
	StepCreating    = models.StepCreating
	StepStopping    = models.StepStopping
	StepStarting    = models.StepStarting
	StepWaiting     = models.StepWaiting
	StepRemovingOld = models.StepRemovingOld
	StepRollingBack = models.StepRollingBack
)

// defaultStopTimeout is the engine's own stop timeout for a container that
// sets none.
const defaultStopTimeout = 10

// member is one container a recreate replaces: the one asked for, or one
// that shares its network namespace.
type member struct {
	old     container.InspectResponse
	name    string // without "/"
	running bool   // when the recreate began
	parent  int    // index of the member whose namespace it joins, or -1
	spec    spec

	renamed  bool
	newID    string
	stopSent bool // a stop was asked for; the engine finishes it even if refit dies
	stopWait int  // seconds the engine may take to stop the old container
	// startedAt and restarts are the new container's, read right after its
	// start; a change means it died and was restarted.
	startedAt string
	restarts  int
	upSince   time.Time
	health    bool // the new container has a healthcheck
}

// recreate is one Recreate in progress.
type recreate struct {
	e       *Engine
	opts    models.RecreateOptions
	members []*member
}

// Recreate implements services.Updater. It renames the old container to
// name+OldSuffix, creates the new one under the original name, stops the old
// one, starts the new one, waits for it to come up, and removes the old one
// (never its volumes). Containers that share its network namespace are
// recreated with it, pointing at the new container.
//
// Errors before anything is touched wrap models.ErrNotFound (no such
// container or image), models.ErrInvalid (swarm tasks, --rm containers) or
// models.ErrConflict. Once something is touched, a failure rolls back and
// returns a *models.RecreateError. Once the new containers are up there is
// no way back: a failure to remove the old one (or a Hook error after it)
// returns the new ID with a RecreateError whose RolledBack is false.
func (e *Engine) Recreate(ctx context.Context, id string, opts models.RecreateOptions) (string, error) {
	r, err := e.plan(ctx, id, opts)
	if err != nil {
		return "", err
	}
	defer e.release(r.names())

	// No deferred rollback: a crash must leave what Recover expects, and
	// tests simulate one with runtime.Goexit in a Hook.
	steps := []struct {
		name string
		do   func(context.Context) error
	}{
		{StepRenaming, r.rename},
		{StepCreating, r.create},
		{StepStopping, r.stop},
		{StepStarting, r.start},
		{StepWaiting, r.wait},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return "", r.rollback(ctx, fmt.Sprintf("cancelled before %s: %v", s.name, err))
		}
		r.opts.Started(s.name)
		if err := r.note(s.name); err != nil {
			return "", r.rollback(ctx, err.Error())
		}
		if err := s.do(ctx); err != nil {
			return "", r.rollback(ctx, err.Error())
		}
		if err := r.opts.Finished(s.name); err != nil {
			return "", r.rollback(ctx, fmt.Sprintf("hook after %s: %v", s.name, err))
		}
	}

	// The new containers are up: from here on there is no way back.
	newID := r.members[0].newID
	r.opts.Started(StepRemovingOld)
	if err := r.note(StepRemovingOld); err != nil {
		return newID, &models.RecreateError{Reason: err.Error()}
	}
	if err := r.removeOld(ctx); err != nil {
		return newID, &models.RecreateError{Reason: err.Error()}
	}
	_ = r.note(models.StepDone) // an entry left behind only makes recovery look and find it finished
	if err := r.opts.Finished(StepRemovingOld); err != nil {
		return newID, &models.RecreateError{Reason: fmt.Sprintf("hook after %s: %v; the new container runs as %s and the old one is removed",
			StepRemovingOld, err, r.members[0].name)}
	}
	return newID, nil
}

// plan inspects everything the recreate needs and reserves the names. It
// changes nothing in the engine.
func (e *Engine) plan(ctx context.Context, id string, opts models.RecreateOptions) (*recreate, error) {
	old, err := e.cli.ContainerInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("recreate %s: %w", id, models.ErrContainerNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", id, err)
	}
	r := &recreate{e: e, opts: opts}
	ref := opts.Image
	if ref == "" {
		ref = old.Config.Image
	}
	if _, err := e.cli.ImageInspect(ctx, ref); err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("recreate %s from %s: %w", strings.TrimPrefix(old.Name, "/"), ref, models.ErrImageNotFound)
		}
		return nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	main, err := e.member(ctx, old, ref, -1)
	if err != nil {
		return nil, err
	}
	members, err := e.dependents(ctx, main)
	if err != nil {
		return nil, err
	}
	r.members = members
	if opts.StopTimeout > 0 { // every member's, as Watchtower's --stop-timeout
		for _, m := range members {
			m.stopWait = int((opts.StopTimeout + time.Second - 1) / time.Second)
		}
	}

	if err := e.reserve(r.names()); err != nil {
		return nil, err
	}
	return r, nil
}

// member checks that old may be recreated and builds its create request.
func (e *Engine) member(ctx context.Context, old container.InspectResponse, ref string, parent int) (*member, error) {
	name := strings.TrimPrefix(old.Name, "/")
	switch {
	case old.Config.Labels[swarmServiceLabel] != "":
		return nil, fmt.Errorf("container %s is a swarm task: %w", name, models.ErrInvalid)
	case strings.HasSuffix(name, OldSuffix):
		return nil, fmt.Errorf("container %s is left from an interrupted update; recover first: %w", name, models.ErrInvalid)
	case old.HostConfig.AutoRemove:
		// Stopping it would delete it, and with it the way back.
		return nil, fmt.Errorf("container %s was started with --rm: %w", name, models.ErrInvalid)
	case old.State != nil && old.State.Paused:
		return nil, fmt.Errorf("container %s is paused: %w", name, models.ErrConflict)
	}
	if _, err := e.cli.ContainerInspect(ctx, name+OldSuffix); err == nil {
		return nil, fmt.Errorf("container %s exists from an interrupted update; recover first: %w", name+OldSuffix, models.ErrConflict)
	} else if !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("inspect container %s: %w", name+OldSuffix, err)
	}

	img, err := e.cli.ImageInspect(ctx, old.Image)
	if err != nil {
		// Without the old image refit cannot tell the user's settings from
		// the image's defaults, and would pin the old defaults.
		return nil, fmt.Errorf("inspect image %s of container %s: %v: %w", models.ShortID(strings.TrimPrefix(old.Image, "sha256:")), name, err, models.ErrConflict)
	}
	in := specInput{old: old, oldImage: img.Config, ref: ref, api: e.cli.ClientVersion()}
	if old.HostConfig.NetworkMode.IsHost() {
		info, err := e.cli.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("engine info: %w", err)
		}
		in.daemonHostname = info.Name
	}
	stopWait := defaultStopTimeout
	if old.Config.StopTimeout != nil {
		stopWait = *old.Config.StopTimeout
	}
	return &member{
		old:      old,
		name:     name,
		running:  old.State != nil && (old.State.Running || old.State.Restarting),
		parent:   parent,
		spec:     specFor(in),
		stopWait: stopWait,
	}, nil
}

// state is m's journal entry at step.
func (m *member) state(step string) models.RecreateState {
	return models.RecreateState{Name: m.name, Step: step, OldID: m.old.ID, NewID: m.newID, Image: m.spec.config.Image,
		MustRun: m.running, StopSent: m.stopSent, StopTimeout: m.stopWait, UpdatedAt: time.Now()}
}

// note journals every member at step, before the engine is asked anything.
func (r *recreate) note(step string) error {
	for _, m := range r.members {
		if err := r.opts.Note(m.state(step)); err != nil {
			return err
		}
	}
	return nil
}

func (r *recreate) names() []string {
	out := make([]string, len(r.members))
	for i, m := range r.members {
		out[i] = m.name
	}
	return out
}

func (r *recreate) rename(ctx context.Context) error {
	for _, m := range r.members {
		if err := r.e.cli.ContainerRename(ctx, m.old.ID, m.name+OldSuffix); err != nil {
			return fmt.Errorf("rename %s to %s: %w", m.name, m.name+OldSuffix, err)
		}
		m.renamed = true
	}
	return nil
}

func (r *recreate) create(ctx context.Context) error {
	for _, m := range r.members {
		if m.parent >= 0 {
			m.spec.host.NetworkMode = container.NetworkMode("container:" + r.members[m.parent].newID)
		}
		resp, err := r.e.cli.ContainerCreate(ctx, m.spec.config, m.spec.host, m.spec.net, nil, m.name)
		if err != nil {
			return fmt.Errorf("create %s: %w", m.name, err)
		}
		m.newID = resp.ID
		if err := r.opts.Note(m.state(StepCreating)); err != nil {
			return err
		}
		for _, ep := range m.spec.connect {
			if err := r.e.cli.NetworkConnect(ctx, ep.network, m.newID, ep.settings); err != nil {
				return fmt.Errorf("connect %s to network %s: %w", m.name, ep.network, err)
			}
		}
	}
	return nil
}

// stop stops the old containers, those joining a namespace before its owner,
// with each one's own stop signal and timeout unless the options say others.
func (r *recreate) stop(ctx context.Context) error {
	for i := len(r.members) - 1; i >= 0; i-- {
		m := r.members[i]
		if !m.running {
			continue
		}
		m.stopSent = true
		if err := r.opts.Note(m.state(StepStopping)); err != nil {
			return err
		}
		signal := ""
		if i == 0 { // the label is the container's own; joiners keep theirs
			signal = r.opts.StopSignal
		}
		if err := r.e.stopWith(ctx, m.old.ID, signal, m.stopWait, r.opts.StopTimeout > 0); err != nil {
			return fmt.Errorf("stop old %s: %w", m.name, err)
		}
	}
	return nil
}

// signalAPI is the first API version whose stop takes a signal; an older
// engine ignores the parameter and sends the container's own.
const signalAPI = "1.42"

// stopWith stops container id with signal ("" its own) and, when timed, a
// timeout of wait seconds before the kill. Before API 1.42 a signal of our
// own is a kill with it, a wait, and then a stop with no time left, which
// kills and marks the container stopped by hand (no restart policy brings
// it back).
func (e *Engine) stopWith(ctx context.Context, id, signal string, wait int, timed bool) error {
	opts := container.StopOptions{Signal: signal}
	if timed {
		opts.Timeout = &wait
	}
	if signal == "" || !versions.LessThan(e.cli.ClientVersion(), signalAPI) {
		return e.cli.ContainerStop(ctx, id, opts)
	}
	if err := e.cli.ContainerKill(ctx, id, signal); err != nil && !strings.Contains(err.Error(), "is not running") {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second)
	defer cancel()
	res, errc := e.cli.ContainerWait(wctx, id, container.WaitConditionNotRunning)
	select {
	case <-res:
	case <-errc:
	}
	now := 0
	return e.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &now})
}

func (r *recreate) start(ctx context.Context) error {
	for _, m := range r.members {
		if !m.running {
			continue
		}
		if err := r.e.cli.ContainerStart(ctx, m.newID, container.StartOptions{}); err != nil {
			return fmt.Errorf("start new %s: %w", m.name, err)
		}
		c, err := r.e.cli.ContainerInspect(ctx, m.newID)
		if err != nil {
			return fmt.Errorf("inspect new %s: %w", m.name, err)
		}
		m.startedAt, m.restarts, m.upSince = c.State.StartedAt, c.RestartCount, time.Now()
		m.health = c.State.Health != nil
	}
	return nil
}

// wait polls the new containers until each is healthy, or, without a
// healthcheck, has run for Settle without exiting or restarting.
func (r *recreate) wait(ctx context.Context) error {
	settle := r.opts.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	healthTimeout := r.opts.HealthTimeout
	if healthTimeout <= 0 {
		healthTimeout = DefaultHealthTimeout
	}
	deadline := time.Now().Add(healthTimeout)
	poll := min(max(settle/5, 50*time.Millisecond), 250*time.Millisecond)
	if r.opts.Waiting != nil {
		health := false
		for _, m := range r.members {
			health = health || (m.running && m.health)
		}
		r.opts.Waiting(health)
	}
	up := make([]bool, len(r.members))
	for {
		all := true
		for i, m := range r.members {
			if up[i] || !m.running {
				continue
			}
			ok, err := r.up(ctx, m, settle, deadline, healthTimeout)
			if err != nil {
				return err
			}
			up[i] = ok
			all = all && ok
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cancelled while waiting for the new container: %w", ctx.Err())
		case <-time.After(poll):
		}
	}
}

// up reports whether m's new container is up, or why it failed.
func (r *recreate) up(ctx context.Context, m *member, settle time.Duration, deadline time.Time, healthTimeout time.Duration) (bool, error) {
	c, err := r.e.cli.ContainerInspect(ctx, m.newID)
	if err != nil {
		return false, fmt.Errorf("inspect new %s: %w", m.name, err)
	}
	st := c.State
	switch {
	case !st.Running || st.Restarting:
		reason := fmt.Sprintf("new %s exited with code %d", m.name, st.ExitCode)
		if st.OOMKilled {
			reason += " (out of memory)"
		}
		if st.Error != "" {
			reason += ": " + st.Error
		}
		if logs := r.e.logTail(ctx, m.newID); logs != "" {
			reason += "; last output: " + logs
		}
		return false, errors.New(reason)
	case c.RestartCount != m.restarts || st.StartedAt != m.startedAt:
		return false, fmt.Errorf("new %s restarted", m.name)
	case st.Health != nil:
		switch st.Health.Status {
		case container.Healthy:
			return true, nil
		case container.Unhealthy:
			reason := fmt.Sprintf("new %s is unhealthy", m.name)
			if n := len(st.Health.Log); n > 0 && st.Health.Log[n-1] != nil {
				if out := strings.TrimSpace(st.Health.Log[n-1].Output); out != "" {
					reason += ": " + truncate(out, 200)
				}
			}
			return false, errors.New(reason)
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("new %s not healthy after %v", m.name, healthTimeout)
		}
		return false, nil
	default:
		return time.Since(m.upSince) >= settle, nil
	}
}

// logTail returns the last lines a container wrote, for the failure reason.
func (e *Engine) logTail(ctx context.Context, id string) string {
	rc, err := e.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "5"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out bytes.Buffer
	c, err := e.cli.ContainerInspect(ctx, id)
	if err == nil && c.Config.Tty {
		_, _ = out.ReadFrom(rc)
	} else {
		_, _ = stdcopy.StdCopy(&out, &out, rc)
	}
	return truncate(strings.Join(strings.Fields(out.String()), " "), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// removeOld removes the old containers, namespace joiners first. Their
// volumes stay: the new containers mount the anonymous ones by name.
func (r *recreate) removeOld(ctx context.Context) error {
	var errs []string
	for i := len(r.members) - 1; i >= 0; i-- {
		m := r.members[i]
		if err := r.e.cli.ContainerRemove(ctx, m.old.ID, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Sprintf("remove old %s: %v; it is left as %s", m.name, err, m.name+OldSuffix))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the new container runs, but %s", strings.Join(errs, "; "))
	}
	return nil
}

// rollback undoes what the recreate did, on a context of its own, and
// returns the *models.RecreateError for cause.
func (r *recreate) rollback(ctx context.Context, cause string) error {
	r.opts.Started(StepRollingBack)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	cli := r.e.cli
	_ = r.note(StepRollingBack) // best effort: the entry of the failed step says as much

	var problems []string
	var logs string
	for i := len(r.members) - 1; i >= 0; i-- {
		m := r.members[i]
		if m.newID == "" {
			continue
		}
		if i == 0 { // the container asked for: its last words go once it is removed
			logs, _ = r.e.Logs(ctx, m.newID, models.LogOptions{Tail: models.CrashLogLines})
		}
		// Its volumes stay: an empty new one costs less than a wrong guess.
		err := cli.ContainerRemove(ctx, m.newID, container.RemoveOptions{Force: true})
		if err != nil && !errdefs.IsNotFound(err) {
			problems = append(problems, fmt.Sprintf("remove new %s (%s): %v", m.name, models.ShortID(m.newID), err))
			continue
		}
		m.newID = ""
	}
	for _, m := range r.members {
		if !m.renamed {
			continue
		}
		if err := cli.ContainerRename(ctx, m.old.ID, m.name); err != nil {
			problems = append(problems, fmt.Sprintf("rename %s back to %s: %v", m.name+OldSuffix, m.name, err))
			continue
		}
		m.renamed = false
	}
	for _, m := range r.members {
		if !m.running {
			continue
		}
		if m.stopSent {
			// A stop cut short by a cancelled request still runs in the
			// engine: a container that "still runs" may exit in a moment.
			r.e.awaitStopped(ctx, m.old.ID, m.stopWait)
		}
		c, err := cli.ContainerInspect(ctx, m.old.ID)
		if err == nil && c.State.Running {
			continue
		}
		if err == nil {
			err = cli.ContainerStart(ctx, m.old.ID, container.StartOptions{})
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("start old %s (%s): %v", m.name, models.ShortID(m.old.ID), err))
		}
	}
	if len(problems) == 0 {
		_ = r.note(models.StepDone)
		return &models.RecreateError{Reason: cause, RolledBack: true, Logs: logs}
	}
	return &models.RecreateError{Reason: fmt.Sprintf("%s; %s: %s; %s", cause, models.ErrTextRollbackFailed, strings.Join(problems, "; "), r.whereabouts(ctx)), Logs: logs}
}

// whereabouts says where the old and new containers are after a failed
// rollback, so a person can finish it by hand.
func (r *recreate) whereabouts(ctx context.Context) string {
	var parts []string
	for _, m := range r.members {
		oldName, state := m.name+OldSuffix, "stopped"
		if c, err := r.e.cli.ContainerInspect(ctx, m.old.ID); err == nil {
			oldName = strings.TrimPrefix(c.Name, "/")
			if c.State.Running {
				state = "running"
			}
		}
		s := fmt.Sprintf("old container %s is named %s (%s)", models.ShortID(m.old.ID), oldName, state)
		if m.newID != "" {
			s += fmt.Sprintf(", new container %s is named %s", models.ShortID(m.newID), m.name)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// reserve marks names as being recreated by this engine, so two recreates
// of one container, or a Recover during a recreate, do not interfere.
func (e *Engine) reserve(names []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range names {
		if e.busy[n] {
			return fmt.Errorf("container %s is already being recreated: %w", n, models.ErrConflict)
		}
	}
	for _, n := range names {
		e.busy[n] = true
	}
	return nil
}

func (e *Engine) release(names []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range names {
		delete(e.busy, n)
	}
}

func (e *Engine) isBusy(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.busy[name]
}
