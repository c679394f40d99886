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

// Containers checks running containers on every host against their
// registries and keeps the result as the current snapshot, which the API and
// UI read without touching the network. The check is shared: a reference
// running on five hosts costs one HEAD.
type Containers struct {
	hosts       []*hostState // in the order configured
	byName      map[string]*hostState
	reg         Registry
	toggles     *Toggles
	log         *slog.Logger
	concurrency int
	describe    *Descriptions // what new images say of themselves; nil: nothing

	checkMu  sync.Mutex // one check at a time
	checking atomic.Bool

	mu        sync.RWMutex
	remote    map[string]remoteResult // by imageRef.Remote
	inFlight  map[string]bool         // references a check or refresh is asking about
	groups    []models.ImageGroup
	checkedAt time.Time
	version   atomic.Uint64 // bumped by every rebuild of groups

	held map[models.ContainerRef]*held // containers update jobs work on

	tagRules *TagRules                         // nil: labels alone
	tags     map[models.ContainerRef]tagResult // the last check's newer tags

	onCheck     []func([]models.ImageGroup)
	onCheckList []func(context.Context, []models.Container)
	onChecked   []func(time.Duration, error)
	onReachable []func(host string)
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

// NewContainers returns a Containers over one engine, the host
// models.LocalHost, with an empty snapshot. concurrency bounds the HEAD
// requests in flight to each registry during a check.
func NewContainers(engine Updater, reg Registry, toggles *Toggles, log *slog.Logger, concurrency int) *Containers {
	return NewContainersOn(OneHost(engine), reg, toggles, log, concurrency)
}

// NewContainersOn returns a Containers over several hosts, whose names must
// be distinct.
func NewContainersOn(hosts []Host, reg Registry, toggles *Toggles, log *slog.Logger, concurrency int) *Containers {
	if concurrency < 1 {
		concurrency = 1
	}
	s := &Containers{byName: map[string]*hostState{}, reg: reg, toggles: toggles, log: log, concurrency: concurrency,
		remote: map[string]remoteResult{}, inFlight: map[string]bool{}, held: map[models.ContainerRef]*held{}}
	for _, h := range hosts {
		hs := &hostState{Host: h}
		s.hosts = append(s.hosts, hs)
		s.byName[h.Name] = hs
	}
	return s
}

// OnReachable registers f to run, on its own goroutine, whenever a host
// answers after being unreachable, and when it first answers. Recovery of
// interrupted updates hangs here. Not safe to call once checks run.
func (s *Containers) OnReachable(f func(host string)) { s.onReachable = append(s.onReachable, f) }

func (s *Containers) fireReachable(host string) {
	for _, f := range s.onReachable {
		go f(host)
	}
}

// OnCheck registers f to run after every full check with the new groups.
// The update engine uses it for auto-updates. Not safe to call once checks run.
func (s *Containers) OnCheck(f func([]models.ImageGroup)) { s.onCheck = append(s.onCheck, f) }

// OnCheckListed registers f to run in every check once the containers are
// listed, before any registry is asked (pre-check hooks). Not safe to call
// once checks run.
func (s *Containers) OnCheckListed(f func(context.Context, []models.Container)) {
	s.onCheckList = append(s.onCheckList, f)
}

// OnChecked registers f to run after every check, failed ones too, with how
// long it took; metrics hang here. Not safe to call once checks run.
func (s *Containers) OnChecked(f func(time.Duration, error)) { s.onChecked = append(s.onChecked, f) }

// Check lists the running containers of every host, asks the registry once
// per unique image (HEAD only, bounded concurrency), and replaces the remote
// results. The lists go into the snapshot at once: a slow registry never
// keeps a stopped container listed. A host that does not answer keeps its
// containers as last seen; the check fails only when no host answers.
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
	mark := map[string]bool{}
	if err := s.relistAll(ctx, mark); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	s.mu.Lock()
	refs := slices.Sorted(maps.Keys(mark))
	following := s.trackedLocked()
	listed := slices.Clone(s.allLocked())
	s.mu.Unlock()
	for _, f := range s.onCheckList {
		f(ctx, listed)
	}
	tags := s.newerTags(ctx, following)
	asks := slices.Clone(refs)
	for _, r := range tagRemotes(tags) {
		if !mark[r] { // one HEAD per reference, whoever runs or follows it
			asks = append(asks, r)
		}
	}
	heads := s.head(ctx, asks)
	withDigests(tags, heads)
	results := make(map[string]remoteResult, len(refs))
	for _, r := range refs {
		results[r] = heads[r]
	}
	s.mu.Lock()
	s.tags = tags
	for _, r := range refs {
		delete(s.inFlight, r)
	}
	inUse := map[string]bool{}
	for _, r := range uniqueRemotes(s.allLocked()) { // the latest lists: a refresh may have run meanwhile
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
	n := len(s.allLocked())
	s.mu.Unlock()

	groups = s.Groups()
	s.log.Info("check finished", "images", len(refs), "containers", n, "hosts", len(s.hosts))
	for _, f := range s.onCheck {
		f(groups)
	}
	return groups, nil
}

// allLocked is every host's containers as last listed.
func (s *Containers) allLocked() []models.Container {
	if len(s.hosts) == 1 {
		return s.hosts[0].containers
	}
	var out []models.Container
	for _, h := range s.hosts {
		out = append(out, h.containers...)
	}
	return out
}

// Refresh relists every host's containers and asks the registry only about
// images never seen before. Engine events call it (for their host), so
// containers started, stopped or recreated outside refit show up at once
// without spending registry requests. The snapshot follows the lists before
// any registry is asked.
func (s *Containers) Refresh(ctx context.Context) error {
	if err := s.relistAll(ctx, nil); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return s.headMissing(ctx)
}

// RefreshHost is Refresh for one host.
func (s *Containers) RefreshHost(ctx context.Context, host string) error {
	h := s.byName[host]
	if h == nil {
		return fmt.Errorf("refresh: host %q: %w", host, models.ErrNotFound)
	}
	if err := s.relistHost(ctx, h, nil); err != nil {
		return fmt.Errorf("refresh %s: %w", host, err)
	}
	return s.headMissing(ctx)
}

// headMissing asks about the references listed containers use that no check
// has asked about yet.
func (s *Containers) headMissing(ctx context.Context) error {
	var missing []string
	s.mu.Lock()
	for _, r := range uniqueRemotes(s.allLocked()) {
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

// Watch keeps the snapshot fresh from every host's engine events until ctx
// ends, one connection per host, so one host down never holds the others
// back. See watchHost.
func (s *Containers) Watch(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range s.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.watchHost(ctx, h)
		}()
	}
	wg.Wait()
}

// watchHost follows one host's events and runs the OnReachable callbacks
// after each reconnect. It subscribes before it refreshes, so nothing
// between the two is missed. Bursts of events cost one refresh, and one more
// shortly after: the engine sends "die" before its container list shows the
// container stopped. While the engine is unreachable it retries, backing off
// from 1 s to 30 s, and the host's containers stay as last seen.
func (s *Containers) watchHost(ctx context.Context, h *hostState) {
	const (
		debounce   = 150 * time.Millisecond
		trailing   = 500 * time.Millisecond
		minBackoff = time.Second
		maxBackoff = 30 * time.Second
	)
	backoff := minBackoff
	broken := false
	refresh := func() error {
		if err := s.relistHost(ctx, h, nil); err != nil {
			return err
		}
		return s.headMissing(ctx)
	}
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		evs, errs := h.Engine.Events(sctx)
		// Events missed while disconnected are covered by a refresh on (re)connect.
		if err := refresh(); err == nil {
			if broken {
				// A restarting engine can answer until it is gone and again
				// before the next try, so no list ever fails: a broken event
				// stream counts as a possible restart, and recovery looks.
				s.fireReachable(h.Name)
			}
			backoff = minBackoff
			s.follow(ctx, evs, errs, debounce, trailing, refresh)
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
func (s *Containers) follow(ctx context.Context, evs <-chan models.EngineEvent, errs <-chan error, debounce, trailing time.Duration, refresh func() error) {
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
			_ = refresh() // an outage is logged once, by hostLost
		case <-trail:
			trail = nil
			_ = refresh()
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

// shownLocked is what the snapshot lists of host h: each container under
// its own name, a parked one (name+OldSuffix) under the original name unless
// that name is taken, and a container an update job holds while the engine
// lists it under neither.
func (s *Containers) shownLocked(h *hostState) []models.Container {
	present := make(map[string]bool, len(h.containers))
	for _, c := range h.containers {
		present[c.Name] = true
	}
	out := make([]models.Container, 0, len(h.containers))
	for _, c := range h.containers {
		if base, ok := strings.CutSuffix(c.Name, models.OldSuffix); ok {
			if present[base] {
				continue
			}
			c.Name, present[base] = base, true
		}
		out = append(out, c)
	}
	for ref, hd := range s.held {
		if ref.Host == h.Name && hd.until.IsZero() && !present[ref.Name] {
			out = append(out, hd.c)
		}
	}
	return out
}

// hold keeps it listed under its name while an update job works on it.
func (s *Containers) hold(it models.ContainerItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hd := &held{c: models.Container{Host: it.Ref.Host, ID: it.FullID, Name: it.Ref.Name, ConfiguredImage: it.Configured, ImageID: it.ImageID}}
	if h := s.byName[it.Ref.Host]; h != nil {
		for _, c := range h.containers {
			if c.ID == it.FullID {
				hd.c = c
				hd.c.Name = it.Ref.Name
			}
		}
	}
	if old := s.held[it.Ref]; old != nil {
		hd.ids = old.ids
	}
	if !slices.Contains(hd.ids, it.FullID) {
		hd.ids = append(hd.ids, it.FullID)
	}
	s.held[it.Ref] = hd
	s.pruneHeldLocked()
}

// alias makes the new container's ID find the job's container too.
func (s *Containers) alias(ref models.ContainerRef, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.held[ref]; h != nil && !slices.Contains(h.ids, id) {
		h.ids = append(h.ids, id)
	}
}

// release ends a hold when its job ends; its IDs keep answering for keep.
func (s *Containers) release(ref models.ContainerRef, keep time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.held[ref]; h != nil && h.until.IsZero() {
		h.until = time.Now().Add(keep)
		s.rebuildLocked()
	}
}

func (s *Containers) pruneHeldLocked() {
	now := time.Now()
	for r, h := range s.held {
		if !h.until.IsZero() && now.After(h.until) {
			delete(s.held, r)
		}
	}
}

// heldRefs returns the held containers that id names (a name or any of
// their IDs, full or 12-character).
func (s *Containers) heldRefs(id string) []models.ContainerRef {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := time.Now()
	var out []models.ContainerRef
	for r, h := range s.held {
		if !h.until.IsZero() && now.After(h.until) {
			continue
		}
		if r.Name == id || slices.ContainsFunc(h.ids, func(full string) bool { return full == id || models.ShortID(full) == id }) {
			out = append(out, r)
		}
	}
	return out
}

// rebuildLocked recomputes groups from every host's containers and the
// remote results. Groups span hosts.
func (s *Containers) rebuildLocked() {
	byGroup := map[string]*models.ImageGroup{}
	var order []string
	several := len(s.hosts) > 1
	for _, h := range s.hosts {
		down := s.downReasonLocked(h)
		for _, c := range s.shownLocked(h) {
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
			cref := models.Ref(h.Name, c.Name)
			if c.Service != nil {
				cref = models.ServiceRef(h.Name, c.Name)
			}
			it := models.ContainerItem{
				ContainerID:   models.ShortID(c.ID),
				ContainerName: c.Name,
				LocalDigest:   models.ShortDigest(local),
				Status:        st,
				Ref:           cref,
				Service:       c.Service,
				FullID:        c.ID,
				LocalFull:     local,
				ImageID:       c.ImageID,
				Configured:    c.ConfiguredImage,
				Labels:        c.Labels,
				State:         c.State,
				StatusText:    c.StatusText,
				Health:        c.Health,
				Ports:         c.Ports,
				Local:         models.FactsFromLabels(c.ImageLabels, c.ImageCreated),
			}
			s.applyTagLocked(&it, tagOf(ref.Remote))
			if several {
				it.Host = h.Name
			}
			if c.Service != nil {
				it.Kind = models.KindService
				if c.ImageID == "" {
					it.Reason = "the service's spec pins no digest (created with --no-resolve-image): nothing to compare"
				}
			}
			if down != "" {
				it.Status, it.Reason = models.StatusUnknown, down
			}
			g.Containers = append(g.Containers, it)
		}
	}
	sort.Strings(order)
	groups := make([]models.ImageGroup, 0, len(order))
	for _, k := range order {
		g := byGroup[k]
		sort.Slice(g.Containers, func(i, j int) bool {
			a, b := g.Containers[i], g.Containers[j]
			if a.ContainerName != b.ContainerName {
				return a.ContainerName < b.ContainerName
			}
			return a.Ref.Host < b.Ref.Host
		})
		g.Status = groupStatus(g.RemoteFull, g.Containers)
		g.Reason = groupReason(g.Reason, g.Status, g.Containers)
		groups = append(groups, *g)
	}
	s.groups = groups
	s.toggles.noteLabels(groups) // the auto-update default reads them
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
			g.Containers[j].AutoUpdate = s.toggles.AutoUpdate(g.Containers[j].Ref)
		}
		g.Remote, g.RemoteNote = s.describe.Of(g)
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
// ID, its full ID, "host/name", or its name when only one host has a
// container of that name (models.ErrAmbiguousContainer otherwise). Returns
// models.ErrContainerNotFound when none matches.
//
// An ID a container had before an update replaced it keeps finding it by
// name for as long as the update's progress is kept.
func (s *Containers) Find(id string) (models.ContainerItem, models.ImageGroup, error) {
	id = strings.TrimPrefix(id, "/")
	groups := s.Groups()
	matches := func(want func(models.ContainerItem) bool) (items []models.ContainerItem, gs []models.ImageGroup) {
		for _, g := range groups {
			for _, c := range g.Containers {
				if want(c) {
					items, gs = append(items, c), append(gs, g)
				}
			}
		}
		return items, gs
	}
	one := func(items []models.ContainerItem, gs []models.ImageGroup) (models.ContainerItem, models.ImageGroup, error) {
		if len(items) > 1 {
			return models.ContainerItem{}, models.ImageGroup{}, fmt.Errorf("container %q: %w", id, models.ErrAmbiguousContainer)
		}
		return items[0], gs[0], nil
	}
	if id != "" {
		if ref, ok := models.ParseContainerRef(id); ok && s.byName[ref.Host] != nil {
			return s.FindRef(ref)
		}
		if items, gs := matches(func(c models.ContainerItem) bool { return c.ContainerID == id || c.FullID == id }); len(items) > 0 {
			return items[0], gs[0], nil // IDs are unique enough across hosts
		}
		if items, gs := matches(func(c models.ContainerItem) bool { return c.Ref.Name == id || c.ContainerName == id }); len(items) > 0 {
			return one(items, gs)
		}
		if refs := s.heldRefs(id); len(refs) > 0 {
			if items, gs := matches(func(c models.ContainerItem) bool { return slices.Contains(refs, c.Ref) }); len(items) > 0 {
				return one(items, gs)
			}
		}
	}
	return models.ContainerItem{}, models.ImageGroup{}, fmt.Errorf("container %q: %w", id, models.ErrContainerNotFound)
}

// FindRef returns the container ref names in the snapshot, or one an update
// holds under it.
func (s *Containers) FindRef(ref models.ContainerRef) (models.ContainerItem, models.ImageGroup, error) {
	for _, g := range s.Groups() {
		for _, c := range g.Containers {
			if c.Ref == ref {
				return c, g, nil
			}
		}
	}
	return models.ContainerItem{}, models.ImageGroup{}, fmt.Errorf("container %s: %w", ref, models.ErrContainerNotFound)
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

// CheckImage asks the registry about one image (one HEAD), after
// relisting the hosts, and answers its group: a check of one container's
// image, for POST /api/containers/{id}/watch.
func (s *Containers) CheckImage(ctx context.Context, image string) (models.ImageGroup, error) {
	ref, err := parseImageRef(image)
	if err != nil {
		return models.ImageGroup{}, err
	}
	if err := s.relistAll(ctx, nil); err != nil {
		return models.ImageGroup{}, fmt.Errorf("check %s: %w", ref.Group, err)
	}
	s.mu.Lock()
	s.inFlight[ref.Remote] = true
	s.mu.Unlock()
	results := s.head(ctx, []string{ref.Remote})
	s.mu.Lock()
	delete(s.inFlight, ref.Remote)
	maps.Copy(s.remote, results)
	s.rebuildLocked()
	s.mu.Unlock()
	s.checkTags(ctx, ref)
	return s.Group(ref.Group)
}
