package services_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// realUpdater is the whole update path over the real engine and a loopback
// registry: the checker, the update engine, history in a real SQLite file.
type realUpdater struct {
	realChecker
	eng  *dockerengine.Engine
	upd  *services.Updates
	hist *services.History
}

func newRealUpdater(t *testing.T, hook func(container, step string) error) realUpdater {
	t.Helper()
	eng := mustRealEngine(t)
	reg := ocitest.NewRegistry(t)
	oc := mustOCI(t, oci.Options{})
	_, tog, hist := mustStore(t)
	ctr := services.NewContainers(eng, oc, tog, quiet, 8)
	upd := services.NewUpdates(oc, ctr, hist, quiet, services.UpdateOptions{
		Settle: 500 * time.Millisecond, HealthTimeout: 20 * time.Second, Hook: hook,
	})
	t.Cleanup(upd.Close)
	return realUpdater{realChecker: realChecker{reg: reg, ctr: ctr, oci: oc, calls: &ownRequests{n: map[string]int{}}}, eng: eng, upd: upd, hist: hist}
}

// waitDone polls a container's progress until it ends, keeping every
// snapshot seen.
func (ru realUpdater) waitDone(t *testing.T, name string, timeout time.Duration) (models.Progress, []models.Progress) {
	t.Helper()
	var seen []models.Progress
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := ru.upd.Progress(local(name))
		if err == nil {
			seen = append(seen, p)
			if !p.Running() {
				return p, seen
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("update of %s did not end within %s; last %+v", name, timeout, seen[len(seen)-1])
	return models.Progress{}, nil
}

func TestUpdateShowsProgressAndEndsUpToDate(t *testing.T) {
	ru := newRealUpdater(t, nil)
	cli := dockertest.Client(t)
	ru.reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v1", Labels: map[string]string{models.LabelVersion: "1.0.0"}})
	dockertest.Pull(t, cli, ru.reg.Ref("test/app:1"))
	name := dockertest.UniqueName(t, "upd")
	oldID := dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ru.reg.Ref("test/app:1")})
	dockertest.RemoveAtCleanup(t, cli, name) // by name: the update replaces the ID
	v2 := ru.reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v2", ExtraLayerSize: 3 << 20,
		Labels: map[string]string{models.LabelVersion: "1.0.1"}})
	if g := ru.check(t)["test/app:1"]; g.Status != models.StatusOutdated {
		t.Fatalf("before: %s, want outdated", g.Status)
	}

	ru.reg.SetBlobRate(2 << 20) // about 1.5 s for the big layer: progress is seen mid-pull
	first, err := ru.upd.StartContainer(name, "test")
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "connecting" {
		t.Errorf("first status = %q, want connecting", first.Status)
	}
	again, err := ru.upd.StartContainer(models.ShortID(oldID), "test")
	if err != nil || !again.StartedAt.Equal(first.StartedAt) {
		t.Errorf("a second start while running = %+v, %v; want the same job", again, err)
	}
	end, seen := ru.waitDone(t, name, 60*time.Second)
	if end.Phase != models.PhaseDone || end.Status != "done" {
		t.Fatalf("end = %+v, want done", end)
	}
	var midPull, recreating bool
	for _, p := range seen {
		if (p.Status == "Downloading" || p.Status == "Extracting") && p.Percent > 0 && p.Percent < 100 && len(p.Layer) == 12 && p.Total > 0 {
			midPull = true
		}
		recreating = recreating || p.Status == "recreating"
	}
	if !midPull || !recreating {
		t.Errorf("saw mid-pull %v, recreating %v in %d snapshots", midPull, recreating, len(seen))
	}
	g := ru.mine(ru.ctr.Groups())["test/app:1"] // no new check: the update refreshed the snapshot
	if g.Status != models.StatusUpToDate || g.Containers[0].LocalDigest != models.ShortDigest(v2) {
		t.Errorf("after: %+v, want uptodate on %s", g, models.ShortDigest(v2))
	}
	if g.Containers[0].FullID == oldID {
		t.Error("container ID unchanged; want a recreated container")
	}
	recs, err := ru.hist.Recent(10)
	if err != nil || len(recs) != 1 || recs[0].Result != "updated" || recs[0].ToDigest != v2 || recs[0].By != "test" {
		t.Errorf("history = %+v, %v", recs, err)
	} else if recs[0].FromVersion != "1.0.0" || recs[0].ToVersion != "1.0.1" {
		t.Errorf("history versions = %q → %q, want the images' labels 1.0.0 → 1.0.1", recs[0].FromVersion, recs[0].ToVersion)
	}
}

