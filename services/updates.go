package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
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
	// Journal keeps each recreate's step for recovery after a crash. Nil
	// keeps it in memory, which no crash survives.
	Journal *Journal
	// Self is the ID of the container refit runs in ("" on the host). Its
	// own update is handed over to a helper container.
	Self string
	// Hook is passed to every recreate (tests use it to stop an update half way).
	Hook func(container, step string) error
	// Policies, when set, holds skipped and snoozed candidates back from
	// auto-update and group updates; an update asked for one container by
	// hand goes ahead.
	Policies *Policies
	// Backups, when set, keeps the image a container ran before each
	// recreate, for a rollback onto it.
	Backups *Backups
	// MinAge holds a new candidate back from auto-update until refit has
	// known it this long (the label refit.min-age overrides it); Candidates
	// keeps the first-seen times, and its clock is the one that counts.
	MinAge     time.Duration
	Candidates *Candidates
	// Window, when set, says when auto-updates may run (Schedule.InWindow).
	Window func(time.Time) bool
	// Cleanup removes the image a container ran once an update moved it
	// off it, when nothing uses it and no backup keeps it (a backup pruned
	// later takes its image along): -cleanup, WATCHTOWER_CLEANUP.
	Cleanup bool
	// Watchtower is what Watchtower's settings and labels ask (watchtower.go).
	Watchtower WatchtowerOptions
}

// Updates runs update jobs in the background. Jobs belong to Updates, not to
// the request that started them: a closed browser tab never cancels a
// half-done recreate. Close cancels and waits.
type Updates struct {
	auth    Authenticator
	ctr     *Containers
	hist    *History
	journal *Journal
	log     *slog.Logger
	opts    UpdateOptions

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	abandoned bool // Shutdown ran out of time: Close must not wait (under mu)

	recoverMu sync.Mutex // one recovery at a time

	mu      sync.Mutex
	jobs    map[models.ContainerRef]*job
	runs    map[onHost]*run          // by host and image: the one run that pulls it there and recreates its queue
	pulls   map[onHost]*pull         // in-flight pulls by host and reference
	pullSem map[string]chan struct{} // per host: at most MaxPulls at once on each
	// serviceGroups counts the services a group update of an image is
	// updating: they run outside any run.
	serviceGroups map[string]int
	ver           atomic.Uint64 // bumped (under mu) on every change of jobs or runs
}

// onHost is an image reference on one host: a pull happens once per host.
type onHost struct{ host, image string }

type job struct {
	p      models.Progress
	layers map[string]*layer
	rc     *recreating // while its recreate runs; see shutdown.go
}

// run is the work on one image on one host: one pull, then the recreate of
// each queued container in turn. Containers asked for while it runs join its
// queue.
type run struct {
	host, image string
	group       bool                  // a group update joined: the UI shows the group as busy
	refs        []models.ContainerRef // every container of the run, for the pull's progress
	queue       []models.ContainerRef // those still waiting for their recreate
	by          map[models.ContainerRef]string
	pulled      bool // past the pull: newcomers wait for a recreate, not for bytes
}

// layer is one layer's bytes: current follows the engine's last message
// (download, then extraction); downloaded and extracted only grow. complete
// marks a layer that needs nothing more (pulled, or already there).
type layer struct {
	current, total, downloaded, extracted int64
	complete                              bool
}

type pull struct {
	done chan struct{}
	err  error
	subs []func(models.PullEvent)
}

