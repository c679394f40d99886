package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"refit/models"
)

// remoteResult is what one registry HEAD said about one image reference.
type remoteResult struct {
	digest string // "" when unknown
	reason string // why it is unknown
	at     time.Time
}

// Containers checks running containers against their registries and keeps
// the result as the current snapshot, which the API and UI read without
// touching the network.
type Containers struct {
	engine      Engine
	reg         Registry
	toggles     *Toggles
	log         *slog.Logger
	concurrency int

	checkMu  sync.Mutex // one check or refresh at a time
	checking atomic.Bool

	mu         sync.RWMutex
	containers []models.Container
	remote     map[string]remoteResult // by imageRef.Remote
	groups     []models.ImageGroup
	checkedAt  time.Time
	engineSt   models.EngineState
	version    atomic.Uint64 // bumped by every rebuild of groups

	onCheck []func([]models.ImageGroup)
}

// NewContainers returns a Containers with an empty snapshot. concurrency
// bounds the HEAD requests in flight during a check.
func NewContainers(engine Engine, reg Registry, toggles *Toggles, log *slog.Logger, concurrency int) *Containers {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Containers{engine: engine, reg: reg, toggles: toggles, log: log, concurrency: concurrency,
		remote: map[string]remoteResult{}}
}

// OnCheck registers f to run after every full check with the new groups.
// The update engine uses it for auto-updates. Not safe to call once checks run.
func (s *Containers) OnCheck(f func([]models.ImageGroup)) { s.onCheck = append(s.onCheck, f) }

// Check lists running containers, asks the registry once per unique image
// (HEAD only, bounded concurrency), and replaces the snapshot.
func (s *Containers) Check(ctx context.Context) ([]models.ImageGroup, error) {
	s.checking.Store(true)
	defer s.checking.Store(false)
	s.checkMu.Lock()
	cs, err := s.engine.Running(ctx)
	if err != nil {
		s.checkMu.Unlock()
		s.engineLost(err)
		return nil, fmt.Errorf("check: %w", err)
	}
	refs := uniqueRemotes(cs)
	results := s.head(ctx, refs)
	s.mu.Lock()
	s.remote = results // drops images no longer in use
	s.containers = cs
	s.checkedAt = time.Now()
	s.engineBackLocked()
	s.rebuildLocked()
	s.mu.Unlock()
	s.checkMu.Unlock()

	groups := s.Groups()
	s.log.Info("check finished", "images", len(refs), "containers", len(cs))
	for _, f := range s.onCheck {
		f(groups)
	}
	return groups, nil
}

// Refresh relists containers and asks the registry only about images never
// seen before. Engine events call it, so containers started, stopped or
// recreated outside refit show up at once without spending registry requests.
func (s *Containers) Refresh(ctx context.Context) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	cs, err := s.engine.Running(ctx)
	if err != nil {
		s.engineLost(err)
		return fmt.Errorf("refresh: %w", err)
	}
	var missing []string
	s.mu.RLock()
	for _, r := range uniqueRemotes(cs) {
		if _, ok := s.remote[r]; !ok {
			missing = append(missing, r)
		}
	}
	s.mu.RUnlock()
	results := s.head(ctx, missing)
	s.mu.Lock()
	defer s.mu.Unlock()
	for r, res := range results {
		s.remote[r] = res
	}
	s.containers = cs
	s.engineBackLocked()
	s.rebuildLocked()
	return nil
}

// engineLost records that the engine did not answer. Only the first failure
// of an outage is logged: the snapshot stays as last seen meanwhile.
func (s *Containers) engineLost(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.engineSt
	if !st.Down {
		st.Down, st.Since = true, time.Now()
		s.log.Warn("docker engine not reachable", "error", err)
	}
	if st.Reason != err.Error() {
		st.Reason = err.Error()
		s.version.Add(1) // the dashboard shows the state
	}
}

// engineBackLocked records that the engine answered, logging the end of an
// outage once.
func (s *Containers) engineBackLocked() {
	if s.engineSt.Down {
		s.log.Info("docker engine reachable again", "down_for", time.Since(s.engineSt.Since).Round(time.Second))
	}
	s.engineSt = models.EngineState{}
}

// EngineState reports whether the engine answered the last list, and since
// when it has not.
func (s *Containers) EngineState() models.EngineState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.engineSt
}

