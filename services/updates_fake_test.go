package services_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

const (
	ref    = "registry.test/app:1"
	oldImg = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	newImg = "sha256:0000000000000000000000000000000000000000000000000000000000000002"
	oldDig = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	newDig = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	idA    = "a000000000000000000000000000000000000000000000000000000000000000"
	idB    = "b000000000000000000000000000000000000000000000000000000000000000"
	idC    = "c000000000000000000000000000000000000000000000000000000000000000"
)

type fakeWorld struct {
	eng  *fake.Engine
	reg  *fake.Registry
	ctr  *services.Containers
	tog  *services.Toggles
	upd  *services.Updates
	hist *services.History
}

type anon struct{}

func (anon) Auth(context.Context, string) (models.RegistryAuth, error) {
	return models.RegistryAuth{}, nil
}

// newFakeWorld runs three containers of ref on the old image while the
// registry already has the new one: all three are outdated.
func newFakeWorld(t *testing.T) fakeWorld {
	t.Helper()
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	for _, c := range []struct{ id, name string }{{idA, "a"}, {idB, "b"}, {idC, "c"}} {
		eng.Run(c.id, c.name, ref, oldImg)
	}
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	_, tog, hist := mustStore(t)
	log := quiet
	ctr := services.NewContainers(eng, reg, tog, log, 4)
	upd := services.NewUpdates(eng, anon{}, ctr, hist, log, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fakeWorld{eng: eng, reg: reg, ctr: ctr, tog: tog, upd: upd, hist: hist}
}

func (w fakeWorld) wait(t *testing.T, name string) models.Progress {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p, err := w.upd.Progress(name); err == nil && !p.Running() {
			return p
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("update of %s did not end", name)
	return models.Progress{}
}

func TestNoProgressBeforeAnyUpdate(t *testing.T) {
	w := newFakeWorld(t)
	if _, err := w.upd.Progress("a"); !errors.Is(err, models.ErrNoProgress) {
		t.Errorf("Progress() = %v, want ErrNoProgress", err)
	}
	if _, err := w.upd.StartContainer("nope", "test"); !errors.Is(err, models.ErrContainerNotFound) {
		t.Errorf("StartContainer(nope) = %v, want ErrContainerNotFound", err)
	}
	if err := w.upd.StartGroup("registry.test/other:1", "test"); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("StartGroup(other) = %v, want ErrImageNotFound", err)
	}
}

func TestAutoUpdateTakesOnlyToggledContainersWithOnePull(t *testing.T) {
	w := newFakeWorld(t)
	w.ctr.OnCheck(w.upd.AutoUpdate)
	for _, n := range []string{"a", "c"} {
		if err := w.tog.Set(n, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "c"} {
		if p := w.wait(t, n); p.Phase != models.PhaseDone {
			t.Errorf("%s: %+v, want done", n, p)
		}
	}
	if _, err := w.upd.Progress("b"); err == nil {
		t.Error("b was updated although its toggle is off")
	}
	if n := w.eng.PullCount(ref); n != 1 {
		t.Errorf("pulled %d times, want once for the image", n)
	}
	st := map[string]models.Status{}
	for _, c := range w.ctr.Groups()[0].Containers {
		st[c.ContainerName] = c.Status
	}
	if st["a"] != models.StatusUpToDate || st["b"] != models.StatusOutdated || st["c"] != models.StatusUpToDate {
		t.Errorf("statuses after auto-update = %v", st)
	}
	recs, _ := w.hist.Recent(10)
	for _, r := range recs {
		if r.By != "auto" || r.Result != "updated" || r.FromDigest != oldDig || r.ToDigest != newDig {
			t.Errorf("history record %+v", r)
		}
	}
}

func TestFailedPullLeavesContainersAlone(t *testing.T) {
	w := newFakeWorld(t)
	w.eng.FailPull(ref, errors.New("unexpected EOF"))
	if err := w.upd.StartGroup(ref, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		p := w.wait(t, n)
		if p.Phase != models.PhaseFailed || !strings.HasPrefix(p.Status, "error: pull") {
			t.Errorf("%s: %+v, want error: pull …", n, p)
		}
	}
	if c, ok := w.eng.Container("a"); !ok || c.ID != idA || !c.Running {
		t.Errorf("a after a failed pull = %+v, want the same container running", c)
	}
	recs, _ := w.hist.Recent(10)
	if len(recs) != 3 || recs[0].Result != "failed" || recs[0].By != "alice" {
		t.Errorf("history = %+v", recs)
	}
}

func TestSimultaneousRequestsShareOnePull(t *testing.T) {
	w := newFakeWorld(t)
	// The recreates wait until every request is in: on a busy machine a's
	// update could otherwise end before the last request, which then rightly
	// starts a second one.
	gate := make(chan struct{})
	w.upd = services.NewUpdates(w.eng, anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Hook: func(string, string) error { <-gate; return nil }})
	t.Cleanup(w.upd.Close)
	if err := w.upd.StartGroup(ref, "x"); err != nil {
		t.Fatal(err)
	}
	if err := w.upd.StartGroup(ref, "x"); err != nil { // already running: starts nothing
		t.Fatal(err)
	}
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	close(gate)
	for _, n := range []string{"a", "b", "c"} {
		w.wait(t, n)
	}
	if n := w.eng.PullCount(ref); n != 1 {
		t.Errorf("pulled %d times, want 1", n)
	}
	recs, _ := w.hist.Recent(10)
	if len(recs) != 3 {
		t.Errorf("%d updates recorded, want 3 (one per container)", len(recs))
	}
}

func TestNothingNewMeansNoRestart(t *testing.T) {
	w := newFakeWorld(t)
	w.eng.Publish(ref, oldImg, oldDig) // the registry went back: the pull brings the same image
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	if p := w.wait(t, "a"); p.Phase != models.PhaseDone {
		t.Fatalf("%+v", p)
	}
	if c, _ := w.eng.Container("a"); c.ID != idA {
		t.Error("the container was recreated although the pull brought nothing new")
	}
	if recs, _ := w.hist.Recent(1); len(recs) != 1 || recs[0].Result != "uptodate" {
		t.Errorf("history = %+v, want uptodate", recs)
	}
}

func TestRollbackIsReported(t *testing.T) {
	w := newFakeWorld(t)
	w.eng.FailStep("a", "starting", errors.New("port is already allocated"))
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	p := w.wait(t, "a")
	if p.Phase != models.PhaseFailed || !strings.Contains(p.Status, "port is already allocated") || !strings.HasSuffix(p.Status, "(rolled back)") {
		t.Errorf("progress = %+v, want error: … (rolled back)", p)
	}
	if c, _ := w.eng.Container("a"); c.ID != idA || !c.Running {
		t.Errorf("a after rollback = %+v, want the old container running", c)
	}
}
