package services

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"refit/models"
)

// UpdateOptions tune the update engine.
type UpdateOptions struct {
	MaxPulls      int           // pulls running at once; default 2
	HealthTimeout time.Duration // wait for "healthy"; default 2m
	Settle        time.Duration // run time that counts as "up" without a healthcheck; default 10s
	Keep          time.Duration // how long a finished progress stays readable; default 15m
	// Hook is passed to every recreate (tests use it to stop an update half way).
	Hook func(container, step string) error
}

// Updates runs update jobs in the background. Jobs belong to Updates, not to
// the request that started them: a closed browser tab never cancels a
// half-done recreate. Close cancels and waits.
type Updates struct {
	engine  Updater
	auth    Authenticator
	ctr     *Containers
	hist    *History
	log     *slog.Logger
	opts    UpdateOptions
	pullSem chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	jobs   map[string]*job  // by container name
	groups map[string]bool  // images with a group job running
	pulls  map[string]*pull // in-flight pulls by reference
	ver    atomic.Uint64    // bumped (under mu) on every change of jobs or groups
}

type job struct {
	p      models.Progress
	layers map[string]*layer
}

// layer is one layer's bytes: current follows the engine's last message
// (download, then extraction); downloaded and extracted only grow.
type layer struct{ current, total, downloaded, extracted int64 }

type pull struct {
	done chan struct{}
	err  error
	subs []func(models.PullEvent)
}

// NewUpdates returns an update engine. Call Close to stop it.
func NewUpdates(engine Updater, auth Authenticator, ctr *Containers, hist *History, log *slog.Logger, opts UpdateOptions) *Updates {
	if opts.MaxPulls < 1 {
		opts.MaxPulls = 2
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 2 * time.Minute
	}
	if opts.Settle <= 0 {
		opts.Settle = 10 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 15 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Updates{engine: engine, auth: auth, ctr: ctr, hist: hist, log: log, opts: opts,
		pullSem: make(chan struct{}, opts.MaxPulls), ctx: ctx, cancel: cancel,
		jobs: map[string]*job{}, groups: map[string]bool{}, pulls: map[string]*pull{}}
}

// Close cancels running jobs (their recreates roll back) and waits for them.
func (u *Updates) Close() {
	u.cancel()
	u.wg.Wait()
}

// Recover finishes or undoes updates that a previous run was killed in.
func (u *Updates) Recover(ctx context.Context) ([]models.Recovery, error) {
	recs, err := u.engine.Recover(ctx)
	for _, r := range recs {
		u.log.Warn("recovered interrupted update", "container", r.Container, "action", r.Action, "detail", r.Detail)
	}
	return recs, err
}

// StartContainer starts updating the container id names (short ID, full ID
// or name). While an update of it runs, it starts nothing and returns the
// running job's progress.
func (u *Updates) StartContainer(id, by string) (models.Progress, error) {
	item, g, err := u.ctr.Find(id)
	if err != nil {
		return models.Progress{}, err
	}
	started := u.start(g, []models.ContainerItem{item}, by, false)
	if len(started) == 0 {
		p, _ := u.Progress(item.ContainerName)
		return p, nil
	}
	return started[0], nil
}

// StartGroup pulls the image once and recreates each outdated container of
// its group, one after the other. Up-to-date containers are left alone.
func (u *Updates) StartGroup(image, by string) error {
	g, err := u.ctr.Group(image)
	if err != nil {
		return err
	}
	u.start(g, g.Outdated(), by, true)
	return nil
}

// Progress returns a copy of the named container's progress: the running
// job's, or the last one for a while after it ended. Returns an error
// wrapping models.ErrNoProgress when there is none.
func (u *Updates) Progress(name string) (models.Progress, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	j := u.jobs[name]
	if j == nil || (!j.p.Running() && time.Since(j.p.EndedAt) > u.opts.Keep) {
		return models.Progress{}, fmt.Errorf("container %q: %w", name, models.ErrNoProgress)
	}
	return j.p, nil
}

// ProgressOf is Progress without the error: ok is false when the container
// has no progress to show. The dashboard asks it once per row.
func (u *Updates) ProgressOf(name string) (p models.Progress, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	j := u.jobs[name]
	if j == nil || (!j.p.Running() && time.Since(j.p.EndedAt) > u.opts.Keep) {
		return models.Progress{}, false
	}
	return j.p, true
}

// Version changes whenever a job or group update starts, moves or ends, so
// a rendering of the jobs can be cached under it. A finished job expiring
// after UpdateOptions.Keep does not change it: callers that cache also
// expire by time.
func (u *Updates) Version() uint64 { return u.ver.Load() }

// GroupRunning reports whether a group update of image is running.
func (u *Updates) GroupRunning(image string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.groups[image]
}

// Busy reports whether any update is running.
func (u *Updates) Busy() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, j := range u.jobs {
		if j.p.Running() {
			return true
		}
	}
	return false
}

