package services

import (
	"context"
	"fmt"
	"slices"
	"time"

	"refit/models"
)

// shutdownReserve is what a rollback needs once its recreate is cancelled
// after the old container stopped: remove the new container, rename the old
// one back and start it. A settle that would end later than this before the
// deadline is not waited for.
const shutdownReserve = 2 * time.Second

// recreating is a job's recreate in flight, as Shutdown needs to see it.
type recreating struct {
	cancel    context.CancelFunc
	cancelled bool
	step      string    // the step last started
	waitFrom  time.Time // when the wait for the new container began
	health    bool      // the wait is for a healthcheck, not a settle
}

// recreateContext is the context of name's recreate: not the engine's
// own, so Shutdown can let one recreate finish while it ends the rest. Call
// done when the recreate returns.
func (u *Updates) recreateContext(name models.ContainerRef) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	u.mu.Lock()
	defer u.mu.Unlock()
	j := u.jobs[name]
	if j == nil || u.ctx.Err() != nil {
		cancel() // Close or Shutdown came first: Recreate returns touching nothing
		return ctx, func() {}
	}
	j.rc = &recreating{cancel: cancel}
	return ctx, func() {
		u.mu.Lock()
		j.rc = nil
		u.mu.Unlock()
		cancel()
	}
}

func (u *Updates) noteStep(name models.ContainerRef, step string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil && j.rc != nil {
		j.rc.step = step
	}
}

func (u *Updates) noteWaiting(name models.ContainerRef, health bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[name]; j != nil && j.rc != nil {
		j.rc.waitFrom, j.rc.health = time.Now(), health
	}
}

func (u *Updates) cancelRecreatesLocked() {
	for _, j := range u.jobs {
		if j.rc != nil && !j.rc.cancelled {
			j.rc.cancelled = true
			j.rc.cancel()
		}
	}
}

// Shutdown ends the update engine for a stop of refit within ctx's
// deadline. Nothing new starts; pulls, queued recreates and recoveries are
// cancelled at once. A recreate still before or in the stop of its old
// container rolls back at once (the rollback waits for a stop in flight):
// that is the quickest way back to a running container. One waiting for its
// new container is let finish when its settle ends in time, or until
// shutdownReserve before the deadline for a healthcheck; then it rolls back.
// What is still running at the deadline is left to the journal, which the
// next start recovers, and Shutdown returns an error naming it.
func (u *Updates) Shutdown(ctx context.Context) error {
	u.mu.Lock()
	u.cancel()
	u.mu.Unlock()
	done := make(chan struct{})
	go func() { u.wg.Wait(); close(done) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		u.cutShort(ctx)
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			u.mu.Lock()
			u.abandoned = true
			u.cancelRecreatesLocked()
			var left []string
			for n, j := range u.jobs {
				if j.p.Running() {
					left = append(left, u.shown(n))
				}
			}
			u.mu.Unlock()
			slices.Sort(left)
			return fmt.Errorf("shutdown: updates of %v did not end in time; the next start recovers them from the journal", left)
		case <-tick.C:
		}
	}
}

// cutShort cancels each recreate that Shutdown should not wait for.
func (u *Updates) cutShort(ctx context.Context) {
	cutoff := time.Now().Add(time.Hour)
	if d, ok := ctx.Deadline(); ok {
		cutoff = d.Add(-shutdownReserve)
	}
	late := !time.Now().Before(cutoff)
	u.mu.Lock()
	defer u.mu.Unlock()
	for name, j := range u.jobs {
		rc := j.rc
		if rc == nil || rc.cancelled {
			continue
		}
		why := ""
		switch rc.step {
		case "", models.StepRenaming, models.StepCreating, models.StepStopping:
			why = "before its new container started"
		case models.StepStarting:
			if late {
				why = "its new container is not up yet"
			}
		case models.StepWaiting:
			switch {
			case late:
				why = "its new container is not up yet"
			case !rc.waitFrom.IsZero() && !rc.health && rc.waitFrom.Add(u.opts.Settle).After(cutoff):
				why = "its settle would end too late"
			}
		}
		if why != "" {
			u.log.Info("shutdown: rolling back an update", "container", name.Name, "host", name.Host, "step", rc.step, "because", why)
			rc.cancelled = true
			rc.cancel()
		}
	}
}
