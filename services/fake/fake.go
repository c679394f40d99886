// Package fake provides in-memory implementations of services.Engine,
// services.Updater and services.Registry for tests and demos. Their state is plain fields behind a
// mutex so tests can script and read it; enginetest keeps them honest.
package fake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"refit/models"
)

// Engine is an in-memory Docker engine with a registry behind it: Publish
// puts an image in the registry, Pull brings it to the engine, Recreate
// moves a container to it.
type Engine struct {
	mu         sync.Mutex
	containers map[string]*Container
	images     map[string][]string // image ID → RepoDigests
	tags       map[string]string   // local reference → image ID
	remote     map[string]published
	pullEvents map[string][]models.PullEvent
	pullErrs   map[string]error
	pulls      map[string]int
	failSteps  map[string]map[string]error // container name → step → error
	busy       map[string]bool             // names being recreated
	volumes    map[string]bool             // anonymous volumes that exist
	subs       []chan models.EngineEvent
	downs      []chan struct{} // closed by SetDown to break open streams
	// ListErr, when set, is returned by Running. SetDown sets it under the
	// lock, for tests where a watch runs meanwhile.
	ListErr error
	// Calls counts calls to Running.
	Calls     int
	handOvers [][]string // the commands HandOver was given
	sw        swarm      // its own lock: taken with e.mu never held
}

// Container is one container of the fake engine.
type Container struct {
	models.Container
	Running bool
	// Health is "" for a container without a healthcheck, else "starting",
	// "healthy" or "unhealthy".
	Health string
	// StopTime is how long a stop takes; 0 means DefaultStopTime. A stop, once
	// asked for, finishes even if the caller gives up, as in the engine.
	StopTime time.Duration
	// StopSignal is its own stop signal ("": SIGTERM). Like the test app,
	// it exits at once on SIGTERM or SIGINT sent in place of its own, and
	// ignores other signals until the kill at the stop's timeout.
	StopSignal string
	StartedAt  time.Time // zero until the first start: the container is "created"
	Restarts   int
	// TTY makes Logs answer as a terminal wrote: "\r\n" line ends.
	TTY bool
	// Volumes are the names of its anonymous volumes (AddVolume).
	Volumes []string
	// Shell gives it /bin/sh for Exec (see exec.go); Files are what its
	// scripts appended to with >>, by path.
	Shell bool
	Files map[string]string

	stopping chan struct{} // closed when a stop in flight ends
	logs     []logLine
}

// DefaultStopTime is how long a stop takes for a container that sets no
// StopTime: a stop is never instant in the engine either.
const DefaultStopTime = 30 * time.Millisecond

// state is the engine's name for what c does: a container that never
// started is "created", one that stopped "exited".
func (c *Container) state() string {
	switch {
	case c.Running:
		return "running"
	case c.StartedAt.IsZero():
		return "created"
	default:
		return "exited"
	}
}

// defaultStopTimeout is the engine's stop timeout for a container that sets
// none.
const defaultStopTimeout = 10 * time.Second

// signalName is a signal as "SIGINT", whether written INT, SIGINT or 2.
func signalName(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		if name, ok := signalNumbers[n]; ok {
			return name
		}
		return s
	}
	if s != "" && !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	return s
}

var signalNumbers = map[int]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 9: "SIGKILL", 10: "SIGUSR1", 12: "SIGUSR2", 15: "SIGTERM"}

func (c *Container) stopTime() time.Duration {
	if c.StopTime > 0 {
		return c.StopTime
	}
	return DefaultStopTime
}

// NewEngine returns an empty engine.
func NewEngine() *Engine {
	return &Engine{
		containers: map[string]*Container{},
		images:     map[string][]string{},
		tags:       map[string]string{},
		remote:     map[string]published{},
		pullEvents: map[string][]models.PullEvent{},
		pullErrs:   map[string]error{},
		pulls:      map[string]int{},
		failSteps:  map[string]map[string]error{},
		busy:       map[string]bool{},
		volumes:    map[string]bool{},
	}
}

// AddImage records an image and its RepoDigests.
func (e *Engine) AddImage(id string, repoDigests ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[id] = repoDigests
}

// Run adds a running container and announces it.
func (e *Engine) Run(id, name, configured, imageID string) {
	e.mu.Lock()
	e.containers[id] = &Container{Running: true, StartedAt: time.Now(), Container: models.Container{ID: id, Name: name,
		ConfiguredImage: configured, ImageID: imageID, Created: time.Now()}}
	e.mu.Unlock()
	e.emit(models.EngineEvent{Action: "start", ContainerID: id})
}

// SetStopTime sets how long stopping the container takes.
func (e *Engine) SetStopTime(id string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.containers[id]; c != nil {
		c.StopTime = d
	}
}