// AutoUpdate updates every outdated container whose toggle is on, one pull
// per image. It is registered to run after each check.
func (u *Updates) AutoUpdate(groups []models.ImageGroup) {
	for _, g := range groups {
		var due []models.ContainerItem
		for _, c := range g.Outdated() {
			if c.AutoUpdate {
				due = append(due, c)
			}
		}
		if len(due) > 0 {
			u.log.Info("auto-update", "image", g.Image, "containers", len(due))
			u.start(g, due, "auto", true)
		}
	}
}

// start registers a job for each container not already updating and runs
// them in the background: one pull, then one recreate after another.
func (u *Updates) start(g models.ImageGroup, items []models.ContainerItem, by string, group bool) []models.Progress {
	now := time.Now()
	u.mu.Lock()
	if u.ctx.Err() != nil || (group && u.groups[g.Image]) {
		u.mu.Unlock()
		return nil
	}
	var todo []models.ContainerItem
	var out []models.Progress
	for _, it := range items {
		if j := u.jobs[it.ContainerName]; j != nil && j.p.Running() {
			continue
		}
		p := models.Progress{Status: string(models.PhaseConnecting), Phase: models.PhaseConnecting,
			Container: it.ContainerName, Image: g.Image, StartedAt: now}
		u.jobs[it.ContainerName] = &job{p: p, layers: map[string]*layer{}}
		u.ver.Add(1)
		todo = append(todo, it)
		out = append(out, p)
	}
	if len(todo) == 0 {
		u.mu.Unlock()
		return nil
	}
	if group {
		u.groups[g.Image] = true
		u.ver.Add(1)
	}
	u.wg.Add(1)
	u.mu.Unlock()

	go func() {
		defer u.wg.Done()
		defer func() {
			if group {
				u.mu.Lock()
				delete(u.groups, g.Image)
				u.ver.Add(1)
				u.mu.Unlock()
			}
		}()
		u.run(g, todo, by)
	}()
	return out
}

// run is one pull followed by the recreate of each container in turn.
func (u *Updates) run(g models.ImageGroup, items []models.ContainerItem, by string) {
	log := u.log.With("image", g.Image, "by", by)
	ref, err := parseImageRef(g.Image)
	if err != nil {
		u.failAll(items, by, g, err)
		return
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.ContainerName
	}
	log.Info("update started", "containers", names)
	err = u.pull(ref.Remote, func(ev models.PullEvent) {
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, n := range names {
			if j := u.jobs[n]; j != nil {
				applyPullEvent(j, ev)
			}
		}
		u.ver.Add(1)
	})
	if err != nil {
		log.Warn("pull failed", "error", err)
		u.failAll(items, by, g, fmt.Errorf("pull: %w", err))
		return
	}
	img, err := u.engine.Image(u.ctx, ref.Remote)
	if err != nil {
		u.failAll(items, by, g, fmt.Errorf("pulled image: %w", err))
		return
	}
	for _, it := range items {
		u.recreate(log, g, ref, img, it, by)
	}
}

// recreate replaces one container and records the outcome.
func (u *Updates) recreate(log *slog.Logger, g models.ImageGroup, ref imageRef, img models.ImageInfo, it models.ContainerItem, by string) {
	log = log.With("container", it.ContainerName)
	started := u.startedAt(it.ContainerName)
	rec := models.UpdateRecord{Container: it.ContainerName, Image: g.Image, FromDigest: it.LocalFull, By: by, StartedAt: started}
	if d := repoDigests(img.RepoDigests, ref.Repo); len(d) > 0 {
		rec.ToDigest = d[0]
	}
	var err error
	switch {
	case img.ID == it.ImageID:
		rec.Result = "uptodate" // the pull brought nothing new: no restart
	case u.ctx.Err() != nil:
		err = u.ctx.Err()
	default:
		u.setPhase(it.ContainerName, models.PhaseRecreating, "recreating")
		_, err = u.engine.Recreate(u.ctx, it.FullID, models.RecreateOptions{
			HealthTimeout: u.opts.HealthTimeout,
			Settle:        u.opts.Settle,
			Step:          func(step string) { log.Debug("recreate step", "step", step) },
			Hook:          u.hook(it.ContainerName),
		})
		rec.Result = "updated"
	}
	if err == nil && g.RemoteFull != "" && rec.Result == "updated" {
		if !contains(repoDigests(img.RepoDigests, ref.Repo), g.RemoteFull) {
			log.Warn("new image does not carry the checked digest; the tag moved during the update",
				"checked", g.RemoteFull, "pulled", rec.ToDigest)
		}
	}
	rec.DurationMS = time.Since(started).Milliseconds()
	if err != nil {
		rec.Result, rec.Error = "failed", err.Error()
		if models.IsRolledBack(err) {
			rec.Result = "rolled back"
		}
		log.Warn("update failed", "error", err)
	} else {
		// Refresh first, so a poller that sees "done" also sees the new status.
		if rerr := u.ctr.Refresh(u.ctx); rerr != nil {
			log.Warn("refresh after update failed", "error", rerr)
		}
		log.Info("update finished", "result", rec.Result, "duration", time.Duration(rec.DurationMS)*time.Millisecond)
	}
	// History before finish, so a poller that sees the end also finds the record.
	if herr := u.hist.Add(rec); herr != nil {
		log.Error("history not recorded", "error", herr)
	}
	u.finish(it.ContainerName, err)
}

