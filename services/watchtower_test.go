package services_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

// With Watchtower's default (all), every container is auto-updated but
// those its labels hold: monitor-only and enable=false (shown, checked,
// never auto-updated), and a refit toggle off wins.
func TestWatchtowerDefaultAndLabels(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	ids := map[string]string{"a": idA, "b": idB, "c": idC, "d": "d" + idA[1:]}
	for n, id := range ids {
		eng.Run(id, n, ref, oldImg)
	}
	eng.SetLabels(idB, map[string]string{models.LabelWTMonitorOnly: "true"})
	eng.SetLabels(idC, map[string]string{models.LabelWTEnable: "false"})
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	_, tog, hist := mustStore(t)
	tog.SetDefault(models.AutoUpdateAll)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if on, _ := tog.Flip(local("d")); on {
		t.Fatal("flipping d, on by default, turned it on")
	}
	upd.AutoUpdate(ctr.Groups())
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Errorf("a = %+v, want updated by default", p)
	}
	for _, n := range []string{"b", "c", "d"} {
		if _, err := upd.Progress(local(n)); err == nil {
			t.Errorf("%s was auto-updated", n)
		}
	}
	if p, err := upd.StartContainer("b", "test"); err != nil || waitEnded(t, upd, "b").Phase != models.PhaseDone {
		t.Errorf("monitor-only b by hand = %+v, %v; want updated", p, err)
	}
}

// Only the HTTP API updates with WATCHTOWER_HTTP_API_UPDATE alone.
func TestWatchtowerAPIOnlyAutoUpdatesNothing(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.Run(idA, "a", ref, oldImg)
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	_, tog, hist := mustStore(t)
	tog.SetDefault(models.AutoUpdateAll)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Watchtower: services.WatchtowerOptions{APIOnly: true}})
	t.Cleanup(upd.Close)
	groups, err := ctr.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	upd.AutoUpdate(groups)
	if _, err := upd.Progress(local("a")); err == nil {
		t.Error("a was auto-updated though only the API may update")
	}
}

// Lifecycle hooks: pre-update and post-update run inside the container
// (the old one, then the new one); exit code 75 skips the update and the
// container runs on; a container without a shell is updated with a clear
// error in its history.
func TestWatchtowerLifecycleHooks(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.Run(idA, "a", ref, oldImg)
	eng.Run(idB, "b", ref, oldImg)
	eng.Run(idC, "c", ref, oldImg)
	hooks := func(pre string) map[string]string {
		return map[string]string{models.LabelWTHookPrefix + models.HookPreUpdate: pre,
			models.LabelWTHookPrefix + models.HookPostUpdate: "echo post >> /hook.log"}
	}
	eng.SetLabels(idA, hooks("echo pre >> /hook.log"))
	eng.SetLabels(idB, hooks("echo busy; exit 75"))
	eng.SetLabels(idC, hooks("echo pre >> /hook.log"))
	eng.SetShell(idA, true)
	eng.SetShell(idB, true) // c has none
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	_, tog, hist := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond,
		Watchtower: services.WatchtowerOptions{Hooks: true}})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := upd.StartContainer(n, "test"); err != nil {
			t.Fatal(err)
		}
		waitEnded(t, upd, n)
	}
	if got := eng.File("a", "/hook.log"); got != "post\n" {
		t.Errorf("new a's /hook.log = %q, want the post-update line (pre went to the old container)", got)
	}
	if c, _, _ := ctr.FindRef(local("b")); c.FullID != idB {
		t.Errorf("b runs %s, want the old container: exit 75 skips the update", c.FullID)
	}
	recs, err := hist.Recent(100)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]models.UpdateRecord{}
	for _, r := range recs {
		by[r.Container] = r
	}
	if r := by["b"]; !strings.Contains(r.Error, "pre-update hook exited 75") {
		t.Errorf("b's record = %+v, want the skip", r)
	}
	if r := by["c"]; r.Result != models.ResultUpdated || !strings.Contains(r.Error, "no shell") {
		t.Errorf("c's record = %+v, want updated, with the missing shell said", r)
	}
}
