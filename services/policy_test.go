package services_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

func cand(digest string) models.Candidate { return models.Candidate{Digest: digest} }

func TestPolicyActions(t *testing.T) {
	db, _, _ := mustStore(t)
	clk := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	pol, err := services.NewPolicies(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	web := local("web")
	if _, err := pol.Apply(web, models.PolicyAction{Action: "skip-current"}, models.Candidate{}); !errors.Is(err, models.ErrNothingToSkip) {
		t.Errorf("skip with no candidate = %v", err)
	}
	if _, err := pol.Apply(web, models.PolicyAction{Action: "skip-it"}, cand(newDig)); !errors.Is(err, models.ErrUnknownPolicyAction) {
		t.Errorf("unknown action = %v", err)
	}
	p, err := pol.Apply(web, models.PolicyAction{Action: models.PolicySkipCurrent}, cand(newDig))
	if err != nil || len(p.SkipDigests) != 1 || !pol.Holds(web, cand(newDig)) {
		t.Fatalf("skip-current = %+v, %v", p, err)
	}
	if pol.Holds(web, cand(oldDig)) || pol.Holds(local("db"), cand(newDig)) {
		t.Error("a skip holds another digest, or another container")
	}
	if _, err := pol.Apply(web, models.PolicyAction{Action: models.PolicyClearSkips}, cand(newDig)); err != nil || pol.Holds(web, cand(newDig)) {
		t.Errorf("clear-skips: %v, still held %v", err, pol.Holds(web, cand(newDig)))
	}
	for _, bad := range []models.PolicyAction{{Action: "snooze"}, {Action: "snooze", Days: -1}} {
		if _, err := pol.Apply(web, bad, cand(newDig)); !errors.Is(err, models.ErrBadSnooze) {
			t.Errorf("snooze %+v = %v", bad, err)
		}
	}
	v := pol.Version()
	p, err = pol.Apply(web, models.PolicyAction{Action: models.PolicySnooze, Days: 7}, cand(newDig))
	if err != nil || p.SnoozeUntil == nil || !p.SnoozeUntil.Equal(clk.Now().Add(7*24*time.Hour)) || !pol.Holds(web, cand(oldDig)) {
		t.Fatalf("snooze 7 days = %+v, %v", p, err)
	}
	if pol.Version() == v {
		t.Error("a snooze left the version as it was")
	}
	// The snooze ends by itself: nothing but the clock moves, and the version says so.
	v = pol.Version()
	clk.Add(7*24*time.Hour + time.Second)
	if pol.Holds(web, cand(newDig)) {
		t.Error("the snooze outlived its time")
	}
	if pol.Version() == v {
		t.Error("the end of a snooze left the version as it was: caches would go stale")
	}
	// Kept in SQLite: a new Policies over the same database reads it back.
	if _, err := pol.Apply(web, models.PolicyAction{Action: models.PolicySkipCurrent}, cand(newDig)); err != nil {
		t.Fatal(err)
	}
	again, err := services.NewPolicies(db, clk.Now)
	if err != nil || !again.Holds(web, cand(newDig)) {
		t.Errorf("reloaded policies: %v, holds %v", err, again.Holds(web, cand(newDig)))
	}
	if _, err := pol.Apply(web, models.PolicyAction{Action: models.PolicyClear}, cand(newDig)); err != nil || !pol.Get(web).Empty() {
		t.Errorf("clear: %v, %+v", err, pol.Get(web))
	}
}

// Auto-update and group updates leave a skipped or snoozed container alone;
// an update asked for by hand goes ahead.
func TestPolicyHoldsGroupAndAutoUpdatesBack(t *testing.T) {
	w := newFakeWorld(t)
	db, _, _ := mustStore(t)
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	upd := services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Policies: pol})
	t.Cleanup(upd.Close)
	if _, err := pol.Apply(local("a"), models.PolicyAction{Action: models.PolicySkipCurrent}, cand(newDig)); err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Apply(local("b"), models.PolicyAction{Action: models.PolicySnooze, Days: 1}, cand(newDig)); err != nil {
		t.Fatal(err)
	}
	if err := w.tog.Set(local("a"), true); err != nil {
		t.Fatal(err)
	}
	upd.AutoUpdate(w.ctr.Groups()) // a is on auto-update, but skipped
	if started, err := upd.StartGroup(ref, "alice"); err != nil || !started {
		t.Fatalf("group update = %v, %v; want c updated", started, err)
	}
	waitEnded(t, upd, "c")
	for _, n := range []string{"a", "b"} {
		if _, err := upd.Progress(local(n)); err == nil {
			t.Errorf("%s was updated despite its policy", n)
		}
	}
	if _, err := upd.StartContainer("a", "alice"); err != nil {
		t.Fatal(err)
	}
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Errorf("a by hand: %+v", p)
	}
	if _, err := w.ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if started, err := upd.StartGroup(ref, "alice"); err != nil || started {
		t.Errorf("group update with only b left, snoozed = %v, %v; want nothing to do", started, err)
	}
}

// StartOutdated updates the listed outdated containers, leaving out a held
// one and one not listed.
func TestStartOutdatedLeavesHeldAndUnlistedAlone(t *testing.T) {
	w := newFakeWorld(t)
	db, _, _ := mustStore(t)
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	upd := services.NewUpdates(anon{}, w.ctr, w.hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Policies: pol})
	t.Cleanup(upd.Close)
	if _, err := pol.Apply(local("b"), models.PolicyAction{Action: models.PolicySnooze, Days: 1}, cand(newDig)); err != nil {
		t.Fatal(err)
	}
	n, err := upd.StartOutdated([]models.ContainerRef{local("a"), local("b"), local("nope")}, "alice")
	if err != nil || n != 1 {
		t.Fatalf("StartOutdated(a, b, nope) = %d, %v; want a alone", n, err)
	}
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Errorf("a: %+v", p)
	}
	for _, name := range []string{"b", "c"} {
		if _, err := upd.Progress(local(name)); err == nil {
			t.Errorf("%s was updated", name)
		}
	}
}
