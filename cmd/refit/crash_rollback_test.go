package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
	"refit/services/shoutrrr/shoutrrrtest"
)

// A rollback points the container's tag at the backup's image before its
// recreate. refit killed with -9 during that recreate's stop must leave,
// after recovery, the name running with its data and the tag naming the
// image the container runs: a tag left on the backup would make the next
// `docker compose up` (or refit's own check) run another version than the
// one recovery kept. The fresh refit says so in a failed notification.
func TestKillDuringRollbackMovesTheTagBack(t *testing.T) {
	dockertest.Host(t)
	eng, cli := newPrivateEngine(t)
	ctx := t.Context()
	refit := buildRefit(t)
	reg := ocitest.NewRegistry(t)

	name := "crash-rollback"
	ref := reg.Ref("crash/" + name + ":1")
	reg.Push(t, "crash/"+name+":1", ocitest.ImageOpts{Env: []string{"TESTAPP_WRITE=/data/f=v1data"}, Volumes: []string{"/data"}, Marker: "v1 " + name})
	crashPull(t, cli, ref)
	v1, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "crash/"+name+":1", ocitest.ImageOpts{Volumes: []string{"/data"}, Marker: "v2 " + name})
	runSlowStopper(t, cli, eng, ref, name)

	dir := t.TempDir()
	db := filepath.Join(dir, "refit.db")
	a := startRefitChild(t, refit, dir, db, eng.host, crashSettle)
	jr := openJournalReader(t, db)
	startUpdate(t, a, name)
	var v2ID string
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if cur, ok := recovered(ctx, cli, jr, t, name); ok && cur.Image != v1.ID {
			v2ID = cur.Image
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the update to v2 did not end\nrefit log:\n%s", a.logs.String())
		}
	}

	// The rollback answers once it is done, which it never is: its answer is
	// not waited for.
	go func() {
		resp, err := (&http.Client{Timeout: time.Minute}).Post(a.base+"/api/containers/"+name+"/rollback", "application/json", bytes.NewReader([]byte("{}")))
		if err == nil {
			resp.Body.Close()
		}
	}()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if rows := jr.rows(t); len(rows) > 0 && stepRank(rows[0]) >= stepRank(models.RecreateState{Step: models.StepStopping}) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the rollback's recreate never reached %q\nrefit log:\n%s", models.StepStopping, a.logs.String())
		}
	}
	time.Sleep(time.Second) // inside the 3-second stop
	a.kill()
	if img, err := cli.ImageInspect(ctx, ref); err != nil || img.ID != v1.ID {
		t.Fatalf("at the kill the tag names %s (%v), want the backup's image %s: the test no longer tests the move", img.ID, err, v1.ID)
	}

	// The fresh refit tells of the interrupted rollback as a failed event.
	hook := shoutrrrtest.NewWebhook(t)
	b := startRefitChild(t, refit, dir, db, eng.host, crashSettle, "REFIT_NOTIFY=hook=generic+http://"+hook.Addr+"/hook?template=json#failed")
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nengine: %s\nrefit log (the first process):\n%s\nrefit log (the fresh one):\n%s",
			append(args, engineState(ctx, cli), a.logs.String(), b.logs.String())...)
	}
	var cur container.InspectResponse
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var ok bool
		if cur, ok = recovered(ctx, cli, jr, t, name); ok {
			break
		}
		if time.Now().After(end) {
			fail("%s does not run alone within 30s", name)
		}
	}
	if got := dockertest.Exec(t, cli, cur.ID, "/testapp", "cat", "/data/f"); got != "v1data" {
		fail("/data/f reads %q, want v1data", got)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		img, err := cli.ImageInspect(ctx, ref)
		var left int64
		jr.db.Model(&models.TagMove{}).Count(&left)
		if err == nil && img.ID == cur.Image && left == 0 {
			break
		}
		if time.Now().After(end) {
			fail("tag %s names %s (%v), the container runs %s (v1 %s, v2 %s); %d tag moves journalled", ref, img.ID, err, cur.Image, v1.ID, v2ID, left)
		}
	}
	want := map[bool]string{true: "restored by recovery", false: "finished by recovery"}[cur.Image == v2ID]
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if got := hookMessages(t, hook); len(got) > 0 {
			if len(got) != 1 || got[0].Title != "refit: interrupted update of "+name+" "+want {
				fail("messages after recovery = %+v, want one: interrupted update of %s %s", got, name, want)
			}
			break
		}
		if time.Now().After(end) {
			fail("no failed message within 30s of the recovery")
		}
	}
	version := map[bool]string{true: "v2 (recovery restored the old container)", false: "v1 (recovery kept the rollback)"}[cur.Image == v2ID]
	t.Logf("after the kill: %s runs %s, and the tag names it", name, version)
}
