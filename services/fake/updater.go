package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

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
	e.mu.Lock()
	defer e.mu.Unlock()
	e.remote[ref] = published{id: imageID, digest: digest}
}

// Tag makes ref name the local image imageID, as a pull or a build would.
func (e *Engine) Tag(ref, imageID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tags[ref] = imageID
	if _, ok := e.images[imageID]; !ok {
		e.images[imageID] = nil
	}
}

// SetPullEvents scripts the progress a Pull of ref reports.
func (e *Engine) SetPullEvents(ref string, evs ...models.PullEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pullEvents[ref] = evs
}

// FailPull makes a Pull of ref report its scripted events, then fail with
// err, as an error inside the engine's stream would. A nil err clears it.
func (e *Engine) FailPull(ref string, err error) {
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
		return cp, true
	}
	return Container{}, false
}

func (e *Engine) find(idOrName string) *Container {
	if c := e.containers[idOrName]; c != nil {
		return c
	}
	for _, c := range e.containers {
		if c.Name == idOrName {
			return c
		}
	}
	return nil
}

// localImage resolves a reference or an image ID to a local image ID.
func (e *Engine) localImage(ref string) (string, bool) {
	if id, ok := e.tags[ref]; ok {
		return id, true
	}
	if _, ok := e.images[ref]; ok {
		return ref, true
	}
	return "", false
}

// Pull implements services.Updater.
func (e *Engine) Pull(ctx context.Context, ref string, auth models.RegistryAuth, progress func(models.PullEvent)) error {
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

// repository strips the tag or digest from a reference.
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// Image implements services.Updater.
func (e *Engine) Image(ctx context.Context, ref string) (models.ImageInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.localImage(ref)
	if !ok {
		return models.ImageInfo{}, fmt.Errorf("image %s: %w", ref, models.ErrImageNotFound)
	}
	return models.ImageInfo{ID: id, RepoDigests: append([]string(nil), e.images[id]...)}, nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// recreate is one Recreate in progress. It touches the engine only with the
// lock held and calls Step and Hook without it, so a hook may use the engine
// or end the goroutine.
type recreate struct {
	e       *Engine
	opts    models.RecreateOptions
	name    string
	ref     string
	imageID string
	running bool
	fails   map[string]error
	old     *Container
	new     *Container
	renamed bool
}

// Recreate implements services.Updater with the adapter's visible sequence:
// the old container is renamed to name+OldSuffix, a new one (new ID) is
// created under the name on the reference's current local image, the old
// one stops, the new one starts, and the old one is removed. Failures
// injected with FailStep, a Hook error or a cancelled ctx roll back.
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
		do   func() error
	}{
		{"renaming", r.rename},
		{"creating", r.create},
		{"stopping", r.stop},
		{"starting", r.start},
		{"waiting", r.wait},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return "", r.rollback(fmt.Sprintf("cancelled before %s: %v", s.name, err))
		}
		r.opts.Started(s.name)
		if err := s.do(); err != nil {
			return "", r.rollback(err.Error())
		}
		if err := r.opts.Finished(s.name); err != nil {
			return "", r.rollback(fmt.Sprintf("hook after %s: %v", s.name, err))
		}
	}
	r.opts.Started("removing old")
	e.Remove(old.ID)
	if err := r.opts.Finished("removing old"); err != nil {
		return r.new.ID, &models.RecreateError{Reason: fmt.Sprintf("hook after removing old: %v; the new container runs as %s and the old one is removed", err, name)}
	}
	return r.new.ID, nil
}

func (r *recreate) rename() error {
	r.e.mu.Lock()
	r.old.Name = r.name + OldSuffix
	r.renamed = true
	r.e.mu.Unlock()
	r.e.emit(models.EngineEvent{Action: "rename", ContainerID: r.old.ID})
	return nil
}

func (r *recreate) create() error {
	if err := r.fails["creating"]; err != nil {
		return fmt.Errorf("create %s: %w", r.name, err)
	}
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	c := &Container{Container: models.Container{
		ID:              newID(),
		Name:            r.name,
		ConfiguredImage: r.ref,
		ImageID:         r.imageID,
		Labels:          maps.Clone(r.old.Labels),
		Created:         time.Now(),
	}}
	if r.old.Health != "" {
		c.Health = "starting"
	}
	r.e.containers[c.ID] = c
	r.new = c
	return nil
}

func (r *recreate) stop() error {
	if r.running {
		r.e.Stop(r.old.ID)
	}
	return nil
}

func (r *recreate) start() error {
	if !r.running {
		return nil
	}
	if err := r.fails["starting"]; err != nil {
		return fmt.Errorf("start new %s: %w", r.name, err)
	}
	r.e.mu.Lock()
	r.new.Running = true
	r.e.mu.Unlock()
	r.e.emit(models.EngineEvent{Action: "start", ContainerID: r.new.ID})
	return nil
}

func (r *recreate) wait() error {
	if !r.running {
		return nil
	}
	if err := r.fails["waiting"]; err != nil {
		r.e.Stop(r.new.ID)
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
	r.opts.Started("rolling back")
	if r.new != nil {
		r.e.Remove(r.new.ID)
	}
	r.e.mu.Lock()
	if r.renamed {
		r.old.Name = r.name
	}
	restart := r.running && !r.old.Running
	if restart {
		r.old.Running = true
	}
	r.e.mu.Unlock()
	if restart {
		r.e.emit(models.EngineEvent{Action: "start", ContainerID: r.old.ID})
	}
	return &models.RecreateError{Reason: cause, RolledBack: true}
}

// Recover implements services.Updater with the adapter's rule: a parked
// container whose successor runs and is healthy (or has no healthcheck) is
// removed ("finished"); otherwise the successor is removed and the parked
// container gets its name back and runs ("restored").
func (e *Engine) Recover(ctx context.Context) ([]models.Recovery, error) {
	e.mu.Lock()
	var parked []*Container
	for _, c := range e.containers {
		if strings.HasSuffix(c.Name, OldSuffix) && !e.busy[strings.TrimSuffix(c.Name, OldSuffix)] {
			parked = append(parked, c)
		}
	}
	sort.Slice(parked, func(i, j int) bool { return parked[i].Name < parked[j].Name })
	var out []models.Recovery
	var evs []models.EngineEvent
	for _, p := range parked {
		name := strings.TrimSuffix(p.Name, OldSuffix)
		cur := e.find(name)
		if cur != nil && cur.Running && (cur.Health == "" || cur.Health == "healthy") {
			delete(e.containers, p.ID)
			evs = append(evs, models.EngineEvent{Action: "destroy", ContainerID: p.ID})
			out = append(out, models.Recovery{Container: name, Action: "finished",
				Detail: fmt.Sprintf("%s (%s) runs; removed the old container %s", name, models.ShortID(cur.ID), models.ShortID(p.ID))})
			continue
		}
		if cur != nil {
			delete(e.containers, cur.ID)
			evs = append(evs, models.EngineEvent{Action: "destroy", ContainerID: cur.ID})
		}
		p.Name = name
		evs = append(evs, models.EngineEvent{Action: "rename", ContainerID: p.ID})
		if !p.Running {
			p.Running = true
			evs = append(evs, models.EngineEvent{Action: "start", ContainerID: p.ID})
		}
		out = append(out, models.Recovery{Container: name, Action: "restored",
			Detail: fmt.Sprintf("the old container %s runs again as %s", models.ShortID(p.ID), name)})
	}
	e.mu.Unlock()
	for _, ev := range evs {
		e.emit(ev)
	}
	return out, nil
}
