package services_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// A container with a named volume goes v1 → v2 (v2 writes into the
// volume), is rolled back onto v1's backup and runs v1's digest again with
// the volume's data; the backup tags survive a dangling prune, and a
// backup beyond keep loses its tag and its unused image.
func TestRollbackOnARealEngineBringsBackV1WithTheVolumesData(t *testing.T) {
	eng := mustRealEngine(t)
	cli := dockertest.Client(t)
	reg := ocitest.NewRegistry(t)
	oc := mustOCI(t, oci.Options{})
	db, tog, hist := mustStore(t)
	ctr := services.NewContainers(eng, oc, tog, quiet, 8)
	bk := services.NewBackups(db, 2, quiet)
	upd := services.NewUpdates(oc, ctr, hist, quiet, services.UpdateOptions{
		Settle: 500 * time.Millisecond, HealthTimeout: 20 * time.Second, Backups: bk,
	})
	t.Cleanup(upd.Close)
	ctx := t.Context()
	appRef := reg.Ref("test/bk:1")
	name := dockertest.UniqueName(t, "bk")
	ref := local(name)
	t.Cleanup(func() { // the backup tags: outside the registry's references
		bks, _ := bk.List(ref)
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, b := range bks {
			cli.ImageRemove(c, b.BackupRef, image.RemoveOptions{})
		}
	})
	vol := name + "-data"
	t.Cleanup(func() { cli.VolumeRemove(context.Background(), vol, true) })

	d1 := reg.Push(t, "test/bk:1", ocitest.ImageOpts{Marker: "bk v1 " + reg.Host()})
	dockertest.Pull(t, cli, appRef)
	dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: appRef, Binds: []string{vol + ":/data"}})
	dockertest.RemoveAtCleanup(t, cli, name)
	v1 := imageIDOf(t, eng, appRef)

	update := func(v string) string {
		t.Helper()
		d := reg.Push(t, "test/bk:1", ocitest.ImageOpts{Marker: "bk " + v + " " + reg.Host(),
			Env: []string{"TESTAPP_WRITE=/data/from-" + v + "=written by " + v}})
		if _, err := ctr.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := upd.StartContainer(name, "test"); err != nil {
			t.Fatal(err)
		}
		if p, _ := upd.Wait(ctx, ref, 2*time.Minute); p.Phase != models.PhaseDone {
			t.Fatalf("update to %s: %+v", v, p)
		}
		return d
	}
	d2 := update("v2")
	v2 := imageIDOf(t, eng, appRef)
	bks, err := upd.Backups(ref)
	if err != nil || len(bks) != 1 || bks[0].ImageID != v1 || bks[0].ImageDigest != d1 ||
		bks[0].ImageName != reg.Host()+"/test/bk" || bks[0].ImageTag != "1" {
		t.Fatalf("backups after v1 → v2 = %+v, %v; want one of v1 (%s)", bks, err, d1)
	}
	if got := imageIDOf(t, eng, bks[0].BackupRef); got != v1 {
		t.Fatalf("backup tag %s names %s, want v1 %s", bks[0].BackupRef, got, v1)
	}

	if _, err := upd.Rollback(ref, "", "alice"); err != nil {
		t.Fatal(err)
	}
	if p, _ := upd.Wait(ctx, ref, 2*time.Minute); p.Phase != models.PhaseDone {
		t.Fatalf("rollback: %+v", p)
	}
	c := dockertest.Inspect(t, cli, name)
	if c.Image != v1 || c.Config.Image != appRef || !c.State.Running {
		t.Errorf("after rollback %s runs %s from %q (running %v); want v1 %s from %q", name, c.Image, c.Config.Image, c.State.Running, v1, appRef)
	}
	if img, _ := eng.Image(ctx, c.Image); !slicesHasSuffix(img.RepoDigests, "@"+d1) {
		t.Errorf("rolled-back image has RepoDigests %v, want @%s", img.RepoDigests, d1)
	}
	if got := dockertest.Exec(t, cli, c.ID, "/testapp", "cat", "/data/from-v2"); got != "written by v2" {
		t.Errorf("volume file written by v2 = %q after the rollback, want it kept", got)
	}
	recs, _ := hist.Recent(1)
	if len(recs) != 1 || recs[0].Result != "restored" || recs[0].By != "alice" || recs[0].ToDigest != d1 || recs[0].FromDigest != d2 {
		t.Errorf("history = %+v", recs)
	}

	// Both backups (v1, and v2 taken before the rollback) are tagged: a
	// dangling prune leaves them.
	if _, err := cli.ImagesPrune(ctx, filters.NewArgs(filters.Arg("dangling", "true"))); err != nil {
		t.Fatal(err)
	}
	bks, _ = upd.Backups(ref)
	if len(bks) != 2 || bks[0].ImageID != v2 || bks[1].ImageID != v1 {
		t.Fatalf("backups after the rollback = %+v, want v2, v1", bks)
	}
	for _, b := range bks {
		if _, err := eng.Image(ctx, b.BackupRef); err != nil {
			t.Errorf("backup %s after docker image prune: %v", b.BackupRef, err)
		}
	}
	v2Tag := bks[0].BackupRef

	// v1 → v3 backs up v1 again (restamped, no second tag): [v1, v2]; v3 →
	// v4 backs up v3 and pushes v2 beyond keep 2: its tag and its image go.
	update("v3")
	update("v4")
	bks, _ = upd.Backups(ref)
	if len(bks) != 2 || bks[1].ImageID != v1 {
		t.Fatalf("backups after v3 and v4 = %+v, want v3, v1", bks)
	}
	if _, err := eng.Image(ctx, v2Tag); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("tag %s beyond keep: %v, want removed", v2Tag, err)
	}
	if _, err := eng.Image(ctx, v2); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("image v2 %s, beyond keep and used by nothing: %v, want removed", v2, err)
	}
}

func imageIDOf(t *testing.T, e interface {
	Image(context.Context, string) (models.ImageInfo, error)
}, ref string) string {
	t.Helper()
	img, err := e.Image(t.Context(), ref)
	if err != nil {
		t.Fatalf("image %s: %v", ref, err)
	}
	return img.ID
}

func slicesHasSuffix(xs []string, suffix string) bool {
	for _, x := range xs {
		if strings.HasSuffix(x, suffix) {
			return true
		}
	}
	return false
}
