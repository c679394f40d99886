package services

import (
	"context"
	"fmt"
	"slices"
	"time"

	"refit/models"
)

// RecoverInBackground runs Recover for host on a goroutine of its own, so
// serving never waits for it. refit serve hangs it on
// Containers.OnReachable: it runs when a host first answers and whenever it
// is back after an outage.
func (u *Updates) RecoverInBackground(host string) {
	u.background(func() {
		if _, err := u.Recover(u.ctx, host); err != nil && u.ctx.Err() == nil {
			u.log.Error("recovering interrupted updates failed; will try again when the engine is back", "host", host, "error", err)
		}
	})
}

// Recover finishes or undoes updates that were interrupted: by a crash or a
// kill of refit, or by an engine that went away during the recreate, on one
// host. The containers it looks at show "recovering" meanwhile.
func (u *Updates) Recover(ctx context.Context, host string) ([]models.Recovery, error) {
	engine, err := u.ctr.updater(host)
	if err != nil {
		return nil, err
	}
	u.recoverMu.Lock()
	defer u.recoverMu.Unlock()
	pending, err := u.journal.Pending(host)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	shown := ""
	if u.ctr.Several() {
		shown = host
	}
	var mine []models.ContainerRef
	u.mu.Lock()
	for _, st := range pending {
		ref := models.Ref(host, st.Name)
		if j := u.jobs[ref]; j != nil && j.p.Running() {
			continue // this process is updating it: its own rollback answers for it
		}
		u.jobs[ref] = &job{p: models.Progress{Phase: models.PhaseRecovering, Status: string(models.PhaseRecovering),
			Container: st.Name, Host: shown, Ref: ref, Image: st.Image, ContainerID: models.ShortID(st.OldID), StartedAt: now},
			layers: map[string]*layer{}}
		mine = append(mine, ref)
	}
	if len(mine) > 0 {
		u.ver.Add(1)
	}
	u.mu.Unlock()

	recs, err := engine.Recover(ctx, models.RecoverOptions{Pending: pending, Settle: u.opts.Settle, HealthTimeout: u.opts.HealthTimeout})
	settled := map[models.ContainerRef]bool{}
	for _, r := range recs {
		ref := models.Ref(host, r.Container)
		settled[ref] = true
		if cerr := u.journal.Clear(ref); cerr != nil {
			u.log.Error("journal entry not cleared", "container", r.Container, "host", host, "error", cerr)
		}
		if r.Action == models.RecoveryUntouched {
			u.log.Info("interrupted update had changed nothing", "container", r.Container, "host", host, "detail", r.Detail)
		} else {
			u.log.Warn("recovered interrupted update", "container", r.Container, "host", host, "action", r.Action, "detail", r.Detail)
		}
		u.recordRecovery(ref, r, now)
	}
	if rerr := u.ctr.RefreshHost(ctx, host); rerr != nil {
		u.log.Warn("refresh after recovery failed", "error", rerr)
	} else {
		u.settleTagMoves(engine, host) // it judges by the containers as they are now
	}
	for _, n := range mine {
		switch {
		case settled[n]:
			continue // recordRecovery ended the job
		case err != nil:
			u.finish(n, "", fmt.Errorf("recovery: %w", err))
		default:
			u.drop(n) // nothing was left to do for it
		}
	}
	return recs, err
}

// recordRecovery ends a recovered container's job and keeps its record.
func (u *Updates) recordRecovery(ref models.ContainerRef, r models.Recovery, started time.Time) {
	var endErr error
	rec := models.UpdateRecord{Host: ref.Host, Container: ref.Name, By: "recovery", StartedAt: started}
	switch r.Action {
	case models.RecoveryFinished:
		rec.Result = "recovered" // the new container was kept; the log has the details
	case models.RecoveryRestored:
		rec.Result = "rolled back"
		rec.Error = models.ErrTextInterrupted + ": " + r.Detail
		endErr = &models.RecreateError{Reason: rec.Error, RolledBack: true}
	default:
		u.drop(ref)
		return
	}
	if p, ok := u.ProgressOf(ref); ok {
		rec.Image = p.Image
	}
	rec.DurationMS = time.Since(started).Milliseconds()
	if err := u.hist.Add(rec); err != nil {
		u.log.Error("history not recorded", "error", err)
	}
	u.finish(ref, "", endErr)
}

// drop forgets a job that turned out to have nothing to show.
func (u *Updates) drop(name models.ContainerRef) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil && j.p.Phase == models.PhaseRecovering {
		delete(u.jobs, name)
		u.ver.Add(1)
	}
}

// recoverUntilSettled runs Recover in the background, backing off from 1 s
// to 30 s, until the container has no journal entry left. It follows an update that
// ended without a rollback, typically because the engine went away half way:
// an engine restarted before the watch reconnects never looks like an
// outage, so OnReachable alone would leave the entry to the next start.
func (u *Updates) recoverUntilSettled(name models.ContainerRef) {
	u.background(func() {
		for backoff := time.Second; ; backoff = min(2*backoff, 30*time.Second) {
			select {
			case <-u.ctx.Done():
				return
			case <-time.After(backoff):
			}
			pending, err := u.journal.Pending(name.Host)
			if err == nil && !slices.ContainsFunc(pending, func(st models.RecreateState) bool { return st.Name == name.Name }) {
				return
			}
			if _, err := u.Recover(u.ctx, name.Host); err != nil && u.ctx.Err() == nil {
				u.log.Warn("recovering an interrupted update failed; trying again", "container", name.Name, "host", name.Host, "in", min(2*backoff, 30*time.Second), "error", err)
			}
		}
	})
}
