package services_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

// backupWorld is one container "a" of ref on version 1, with backups kept
// keep per container.
type backupWorld struct {
	eng *fake.Engine
	reg *fake.Registry
	db  *gorm.DB
	pol *services.Policies
	tog *services.Toggles
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
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Backups: bk, Policies: pol})
	t.Cleanup(upd.Close)
	if err := ctr.RefreshHost(t.Context(), models.LocalHost); err != nil {
		t.Fatal(err)
	}
	return backupWorld{eng: eng, reg: reg, db: db, pol: pol, tog: tog, ctr: ctr, upd: upd, bk: bk, hst: hist}
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

// rollbackOffered rolls "a" back onto its newest backup after a check that
// found the registry offering digest.
func (w backupWorld) rollbackOffered(t *testing.T, digest string) {
	t.Helper()
	w.reg.Set(ref, digest)
	if _, err := w.ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.upd.Rollback(local("a"), "", "bob"); err != nil {
		t.Fatal(err)
	}
	if end := waitEnded(t, w.upd, "a"); end.Phase != models.PhaseDone {
		t.Fatalf("rollback ended %+v", end)
	}
}

func TestRollbackSkipsTheVersionItLeft(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	_, dig2 := version(2)
	w.rollbackOffered(t, dig2) // what the registry offers is what it ran
	w.mustRun(t, 1)
	if !w.pol.Holds(local("a"), models.Candidate{Digest: dig2}) {
		t.Errorf("policy after the rollback = %+v; want v2's digest skipped, so auto-update does not bring it back", w.pol.Get(local("a")))
	}
	_, dig3 := version(3)
	if w.pol.Holds(local("a"), models.Candidate{Digest: dig3}) {
		t.Error("a newer digest is held too; it is a new candidate")
	}
}

func TestRollbackSkipsNothingWhenTheRegistryMovedOn(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	_, dig3 := version(3)
	w.rollbackOffered(t, dig3) // a v3 it never ran: the user did not refuse it
	if pol := w.pol.Get(local("a")); !pol.Empty() {
		t.Errorf("policy = %+v, want none", pol)
	}
}

// A crash between the tag move and the rollback's end leaves a TagMove row;
// recovery moves the tag back unless the container runs the backup.
func TestRecoveryMovesAnInterruptedRollbacksTagBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runs    int // the version the container was left running
		wantTag int
	}{
		{"restored", 2, 2},
		{"finished", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newBackupWorld(t, 3)
			w.updateTo(t, 2)
			img1, _ := version(1)
			img2, _ := version(2)
			if tc.runs == 1 {
				if _, err := w.upd.Rollback(local("a"), "", "bob"); err != nil {
					t.Fatal(err)
				}
				waitEnded(t, w.upd, "a")
			}
			// What the dead process left: the row, and the tag on the backup.
			if err := w.db.Create(&models.TagMove{Host: models.LocalHost, Name: "a", Tag: ref, PrevImageID: img2, ToImageID: img1}).Error; err != nil {
				t.Fatal(err)
			}
			w.eng.Tag(ref, img1)
			if _, err := w.upd.Recover(t.Context(), models.LocalHost); err != nil {
				t.Fatal(err)
			}
			w.mustRun(t, tc.runs)
			want, _ := version(tc.wantTag)
			if img, err := w.eng.Image(t.Context(), ref); err != nil || img.ID != want {
				t.Errorf("tag %s = %s, %v; want v%d", ref, img.ID, err, tc.wantTag)
			}
			var left int64
			w.db.Model(&models.TagMove{}).Count(&left)
			if left != 0 {
				t.Errorf("%d tag moves left after recovery", left)
			}
		})
	}
}

// Deleting a container through refit forgets its backups: rows, tags, and
// the images nothing else holds (their tags kept every prune away).
func TestDeletingAContainerForgetsItsBackups(t *testing.T) {
	w := newBackupWorld(t, 3)
	w.updateTo(t, 2)
	bks := w.list(t)
	if len(bks) != 1 {
		t.Fatalf("backups = %+v, want one", bks)
	}
	if bks[0].TriggerName != "docker.local" {
		t.Errorf("triggerName = %q, want docker.local", bks[0].TriggerName)
	}
	cat := services.NewCatalog(w.ctr, w.pol, w.tog, w.upd)
	if err := cat.Remove(t.Context(), "a", false); err != nil {
		t.Fatal(err)
	}
	if got := w.list(t); len(got) != 0 {
		t.Errorf("backups after the delete = %+v, want none", got)
	}
	if _, err := w.eng.Image(t.Context(), bks[0].BackupRef); err == nil {
		t.Errorf("backup tag %s survives the delete", bks[0].BackupRef)
	}
}
