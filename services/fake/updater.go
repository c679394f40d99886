package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"

	"refit/models"
)

// OldSuffix is the parked name's suffix; Recover must find it after a crash.
const OldSuffix = models.OldSuffix

// published is an image in the fake registry.
type published struct{ id, digest string }

// Publish makes ref ("registry.test/app:1") resolve to the image imageID
// with manifest digest in the registry; a Pull of ref brings it to the
// engine.
func (e *Engine) Publish(ref, imageID, digest string) {
	ref = normal(ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.remote[ref] = published{id: imageID, digest: digest}
}

// Tag makes ref name the local image imageID, as a pull or a build would.
func (e *Engine) Tag(ref, imageID string) {
	ref = normal(ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tags[ref] = imageID
	if _, ok := e.images[imageID]; !ok {
		e.images[imageID] = nil
	}
}

// SetPullEvents scripts the progress a Pull of ref reports.
func (e *Engine) SetPullEvents(ref string, evs ...models.PullEvent) {
	ref = normal(ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pullEvents[ref] = evs
}

// FailPull makes a Pull of ref report its scripted events, then fail with
// err, as an error inside the engine's stream would. A nil err clears it.
func (e *Engine) FailPull(ref string, err error) {
	ref = normal(ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		delete(e.pullErrs, ref)
		return
	}
	e.pullErrs[ref] = err
}

// PullCount returns how many times ref was pulled, failed pulls included.
func (e *Engine) PullCount(ref string) int {
	ref = normal(ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pulls[ref]
}

// FailStep makes a Recreate of the container named name fail at step:
// "creating" (the create fails), "starting" (the start fails, as with a
// busy host port) or "waiting" (the new container exits at once). The
// recreate then rolls back. A nil err clears it.
func (e *Engine) FailStep(name, step string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		delete(e.failSteps[name], step)
		return
	}
	if e.failSteps[name] == nil {
		e.failSteps[name] = map[string]error{}
	}
	e.failSteps[name][step] = err
}

// SetHealth sets a container's health status ("" for no healthcheck).
func (e *Engine) SetHealth(id, status string) {
	e.mu.Lock()
	if c := e.containers[id]; c != nil {
		c.Health = status
	}
	e.mu.Unlock()
	e.emit(models.EngineEvent{Action: "health_status", ContainerID: id})
}

// Container returns a copy of the container with that ID or name, running
// or not.
func (e *Engine) Container(idOrName string) (Container, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(idOrName); c != nil {
		cp := *c
		cp.Labels = maps.Clone(c.Labels)
		cp.State = c.state()
		return cp, true
	}
	return Container{}, false
}

// find resolves a full ID, a name, or an ID prefix of at least 12
// characters that only one container has, in the engine's order.
func (e *Engine) find(idOrName string) *Container {
	if c := e.containers[idOrName]; c != nil {
		return c
	}
	for _, c := range e.containers {
		if c.Name == idOrName {
			return c
		}
	}
	var found *Container
	if len(idOrName) >= 12 {
		for id, c := range e.containers {
			if strings.HasPrefix(id, idOrName) {
				if found != nil {
					return nil // ambiguous: the engine refuses it too
				}
				found = c
			}
		}
	}
	return found
}

// normal writes a reference the way the engine resolves it: "nginx" and
// "docker.io/library/nginx:latest" name the same image. An image ID or a
// reference that does not parse stays as it is.
func normal(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

// localImage resolves a reference or an image ID to a local image ID.
func (e *Engine) localImage(ref string) (string, bool) {
	if id, ok := e.tags[normal(ref)]; ok {
		return id, true
	}
	if _, ok := e.images[ref]; ok {
		return ref, true
	}
	return "", false
}

// Pull implements services.Updater.
func (e *Engine) Pull(ctx context.Context, ref string, auth models.RegistryAuth, progress func(models.PullEvent)) error {
	ref = normal(ref)
	e.mu.Lock()
	e.pulls[ref]++
	img, ok := e.remote[ref]
	evs := e.pullEvents[ref]
	failErr := e.pullErrs[ref]
	e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ok && failErr == nil {
		return fmt.Errorf("pull %s: manifest unknown: %w", ref, models.ErrNotFound)
	}
	if evs == nil && ok {
		layer := models.ShortID(strings.TrimPrefix(img.id, "sha256:"))
		evs = []models.PullEvent{
			{Layer: layer, Status: "Pulling fs layer"},
			{Layer: layer, Status: "Downloading", Current: 512, Total: 1024},
			{Layer: layer, Status: "Downloading", Current: 1024, Total: 1024},
			{Layer: layer, Status: "Download complete"},
			{Layer: layer, Status: "Pull complete"},
			{Status: "Digest: " + img.digest},
		}
	}
	for _, ev := range evs {
		if progress != nil {
			progress(ev)
		}
	}
	if failErr != nil {
		return fmt.Errorf("pull %s: %w", ref, failErr)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tags[ref] = img.id
	rd := repository(ref) + "@" + img.digest
	if !slices.Contains(e.images[img.id], rd) {
		e.images[img.id] = append(e.images[img.id], rd)
	}
	return nil
}

// repository is the repository of a reference as RepoDigests show it:
// "nginx" for Docker Hub's library images, "registry.test/app" elsewhere.
func repository(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarName(named)
}

// Every image of the fake is built for linux/amd64 at ImageCreated, as
// the test images of ocitest are: fixed, so golden files stay put.
var (
	ImageArchitecture = "amd64"
	ImageOS           = "linux"
	ImageCreated      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Image implements services.Updater.
func (e *Engine) Image(ctx context.Context, ref string) (models.ImageInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.localImage(ref)
	if !ok {
		return models.ImageInfo{}, fmt.Errorf("image %s: %w", ref, models.ErrImageNotFound)
	}
	configs.Lock()
	labels := maps.Clone(configs.images[e][id].Labels)
	configs.Unlock()
	return models.ImageInfo{ID: id, RepoDigests: append([]string(nil), e.images[id]...),
		Architecture: ImageArchitecture, OS: ImageOS, Created: ImageCreated, Labels: labels}, nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// recreate is one Recreate in progress. It touches the engine only with the
// lock held and calls Step, Hook and Journal without it, so a hook may use
// the engine or end the goroutine.
type recreate struct {
	e        *Engine
	opts     models.RecreateOptions
	name     string
	ref      string
	imageID  string
	running  bool
	fails    map[string]error
	old      *Container
	new      *Container
	renamed  bool
	stopSent bool
}

// Recreate implements services.Updater with the adapter's visible sequence:
// the old container is renamed to name+OldSuffix, a new one (new ID) is
// created under the name on the reference's current local image, the old
// one stops (taking its stop time), the new one starts, and the old one is
// removed. Each step is journalled before it acts. Failures injected with
// FailStep, a Hook error or a cancelled ctx roll back.
func (e *Engine) Recreate(ctx context.Context, id string, opts models.RecreateOptions) (string, error) {
	e.mu.Lock()
	old := e.find(id)
	if old == nil {
		e.mu.Unlock()
		return "", fmt.Errorf("recreate %s: %w", id, models.ErrContainerNotFound)
	}
	name := old.Name
	ref := opts.Image
	if ref == "" {
		ref = old.ConfiguredImage
	}
	imageID, haveImage := e.localImage(ref)
	var err error
	switch {
	case old.Labels["com.docker.swarm.service.id"] != "":
		err = fmt.Errorf("container %s is a swarm task: %w", name, models.ErrInvalid)
	case strings.HasSuffix(name, OldSuffix):
		err = fmt.Errorf("container %s is left from an interrupted update: %w", name, models.ErrInvalid)
	case e.busy[name]:
		err = fmt.Errorf("container %s is already being recreated: %w", name, models.ErrConflict)
	case e.find(name+OldSuffix) != nil:
		err = fmt.Errorf("container %s exists from an interrupted update: %w", name+OldSuffix, models.ErrConflict)
	case !haveImage:
		err = fmt.Errorf("recreate %s from %s: %w", name, ref, models.ErrImageNotFound)
	}
	if err != nil {
		e.mu.Unlock()
		return "", err
	}
	e.busy[name] = true
	r := &recreate{e: e, opts: opts, name: name, ref: ref, imageID: imageID, running: old.Running,
		fails: maps.Clone(e.failSteps[name]), old: old}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.busy, name)
		e.mu.Unlock()
	}()

	steps := []struct {
		name string
		do   func(context.Context) error
	}{
		{models.StepRenaming, r.rename},
		{models.StepCreating, r.create},
		{models.StepStopping, r.stop},
		{models.StepStarting, r.start},
		{models.StepWaiting, r.wait},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return "", r.rollback(fmt.Sprintf("cancelled before %s: %v", s.name, err))
		}
		r.opts.Started(s.name)
		if err := r.note(s.name); err != nil {
			return "", r.rollback(err.Error())
		}
		if err := s.do(ctx); err != nil {
			return "", r.rollback(err.Error())
		}
		if err := r.opts.Finished(s.name); err != nil {
			return "", r.rollback(fmt.Sprintf("hook after %s: %v", s.name, err))
		}
	}
	r.opts.Started(models.StepRemovingOld)
	if err := r.note(models.StepRemovingOld); err != nil {
		return r.new.ID, &models.RecreateError{Reason: err.Error()}
	}
	e.remove(old.ID)
	_ = r.note(models.StepDone)
	if err := r.opts.Finished(models.StepRemovingOld); err != nil {
		return r.new.ID, &models.RecreateError{Reason: fmt.Sprintf("hook after removing old: %v; the new container runs as %s and the old one is removed", err, name)}
	}
	return r.new.ID, nil
}

// note journals the container at step, as the adapter does before each
// engine call.
func (r *recreate) note(step string) error {
	r.e.mu.Lock()
	st := models.RecreateState{Name: r.name, Step: step, OldID: r.old.ID, Image: r.ref, MustRun: r.running,
		StopSent: r.stopSent, StopTimeout: r.stopTimeout(), UpdatedAt: time.Now()}
	if r.new != nil {
		st.NewID = r.new.ID
	}
	r.e.mu.Unlock()
	return r.opts.Note(st)
}

// stopTimeout is the old container's stop timeout in seconds, as the
// journal keeps it.
func (r *recreate) stopTimeout() int {
	d := r.old.stopTime()
	if r.opts.StopTimeout > 0 {
		d = min(d, r.opts.StopTimeout)
	}
	return int(d.Round(time.Second) / time.Second)
}

func (r *recreate) rename(context.Context) error {
	r.e.mu.Lock()
	r.old.Name = r.name + OldSuffix
	r.renamed = true
	r.e.mu.Unlock()
	r.e.emit(models.EngineEvent{Action: "rename", ContainerID: r.old.ID})
	return nil
}

func (r *recreate) create(context.Context) error {
	if err := r.fails[models.StepCreating]; err != nil {
		return fmt.Errorf("create %s: %w", r.name, err)
	}
	r.e.mu.Lock()
	c := &Container{Container: models.Container{
		ID:              newID(),
		Name:            r.name,
		ConfiguredImage: r.ref,
		ImageID:         r.imageID,
		Labels:          maps.Clone(r.old.Labels),
		Created:         time.Now(),
	}, StopTime: r.old.StopTime, TTY: r.old.TTY, Volumes: slices.Clone(r.old.Volumes), // anonymous volumes mounted by name
		Shell: r.old.Shell} // the image's, which the fake keeps on the container
	if r.old.Health != "" {
		c.Health = "starting"
	}
	// It runs the same program, which says the same, as a new container of
	// the engine keeps the command and the environment.
	last := time.Now()
	for _, l := range r.old.logs {
		last = last.Add(time.Nanosecond) // times never repeat, as SetLogs's
		c.logs = append(c.logs, logLine{at: last, text: l.text})
	}
	r.e.containers[c.ID] = c
	r.new = c
	r.e.mu.Unlock()
	return r.note(models.StepCreating)
}

func (r *recreate) stop(ctx context.Context) error {
	if !r.running {
		return nil
	}
	r.stopSent = true
	if err := r.note(models.StepStopping); err != nil {
		return err
	}
	select {
	case <-r.e.stopWith(r.old.ID, r.opts.StopSignal, r.opts.StopTimeout):
		return nil
	case <-ctx.Done():
		// As with the engine, the stop goes on without its caller.
		return fmt.Errorf("stop old %s: %w", r.name, ctx.Err())
	}
}

func (r *recreate) start(context.Context) error {
	if !r.running {
		return nil
	}
	if err := r.fails[models.StepStarting]; err != nil {
		return fmt.Errorf("start new %s: %w", r.name, err)
	}
	r.e.start(r.new.ID)
	return nil
}

func (r *recreate) wait(context.Context) error {
	if !r.running {
		return nil
	}
	if r.opts.Waiting != nil {
		r.opts.Waiting(r.new.Health != "")
	}
	if err := r.fails[models.StepWaiting]; err != nil {
		<-r.e.stopAsync(r.new.ID)
		return fmt.Errorf("new %s exited with code 1: %v", r.name, err)
	}
	r.e.mu.Lock()
	if r.new.Health != "" {
		r.new.Health = "healthy"
	}
	r.e.mu.Unlock()
	return nil
}

func (r *recreate) rollback(cause string) error {
	r.opts.Started(models.StepRollingBack)
	_ = r.note(models.StepRollingBack)
	var logs string
	if r.new != nil {
		logs, _ = r.e.Logs(context.Background(), r.new.ID, models.LogOptions{Tail: models.CrashLogLines})
		r.e.remove(r.new.ID)
	}
	if r.stopSent {
		<-r.e.stopAsync(r.old.ID) // a stop in flight ends before the old container can start again
	}
	r.e.mu.Lock()
	if r.renamed {
		r.old.Name = r.name
	}
	r.e.mu.Unlock()
	if r.running {
		r.e.start(r.old.ID)
	}
	r.new = nil
	_ = r.note(models.StepDone)
	return &models.RecreateError{Reason: cause, RolledBack: true, Logs: logs}
}

// Recover implements services.Updater with the adapter's rule: a stop still
// in flight is waited for; a new container that runs and is healthy (or,
// without a healthcheck, has run for Settle) is kept and the old one removed
// ("finished"); otherwise the new one is removed and the old one gets its
// name back and runs if it ran ("restored").
func (e *Engine) Recover(ctx context.Context, opts models.RecoverOptions) ([]models.Recovery, error) {
	settle := opts.Settle
	if settle <= 0 {
		settle = 10 * time.Second
	}
	e.mu.Lock()
	todo := map[string]models.RecreateState{}
	for _, st := range opts.Pending {
		if !e.busy[st.Name] {
			todo[st.Name] = st
		}
	}
	for _, c := range e.containers {
		n, ok := strings.CutSuffix(c.Name, OldSuffix)
		if !ok || e.busy[n] {
			continue
		}
		if st, ok := todo[n]; !ok || st.OldID == "" {
			todo[n] = models.RecreateState{Name: n, OldID: c.ID, MustRun: true}
		}
	}
	e.mu.Unlock()
	names := slices.Sorted(maps.Keys(todo))

	var out []models.Recovery
	for _, n := range names {
		rec, err := e.recoverOne(ctx, todo[n], settle)
		if err != nil {
			return out, fmt.Errorf("recover %s: %w", n, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (e *Engine) recoverOne(ctx context.Context, st models.RecreateState, settle time.Duration) (models.Recovery, error) {
	name := st.Name
	rec := models.Recovery{Container: name}
	if st.StopSent && (st.Step == models.StepStopping || st.Step == models.StepRollingBack) {
		select {
		case <-e.stopAsync(st.OldID): // no-op unless a stop is in flight
		case <-ctx.Done():
			return rec, ctx.Err()
		}
	}
	e.mu.Lock()
	old := e.containers[st.OldID]
	cur := e.find(name)
	if cur != nil && old != nil && cur.ID == old.ID {
		cur = nil
	}
	var curUp bool
	var wait time.Duration
	if cur != nil {
		switch {
		case !cur.Running:
		case cur.Health != "":
			curUp = cur.Health == "healthy"
		default:
			wait = settle - time.Since(cur.StartedAt)
			curUp = true
		}
	}
	e.mu.Unlock()
	if curUp && wait > 0 {
		restarts := cur.Restarts
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(wait):
		}
		e.mu.Lock()
		curUp = cur.Running && cur.Restarts == restarts && e.containers[cur.ID] != nil
		e.mu.Unlock()
	}

	switch {
	case cur != nil && curUp:
		if old != nil {
			e.remove(old.ID)
		}
		rec.Action = models.RecoveryFinished
		rec.Detail = fmt.Sprintf("%s (%s) runs", name, models.ShortID(cur.ID))
		return rec, nil
	case cur != nil && old == nil:
		e.start(cur.ID)
		rec.Action = models.RecoveryFinished
		rec.Detail = fmt.Sprintf("the old container was already removed; started %s (%s)", name, models.ShortID(cur.ID))
		return rec, nil
	case cur != nil:
		e.remove(cur.ID)
		rec.Detail = fmt.Sprintf("removed the new container %s; ", models.ShortID(cur.ID))
	case old == nil:
		rec.Action = models.RecoveryUntouched
		rec.Detail = fmt.Sprintf("no container of the update is left (neither %s nor %s)", name, models.ShortID(st.OldID))
		return rec, nil
	}
	e.mu.Lock()
	renamed := old.Name != name
	old.Name = name
	start := st.MustRun && !old.Running
	e.mu.Unlock()
	if renamed {
		e.emit(models.EngineEvent{Action: "rename", ContainerID: old.ID})
	}
	if start {
		e.start(old.ID)
	}
	if !renamed && !start && rec.Detail == "" {
		rec.Action = models.RecoveryUntouched
		rec.Detail = fmt.Sprintf("%s (%s) was not changed", name, models.ShortID(old.ID))
		return rec, nil
	}
	rec.Action = models.RecoveryRestored
	rec.Detail += fmt.Sprintf("the old container %s runs again as %s", models.ShortID(old.ID), name)
	return rec, nil
}

// HandOver implements services.Updater: the helper container is simulated
// by a recreate on a goroutine of its own, which nobody waits for, as
// nobody waits for the real helper. HandOvers returns the commands.
func (e *Engine) HandOver(ctx context.Context, id string, cmd []string) error {
	e.mu.Lock()
	if e.find(id) == nil {
		e.mu.Unlock()
		return fmt.Errorf("hand over %s: %w", id, models.ErrContainerNotFound)
	}
	e.handOvers = append(e.handOvers, slices.Clone(cmd))
	e.mu.Unlock()
	go func() { _, _ = e.Recreate(context.Background(), id, models.RecreateOptions{}) }()
	return nil
}

// HandOvers returns the commands HandOver was given, one per self-update.
func (e *Engine) HandOvers() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.handOvers)
}