// SetStopSignal sets the container's own stop signal.
func (e *Engine) SetStopSignal(id, signal string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.containers[id]; c != nil {
		c.StopSignal = signal
	}
}

// stopAsync asks for a stop and returns a channel closed once the container
// no longer runs. A stop already in flight is joined, not repeated.
func (e *Engine) stopAsync(id string) <-chan struct{} { return e.stopWith(id, "", 0) }

// stopWith is stopAsync with signal in place of the container's own ("":
// its own) and a timeout in place of its own (0: its own): a signal it
// does not exit on waits for the kill at the timeout.
func (e *Engine) stopWith(id, signal string, timeout time.Duration) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.containers[id]
	if c != nil && c.stopping != nil {
		return c.stopping
	}
	done := make(chan struct{})
	if c == nil || !c.Running {
		close(done)
		return done
	}
	c.stopping = done
	took := c.stopTime()
	if sig := signalName(signal); sig != "" && sig != signalName(cmp.Or(c.StopSignal, "SIGTERM")) {
		took = DefaultStopTime
		if sig != "SIGTERM" && sig != "SIGINT" {
			took = cmp.Or(timeout, defaultStopTimeout) // ignored: killed at the timeout
		}
	}
	if timeout > 0 {
		took = min(took, timeout)
	}
	go func() {
		time.Sleep(took)
		e.mu.Lock()
		c.Running, c.stopping = false, nil
		e.mu.Unlock()
		// die before the stop returns, as the engine sends it: a restart's
		// start must come after it.
		e.emit(models.EngineEvent{Action: "die", ContainerID: id})
		close(done)
	}()
	return done
}

// start starts a stopped container and announces it.
func (e *Engine) start(id string) {
	e.mu.Lock()
	c := e.containers[id]
	if c == nil || c.Running {
		e.mu.Unlock()
		return
	}
	c.Running, c.StartedAt = true, time.Now()
	e.mu.Unlock()
	e.emit(models.EngineEvent{Action: "start", ContainerID: id})
}

// remove deletes a container that does not run, keeping its volumes, and
// announces it.
func (e *Engine) remove(id string) {
	e.mu.Lock()
	delete(e.containers, id)
	e.mu.Unlock()
	e.emit(models.EngineEvent{Action: "destroy", ContainerID: id})
}

func (e *Engine) emit(ev models.EngineEvent) {
	e.mu.Lock()
	subs := append([]chan models.EngineEvent(nil), e.subs...)
	e.mu.Unlock()
	for _, s := range subs {
		select {
		case s <- ev:
		default: // a slow subscriber refreshes on its next event anyway
		}
	}
}

