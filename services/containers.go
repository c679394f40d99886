package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
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

	checkMu  sync.Mutex // one check at a time
	listMu   sync.Mutex // one engine list at a time
	checking atomic.Bool

	mu         sync.RWMutex
	containers []models.Container
	remote     map[string]remoteResult // by imageRef.Remote
	inFlight   map[string]bool         // references a check or refresh is asking about
	groups     []models.ImageGroup
	checkedAt  time.Time
	engineSt   models.EngineState
	version    atomic.Uint64 // bumped by every rebuild of groups

	held map[string]*held // by name: containers update jobs work on

	onCheck     []func([]models.ImageGroup)
	onChecked   []func(time.Duration, error)
	onReachable []func()
	reached     bool // the engine has answered at least once
}

// held is a container an update job works on. While the engine lists it
// parked, or not at all (between the stop and the start), the snapshot
// keeps it under its name; and every ID it had keeps finding it, so a
// client that polls with the ID it started with follows the job to its end.
type held struct {
	c     models.Container // as last listed before the job
	ids   []string         // full IDs: the old one, then the new one
	until time.Time        // zero while the job runs; the IDs answer until then
}

// NewContainers returns a Containers with an empty snapshot. concurrency
// bounds the HEAD requests in flight to each registry during a check.
func NewContainers(engine Engine, reg Registry, toggles *Toggles, log *slog.Logger, concurrency int) *Containers {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Containers{engine: engine, reg: reg, toggles: toggles, log: log, concurrency: concurrency,
		remote: map[string]remoteResult{}, inFlight: map[string]bool{}, held: map[string]*held{}}
}

// OnReachable registers f to run, on its own goroutine, whenever the engine
// answers after being unreachable, and when it first answers. Recovery of
// interrupted updates hangs here. Not safe to call once checks run.
func (s *Containers) OnReachable(f func()) { s.onReachable = append(s.onReachable, f) }

func (s *Containers) fireReachable(back bool) {
	if !back {
		return
	}
	for _, f := range s.onReachable {
		go f()
	}
}

// OnCheck registers f to run after every full check with the new groups.
// The update engine uses it for auto-updates. Not safe to call once checks run.
func (s *Containers) OnCheck(f func([]models.ImageGroup)) { s.onCheck = append(s.onCheck, f) }

// OnChecked registers f to run after every check, failed ones too, with how
// long it took; metrics hang here. Not safe to call once checks run.
func (s *Containers) OnChecked(f func(time.Duration, error)) { s.onChecked = append(s.onChecked, f) }

