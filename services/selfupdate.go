package services

import (
	"fmt"
	"log/slog"
	"time"

	"refit/models"
)

// handOver updates refit's own container through a helper container (the
// stop would end this process half way): the helper recreates it with the
// journal and records the outcome, which the job then shows. This process is
// usually stopped by the helper before that; the new refit finds the record.
func (u *Updates) handOver(log *slog.Logger, engine Updater, name models.ContainerRef, it models.ContainerItem, by string, started time.Time) {
	u.setPhase(name, models.PhaseRecreating, "handing over to a helper container")
	err := engine.HandOver(u.ctx, it.FullID, []string{"self-update", "-container", it.FullID, "-by", by, "-host", name.Host})
	if err != nil {
		log.Warn("self-update not handed over", "error", err)
		rec := models.UpdateRecord{Host: name.Host, Container: name.Name, Image: it.Configured, FromDigest: it.LocalFull, By: by, StartedAt: started,
			Result: "failed", Error: err.Error(), DurationMS: time.Since(started).Milliseconds()}
		if herr := u.hist.Add(rec); herr != nil {
			log.Error("history not recorded", "error", herr)
		}
		u.finish(name, "", err)
		return
	}
	log.Info("self-update handed over to a helper container")
	deadline := time.Now().Add(u.opts.HealthTimeout + u.opts.Settle + 2*time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-u.ctx.Done():
			return // shutting down, most likely stopped by the helper itself
		case <-time.After(time.Second):
		}
		rec, ok, err := u.hist.LatestFor(name, started)
		if err != nil || !ok {
			continue
		}
		var end error
		if rec.Result == "failed" || rec.Result == "rolled back" {
			end = &models.RecreateError{Reason: rec.Error, RolledBack: rec.Result == "rolled back"}
		}
		_ = u.ctr.RefreshHost(u.ctx, name.Host)
		u.finish(name, "", end)
		return
	}
	u.finish(name, "", fmt.Errorf("the helper container did not record an outcome; see its logs (%s-refit-helper)", name.Name))
}
