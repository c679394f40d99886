package services

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/distribution/reference"

	"refit/models"
)

// ByWatchtowerAPI is who the history says started an update that
// /v1/update asked for.
const ByWatchtowerAPI = "watchtower api"

// apiUpdateWait bounds how long one /v1/update waits for its updates; the
// jobs go on after it, as every job does.
const apiUpdateWait = time.Hour

// WatchtowerAPIOptions are the Watchtower settings a /v1/update reads.
type WatchtowerAPIOptions struct {
	// LabelEnable and MonitorOnly are WATCHTOWER_LABEL_ENABLE and
	// WATCHTOWER_MONITOR_ONLY: Watchtower's targeted update then takes
	// only containers labelled enable=true, or none.
	LabelEnable, MonitorOnly bool
	// Scanned is told how many containers a targeted update checked; a
	// full one is a check, which Containers.OnCheck reports.
	Scanned func(n int)
	// Skipped is told of a full update skipped while another ran.
	Skipped func()
}

// WatchtowerResult is what one /v1/update did.
type WatchtowerResult struct {
	Scanned int  `json:"scanned"`
	Updated int  `json:"updated"`
	Failed  int  `json:"failed"`
	Skipped bool `json:"skipped,omitempty"` // another update was running
}

// WatchtowerAPI is Watchtower's HTTP API update over refit's checks and
// update jobs.
type WatchtowerAPI struct {
	ctr  *Containers
	upd  *Updates
	opts WatchtowerAPIOptions
	// lock is Watchtower's update lock: one API update at a time. A full
	// update finding it taken is skipped, a targeted one waits (its
	// pkg/api/update).
	lock chan struct{}
}

// NewWatchtowerAPI returns the /v1/update service over ctr and upd.
func NewWatchtowerAPI(ctr *Containers, upd *Updates, opts WatchtowerAPIOptions) *WatchtowerAPI {
	return &WatchtowerAPI{ctr: ctr, upd: upd, opts: opts, lock: make(chan struct{}, 1)}
}

// Update is one /v1/update, answered once its updates have ended. Without
// images it is Watchtower's full update: a check, then what auto-update
// would start now, the update window aside (the API asks now). With images
// (repositories such as "nginx" or "ghcr.io/org/app", or one tag of them)
// it checks only their containers and updates those Watchtower would: a
// refit toggle that is off does not hold them back, but the labels do
// (monitor-only, enable=false, another scope), and so do
// WATCHTOWER_MONITOR_ONLY and, for a container not labelled enable=true,
// WATCHTOWER_LABEL_ENABLE, since those keep a container out of
// Watchtower's targeted update too. A skipped version or a snooze holds
// both; a minimum age holds only the full one. Returns models.ErrInvalid
// for a name that is no image reference.
func (w *WatchtowerAPI) Update(ctx context.Context, images []string) (WatchtowerResult, error) {
	// Refit stopping ends the waits (the jobs roll back or finish on their own).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(w.upd.ctx, cancel)()
	if images == nil {
		select {
		case w.lock <- struct{}{}:
		default:
			if w.opts.Skipped != nil {
				w.opts.Skipped()
			}
			return WatchtowerResult{Skipped: true}, nil
		}
	} else {
		match, err := imageMatcher(images)
		if err != nil {
			return WatchtowerResult{}, err
		}
		select {
		case w.lock <- struct{}{}:
		case <-ctx.Done():
			return WatchtowerResult{}, fmt.Errorf("waiting for another update: %w", models.ErrUnavailable)
		}
		defer func() { <-w.lock }()
		return w.targeted(ctx, match)
	}
	defer func() { <-w.lock }()
	return w.full(ctx)
}

// full checks everything and updates what auto-update would.
func (w *WatchtowerAPI) full(ctx context.Context) (WatchtowerResult, error) {
	groups, err := w.ctr.Check(ctx)
	if err != nil {
		return WatchtowerResult{}, err
	}
	u, now := w.upd, w.upd.now()
	res := WatchtowerResult{Scanned: models.ContainerCount(groups)}
	return w.start(ctx, res, groups, func(c models.ContainerItem, cand models.Candidate) bool {
		return c.AutoUpdate && u.labelHold(c) == "" && u.aged(c, cand, now)
	})
}

// targeted checks the images match takes and updates what Watchtower would.
func (w *WatchtowerAPI) targeted(ctx context.Context, match func(image string) bool) (WatchtowerResult, error) {
	var groups []models.ImageGroup
	for _, g := range w.ctr.Groups() {
		if !match(g.Image) {
			continue
		}
		fresh, err := w.ctr.CheckImage(ctx, g.Image)
		if err != nil {
			return WatchtowerResult{}, err
		}
		groups = append(groups, fresh)
	}
	res := WatchtowerResult{Scanned: models.ContainerCount(groups)}
	if w.opts.Scanned != nil {
		w.opts.Scanned(res.Scanned)
	}
	return w.start(ctx, res, groups, func(c models.ContainerItem, _ models.Candidate) bool {
		if w.upd.labelHold(c) != "" {
			return false
		}
		enabled := models.ParseWatchtowerLabels(c.Labels).Enable
		return c.AutoUpdate || !w.opts.MonitorOnly && (!w.opts.LabelEnable || enabled != nil && *enabled)
	})
}

// start updates the containers of groups that take says are due, as
// auto-update starts them (startDue), then waits for each and counts how
// they ended. A container auto-update already started is waited for too.
func (w *WatchtowerAPI) start(ctx context.Context, res WatchtowerResult, groups []models.ImageGroup,
	take func(c models.ContainerItem, cand models.Candidate) bool) (WatchtowerResult, error) {
	u := w.upd
	if err := u.hist.Writable(); err != nil {
		return res, err // nothing may start that could not be recorded
	}
	refs := u.startDue(groups, ByWatchtowerAPI, take)
	for _, ref := range refs {
		p, err := u.Wait(ctx, ref, apiUpdateWait)
		switch {
		case err != nil || p.Running():
			// Gone meanwhile, or still running when refit stops: not an update.
		case p.Phase == models.PhaseDone:
			res.Updated++
		default:
			res.Failed++
		}
	}
	return res, nil
}

// imageMatcher reads /v1/update's image names: a repository takes every
// tag of it, however written ("nginx" is "docker.io/library/nginx"); a
// name with a tag only that tag. Watchtower compares the text before the
// first ":", so a registry with a port never matched there.
func imageMatcher(images []string) (func(image string) bool, error) {
	repos, tags := map[string]bool{}, map[string]bool{}
	for _, s := range images {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		named, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", s, models.ErrInvalid)
		}
		if reference.IsNameOnly(named) {
			repos[named.Name()] = true
		} else {
			tags[reference.FamiliarString(named)] = true
		}
	}
	return func(image string) bool {
		r, err := parseImageRef(image)
		return err == nil && (repos[r.Repo] || tags[r.Group])
	}, nil
}
