package services_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

// A new digest waits out the minimum age from when refit first saw it
// (a restart does not reset it), then waits for the window, then goes;
// the label refit.min-age overrides the option.
func TestAutoUpdateWaitsForMinimumAgeAndWindow(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.Run(idA, "a", ref, oldImg)
	eng.Run(idB, "b", ref, oldImg)
	eng.SetLabels(idB, map[string]string{models.LabelMinAge: "0"})
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	db, tog, hist := mustStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	cands, err := services.NewCandidates(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	var open bool
	var mu sync.Mutex
	window := func(time.Time) bool { mu.Lock(); defer mu.Unlock(); return open }
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		MinAge: 7 * 24 * time.Hour, Candidates: cands, Window: window})
	t.Cleanup(upd.Close)
	for _, n := range []string{"a", "b"} {
		if err := tog.Set(local(n), true); err != nil {
			t.Fatal(err)
		}
	}
	groups, err := ctr.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a, g, _ := ctr.FindRef(local("a"))
	cand := models.Candidate{Digest: g.RemoteFull}

	upd.AutoUpdate(groups) // outside the window: nothing, but the candidate is noted
	if _, err := upd.Progress(local("b")); err == nil {
		t.Fatal("b updated outside the window")
	}
	if until := upd.HeldUntil(a, cand); !until.Equal(clk.Now().Add(7 * 24 * time.Hour)) {
		t.Errorf("a held until %v, want a week from now", until)
	}

	mu.Lock()
	open = true
	mu.Unlock()
	clk.Add(3 * 24 * time.Hour)
	// A restart: the first-seen time comes back from SQLite.
	cands2, err := services.NewCandidates(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if seen, ok := cands2.FirstSeen(local("a"), cand); !ok || !seen.Equal(clk.Now().Add(-3*24*time.Hour)) {
		t.Errorf("first seen after a restart = %v, %v", seen, ok)
	}
	upd.AutoUpdate(ctr.Groups())
	if p := waitEnded(t, upd, "b"); p.Phase != models.PhaseDone {
		t.Errorf("b (refit.min-age=0) = %+v, want updated inside the window", p)
	}
	if _, err := upd.Progress(local("a")); err == nil {
		t.Fatal("a updated three days into its week")
	}
	clk.Add(4*24*time.Hour + time.Minute)
	upd.AutoUpdate(ctr.Groups())
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Errorf("a after its week = %+v", p)
	}
}

// What the check found outside the window is updated when the window
// opens, by the callback Run calls then, as serve wires it.
func TestWindowOpeningRunsTheAutoUpdate(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.Run(idA, "a", ref, oldImg)
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	db, tog, hist := mustStore(t)
	clk := newStepClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	cands, err := services.NewCandidates(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := services.NewSchedule(services.ScheduleOptions{Window: "02:00-03:00", Loc: time.UTC, Now: clk.Now, After: clk.After})
	if err != nil {
		t.Fatal(err)
	}
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Candidates: cands, Window: sched.InWindow})
	t.Cleanup(upd.Close)
	ctr.OnCheck(upd.AutoUpdate)
	if err := tog.Set(local("a"), true); err != nil {
		t.Fatal(err)
	}
	checked := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sched.Run(ctx, func(ctx context.Context) {
			if _, err := ctr.Check(ctx); err != nil {
				t.Error(err)
			}
			checked <- struct{}{}
		}, func() { upd.AutoUpdate(ctr.Groups()) })
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-checked
	if _, err := upd.Progress(local("a")); err == nil {
		t.Fatal("a updated at noon, outside its 02:00-03:00 window")
	}
	clk.step(t) // 02:00
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Errorf("a when the window opened = %+v, want updated", p)
	}
}

// One check that could not ask the registry (a 429 on the HEAD, or on the
// tag list) keeps the candidates' first-seen times: the minimum age goes
// on from when refit first saw them instead of starting again.
func TestMinAgeSurvivesAFailedCheck(t *testing.T) {
	const (
		repo = "registry.test/app"
		v123 = repo + ":1.2.3"
		v130 = repo + ":1.3.0"
		dig3 = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	)
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.Tag(v123, oldImg)
	eng.Run(idA, "a", ref, oldImg)  // follows its tag's digest
	eng.Run(idB, "b", v123, oldImg) // follows version tags
	eng.SetLabels(idB, map[string]string{models.LabelTagInclude: `^\d+\.\d+\.\d+$`})
	reg.Set(ref, newDig)
	reg.Set(v123, oldDig)
	reg.Set(v130, dig3)
	db, tog, hist := mustStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	cands, err := services.NewCandidates(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		MinAge: 7 * 24 * time.Hour, Candidates: cands})
	t.Cleanup(upd.Close)
	ctr.OnCheck(upd.AutoUpdate)
	check := func() {
		t.Helper()
		if _, err := ctr.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	digest := models.Candidate{Digest: newDig}
	tag := models.Candidate{Tag: "1.3.0"}
	check()
	first := clk.Now()
	a, g, _ := ctr.FindRef(local("a"))
	if g.RemoteFull != digest.Digest {
		t.Fatalf("remote = %q, want %q", g.RemoteFull, digest.Digest)
	}
	if b, _, _ := ctr.FindRef(local("b")); b.NewerTag != "1.3.0" {
		t.Fatalf("b's newer tag = %q, want 1.3.0", b.NewerTag)
	}
	for _, fail := range []string{ref, repo} { // the HEAD, then the tag list
		clk.Add(24 * time.Hour)
		reg.Fail(fail, models.ErrRateLimited)
		check()
		clk.Add(24 * time.Hour)
		reg.Fail(fail, nil)
		check()
	}
	if a, _, _ := ctr.FindRef(local("a")); a.Status != models.StatusOutdated {
		t.Fatalf("a after the registry came back = %s", a.Status)
	}
	for _, tc := range []struct {
		name string
		cand models.Candidate
	}{{"a", digest}, {"b", tag}} {
		if seen, ok := cands.FirstSeen(local(tc.name), tc.cand); !ok || !seen.Equal(first) {
			t.Errorf("%s first seen = %v, %v; want %v, before the failed checks", tc.name, seen, ok, first)
		}
	}
	if until := upd.HeldUntil(a, digest); !until.Equal(first.Add(7 * 24 * time.Hour)) {
		t.Errorf("a held until %v, want a week after %v", until, first)
	}
	// A candidate really gone (the tag moved back) is forgotten.
	reg.Set(ref, oldDig)
	check()
	if _, ok := cands.FirstSeen(local("a"), digest); ok {
		t.Error("a's digest candidate kept after the tag moved back")
	}
}
