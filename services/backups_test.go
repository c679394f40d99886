package services_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

// backupWorld is one container "a" of ref on version 1, with backups kept
// keep per container.
type backupWorld struct {
	eng *fake.Engine
	ctr *services.Containers
	upd *services.Updates
	bk  *services.Backups
	hst *services.History
}

func version(v int) (img, digest string) {
	return fmt.Sprintf("sha256:%064d", v), fmt.Sprintf("sha256:%064x", 0xd0+v)
}

func newBackupWorld(t *testing.T, keep int) backupWorld {
	t.Helper()
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	img, dig := version(1)
	eng.AddImage(img, "registry.test/app@"+dig)
	eng.Tag(ref, img)
	eng.Run(idA, "a", ref, img)
	db, tog, hist := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	bk := services.NewBackups(db, keep, quiet)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Backups: bk})
	t.Cleanup(upd.Close)
	if err := ctr.RefreshHost(t.Context(), models.LocalHost); err != nil {
		t.Fatal(err)
	}
	return backupWorld{eng: eng, ctr: ctr, upd: upd, bk: bk, hst: hist}
}

// updateTo publishes version v and updates "a" onto it.
func (w backupWorld) updateTo(t *testing.T, v int) {
	t.Helper()
	img, dig := version(v)
	w.eng.Publish(ref, img, dig)
	if _, err := w.upd.StartContainer("a", "alice"); err != nil {
		t.Fatal(err)
	}
	if p := waitEnded(t, w.upd, "a"); p.Phase != models.PhaseDone {
		t.Fatalf("update to v%d: %+v", v, p)
	}
	w.mustRun(t, v)
}

func (w backupWorld) mustRun(t *testing.T, v int) models.Container {
	t.Helper()
	c, ok := w.eng.Container("a")
	img, _ := version(v)
	if !ok || c.ImageID != img || c.ConfiguredImage != ref {
		t.Fatalf("a = %+v, want %s on v%d (%s)", c.Container, ref, v, img)
	}
	return c.Container
}

func (w backupWorld) list(t *testing.T) []models.Backup {
	t.Helper()
	bks, err := w.upd.Backups(local("a"))
	if err != nil {
		t.Fatal(err)
	}
	return bks
}

func versions(bks []models.Backup) string {
	var s []string
	for _, b := range bks {
		for v := 1; v < 10; v++ {
			if img, _ := version(v); img == b.ImageID {
				s = append(s, fmt.Sprintf("v%d", v))
			}
		}
	}
	return strings.Join(s, ",")
}

func TestBackupKeepTwoPrunesTheThird(t *testing.T) {
	w := newBackupWorld(t, 2)
	w.updateTo(t, 2)
	first := w.list(t)
	if len(first) != 1 {
		t.Fatalf("backups after one update = %+v, want one of v1", first)
	}
	b := first[0]
	_, dig1 := version(1)
	if b.ImageName != "registry.test/app" || b.ImageTag != "1" || b.ImageDigest != dig1 || b.ContainerID != idA ||
		!strings.HasPrefix(b.BackupRef, "refit-backup/local/a:") || !strings.HasSuffix(b.BackupRef, "-"+b.ID) {
		t.Errorf("backup = %+v", b)
	}
	w.updateTo(t, 3)
	w.updateTo(t, 4)
	if got := versions(w.list(t)); got != "v3,v2" {
		t.Errorf("backups = %s, want v3,v2 (newest first, v1 pruned)", got)
	}
	if _, err := w.eng.Image(t.Context(), b.BackupRef); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("pruned tag %s: %v, want gone", b.BackupRef, err)
	}
	if _, err := w.eng.Image(t.Context(), b.ImageID); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("v1 image, used by nothing: %v, want removed", err)
	}
}

func TestBackupsFollowTheContainerThroughRecreates(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	c2 := w.mustRun(t, 2)
	w.updateTo(t, 3)
	bks := w.list(t)
	if got := versions(bks); got != "v2,v1" {
		t.Fatalf("backups = %s, want v2,v1", got)
	}
	if bks[0].ContainerID != c2.ID || bks[1].ContainerID != idA || c2.ID == idA {
		t.Errorf("backup container IDs %s, %s; want %s (v2's container), %s (the first)", bks[0].ContainerID, bks[1].ContainerID, c2.ID, idA)
	}
}

func TestRollbackOntoTheNewestBackup(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	p, err := w.upd.Rollback(local("a"), "", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Running() || !strings.HasPrefix(p.Status, "rolling back to refit-backup/local/a:") {
		t.Errorf("first progress = %+v", p)
	}
	if end := waitEnded(t, w.upd, "a"); end.Phase != models.PhaseDone {
		t.Fatalf("rollback ended %+v", end)
	}
	w.mustRun(t, 1) // and still configured as ref: the tag moved back to v1
	if img, err := w.eng.Image(t.Context(), ref); err != nil || img.ID != w.mustRun(t, 1).ImageID {
		t.Errorf("tag %s = %+v, %v; want v1", ref, img, err)
	}
	if got := versions(w.list(t)); got != "v2,v1" {
		t.Errorf("backups after rollback = %s, want v2 (taken before it), v1", got)
	}
	recs, _ := w.hst.Recent(1)
	_, dig1 := version(1)
	if len(recs) != 1 || recs[0].Result != "restored" || recs[0].By != "bob" || recs[0].ToDigest != dig1 {
		t.Errorf("history = %+v", recs)
	}
}

func TestRollbackOntoANamedBackup(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	w.updateTo(t, 3)
	bks := w.list(t)
	if _, err := w.upd.Rollback(local("a"), "nope", "bob"); !errors.Is(err, models.ErrBackupNotFound) {
		t.Errorf("Rollback(nope) = %v, want ErrBackupNotFound", err)
	}
	if _, err := w.upd.Rollback(local("a"), bks[1].ID, "bob"); err != nil { // v1
		t.Fatal(err)
	}
	if _, err := w.upd.Rollback(local("a"), bks[0].ID, "bob"); !errors.Is(err, models.ErrBeingUpdated) {
		t.Errorf("second Rollback while one runs = %v, want ErrBeingUpdated", err)
	}
	if end := waitEnded(t, w.upd, "a"); end.Phase != models.PhaseDone {
		t.Fatalf("rollback ended %+v", end)
	}
	w.mustRun(t, 1)
}

func TestRollbackThatFailsRollsBackAndMovesTheTagBack(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	w.eng.FailStep("a", models.StepStarting, errors.New("port is already allocated"))
	if _, err := w.upd.Rollback(local("a"), "", "bob"); err != nil {
		t.Fatal(err)
	}
	end := waitEnded(t, w.upd, "a")
	if end.Phase != models.PhaseFailed || !end.RolledBack {
		t.Fatalf("rollback ended %+v, want failed and rolled back", end)
	}
	v2 := w.mustRun(t, 2)
	if img, err := w.eng.Image(t.Context(), ref); err != nil || img.ID != v2.ImageID {
		t.Errorf("tag %s = %+v, %v; want v2 again", ref, img, err)
	}
}
