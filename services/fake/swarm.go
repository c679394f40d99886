package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"refit/models"
)

// ServiceRollTime is how long the fake's rolling update of a service takes:
// an update is never instant in the engine either.
const ServiceRollTime = 40 * time.Millisecond

// service is one Swarm service of the fake engine: its spec's image (with
// the pinned digest) and how its last update goes.
type service struct {
	id, name    string
	image       string // name:tag@sha256:…
	previous    string
	replicas    uint64
	updateStart time.Time // zero once the roll ended
	state, msg  string    // UpdateStatus once the roll ended
	updates     []string  // every image UpdateService was given
}

// swarm holds the fake's services; the zero value is a non-manager.
type swarm struct {
	mu       sync.Mutex
	manager  bool
	services map[string]*service
	failing  map[string]string // digest → why its tasks fail: the update rolls back
}

// AddService makes the engine a Swarm manager with a service of replicas
// tasks running image ("name:tag@sha256:…"). It returns the service's ID.
func (e *Engine) AddService(name, image string, replicas uint64) string {
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	e.sw.manager = true
	if e.sw.services == nil {
		e.sw.services = map[string]*service{}
	}
	id := newID()
	e.sw.services[id] = &service{id: id, name: name, image: image, replicas: replicas}
	return id
}

// FailServiceDigest makes tasks of digest fail to start: an update to it
// ends rolled back by the engine, as a failure_action rollback would.
func (e *Engine) FailServiceDigest(digest, why string) {
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	if e.sw.failing == nil {
		e.sw.failing = map[string]string{}
	}
	e.sw.failing[digest] = why
}

// ServiceUpdates returns the images UpdateService was given for the named
// service, in order.
func (e *Engine) ServiceUpdates(name string) []string {
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	for _, s := range e.sw.services {
		if s.name == name {
			return slices.Clone(s.updates)
		}
	}
	return nil
}

// Services implements services.Engine.
func (e *Engine) Services(ctx context.Context) ([]models.Container, error) {
	if err := e.down(); err != nil {
		return nil, err
	}
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	out := make([]models.Container, 0, len(e.sw.services))
	for _, s := range e.sw.services {
		out = append(out, e.sw.view(s))
	}
	slices.SortFunc(out, func(a, b models.Container) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Service implements services.Updater.
func (e *Engine) Service(ctx context.Context, id string) (models.Container, error) {
	if err := e.down(); err != nil {
		return models.Container{}, err
	}
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	s := e.sw.services[id]
	if s == nil {
		return models.Container{}, fmt.Errorf("service %s: %w", id, models.ErrNotFound)
	}
	return e.sw.view(s), nil
}

// UpdateService implements services.Updater: the spec's image changes at
// once, the tasks follow within ServiceRollTime, or roll back when the new
// digest's tasks fail.
func (e *Engine) UpdateService(ctx context.Context, id, image string, auth models.RegistryAuth) error {
	if err := e.down(); err != nil {
		return err
	}
	if _, _, ok := strings.Cut(image, "@sha256:"); !ok {
		return fmt.Errorf("update service %s: %q pins no digest: %w", id, image, models.ErrInvalid)
	}
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	s := e.sw.services[id]
	if s == nil {
		return fmt.Errorf("update service %s: %w", id, models.ErrNotFound)
	}
	s.previous, s.image, s.updateStart, s.state, s.msg = s.image, image, time.Now(), "", ""
	s.updates = append(s.updates, image)
	return nil
}

// view is the service as the engine shows it now: while the roll runs its
// tasks are being replaced; after it, completed, or rolled back to the
// previous image when the new one's tasks fail.
func (sw *swarm) view(s *service) models.Container {
	st := &models.Service{Running: s.replicas, Desired: s.replicas}
	if !s.updateStart.IsZero() {
		_, digest, _ := strings.Cut(s.image, "@")
		switch why, fails := sw.failing[digest]; {
		case time.Since(s.updateStart) < ServiceRollTime:
			st.Running = s.replicas - min(s.replicas, 1)
			st.Update = "updating"
		case fails:
			s.state, s.msg = "rollback_completed", "rollback completed: "+why
			s.image, s.updateStart = s.previous, time.Time{}
		default:
			s.state, s.msg = "completed", "update completed"
			s.updateStart = time.Time{}
		}
	}
	if st.Update == "" {
		st.Update, st.Message = s.state, s.msg
	}
	configured, pinned, _ := strings.Cut(s.image, "@")
	c := models.Container{ID: s.id, Name: s.name, ConfiguredImage: configured, ImageID: pinned, Service: st}
	if pinned != "" {
		repo := configured
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		c.RepoDigests = []string{repo + "@" + pinned}
	}
	return c
}
