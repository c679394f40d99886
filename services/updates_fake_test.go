package services_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
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
	upd := services.NewUpdates(anon{}, ctr, hist, log, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fakeWorld{eng: eng, reg: reg, ctr: ctr, tog: tog, upd: upd, hist: hist}
}

func (w fakeWorld) wait(t *testing.T, name string) models.Progress {
	t.Helper()
	return waitEnded(t, w.upd, name)
}

func TestNoProgressBeforeAnyUpdate(t *testing.T) {
	w := newFakeWorld(t)
	if _, err := w.upd.Progress(local("a")); !errors.Is(err, models.ErrNoProgress) {
		t.Errorf("Progress() = %v, want ErrNoProgress", err)
	}
	if _, err := w.upd.StartContainer("nope", "test"); !errors.Is(err, models.ErrContainerNotFound) {
		t.Errorf("StartContainer(nope) = %v, want ErrContainerNotFound", err)
	}
	if _, err := w.upd.StartGroup("registry.test/other:1", "test"); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("StartGroup(other) = %v, want ErrImageNotFound", err)
	}
}

func TestAutoUpdateTakesOnlyToggledContainersWithOnePull(t *testing.T) {
	w := newFakeWorld(t)
	w.ctr.OnCheck(w.upd.AutoUpdate)
	for _, n := range []string{"a", "c"} {
		if err := w.tog.Set(local(n), true); err != nil {
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
	if _, err := w.upd.Progress(local("b")); err == nil {
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
	if len(recs) != 2 {
		t.Errorf("%d history records, want 2 (a and c): %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.By != "auto" || r.Result != "updated" || r.FromDigest != oldDig || r.ToDigest != newDig {
			t.Errorf("history record %+v", r)
		}
	}
}

func TestFailedPullLeavesContainersAlone(t *testing.T) {
	w := newFakeWorld(t)
	w.eng.FailPull(ref, errors.New("unexpected EOF"))
	if _, err := w.upd.StartGroup(ref, "alice"); err != nil {
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
	w.upd = services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Hook: func(string, string) error { <-gate; return nil }})
	t.Cleanup(w.upd.Close)
	if _, err := w.upd.StartGroup(ref, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.upd.StartGroup(ref, "x"); err != nil { // already running: starts nothing
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

// The ID a client started with answers for the job through the swap and
// after it; the final snapshot names the new container.
func TestOldIDFollowsTheJobToItsEnd(t *testing.T) {
	w := newFakeWorld(t)
	seen := map[models.Phase]bool{}
	gate := make(chan struct{})
	w.upd = services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Hook: func(_, step string) error {
			if step == models.StepStopping {
				<-gate // hold the job between the stop and the start: the engine lists neither container
			}
			return nil
		}})
	t.Cleanup(w.upd.Close)
	if _, err := w.upd.StartContainer(models.ShortID(idA), "x"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		it, _, err := w.ctr.Find(models.ShortID(idA))
		if err != nil {
			t.Fatalf("Find(old ID) during the update: %v", err)
		}
		p, err := w.upd.Progress(local(it.ContainerName))
		if err != nil {
			t.Fatalf("Progress during the update: %v", err)
		}
		seen[p.Phase] = true
		if p.Status == "recreating" {
			for _, g := range w.ctr.Groups() {
				for _, c := range g.Containers {
					if strings.HasSuffix(c.ContainerName, models.OldSuffix) {
						t.Errorf("the snapshot lists %s", c.ContainerName)
					}
				}
			}
			if _, _, err := w.ctr.Find("a"); err != nil {
				t.Errorf("Find(a) between stop and start: %v", err)
			}
			select {
			case <-gate:
			default:
				close(gate)
			}
		}
		if !p.Running() {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p := w.wait(t, "a")
	c, _ := w.eng.Container("a")
	if p.Phase != models.PhaseDone || c.ID == idA || p.ContainerID != models.ShortID(c.ID) {
		t.Errorf("final progress %+v, a is %s: want done naming the new container", p, c.ID)
	}
	if it, _, err := w.ctr.Find(models.ShortID(idA)); err != nil || it.FullID != c.ID {
		t.Errorf("Find(old ID) after the update = %+v, %v; want the new container", it, err)
	}
	if it, _, err := w.ctr.Find(models.ShortID(c.ID)); err != nil || it.ContainerName != "a" {
		t.Errorf("Find(new ID) = %+v, %v", it, err)
	}
}

func TestGroupWithNothingOutdatedSaysSo(t *testing.T) {
	w := newFakeWorld(t)
	w.reg.Set(ref, oldDig) // the registry went back: all three are current
	if _, err := w.ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	updating, err := w.upd.StartGroup(ref, "x")
	if err != nil || updating {
		t.Fatalf("StartGroup = %v, %v; want false (nothing outdated)", updating, err)
	}
	if w.upd.Busy() {
		t.Error("a job runs although nothing was outdated")
	}
}

// A group update that meets a running update of the same image (an
// auto-update, say) queues its containers on it instead of dropping them.
func TestGroupUpdateJoinsARunningUpdateOfTheImage(t *testing.T) {
	w := newFakeWorld(t)
	gate := make(chan struct{})
	w.upd = services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Hook: func(string, string) error { <-gate; return nil }})
	t.Cleanup(w.upd.Close)
	if _, err := w.upd.StartContainer("a", "auto"); err != nil {
		t.Fatal(err)
	}
	if updating, err := w.upd.StartGroup(ref, "alice"); err != nil || !updating {
		t.Fatalf("StartGroup = %v, %v", updating, err)
	}
	for _, n := range []string{"b", "c"} {
		if p, err := w.upd.Progress(local(n)); err != nil || !p.Running() {
			t.Errorf("%s after joining: %+v, %v; want a queued job", n, p, err)
		}
	}
	close(gate)
	for _, n := range []string{"a", "b", "c"} {
		if p := w.wait(t, n); p.Phase != models.PhaseDone {
			t.Errorf("%s ended %+v", n, p)
		}
	}
	if n := w.eng.PullCount(ref); n != 1 {
		t.Errorf("pulled %d times, want 1", n)
	}
}

// Queued containers of a group say "queued" once the pull is done, and the
// wait for the new container says what it waits for.
func TestQueuedAndSettlingStatuses(t *testing.T) {
	w := newFakeWorld(t)
	statuses := map[string][]string{}
	var mu sync.Mutex
	w.upd = services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: 10 * time.Second,
		Hook: func(name, step string) error {
			mu.Lock()
			defer mu.Unlock()
			for _, n := range []string{"a", "b", "c"} {
				if p, err := w.upd.Progress(local(n)); err == nil {
					statuses[n] = append(statuses[n], p.Status)
				}
			}
			return nil
		}})
	t.Cleanup(w.upd.Close)
	if _, err := w.upd.StartGroup(ref, "x"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		w.wait(t, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(statuses["c"], "queued") {
		t.Errorf("c went through %v while a and b were recreated, want queued", statuses["c"])
	}
	if !slices.Contains(statuses["a"], "settling 10s") {
		t.Errorf("a went through %v, want settling 10s", statuses["a"])
	}
}

// A dependent recreated with its namespace owner has a new ID at its turn:
// it is looked up by name, not by the ID the group saw.
func TestGroupLooksEachContainerUpByNameAtItsTurn(t *testing.T) {
	w := newFakeWorld(t)
	gate := make(chan struct{})
	w.upd = services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Hook: func(name, step string) error {
			if name == "a" && step == models.StepRemovingOld {
				// Someone (compose, say) replaced b meanwhile, on the new image.
				w.eng.Remove(context.Background(), idB, false)
				w.eng.Run("b2"+idB[2:], "b", ref, newImg)
				close(gate)
			}
			return nil
		}})
	t.Cleanup(w.upd.Close)
	if _, err := w.upd.StartGroup(ref, "x"); err != nil {
		t.Fatal(err)
	}
	<-gate
	if p := w.wait(t, "b"); p.Phase != models.PhaseDone {
		t.Errorf("b ended %+v, want done (found by name, already on the new image)", p)
	}
}

func TestOutcomesGoToTheAuditLog(t *testing.T) {
	db, tog, _ := mustStore(t)
	aud := services.NewAudit(db, quiet, nil)
	hist := services.NewHistory(db).AuditTo(aud)
	w := newFakeWorld(t)
	ctr := services.NewContainers(w.eng, w.reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.eng.FailStep("a", models.StepStarting, errors.New("port is already allocated"))
	if _, err := upd.StartGroup(ref, "alice"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var es []models.AuditEntry
	for time.Now().Before(deadline) {
		es, _ = aud.Recent(10)
		if len(es) == 3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := map[string]string{}
	for _, e := range es {
		if e.Action == models.AuditUpdateResult && e.Actor == "alice" {
			got[e.Target] = e.Result
		}
	}
	if !strings.HasPrefix(got["a"], "rolled back: ") || got["b"] != "updated" || got["c"] != "updated" {
		t.Errorf("audited outcomes %v, want a rolled back, b and c updated", got)
	}
}

// Recovery runs in the background when the engine first answers: the
// parked container of an interrupted update shows "recovering", then runs
// again under its name.
func TestRecoveryRunsWhenTheEngineAnswers(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.Run(idA, "a"+models.OldSuffix, ref, oldImg)
	eng.SetStopTime(idA, 300*time.Millisecond)
	eng.Stop(t.Context(), idA)
	_, tog, hist := mustStore(t)
	j := services.NewJournal(nil)
	if err := j.Note(models.RecreateState{Name: "a", Step: models.StepStarting, OldID: idA, MustRun: true, StopSent: true}); err != nil {
		t.Fatal(err)
	}
	eng.ListErr = errors.New("engine down")
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Journal: j})
	t.Cleanup(upd.Close)
	ctr.OnReachable(upd.RecoverInBackground)
	if err := ctr.Refresh(t.Context()); err == nil || !ctr.EngineState().Down {
		t.Fatalf("Refresh with the engine down = %v, state %+v", err, ctr.EngineState())
	}
	if upd.Busy() {
		t.Fatal("recovery ran while the engine was down")
	}
	eng.ListErr = nil
	if err := ctr.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, ok := eng.Container("a"); ok && c.ID == idA && c.Running {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c, ok := eng.Container("a"); !ok || c.ID != idA || !c.Running {
		t.Fatalf("a = %+v (found %v), want the old container running again", c, ok)
	}
	p := waitEnded(t, upd, "a")
	if p.Phase != models.PhaseFailed || !p.RolledBack {
		t.Errorf("progress after recovery = %+v, want failed and rolled back", p)
	}
	if pend, _ := j.Pending(models.LocalHost); len(pend) != 0 {
		t.Errorf("journal still holds %+v", pend)
	}
	if recs, _ := hist.Recent(1); len(recs) != 1 || recs[0].Result != "rolled back" || recs[0].By != "recovery" {
		t.Errorf("history = %+v", recs)
	}
}

// waitEnded waits for the named container's job to end and returns its
// last progress.
func waitEnded(t *testing.T, upd *services.Updates, name string) models.Progress {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p, err := upd.Progress(local(name)); err == nil && !p.Running() {
			return p
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job of %s did not end", name)
	return models.Progress{}
}

// refit's own container is handed over to a helper (the stop would end this
// process half way); the job shows the outcome the helper records.
func TestOwnContainerIsHandedOverToAHelper(t *testing.T) {
	w := newFakeWorld(t)
	upd := services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Self: idA})
	t.Cleanup(upd.Close)
	if _, err := upd.StartContainer("a", "alice"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the hand-over", 5*time.Second, func() bool { return len(w.eng.HandOvers()) == 1 })
	if got, want := strings.Join(w.eng.HandOvers()[0], " "), "self-update -container "+idA+" -by alice -host local"; got != want {
		t.Errorf("helper command %q, want %q", got, want)
	}
	if p, _ := upd.Progress(local("a")); !p.Running() || p.Status != "handing over to a helper container" {
		t.Errorf("progress while the helper works: %+v", p)
	}
	// What the helper writes into the shared database when it is done.
	if err := w.hist.Add(models.UpdateRecord{Container: "a", By: "alice", StartedAt: time.Now(), Result: "updated"}); err != nil {
		t.Fatal(err)
	}
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Errorf("progress after the helper's record: %+v", p)
	}
	// Nobody else is handed over.
	if _, err := upd.StartContainer("b", "alice"); err != nil {
		t.Fatal(err)
	}
	if p := waitEnded(t, upd, "b"); p.Phase != models.PhaseDone || len(w.eng.HandOvers()) != 1 {
		t.Errorf("b: %+v, hand-overs %d", p, len(w.eng.HandOvers()))
	}
}