// NewUpdates returns an update engine over the hosts of ctr. Call Close to
// stop it.
func NewUpdates(auth Authenticator, ctr *Containers, hist *History, log *slog.Logger, opts UpdateOptions) *Updates {
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
	if opts.Journal == nil {
		opts.Journal = NewJournal(nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &Updates{auth: auth, ctr: ctr, hist: hist, journal: opts.Journal, log: log, opts: opts,
		ctx: ctx, cancel: cancel, pullSem: map[string]chan struct{}{}, serviceGroups: map[string]int{},
		jobs: map[models.ContainerRef]*job{}, runs: map[onHost]*run{}, pulls: map[onHost]*pull{}}
	if opts.Watchtower.Hooks {
		ctr.OnCheckListed(func(ctx context.Context, cs []models.Container) { u.checkHooks(ctx, models.HookPreCheck, cs) })
		ctr.OnCheck(func([]models.ImageGroup) { u.checkHooks(u.ctx, models.HookPostCheck, u.listedContainers()) })
	}
	return u
}

// Close cancels running jobs (their recreates roll back) and waits for
// them, unless Shutdown already gave up on them.
func (u *Updates) Close() {
	u.mu.Lock()
	u.cancel() // under mu: no goroutine is added once Wait may have begun
	u.cancelRecreatesLocked()
	abandoned := u.abandoned
	u.mu.Unlock()
	if !abandoned {
		u.wg.Wait()
	}
}

// StartContainer starts updating the container id names (as Containers.Find
// reads it). While an update of it runs, it starts nothing and returns the
// running job's progress.
func (u *Updates) StartContainer(id, by string) (models.Progress, error) {
	item, g, err := u.ctr.Find(id)
	if err != nil {
		return models.Progress{}, err
	}
	if err := u.hist.Writable(); err != nil {
		return models.Progress{}, err
	}
	started := u.start(g, []models.ContainerItem{item}, by, false)
	if len(started) == 0 {
		p, _ := u.Progress(item.Ref)
		return p, nil
	}
	return started[0], nil
}

// StartGroup pulls the image once per host and recreates each outdated
// container of its group there, one after the other; hosts go in parallel,
// and up-to-date containers, and those whose policy holds the update back,
// are left alone. It reports whether anything is being updated: false means
// the group has nothing to update.
func (u *Updates) StartGroup(image, by string) (bool, error) {
	g, err := u.ctr.Group(image)
	if err != nil {
		return false, err
	}
	out := u.offered(g)
	if len(out) == 0 {
		return false, nil
	}
	if err := u.hist.Writable(); err != nil {
		return false, err
	}
	u.start(g, out, by, true)
	return true, nil
}

// StartOutdated updates those of refs that are outdated and whose policy
// does not hold the update back, as StartGroup would, with one pull per
// image and host; each row follows its own job. It returns how many it
// started; an unknown ref is left out (it may have gone meanwhile).
func (u *Updates) StartOutdated(refs []models.ContainerRef, by string) (int, error) {
	want := make(map[models.ContainerRef]bool, len(refs))
	for _, r := range refs {
		want[r] = true
	}
	if err := u.hist.Writable(); err != nil {
		return 0, err
	}
	n := 0
	for _, g := range u.dependenciesFirst(u.ctr.Groups()) {
		items := slices.DeleteFunc(u.offered(g), func(c models.ContainerItem) bool { return !want[c.Ref] })
		if len(items) > 0 {
			n += len(u.start(g, items, by, false))
		}
	}
	return n, nil
}

// Progress returns a copy of the container's progress: the running job's,
// or the last one for a while after it ended. Returns an error wrapping
// models.ErrNoProgress when there is none.
func (u *Updates) Progress(ref models.ContainerRef) (models.Progress, error) {
	p, ok := u.ProgressOf(ref)
	if !ok {
		return models.Progress{}, fmt.Errorf("container %s: %w", ref, models.ErrNoProgress)
	}
	return p, nil
}

// Wait returns the container's progress once its job has ended, or when ctx
// ends or max passes (the job goes on; the progress says how far it got).
func (u *Updates) Wait(ctx context.Context, ref models.ContainerRef, max time.Duration) (models.Progress, error) {
	deadline := time.Now().Add(max)
	for {
		p, err := u.Progress(ref)
		if err != nil || !p.Running() || time.Now().After(deadline) {
			return p, err
		}
		select {
		case <-ctx.Done():
			return p, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ProgressOf is Progress without the error: ok is false when the container
// has no progress to show. The dashboard asks it once per row.
func (u *Updates) ProgressOf(ref models.ContainerRef) (p models.Progress, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	j := u.jobs[ref]
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

// GroupRunning reports whether a group update of image is running on any
// host.
func (u *Updates) GroupRunning(image string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, r := range u.runs {
		if k.image == image && r.group {
			return true
		}
	}
	return u.serviceGroups[image] > 0
}

// RecordsProblem says why updates are refused (the database took no write),
// or "".
func (u *Updates) RecordsProblem() string { return u.hist.Problem() }

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

// offered is what a group update brings: the outdated containers whose
// policy does not hold the group's remote digest back.
func (u *Updates) offered(g models.ImageGroup) []models.ContainerItem {
	out := g.Outdated()
	if u.opts.Policies == nil {
		return out
	}
	return slices.DeleteFunc(out, func(c models.ContainerItem) bool {
		return u.opts.Policies.Holds(c.Ref, models.Candidate{Digest: g.RemoteFull})
	})
}

// start registers a job for each container not already updating and queues
// it on its host's run of the image, starting the run when there is none.
func (u *Updates) start(g models.ImageGroup, items []models.ContainerItem, by string, group bool) []models.Progress {
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ctx.Err() != nil {
		return nil
	}
	var out []models.Progress
	for _, it := range u.dependencyOrder(items) {
		if j := u.jobs[it.Ref]; j != nil && j.p.Running() {
			continue
		}
		if it.Kind == models.KindService {
			out = append(out, u.startServiceLocked(g, it, by, group, now))
			continue
		}
		key := onHost{it.Ref.Host, g.Image}
		r := u.runs[key]
		// A run past its pull whose jobs have all ended is ending: what it
		// pulled may be older than the tag is now. A newcomer starts a run
		// of its own; while one of its jobs runs, it joins and shares the pull.
		if r == nil || (r.pulled && !u.runningLocked(r)) {
			r = &run{host: key.host, image: key.image, by: map[models.ContainerRef]string{}}
			u.runs[key] = r
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				u.run(r)
			}()
		}
		p := models.Progress{Status: string(models.PhaseConnecting), Phase: models.PhaseConnecting,
			Container: it.Ref.Name, Host: it.Host, Ref: it.Ref, ContainerID: it.ContainerID, Image: g.Image, StartedAt: now}
		if r.pulled {
			p.Phase, p.Status = models.PhaseQueued, string(models.PhaseQueued)
		}
		u.jobs[it.Ref] = &job{p: p, layers: map[string]*layer{}}
		u.ctr.hold(it)
		r.refs = append(r.refs, it.Ref)
		r.queue = append(r.queue, it.Ref)
		r.by[it.Ref] = by
		r.group = r.group || group
		out = append(out, p)
	}
	if len(out) > 0 {
		u.ver.Add(1)
	}
	return out
}

// runningLocked reports whether a job of r has not ended yet.
func (u *Updates) runningLocked(r *run) bool {
	return slices.ContainsFunc(r.refs, func(ref models.ContainerRef) bool {
		j := u.jobs[ref]
		return j != nil && j.p.Running()
	})
}

// run is one pull on its host followed by the recreate of each queued
// container in turn, until the queue is empty. The run's goroutine starts
// under mu, so it waits for its first container to be queued.
func (u *Updates) run(r *run) {
	log := u.log.With("image", r.image, "host", r.host)
	ref, err := parseImageRef(r.image)
	var img models.ImageInfo
	engine, eerr := u.ctr.updater(r.host)
	if err == nil {
		err = eerr
	}
	if err == nil {
		u.mu.Lock()
		refs := slices.Clone(r.refs)
		u.mu.Unlock()
		log.Info("update started", "containers", refs)
		if u.noPull(refs...) {
			log.Info("no pull: the containers are labelled no-pull, or WATCHTOWER_NO_PULL is set")
		} else {
			err = u.pullRun(engine, r, ref)
		}
		if err == nil {
			if img, err = engine.Image(u.ctx, ref.Remote); err != nil {
				err = fmt.Errorf("pulled image: %w", err)
			}
		}
	}
	// Everyone waiting now waits for a recreate, not for bytes.
	u.mu.Lock()
	r.pulled = true
	for _, n := range r.queue {
		if j := u.jobs[n]; j != nil && err == nil {
			j.p.Phase, j.p.Status = models.PhaseQueued, string(models.PhaseQueued)
		}
	}
	u.ver.Add(1)
	u.mu.Unlock()

	for {
		u.mu.Lock()
		if len(r.queue) == 0 {
			if key := (onHost{r.host, r.image}); u.runs[key] == r { // a newcomer may have started the next
				delete(u.runs, key)
			}
			u.ver.Add(1)
			u.mu.Unlock()
			return
		}
		cref := r.queue[0]
		r.queue = r.queue[1:]
		by := r.by[cref]
		u.mu.Unlock()
		if err != nil {
			u.fail(cref, r.image, by, err)
			continue
		}
		u.awaitDependencies(log, r, cref)
		if u.recreate(log, engine, ref, img, cref, by) {
			u.restartDependents(log.With("container", cref.Name), engine, cref)
		}
	}
}

// pullRun is the run's one pull, its progress shown on each of its jobs.
func (u *Updates) pullRun(engine Updater, r *run, ref imageRef) error {
	err := u.pull(engine, r.host, ref.Remote, func(ev models.PullEvent) {
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, n := range r.refs {
			if j := u.jobs[n]; j != nil && (j.p.Phase == models.PhaseConnecting || j.p.Phase == models.PhasePulling) {
				applyPullEvent(j, ev)
			}
		}
		u.ver.Add(1)
	})
	if err != nil {
		u.log.Warn("pull failed", "image", r.image, "host", r.host, "error", err)
		return fmt.Errorf("pull: %w", err)
	}
	return nil
}

// recreate replaces one container and records the outcome; it reports
// whether the container was recreated. The container is looked up by name
// at its turn: an earlier recreate of the run may have replaced it already
// (one that shares its network namespace).
func (u *Updates) recreate(log *slog.Logger, engine Updater, ref imageRef, img models.ImageInfo, name models.ContainerRef, by string) bool {
	log = log.With("container", name.Name, "by", by)
	started := u.startedAt(name)
	it, g, ferr := u.ctr.FindRef(name)
	target := recreateTarget(it, ref) // a move onto a newer tag
	rec := models.UpdateRecord{Host: name.Host, Container: name.Name, Image: ref.Group, FromDigest: it.LocalFull, By: by, StartedAt: started}
	if target != "" {
		rec.FromImage = g.Image
	}
	if d := repoDigests(img.RepoDigests, ref.Repo); len(d) > 0 {
		rec.ToDigest = d[0]
	}
	rec.FromVersion, rec.ToVersion = it.Local.Version, img.Labels[models.LabelVersion]
	var err error
	newID := ""
	switch {
	case ferr != nil:
		err = ferr
	case img.ID == it.ImageID:
		rec.Result = "uptodate" // the pull brought nothing new: no restart
	case u.ctx.Err() != nil:
		err = u.ctx.Err()
	case u.opts.Self != "" && it.FullID == u.opts.Self:
		u.handOver(log, engine, name, it, by, started)
		return false
	default:
		// Watchtower's rule: a failing pre-update hook is noted and the
		// update goes on; exit code 75 alone skips it.
		code, _, herr := u.runHook(engine, it.FullID, it.Labels, models.HookPreUpdate)
		if code == models.HookSkipUpdateCode {
			err = errSkippedByHook
			break
		}
		u.backup(log, engine, it)
		u.setPhase(name, models.PhaseRecreating, "recreating")
		rctx, done := u.recreateContext(name)
		newID, err = engine.Recreate(rctx, it.FullID, u.recreateOptions(log, name, target))
		done()
		rec.Result = "updated"
		if err == nil {
			if _, _, perr := u.runHook(engine, newID, it.Labels, models.HookPostUpdate); perr != nil {
				herr = errors.Join(herr, perr)
			}
		}
		if herr != nil {
			log.Warn("lifecycle hook failed", "error", herr)
			rec.Error = herr.Error() // shown with the outcome; the update itself went through
		}
	}
	if err == nil && target == "" && g.RemoteFull != "" && rec.Result == "updated" {
		if !contains(repoDigests(img.RepoDigests, ref.Repo), g.RemoteFull) {
			log.Warn("new image does not carry the checked digest; the tag moved during the update",
				"checked", g.RemoteFull, "pulled", rec.ToDigest)
		}
	}
	if err == nil && newID != "" && u.opts.Cleanup { // before the end: who sees it ended sees the image gone
		u.cleanup(log, engine, it.ImageID)
	}
	u.ended(log, name, rec, newID, err)
	return newID != ""
}

// cleanup removes image, the one a container ran before its update, unless
// a tag (a backup's among them) names it or a container uses it.
func (u *Updates) cleanup(log *slog.Logger, engine Updater, image string) {
	removed, err := engine.RemoveImage(u.ctx, image)
	switch {
	case err != nil && !errors.Is(err, models.ErrImageNotFound):
		log.Warn("old image not removed", "image", models.ShortID(strings.TrimPrefix(image, "sha256:")), "error", err)
	case removed:
		log.Info("old image removed", "image", models.ShortID(strings.TrimPrefix(image, "sha256:")))
	default:
		log.Debug("old image kept: a backup, a tag or a container holds it", "image", image)
	}
}

// recreateOptions are the options of every recreate of name: the health
// gate, the stop (its stop-signal label, WATCHTOWER_TIMEOUT), the progress,
// the journal; image "" is the container's own.
func (u *Updates) recreateOptions(log *slog.Logger, name models.ContainerRef, image string) models.RecreateOptions {
	it, _, _ := u.ctr.FindRef(name)
	return models.RecreateOptions{
		Image:         image,
		StopSignal:    models.ParseWatchtowerLabels(it.Labels).StopSignal,
		StopTimeout:   u.opts.Watchtower.StopTimeout,
		HealthTimeout: u.opts.HealthTimeout,
		Settle:        u.opts.Settle,
		Step:          u.stepStatus(log, name),
		Waiting: func(health bool) {
			u.noteWaiting(name, health)
			if health {
				u.setPhase(name, models.PhaseRecreating, "waiting for health check")
			} else {
				u.setPhase(name, models.PhaseRecreating, "settling "+u.opts.Settle.String())
			}
		},
		Journal: u.journal.On(name.Host),
		Hook:    u.hook(name),
	}
}

// backup keeps the image it runs before its recreate. A backup that fails
// does not stop the update: it is logged, and the rollback has one less.
func (u *Updates) backup(log *slog.Logger, engine Updater, it models.ContainerItem) {
	if u.opts.Backups == nil {
		return
	}
	u.setPhase(it.Ref, models.PhaseRecreating, "backing up image")
	if bk, err := u.opts.Backups.take(u.ctx, engine, it); err != nil {
		log.Warn("image backup failed", "error", err)
	} else if bk.ID != "" {
		log.Info("image backed up", "backup", bk.BackupRef)
	}
}

// ended records how a recreate of name ended and ends its job. newID, when
// set, is the container that now runs under the name.
func (u *Updates) ended(log *slog.Logger, name models.ContainerRef, rec models.UpdateRecord, newID string, err error) {
	if newID != "" {
		u.ctr.alias(name, newID) // the old ID keeps answering for the job
	}
	rec.DurationMS = time.Since(rec.StartedAt).Milliseconds()
	if err != nil {
		rec.Result, rec.Error = "failed", err.Error()
		if models.IsRolledBack(err) {
			rec.Result = "rolled back"
		}
		var re *models.RecreateError
		if errors.As(err, &re) {
			rec.Logs = re.Logs
		}
		log.Warn("update failed", "error", err)
	} else {
		log.Info("update finished", "result", rec.Result, "duration", time.Duration(rec.DurationMS)*time.Millisecond)
	}
	// Refresh first, so a poller that sees the end also sees the new
	// container (or the old one back) in the snapshot.
	if rerr := u.ctr.RefreshHost(u.ctx, name.Host); rerr != nil && u.ctx.Err() == nil {
		log.Warn("refresh after update failed", "error", rerr)
	}
	// History before finish, so a poller that sees the end also finds the record.
	if herr := u.hist.Add(rec); herr != nil {
		log.Error("history not recorded", "error", herr)
	}
	u.finish(name, newID, err)
	if err != nil && !models.IsRolledBack(err) && !errors.Is(err, errSkippedByHook) { // a skip touched nothing
		u.recoverUntilSettled(name)
	}
}

// background runs f on a goroutine Close waits for, unless Updates is
// closing. Add happens under mu, where Close cancels, so no goroutine is
// added once Wait may have begun.
func (u *Updates) background(f func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ctx.Err() != nil {
		return
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		f()
	}()
}

// stepStatus turns the recreate's steps into what the job shows.
func (u *Updates) stepStatus(log *slog.Logger, name models.ContainerRef) func(string) {
	return func(step string) {
		log.Debug("recreate step", "step", step)
		u.noteStep(name, step)
		if step == models.StepRollingBack {
			u.setPhase(name, models.PhaseRecreating, "rolling back")
		}
	}
}

func (u *Updates) hook(name models.ContainerRef) func(string) error {
	if u.opts.Hook == nil {
		return nil
	}
	return func(step string) error { return u.opts.Hook(name.Name, step) }
}

// pull runs one pull per host and reference at a time, at most MaxPulls at
// once on each host: a request for a reference already being pulled there
// subscribes to that pull instead of starting another.
func (u *Updates) pull(engine Updater, host, ref string, sub func(models.PullEvent)) error {
	key := onHost{host, ref}
	u.mu.Lock()
	if p := u.pulls[key]; p != nil {
		p.subs = append(p.subs, sub)
		u.mu.Unlock()
		<-p.done
		return p.err
	}
	p := &pull{done: make(chan struct{}), subs: []func(models.PullEvent){sub}}
	u.pulls[key] = p
	sem := u.pullSem[host]
	if sem == nil {
		sem = make(chan struct{}, u.opts.MaxPulls)
		u.pullSem[host] = sem
	}
	u.mu.Unlock()

	defer func() {
		u.mu.Lock()
		delete(u.pulls, key)
		u.mu.Unlock()
		close(p.done)
	}()
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	case <-u.ctx.Done():
		p.err = u.ctx.Err()
		return p.err
	}
	auth, err := u.auth.Auth(u.ctx, ref)
	if err != nil {
		u.log.Info("no registry credentials, pulling anonymously", "image", ref, "error", err)
		auth = models.RegistryAuth{}
	}
	p.err = engine.Pull(u.ctx, ref, auth, func(ev models.PullEvent) {
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
		l.complete = true
	}
	j.p.Overall = overall(j)
}

// overall is the pull's progress in bytes: download and extraction of every
// layer. The engine announces a layer's size only when its download starts
// (at most three at a time), so a layer still waiting counts as the mean
// size of those known; the percent may step back when a big layer turns
// out bigger than that, but it never stands still while bytes move.
func overall(j *job) int {
	var done, all, sized, sizedN int64
	waiting := int64(0)
	j.p.BytesDone, j.p.BytesTotal = 0, 0
	for _, x := range j.layers {
		j.p.BytesDone += x.downloaded
		j.p.BytesTotal += x.total
		switch {
		case x.total > 0:
			done += x.downloaded + x.extracted
			all += 2 * x.total
			sized += x.total
			sizedN++
		case !x.complete:
			waiting++
		}
	}
	if waiting > 0 && sizedN > 0 {
		all += 2 * waiting * (sized / sizedN)
	}
	return percent(done, all)
}

func percent(cur, total int64) int {
	if total <= 0 {
		return 0
	}
	p := int(cur * 100 / total)
	return min(max(p, 0), 100)
}

func (u *Updates) setPhase(name models.ContainerRef, ph models.Phase, status string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil {
		j.p.Phase, j.p.Status = ph, status
		u.ver.Add(1)
	}
}

func (u *Updates) startedAt(name models.ContainerRef) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil {
		return j.p.StartedAt
	}
	return time.Now()
}

// finish ends the container's job: done, or failed with err. newID, when
// set, is the container that now runs under the name.
func (u *Updates) finish(name models.ContainerRef, newID string, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ctr.release(name, u.opts.Keep)
	j := u.jobs[name]
	if j == nil {
		return
	}
	j.p.EndedAt = time.Now()
	if newID != "" {
		j.p.ContainerID = models.ShortID(newID)
	}
	u.ver.Add(1)
	if err != nil {
		j.p.Phase, j.p.Status = models.PhaseFailed, "error: "+err.Error()
		j.p.RolledBack = models.IsRolledBack(err)
		var re *models.RecreateError
		j.p.CrashLogs = errors.As(err, &re) && re.Logs != ""
		return
	}
	j.p.Phase, j.p.Status = models.PhaseDone, string(models.PhaseDone)
	j.p.Overall = 100
	if j.p.Total > 0 {
		j.p.Current, j.p.Percent = j.p.Total, 100
	}
}

// fail records and ends a job that never reached its recreate.
func (u *Updates) fail(name models.ContainerRef, image, by string, err error) {
	it, _, _ := u.ctr.FindRef(name)
	rec := models.UpdateRecord{Host: name.Host, Container: name.Name, Image: image, FromDigest: it.LocalFull, By: by,
		FromVersion: it.Local.Version, StartedAt: u.startedAt(name), Result: "failed", Error: err.Error()}
	rec.DurationMS = time.Since(rec.StartedAt).Milliseconds()
	if herr := u.hist.Add(rec); herr != nil {
		u.log.Error("history not recorded", "error", herr)
	}
	u.finish(name, "", err) // after the record, as in recreate
}

// shown is how logs and errors name a container: by name with one host, as
// host/name with several.
func (u *Updates) shown(ref models.ContainerRef) string {
	if u.ctr.Several() {
		return ref.String()
	}
	return ref.Name
}

func contains(xs []string, s string) bool { return slices.Contains(xs, s) }
