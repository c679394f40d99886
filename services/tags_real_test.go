package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// A container pinned to 1.2.3 with a tag rule, on a real engine, against a
// real registry holding 1,500+ tags (pages of 100): the check lists the
// repository's tags once, HEADs its tag and the chosen one, GETs no
// manifest and no blob, and offers 1.3.0 (not 2.0.0, a major bump, nor
// the pre-release, the other family or the non-versions). An auto-update
// cycle, once the minimum age has passed inside the window, moves it onto
// 1.3.0 with its volume's data.
func TestTagTrackingOnARealEngine(t *testing.T) {
	eng := mustRealEngine(t)
	cli := dockertest.Client(t)
	reg := ocitest.NewRegistry(t)
	oc := mustOCI(t, oci.Options{})
	db, tog, hist := mustStore(t)
	clk := &clock{t: time.Now()}
	cands, err := services.NewCandidates(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctr := services.NewContainers(eng, oc, tog, quiet, 8)
	upd := services.NewUpdates(oc, ctr, hist, quiet, services.UpdateOptions{
		Settle: 500 * time.Millisecond, HealthTimeout: 20 * time.Second,
		MinAge: 24 * time.Hour, Candidates: cands, Window: func(time.Time) bool { return true },
	})
	t.Cleanup(upd.Close)
	ctx := t.Context()

	repo := "test/tags-" + dockertest.UniqueName(t, "r")
	reg.Push(t, repo+":1.2.3", ocitest.ImageOpts{Marker: "tags v1.2.3 " + reg.Host()})
	reg.Push(t, repo+":1.3.0", ocitest.ImageOpts{Marker: "tags v1.3.0 " + reg.Host(),
		Env: []string{"TESTAPP_WRITE=/data/from-130=written by 1.3.0"}})
	noise := []string{"2.0.0", "1.4.0-rc1", "1.3.5-alpine", "latest", "stable", "sha-0a1b2c3"}
	for i := range 1500 {
		noise = append(noise, fmt.Sprintf("1.%d.%d", i/100%3, 100+i)) // 1.0.100…1.2.1599: below 1.3.0
	}
	reg.Tag(t, repo+":1.2.3", noise...)
	ref123, ref130 := reg.Ref(repo+":1.2.3"), reg.Ref(repo+":1.3.0")
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli.ImageRemove(c, ref130, image.RemoveOptions{PruneChildren: true})
	})

	name := dockertest.UniqueName(t, "tags")
	vol := name + "-data"
	t.Cleanup(func() { cli.VolumeRemove(context.Background(), vol, true) })
	dockertest.Pull(t, cli, ref123)
	dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ref123, Binds: []string{vol + ":/data"},
		Labels: map[string]string{"refit.tag.include": `^\d+\.\d+\.\d+$`, "refit.tag.bump": "minor"}})
	dockertest.RemoveAtCleanup(t, cli, name)
	if err := tog.Set(local(name), true); err != nil {
		t.Fatal(err)
	}

	reg.Reset()
	groups, err := ctr.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := reg.Counts()
	pages := (len(noise)+2)/ocitest.TagPageSize + 1
	if n.TagList != pages || n.HeadManifest != 2 || n.GetManifest != 0 || n.GetBlob != 0 || n.HeadBlob != 0 {
		t.Errorf("the check's requests = %+v; want %d tag-list pages, 2 manifest HEADs, no manifest or blob GET", n, pages)
	}
	it, _, err := ctr.FindRef(local(name))
	if err != nil || it.NewerTag != "1.3.0" || it.NewerDigest == "" {
		t.Fatalf("item = %+v, %v; want 1.3.0 offered with its digest", it, err)
	}

	upd.AutoUpdate(groups) // seen now: held for a day
	if _, err := upd.Progress(local(name)); err == nil {
		t.Fatal("auto-update moved a candidate younger than its minimum age")
	}
	clk.Add(25 * time.Hour)
	upd.AutoUpdate(ctr.Groups())
	p, err := upd.Wait(ctx, local(name), 2*time.Minute)
	if err != nil || p.Phase != models.PhaseDone {
		t.Fatalf("auto-update onto 1.3.0 = %+v, %v", p, err)
	}
	c := dockertest.Inspect(t, cli, name)
	if c.Config.Image != ref130 || !c.State.Running {
		t.Errorf("after the move %s runs %q (running %v), want %q", name, c.Config.Image, c.State.Running, ref130)
	}
	if got := dockertest.Exec(t, cli, c.ID, "/testapp", "cat", "/data/from-130"); got != "written by 1.3.0" {
		t.Errorf("the volume after the move = %q", got)
	}
	recs, _ := hist.Recent(1)
	if len(recs) != 1 || recs[0].By != "auto" || recs[0].Result != "updated" || recs[0].FromImage == "" {
		t.Errorf("history = %+v", recs)
	}
	if it, g, err := ctr.FindRef(local(name)); err != nil || g.Image != reg.Ref(repo+":1.3.0") || it.NewerTag != "" {
		t.Errorf("after the move: group %q, newer tag %q, %v", g.Image, it.NewerTag, err)
	}
}