// Running implements services.Engine.
func (e *Engine) Running(ctx context.Context) ([]models.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Calls++
	if e.ListErr != nil {
		return nil, e.ListErr
	}
	var out []models.Container
	for _, c := range e.containers {
		if !c.Running {
			continue
		}
		out = append(out, e.listed(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// listed is c as a list shows it. Called with e.mu held.
func (e *Engine) listed(c *Container) models.Container {
	m := c.Container
	m.State = c.state()
	m.RepoDigests = append([]string(nil), e.images[c.ImageID]...)
	m.Health = c.Health
	m.StatusText = statusText(c, time.Now())
	m.Ports = slices.Clone(c.Ports)
	configs.Lock()
	m.ImageLabels = maps.Clone(configs.images[e][c.ImageID].Labels)
	configs.Unlock()
	m.ImageCreated = ImageCreated
	return m
}

// statusText is the list's Status as the engine words it (docker ps).
func statusText(c *Container, now time.Time) string {
	if !c.Running {
		if c.StartedAt.IsZero() {
			return "Created"
		}
		return "Exited (0) " + humanDuration(now.Sub(c.StartedAt)) + " ago"
	}
	s := "Up " + humanDuration(now.Sub(c.StartedAt))
	switch c.Health {
	case "":
	case models.HealthStarting:
		s += " (health: starting)"
	default:
		s += " (" + c.Health + ")"
	}
	return s
}

// humanDuration words d as the engine does (go-units' HumanDuration), to
// the precision the dashboard needs.
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	switch m := int(d.Minutes()); {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	switch h := int(d.Round(time.Hour).Hours()); {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	default:
		return fmt.Sprintf("%d days", h/24)
	}
}

// SetPorts publishes the container's ports, as docker run -p does.
func (e *Engine) SetPorts(id string, ports ...models.Port) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.containers[id]; c != nil {
		c.Ports = ports
	}
}

// down is ListErr, read under the lock.
func (e *Engine) down() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ListErr
}

// Info answers like an engine of the current API, or ListErr while down.
func (e *Engine) Info(ctx context.Context) (models.HostInfo, error) {
	if err := e.down(); err != nil {
		return models.HostInfo{}, err
	}
	e.sw.mu.Lock()
	defer e.sw.mu.Unlock()
	return models.HostInfo{EngineVersion: FakeVersion, APIVersion: FakeAPIVersion, SwarmManager: e.sw.manager}, nil
}

// The versions Info reports.
const (
	FakeVersion    = "fake"
	FakeAPIVersion = "1.51"
)

// SetDown makes the engine unreachable (err) or reachable again (nil): lists
// fail, open event streams break, new ones fail at once.
func (e *Engine) SetDown(err error) {
	e.mu.Lock()
	e.ListErr = err
	subs := e.downs
	if err != nil {
		e.downs = nil
	}
	e.mu.Unlock()
	if err != nil {
		for _, c := range subs {
			close(c)
		}
	}
}

// BreakEvents breaks every open event stream while lists keep working: an
// engine that restarted between two lists.
func (e *Engine) BreakEvents() {
	e.mu.Lock()
	subs := e.downs
	e.downs = nil
	e.mu.Unlock()
	for _, c := range subs {
		close(c)
	}
}

// Events implements services.Engine.
func (e *Engine) Events(ctx context.Context) (<-chan models.EngineEvent, <-chan error) {
	// The engine's own events publisher buffers 1024 events per subscriber
	// before a slow one loses any; with 64, a conformance test's stream,
	// read only after a Restart's stop, lost its own start among the other
	// parallel tests' events.
	in := make(chan models.EngineEvent, 1024)
	out := make(chan models.EngineEvent)
	errs := make(chan error, 1)
	down := make(chan struct{})
	e.mu.Lock()
	if err := e.ListErr; err != nil {
		e.mu.Unlock()
		errs <- err
		close(out)
		return out, errs
	}
	e.subs = append(e.subs, in)
	e.downs = append(e.downs, down)
	e.mu.Unlock()
	go func() {
		defer close(out)
		defer e.unsubscribe(in)
		for {
			select {
			case ev := <-in:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-down:
				errs <- errors.New("event stream broken: engine unreachable")
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}

func (e *Engine) unsubscribe(c chan models.EngineEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, s := range e.subs {
		if s == c {
			e.subs = append(e.subs[:i], e.subs[i+1:]...)
			return
		}
	}
}

// Registry is an in-memory registry: tag → digest.
type Registry struct {
	mu      sync.Mutex
	digests map[string]string
	errs    map[string]error
	limits  []models.RateLimit
	// Heads counts Digest calls by reference, TagLists Tags calls by
	// repository.
	Heads    map[string]int
	TagLists map[string]int
	// Slow, when set, holds every Digest until it is closed, like a registry
	// that takes its time (or a connection that waits for its timeout).
	Slow chan struct{}
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{digests: map[string]string{}, errs: map[string]error{}, Heads: map[string]int{}, TagLists: map[string]int{}}
}

// Set makes ref (fully qualified, "docker.io/library/nginx:latest") resolve
// to digest.
func (r *Registry) Set(ref, digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.digests[ref] = digest
	delete(r.errs, ref)
}

// Fail makes ref answer err.
func (r *Registry) Fail(ref string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[ref] = err
}

// HeadCount returns how many times ref was asked about.
func (r *Registry) HeadCount(ref string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Heads[ref]
}

// Digest implements services.Registry.
func (r *Registry) Digest(ctx context.Context, ref string) (string, error) {
	r.mu.Lock()
	slow := r.Slow
	r.mu.Unlock()
	if slow != nil {
		select {
		case <-slow:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Heads[ref]++
	if err := r.errs[ref]; err != nil {
		return "", err
	}
	d, ok := r.digests[ref]
	if !ok {
		return "", fmt.Errorf("%s: %w", ref, models.ErrNotFound)
	}
	return d, nil
}

// Tags implements services.Registry: the tags Set gave repo
// ("docker.io/library/nginx"), sorted as a registry lists them. A Fail of
// the repository itself fails the list.
func (r *Registry) Tags(ctx context.Context, repo string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.TagLists[repo]++
	if err := r.errs[repo]; err != nil {
		return nil, err
	}
	var tags []string
	for ref := range r.digests {
		if t, ok := strings.CutPrefix(ref, repo+":"); ok && !strings.Contains(t, "/") {
			tags = append(tags, t)
		}
	}
	if tags == nil {
		return nil, fmt.Errorf("%s: %w", repo, models.ErrNotFound)
	}
	slices.Sort(tags)
	return tags, nil
}

// SetRateLimits makes RateLimits answer limits.
func (r *Registry) SetRateLimits(limits ...models.RateLimit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits = limits
}

// RateLimits implements services.Registry.
func (r *Registry) RateLimits() []models.RateLimit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.limits)
}

// SetLabels sets a container's labels, as docker run --label does.
func (e *Engine) SetLabels(id string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.containers[id]; c != nil {
		c.Container.Labels = labels
	}
}