// Check lists running containers, asks the registry once per unique image
// (HEAD only, bounded concurrency), and replaces the remote results. The
// list goes into the snapshot at once: a slow registry never keeps a
// stopped container listed.
func (s *Containers) Check(ctx context.Context) (groups []models.ImageGroup, err error) {
	s.checking.Store(true)
	defer s.checking.Store(false)
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	defer func(start time.Time) {
		for _, f := range s.onChecked {
			f(time.Since(start), err)
		}
	}(time.Now())
	cs, refs, err := s.relist(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	results := s.head(ctx, refs)
	s.mu.Lock()
	for _, r := range refs {
		delete(s.inFlight, r)
	}
	inUse := map[string]bool{}
	for _, r := range uniqueRemotes(s.containers) { // the latest list: a refresh may have run meanwhile
		inUse[r] = true
	}
	for r := range s.remote {
		if !inUse[r] {
			delete(s.remote, r) // images no longer in use
		}
	}
	maps.Copy(s.remote, results)
	s.checkedAt = time.Now()
	s.rebuildLocked()
	s.mu.Unlock()

	groups = s.Groups()
	s.log.Info("check finished", "images", len(refs), "containers", len(cs))
	for _, f := range s.onCheck {
		f(groups)
	}
	return groups, nil
}

// Refresh relists containers and asks the registry only about images never
// seen before. Engine events call it, so containers started, stopped or
// recreated outside refit show up at once without spending registry
// requests. The snapshot follows the list before any registry is asked.
func (s *Containers) Refresh(ctx context.Context) error {
	cs, _, err := s.relist(ctx, false)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	var missing []string
	s.mu.Lock()
	for _, r := range uniqueRemotes(cs) {
		if _, ok := s.remote[r]; !ok && !s.inFlight[r] {
			missing = append(missing, r)
			s.inFlight[r] = true
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	results := s.head(ctx, missing)
	s.mu.Lock()
	for _, r := range missing {
		delete(s.inFlight, r)
	}
	maps.Copy(s.remote, results)
	s.rebuildLocked()
	s.mu.Unlock()
	return nil
}

// relist reads the running containers and puts them in the snapshot. Lists
// run one at a time, so an older list never overwrites a newer one. For a
// check it returns every reference to ask about, marked in flight in the
// same step, so a refresh meanwhile does not ask about them again.
func (s *Containers) relist(ctx context.Context, check bool) ([]models.Container, []string, error) {
	s.listMu.Lock()
	defer s.listMu.Unlock()
	cs, err := s.engine.Running(ctx)
	if err != nil {
		s.engineLost(err)
		return nil, nil, err
	}
	var refs []string
	s.mu.Lock()
	s.containers = cs
	if check {
		refs = uniqueRemotes(cs)
		for _, r := range refs {
			s.inFlight[r] = true
		}
	}
	back := s.engineBackLocked()
	s.rebuildLocked()
	s.mu.Unlock()
	s.fireReachable(back)
	return cs, refs, nil
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
// outage once. It reports whether the engine is back (or here for the first
// time), for fireReachable once the lock is released.
func (s *Containers) engineBackLocked() bool {
	back := !s.reached || s.engineSt.Down
	if s.engineSt.Down {
		s.log.Info("docker engine reachable again", "down_for", time.Since(s.engineSt.Since).Round(time.Second))
	}
	s.engineSt, s.reached = models.EngineState{}, true
	return back
}

// EngineState reports whether the engine answered the last list, and since
// when it has not.
func (s *Containers) EngineState() models.EngineState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.engineSt
}

// Watch keeps the snapshot fresh from engine events until ctx ends, and
// runs the OnReachable callbacks after each reconnect. Bursts
// of events cost one refresh, and one more shortly after: the engine sends
// "die" before its container list shows the container stopped. While the
// engine is unreachable it retries, backing off from 1 s to 30 s, and the
// snapshot stays as last seen.
func (s *Containers) Watch(ctx context.Context) {
	const (
		debounce   = 150 * time.Millisecond
		trailing   = 500 * time.Millisecond
		minBackoff = time.Second
		maxBackoff = 30 * time.Second
	)
	backoff := minBackoff
	broken := false
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		evs, errs := s.engine.Events(sctx)
		// Events missed while disconnected are covered by a refresh on (re)connect.
		if err := s.Refresh(ctx); err == nil {
			if broken {
				// A restarting engine can answer until it is gone and again
				// before the next try, so no list ever fails: a broken event
				// stream counts as a possible restart, and recovery looks.
				s.fireReachable(true)
			}
			backoff = minBackoff
			s.follow(ctx, evs, errs, debounce, trailing)
			broken = true
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// follow refreshes on events until the stream breaks or ctx ends.
func (s *Containers) follow(ctx context.Context, evs <-chan models.EngineEvent, errs <-chan error, debounce, trailing time.Duration) {
	var timer, trail <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-evs:
			if !ok {
				return
			}
			if timer == nil {
				timer = time.After(debounce)
			}
		case <-timer:
			timer, trail = nil, time.After(trailing)
			_ = s.Refresh(ctx) // an outage is logged once, by engineLost
		case <-trail:
			trail = nil
			_ = s.Refresh(ctx)
		case err := <-errs:
			s.log.Debug("engine events interrupted", "error", err)
			return
		}
	}
}

// head asks the registries about each reference, with at most concurrency
// requests in flight per registry: a limit is a registry's, so a slow or
// rate-limited one does not hold the others' requests back.
func (s *Containers) head(ctx context.Context, refs []string) map[string]remoteResult {
	out := make(map[string]remoteResult, len(refs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sems := map[string]chan struct{}{}
	for _, r := range refs {
		ref, _ := parseImageRef(r)
		if ref.Pinned != "" { // nothing to ask: a digest reference resolves to itself
			out[r] = remoteResult{digest: ref.Pinned, at: time.Now()}
			continue
		}
		sem := sems[ref.Registry()]
		if sem == nil {
			sem = make(chan struct{}, s.concurrency)
			sems[ref.Registry()] = sem
		}
		wg.Add(1)
		go func() {
			sem <- struct{}{}
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
		var later *models.RetryLater
		if errors.As(err, &later) && later.After > 0 {
			return "registry rate limit reached; next try after " + time.Now().Add(later.After).Format("15:04")
		}
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

// shown is what the snapshot lists: each container under its own name, a
// parked one (name+OldSuffix) under the original name unless that name is
// taken, and a container an update job holds while the engine lists it
// under neither.
func (s *Containers) shownLocked() []models.Container {
	present := make(map[string]bool, len(s.containers))
	for _, c := range s.containers {
		present[c.Name] = true
	}
	out := make([]models.Container, 0, len(s.containers))
	for _, c := range s.containers {
		if base, ok := strings.CutSuffix(c.Name, models.OldSuffix); ok {
			if present[base] {
				continue
			}
			c.Name, present[base] = base, true
		}
		out = append(out, c)
	}
	for name, h := range s.held {
		if h.until.IsZero() && !present[name] {
			out = append(out, h.c)
		}
	}
	return out
}

// hold keeps it listed under its name while an update job works on it.
func (s *Containers) hold(it models.ContainerItem, g models.ImageGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &held{c: models.Container{ID: it.FullID, Name: it.ContainerName, ConfiguredImage: it.Configured, ImageID: it.ImageID}}
	for _, c := range s.containers {
		if c.ID == it.FullID {
			h.c = c
			h.c.Name = it.ContainerName
		}
	}
	if old := s.held[it.ContainerName]; old != nil {
		h.ids = old.ids
	}
	if !slices.Contains(h.ids, it.FullID) {
		h.ids = append(h.ids, it.FullID)
	}
	s.held[it.ContainerName] = h
	s.pruneHeldLocked()
}

// alias makes the new container's ID find the job's container too.
func (s *Containers) alias(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.held[name]; h != nil && !slices.Contains(h.ids, id) {
		h.ids = append(h.ids, id)
	}
}

// release ends a hold when its job ends; its IDs keep answering for keep.
func (s *Containers) release(name string, keep time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.held[name]; h != nil && h.until.IsZero() {
		h.until = time.Now().Add(keep)
		s.rebuildLocked()
	}
}

func (s *Containers) pruneHeldLocked() {
	now := time.Now()
	for n, h := range s.held {
		if !h.until.IsZero() && now.After(h.until) {
			delete(s.held, n)
		}
	}
}

// heldName returns the name of the held container that id names (a name
// or any of its IDs, full or 12-character).
func (s *Containers) heldName(id string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := time.Now()
	for n, h := range s.held {
		if !h.until.IsZero() && now.After(h.until) {
			continue
		}
		if n == id || slices.ContainsFunc(h.ids, func(full string) bool { return full == id || models.ShortID(full) == id }) {
			return n, true
		}
	}
	return "", false
}

// rebuildLocked recomputes groups from containers and remote results.
func (s *Containers) rebuildLocked() {
	byGroup := map[string]*models.ImageGroup{}
	var order []string
	for _, c := range s.shownLocked() {
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
		g.Reason = groupReason(g.Reason, g.Status, g.Containers)
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
//
// An ID a container had before an update replaced it keeps finding it by
// name for as long as the update's progress is kept.
func (s *Containers) Find(id string) (models.ContainerItem, models.ImageGroup, error) {
	id = strings.TrimPrefix(id, "/")
	groups := s.Groups()
	match := func(want func(models.ContainerItem) bool) (models.ContainerItem, models.ImageGroup, bool) {
		for _, g := range groups {
			for _, c := range g.Containers {
				if want(c) {
					return c, g, true
				}
			}
		}
		return models.ContainerItem{}, models.ImageGroup{}, false
	}
	if id != "" {
		if c, g, ok := match(func(c models.ContainerItem) bool {
			return c.ContainerID == id || c.FullID == id || c.ContainerName == id
		}); ok {
			return c, g, nil
		}
		if name, ok := s.heldName(id); ok {
			if c, g, ok := match(func(c models.ContainerItem) bool { return c.ContainerName == name }); ok {
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