func (u *Updates) hook(name string) func(string) error {
	if u.opts.Hook == nil {
		return nil
	}
	return func(step string) error { return u.opts.Hook(name, step) }
}

// pull runs one pull per reference at a time: a request for a reference
// already being pulled subscribes to that pull instead of starting another.
func (u *Updates) pull(ref string, sub func(models.PullEvent)) error {
	u.mu.Lock()
	if p := u.pulls[ref]; p != nil {
		p.subs = append(p.subs, sub)
		u.mu.Unlock()
		<-p.done
		return p.err
	}
	p := &pull{done: make(chan struct{}), subs: []func(models.PullEvent){sub}}
	u.pulls[ref] = p
	u.mu.Unlock()

	defer func() {
		u.mu.Lock()
		delete(u.pulls, ref)
		u.mu.Unlock()
		close(p.done)
	}()
	select {
	case u.pullSem <- struct{}{}:
		defer func() { <-u.pullSem }()
	case <-u.ctx.Done():
		p.err = u.ctx.Err()
		return p.err
	}
	auth, err := u.auth.Auth(u.ctx, ref)
	if err != nil {
		u.log.Info("no registry credentials, pulling anonymously", "image", ref, "error", err)
		auth = models.RegistryAuth{}
	}
	p.err = u.engine.Pull(u.ctx, ref, auth, func(ev models.PullEvent) {
		u.mu.Lock()
		subs := append([]func(models.PullEvent){}, p.subs...)
		u.mu.Unlock()
		for _, s := range subs {
			s(ev)
		}
	})
	return p.err
}

var layerID = regexp.MustCompile(`^[a-f0-9]{12}$`)

// applyPullEvent folds one engine message into a job's progress: the
// contract's fields follow the layer that moved last, the extras sum all.
func applyPullEvent(j *job, ev models.PullEvent) {
	j.p.Phase = models.PhasePulling
	if ev.Status != "" {
		j.p.Status = ev.Status
	}
	if !layerID.MatchString(ev.Layer) {
		return
	}
	l := j.layers[ev.Layer]
	if l == nil {
		l = &layer{}
		j.layers[ev.Layer] = l
	}
	if ev.Total > 0 {
		l.total = ev.Total
	}
	switch ev.Status {
	case "Downloading":
		l.current = ev.Current
		l.downloaded = max(l.downloaded, ev.Current)
	case "Extracting":
		l.current = ev.Current
		l.downloaded = l.total
		l.extracted = max(l.extracted, ev.Current)
	case "Download complete", "Verifying Checksum":
		l.current, l.downloaded = l.total, l.total
	case "Pull complete", "Already exists":
		l.current, l.downloaded, l.extracted = l.total, l.total, l.total
	}
	j.p.Layer, j.p.Current, j.p.Total = ev.Layer, l.current, l.total
	j.p.Percent = percent(l.current, l.total)
	if ev.Status == "Pull complete" || ev.Status == "Already exists" {
		j.p.Percent = 100
	}
	var done, all int64
	j.p.BytesDone, j.p.BytesTotal = 0, 0
	for _, x := range j.layers {
		j.p.BytesDone += x.downloaded
		j.p.BytesTotal += x.total
		done += x.downloaded + x.extracted
		all += 2 * x.total
	}
	// Layers announce their sizes one by one; never let the bar go back.
	j.p.Overall = max(j.p.Overall, percent(done, all))
}

func percent(cur, total int64) int {
	if total <= 0 {
		return 0
	}
	p := int(cur * 100 / total)
	return min(max(p, 0), 100)
}

func (u *Updates) setPhase(name string, ph models.Phase, status string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil {
		j.p.Phase, j.p.Status = ph, status
		u.ver.Add(1)
	}
}

func (u *Updates) startedAt(name string) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil {
		return j.p.StartedAt
	}
	return time.Now()
}

func (u *Updates) finish(name string, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	j := u.jobs[name]
	if j == nil {
		return
	}
	j.p.EndedAt = time.Now()
	u.ver.Add(1)
	if err != nil {
		j.p.Phase, j.p.Status = models.PhaseFailed, "error: "+err.Error()
		return
	}
	j.p.Phase, j.p.Status = models.PhaseDone, string(models.PhaseDone)
	j.p.Overall = 100
	if j.p.Total > 0 {
		j.p.Current, j.p.Percent = j.p.Total, 100
	}
}

func (u *Updates) failAll(items []models.ContainerItem, by string, g models.ImageGroup, err error) {
	for _, it := range items {
		rec := models.UpdateRecord{Container: it.ContainerName, Image: g.Image, FromDigest: it.LocalFull, By: by,
			StartedAt: u.startedAt(it.ContainerName), Result: "failed", Error: err.Error()}
		rec.DurationMS = time.Since(rec.StartedAt).Milliseconds()
		if herr := u.hist.Add(rec); herr != nil {
			u.log.Error("history not recorded", "error", herr)
		}
		u.finish(it.ContainerName, err) // after the record, as in recreate
	}
}

func contains(xs []string, s string) bool { return slices.Contains(xs, s) }