func TestGroupUpdatePullsOnceAndUpdatesOnlyOutdated(t *testing.T) {
	ru := newRealUpdater(t, nil)
	cli := dockertest.Client(t)
	ru.reg.Push(t, "test/grp:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ru.reg.Ref("test/grp:1"))
	var names []string
	for i := 0; i < 3; i++ {
		n := dockertest.UniqueName(t, "grp")
		dockertest.Run(t, cli, dockertest.RunOpts{Name: n, Image: ru.reg.Ref("test/grp:1")})
		dockertest.RemoveAtCleanup(t, cli, n) // by name: the update replaces the ID
		names = append(names, n)
	}
	ru.reg.Push(t, "test/grp:1", ocitest.ImageOpts{Marker: "v2", ExtraLayerSize: 1 << 20})
	ru.check(t)
	ru.reg.Reset()
	if updating, err := ru.upd.StartGroup(ru.reg.Ref("test/grp:1"), "test"); err != nil || !updating {
		t.Fatal(err)
	}
	for _, n := range names {
		if p, _ := ru.waitDone(t, n, 60*time.Second); p.Phase != models.PhaseDone {
			t.Errorf("%s ended %+v", n, p)
		}
	}
	g := ru.mine(ru.ctr.Groups())["test/grp:1"]
	if g.Status != models.StatusUpToDate || len(g.Containers) != 3 {
		t.Errorf("group after = %s with %d containers, want uptodate with 3", g.Status, len(g.Containers))
	}
	c := ru.reg.Counts()
	if c.GetManifest == 0 || c.GetBlob == 0 {
		t.Fatalf("counts %+v: the pull did not reach the registry", c)
	}
	// Each blob of the new version was fetched at most once for the three containers.
	if c.GetBlob > 3 { // config + marker layer + extra layer; the testapp layer already exists locally
		t.Errorf("registry served %d blob GETs for a group of 3, want each layer once (≤ 3)", c.GetBlob)
	}
}

func TestRollbackWhenNewVersionExits(t *testing.T) {
	ru := newRealUpdater(t, nil)
	cli := dockertest.Client(t)
	ru.reg.Push(t, "test/bad:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ru.reg.Ref("test/bad:1"))
	name := dockertest.UniqueName(t, "bad")
	oldID := dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ru.reg.Ref("test/bad:1")})
	dockertest.RemoveAtCleanup(t, cli, name) // by name: the update replaces the ID
	ru.reg.Push(t, "test/bad:1", ocitest.ImageOpts{Marker: "v2", Env: []string{"TESTAPP_EXIT=3"}})
	ru.check(t)
	if _, err := ru.upd.StartContainer(name, "test"); err != nil {
		t.Fatal(err)
	}
	end, _ := ru.waitDone(t, name, 60*time.Second)
	if end.Phase != models.PhaseFailed || len(end.Status) < 7 || end.Status[:7] != "error: " {
		t.Fatalf("end = %+v, want error: … (rolled back)", end)
	}
	ins := dockertest.Inspect(t, cli, name)
	if ins.ID != oldID || !ins.State.Running {
		t.Errorf("after rollback %s is %s running=%v, want the old %s running", name, ins.ID, ins.State.Running, oldID)
	}
	recs, _ := ru.hist.Recent(1)
	if len(recs) != 1 || recs[0].Result != "rolled back" {
		t.Errorf("history = %+v, want rolled back", recs)
	}
}

func TestKilledHalfWayIsRecoveredOnStart(t *testing.T) {
	// The hook freezes the update right after the old container was stopped
	// and the new one created: the worst moment for refit to die.
	frozen, reached := make(chan struct{}), make(chan struct{}, 1)
	ru := newRealUpdater(t, func(container, step string) error {
		if step == "stopping" {
			reached <- struct{}{}
			<-frozen
			return errors.New("killed")
		}
		return nil
	})
	t.Cleanup(func() { close(frozen) }) // runs before the updater's Close
	cli := dockertest.Client(t)
	ru.reg.Push(t, "test/kill:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ru.reg.Ref("test/kill:1"))
	name := dockertest.UniqueName(t, "kill")
	oldID := dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ru.reg.Ref("test/kill:1")})
	dockertest.RemoveAtCleanup(t, cli, name) // by name: the update replaces the ID
	ru.reg.Push(t, "test/kill:1", ocitest.ImageOpts{Marker: "v2"})
	ru.check(t)
	if _, err := ru.upd.StartContainer(name, "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the update never reached the stop step")
	}
	if ins := dockertest.Inspect(t, cli, oldID); ins.State.Running {
		t.Fatal("the old container still runs at the freeze point; the test would prove nothing")
	}

	// The next start of refit: a fresh adapter finds the half-done update.
	eng2, err := dockerengine.New(dockerengine.Options{Host: dockertest.Host(t), RecoverScope: dockertest.Owned(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng2.Close()
	recs, err := eng2.Recover(context.Background(), models.RecoverOptions{Settle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Container != name || recs[0].Action != "restored" {
		t.Errorf("Recover() = %+v, want %s restored", recs, name)
	}
	ins := dockertest.Inspect(t, cli, name)
	if ins.ID != oldID || !ins.State.Running {
		t.Errorf("after recovery %s is %s running=%v, want the old %s running", name, ins.ID, ins.State.Running, oldID)
	}
}