// Watch keeps the snapshot fresh from engine events until ctx ends,
// reconnecting after errors. Bursts of events cost one refresh.
func (s *Containers) Watch(ctx context.Context) {
	const debounce = 150 * time.Millisecond
	for ctx.Err() == nil {
		evs, errs := s.engine.Events(ctx)
		// Events missed while disconnected are covered by a refresh on (re)connect.
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("refresh failed", "error", err)
		}
		var timer <-chan time.Time
	loop:
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-evs:
				if !ok {
					break loop
				}
				if timer == nil {
					timer = time.After(debounce)
				}
			case <-timer:
				timer = nil
				if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("refresh failed", "error", err)
				}
			case err := <-errs:
				if ctx.Err() == nil {
					s.log.Warn("engine events interrupted", "error", err)
				}
				break loop
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// head asks the registry about each reference with bounded concurrency.
func (s *Containers) head(ctx context.Context, refs []string) map[string]remoteResult {
	out := make(map[string]remoteResult, len(refs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.concurrency)
	for _, r := range refs {
		ref, _ := parseImageRef(r)
		if ref.Pinned != "" { // nothing to ask: a digest reference resolves to itself
			out[r] = remoteResult{digest: ref.Pinned, at: time.Now()}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d, err := s.reg.Digest(ctx, r)
			res := remoteResult{digest: d, at: time.Now()}
			if err != nil {
				res.reason = registryReason(err)
				s.log.Info("registry check failed", "image", r, "error", err)
			}
			mu.Lock()
			out[r] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func registryReason(err error) string {
	switch {
	case errors.Is(err, models.ErrRateLimited):
		return "registry rate limit reached"
	case errors.Is(err, models.ErrUnauthorized):
		return "registry refused access (401/403): check credentials"
	case errors.Is(err, models.ErrNotFound):
		return "tag not found in registry (local image?)"
	}
	msg := strings.TrimSuffix(err.Error(), ": "+models.ErrUnavailable.Error())
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}

// rebuildLocked recomputes groups from containers and remote results.
func (s *Containers) rebuildLocked() {
	byGroup := map[string]*models.ImageGroup{}
	var order []string
	for _, c := range s.containers {
		if isImageID(c.ConfiguredImage, c.ImageID) {
			continue
		}
		ref, err := parseImageRef(c.ConfiguredImage)
		if err != nil {
			continue
		}
		res, asked := s.remote[ref.Remote]
		g := byGroup[ref.Group]
		if g == nil {
			g = &models.ImageGroup{Image: ref.Group, RemoteFull: res.digest, RemoteDigest: models.ShortDigest(res.digest),
				Reason: res.reason, CheckedAt: res.at}
			if !asked {
				g.Reason = "not checked yet"
			}
			byGroup[ref.Group] = g
			order = append(order, ref.Group)
		}
		st, local := containerStatus(ref, res.digest, c)
		g.Containers = append(g.Containers, models.ContainerItem{
			ContainerID:   models.ShortID(c.ID),
			ContainerName: c.Name,
			LocalDigest:   models.ShortDigest(local),
			Status:        st,
			FullID:        c.ID,
			LocalFull:     local,
			ImageID:       c.ImageID,
			Configured:    c.ConfiguredImage,
		})
	}
	sort.Strings(order)
	groups := make([]models.ImageGroup, 0, len(order))
	for _, k := range order {
		g := byGroup[k]
		sort.Slice(g.Containers, func(i, j int) bool { return g.Containers[i].ContainerName < g.Containers[j].ContainerName })
		g.Status = groupStatus(g.RemoteFull, g.Containers)
		if g.Reason == "" && g.Status == models.StatusUnknown {
			g.Reason = "no registry digest for the local image (built or loaded locally)"
		}
		groups = append(groups, *g)
	}
	s.groups = groups
	s.version.Add(1)
}

// Version changes whenever the snapshot is rebuilt (a check or a refresh),
// so a rendering of Groups can be cached under it together with the
// toggles' version (Groups merges the auto-update flags in).
func (s *Containers) Version() uint64 { return s.version.Load() }

// Groups returns a copy of the snapshot with current auto-update flags.
func (s *Containers) Groups() []models.ImageGroup {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]models.ImageGroup, len(s.groups))
	for i, g := range s.groups {
		g.Containers = append([]models.ContainerItem(nil), g.Containers...)
		for j := range g.Containers {
			g.Containers[j].AutoUpdate = s.toggles.AutoUpdate(g.Containers[j].ContainerName)
		}
		out[i] = g
	}
	return out
}

// CheckedAt returns when the last full check finished.
func (s *Containers) CheckedAt() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.checkedAt
}

// Find returns the container that id names in the snapshot: its 12-character
// ID, its full ID, or its name. Returns models.ErrNotFound otherwise.
func (s *Containers) Find(id string) (models.ContainerItem, models.ImageGroup, error) {
	id = strings.TrimPrefix(id, "/")
	for _, g := range s.Groups() {
		for _, c := range g.Containers {
			if id != "" && (c.ContainerID == id || c.FullID == id || c.ContainerName == id) {
				return c, g, nil
			}
		}
	}
	return models.ContainerItem{}, models.ImageGroup{}, fmt.Errorf("container %q: %w", id, models.ErrContainerNotFound)
}

// Group returns the group of an image reference, written any way that
// normalises to it ("nginx", "docker.io/library/nginx:latest"), or its
// GroupKey. Returns models.ErrNotFound otherwise.
func (s *Containers) Group(image string) (models.ImageGroup, error) {
	want, err := NormalizeImage(image)
	for _, g := range s.Groups() {
		if (err == nil && g.Image == want) || models.GroupKey(g.Image) == image {
			return g, nil
		}
	}
	return models.ImageGroup{}, fmt.Errorf("image %q: %w", image, models.ErrImageNotFound)
}

// RateLimits returns the pull budgets registries last reported.
func (s *Containers) RateLimits() []models.RateLimit { return s.reg.RateLimits() }

// Checking reports whether a full check is running.
func (s *Containers) Checking() bool { return s.checking.Load() }
