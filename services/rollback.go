package services

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/distribution/reference"

	"refit/models"
)

// Backups returns the container's image backups, newest first; none when
// backups are off. A stopped container has its backups too.
func (u *Updates) Backups(ref models.ContainerRef) ([]models.Backup, error) {
	if u.opts.Backups == nil {
		return []models.Backup{}, nil
	}
	return u.opts.Backups.List(ref)
}

// Rollback starts recreating the container onto the image of its backup id
// ("" for the newest) as an update job: the same recreate, health gate,
// automatic rollback and journal, with progress and a history record. It
// refuses while an update of the container runs.
func (u *Updates) Rollback(ref models.ContainerRef, backupID, by string) (models.Progress, error) {
	it, g, err := u.ctr.FindRef(ref)
	if err != nil {
		return models.Progress{}, err
	}
	if u.opts.Self != "" && it.FullID == u.opts.Self {
		// Its own recreate would stop this process half way; updates hand
		// over to a helper, which knows no backups.
		return models.Progress{}, fmt.Errorf("%s runs refit itself: roll it back with docker: %w", ref, models.ErrInvalid)
	}
	if u.opts.Backups == nil {
		return models.Progress{}, fmt.Errorf("backup %q of %s: %w", backupID, ref, models.ErrBackupNotFound)
	}
	bk, err := u.opts.Backups.Find(ref, backupID)
	if err != nil {
		return models.Progress{}, err
	}
	if err := u.hist.Writable(); err != nil {
		return models.Progress{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.jobs[ref]; j != nil && j.p.Running() {
		return models.Progress{}, fmt.Errorf("%s: %w", ref, models.ErrBeingUpdated)
	}
	if u.ctx.Err() != nil {
		return models.Progress{}, fmt.Errorf("shutting down: %w", models.ErrUnavailable)
	}
	p := models.Progress{Status: "rolling back to " + bk.BackupRef, Phase: models.PhaseRecreating, Container: ref.Name,
		Host: it.Host, Ref: ref, ContainerID: it.ContainerID, Image: g.Image, StartedAt: time.Now()}
	u.jobs[ref] = &job{p: p, layers: map[string]*layer{}}
	u.ctr.hold(it)
	u.ver.Add(1)
	u.wg.Add(1) // under mu, where Close cancels
	go func() {
		defer u.wg.Done()
		u.rollback(it, g, bk, by, p.StartedAt)
	}()
	return p, nil
}

// rollback recreates it onto bk's image. A container configured with a
// tag gets that tag moved to the backup's image and keeps its Config.Image,
// so its checks, its group and compose still know it (and a check then
// says outdated, which it is); the tag moves back if the recreate fails.
// One pinned by digest or ID is recreated from the backup tag itself.
func (u *Updates) rollback(it models.ContainerItem, g models.ImageGroup, bk models.Backup, by string, started time.Time) {
	name := it.Ref
	log := u.log.With("container", name.Name, "host", name.Host, "by", by, "backup", bk.BackupRef)
	log.Info("rollback started")
	rec := models.UpdateRecord{Host: name.Host, Container: name.Name, Image: g.Image, FromDigest: it.LocalFull,
		ToDigest: bk.ImageDigest, FromVersion: it.Local.Version, By: by, StartedAt: started}
	engine, err := u.ctr.updater(name.Host)
	if err == nil {
		var img models.ImageInfo
		img, err = engine.Image(u.ctx, bk.BackupRef) // the tag removed by hand: say so before touching anything
		rec.ToVersion = img.Labels[models.LabelVersion]
	}
	newID := ""
	switch {
	case err != nil:
	case it.ImageID == bk.ImageID:
		rec.Result = "uptodate" // it runs that image already: no restart
	default:
		target, prev := bk.BackupRef, ""
		if movable(it.Configured) {
			if img, ierr := engine.Image(u.ctx, it.Configured); ierr == nil {
				prev = img.ID
			}
			// Journalled first: a crash from here on leaves recovery to
			// move the tag back unless the container runs the backup.
			if err = u.opts.Backups.noteTagMove(models.TagMove{Host: name.Host, Name: name.Name, Tag: it.Configured,
				PrevImageID: prev, ToImageID: bk.ImageID}); err != nil {
				break
			}
			if err = engine.TagImage(u.ctx, bk.ImageID, it.Configured); err != nil {
				u.settleTagMove(log, engine, name, it.Configured, prev, false)
				break
			}
			target = it.Configured
		}
		u.backup(log, engine, it)
		u.setPhase(name, models.PhaseRecreating, "rolling back to "+bk.BackupRef)
		rctx, done := u.recreateContext(name)
		newID, err = engine.Recreate(rctx, it.FullID, u.recreateOptions(log, name, target))
		done()
		if target == it.Configured {
			u.settleTagMove(log, engine, name, it.Configured, prev, err != nil)
		}
		rec.Result = "restored"
		if err == nil {
			u.skipLeftVersion(log, name, it, g)
		}
	}
	u.ended(log, name, rec, newID, err)
}

// settleTagMove ends a rollback's tag move: back to prev when moveBack,
// then the journal entry goes. An entry whose move back failed stays, for
// recovery to try again.
func (u *Updates) settleTagMove(log *slog.Logger, engine Updater, ref models.ContainerRef, tag, prev string, moveBack bool) {
	if moveBack && prev != "" {
		if err := engine.TagImage(u.ctx, prev, tag); err != nil {
			log.Warn("tag not moved back after a failed rollback; recovery tries again", "tag", tag, "error", err)
			return
		}
		log.Info("tag moved back to the image the container runs", "tag", tag)
	}
	if err := u.opts.Backups.clearTagMove(ref); err != nil {
		log.Warn("tag move not cleared", "error", err)
	}
}

// skipLeftVersion skips the version a rollback left, when it is what the
// registry offers: otherwise auto-update, "Update all" and a group update
// would bring it straight back. Clear in the row's menu offers it again; a
// newer digest is a new candidate.
func (u *Updates) skipLeftVersion(log *slog.Logger, ref models.ContainerRef, it models.ContainerItem, g models.ImageGroup) {
	if u.opts.Policies == nil || g.RemoteFull == "" || g.RemoteFull != it.LocalFull {
		return
	}
	if _, err := u.opts.Policies.Apply(ref, models.PolicyAction{Action: models.PolicySkipCurrent}, models.Candidate{Digest: g.RemoteFull}); err != nil {
		log.Warn("the version rolled back from is not skipped", "digest", g.RemoteFull, "error", err)
		return
	}
	log.Info("skipping the version rolled back from", "digest", g.RemoteFull)
}

// settleTagMoves finishes the tag moves of rollbacks on host that a crash
// interrupted: a container that runs the backup's image keeps the tag on
// it; otherwise (the old container restored, or the crash came before the
// recreate) the tag goes back to the image it named. Rollbacks this process
// runs are left to it.
func (u *Updates) settleTagMoves(engine Updater, host string) {
	if u.opts.Backups == nil {
		return
	}
	moves, err := u.opts.Backups.tagMoves(host)
	if err != nil {
		u.log.Warn("tag moves not read", "host", host, "error", err)
		return
	}
	for _, m := range moves {
		ref := models.Ref(m.Host, m.Name)
		u.mu.Lock()
		j := u.jobs[ref]
		running := j != nil && j.p.Running() && j.p.Phase != models.PhaseRecovering
		u.mu.Unlock()
		if running {
			continue
		}
		it, _, ferr := u.ctr.FindRef(ref)
		back := ferr != nil || it.ImageID != m.ToImageID
		log := u.log.With("container", m.Name, "host", host, "interrupted_rollback", true)
		u.settleTagMove(log, engine, ref, m.Tag, m.PrevImageID, back)
	}
}

// movable reports whether configured is a tag (written or implied) that a
// rollback can point at another image: not pinned by digest, not an ID.
func movable(configured string) bool {
	named, err := reference.ParseNormalizedNamed(configured)
	if err != nil {
		return false
	}
	_, digested := named.(reference.Digested)
	return !digested
}
