package services

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"refit/models"
)

// serviceUpdateTimeout bounds how long refit follows one service's rolling
// update. The engine goes on after it; the job then says so.
const serviceUpdateTimeout = 30 * time.Minute

// servicePoll is how often a service's update state is read.
const servicePoll = time.Second

// startServiceLocked registers the job of a Swarm service and starts it:
// no pull (the nodes pull for themselves) and no recreate (the tasks are
// the engine's), only a service update to the digest the check saw. Called
// with mu held.
func (u *Updates) startServiceLocked(g models.ImageGroup, it models.ContainerItem, by string, group bool, now time.Time) models.Progress {
	p := models.Progress{Status: "service update: starting", Phase: models.PhaseRecreating, Container: it.ContainerName,
		Host: it.Host, Ref: it.Ref, ContainerID: it.ContainerID, Image: g.Image, StartedAt: now}
	u.jobs[it.Ref] = &job{p: p, layers: map[string]*layer{}}
	if group {
		u.serviceGroups[g.Image]++
	}
	u.ver.Add(1)
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		u.updateService(g, it, by)
		if group {
			u.mu.Lock()
			if u.serviceGroups[g.Image]--; u.serviceGroups[g.Image] <= 0 {
				delete(u.serviceGroups, g.Image)
			}
			u.ver.Add(1)
			u.mu.Unlock()
		}
	}()
	return p
}

// updateService runs one service's rolling update through the engine and
// follows its UpdateStatus to the end: completed, or rolled back or paused
// by the engine's own failure action.
func (u *Updates) updateService(g models.ImageGroup, it models.ContainerItem, by string) {
	log := u.log.With("service", it.ContainerName, "host", it.Ref.Host, "image", g.Image, "by", by)
	started := u.startedAt(it.Ref)
	rec := models.UpdateRecord{Host: it.Ref.Host, Container: it.Ref.Name, Image: g.Image, FromDigest: it.LocalFull,
		ToDigest: g.RemoteFull, By: by, StartedAt: started}
	err := u.serviceUpdate(log, g, it)
	if u.ctx.Err() != nil {
		// refit is stopping; the engine's update is not: the next check sees
		// where it got to.
		log.Info("stopped following a service update; the engine goes on", "error", err)
		u.finish(it.Ref, "", err)
		return
	}
	rec.DurationMS = time.Since(started).Milliseconds()
	rec.Result = "updated"
	if err != nil {
		rec.Result, rec.Error = "failed", err.Error()
		if models.IsRolledBack(err) {
			rec.Result = "rolled back"
		}
		log.Warn("service update failed", "error", err)
	} else {
		log.Info("service update finished", "duration", time.Duration(rec.DurationMS)*time.Millisecond)
	}
	if rerr := u.ctr.RefreshHost(u.ctx, it.Ref.Host); rerr != nil && u.ctx.Err() == nil {
		log.Warn("refresh after update failed", "error", rerr)
	}
	if herr := u.hist.Add(rec); herr != nil {
		log.Error("history not recorded", "error", herr)
	}
	u.finish(it.Ref, "", err)
}

func (u *Updates) serviceUpdate(log *slog.Logger, g models.ImageGroup, it models.ContainerItem) error {
	if g.RemoteFull == "" {
		return fmt.Errorf("the tag's digest is not known: check first")
	}
	engine, err := u.ctr.updater(it.Ref.Host)
	if err != nil {
		return err
	}
	ref, err := parseImageRef(g.Image)
	if err != nil {
		return err
	}
	auth, aerr := u.auth.Auth(u.ctx, ref.Remote)
	if aerr != nil {
		auth = models.RegistryAuth{} // the manager falls back to the credentials in the spec
	}
	// The reference as the service's spec wrote it, pinned to what the check saw.
	target := it.Configured + "@" + g.RemoteFull
	log.Info("service update started", "to", target)
	if err := engine.UpdateService(u.ctx, it.FullID, target, auth); err != nil {
		return err
	}
	deadline := time.Now().Add(serviceUpdateTimeout)
	for {
		select {
		case <-u.ctx.Done():
			return fmt.Errorf("refit stopped while the engine updates the service; it goes on: %w", u.ctx.Err())
		case <-time.After(servicePoll):
		}
		svc, err := engine.Service(u.ctx, it.FullID)
		if err != nil {
			if time.Now().After(deadline) {
				return err
			}
			continue // an engine restart: try again
		}
		st := svc.Service
		u.setPhase(it.Ref, models.PhaseRecreating, serviceStatusText(st))
		switch ended, ok := models.ServiceUpdateEnded(st.Update); {
		case ended && ok:
			return nil
		case ended && (st.Update == "rollback_completed" || st.Update == "rollback_paused"):
			return &models.RecreateError{Reason: "the engine rolled the service back: " + st.Message, RolledBack: true}
		case ended:
			return fmt.Errorf("the engine paused the update: %s", st.Message)
		case st.Update == "" && svc.ImageID == g.RemoteFull && st.Running == st.Desired:
			return nil // an update the engine ran without a status (nothing to roll)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still %s after %s; the engine goes on", st.Update, serviceUpdateTimeout)
		}
	}
}

// serviceStatusText is what a service's job shows: the engine's update
// state and its tasks.
func serviceStatusText(st *models.Service) string {
	state := st.Update
	if state == "" {
		state = "starting"
	}
	s := "service update: " + state + " (" + strconv.FormatUint(st.Running, 10) + "/" + strconv.FormatUint(st.Desired, 10) + " tasks)"
	if st.Message != "" {
		s += ": " + st.Message
	}
	return s
}
