package services_test

import (
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// Drydock's shape over the real engine: a running and a stopped container,
// the check's result, logs, the policy with a clock the test moves, and
// the lifecycle actions.
func TestCatalogOnTheRealEngine(t *testing.T) {
	ru := newRealUpdater(t, nil)
	cli := dockertest.Client(t)
	db, _, _ := mustStore(t)
	clk := &clock{t: time.Now()}
	pol, err := services.NewPolicies(db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	cat := services.NewCatalog(ru.ctr, pol, tog, ru.upd)
	v1 := ru.reg.Push(t, "cat/app:1.4.2", ocitest.ImageOpts{Marker: "v1"})
	ref := ru.reg.Ref("cat/app:1.4.2")
	dockertest.Pull(t, cli, ref)
	name := dockertest.UniqueName(t, "cat")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ref, Env: []string{"TESTAPP_PRINT=out one\nout two\nout three"}})
	dockertest.RemoveAtCleanup(t, cli, name)
	stopped := dockertest.UniqueName(t, "cat-stopped")
	sid := dockertest.Run(t, cli, dockertest.RunOpts{Name: stopped, Image: ref})
	dockertest.RemoveAtCleanup(t, cli, sid)
	dockertest.Stop(t, cli, sid)
	v2 := ru.reg.Push(t, "cat/app:1.4.2", ocitest.ImageOpts{Marker: "v2"})
	if g := ru.check(t)["cat/app:1.4.2"]; g.Status != models.StatusOutdated {
		t.Fatalf("group %+v, want outdated", g)
	}

	items := mineOf(t, cat, name, stopped)
	c, s := items[name], items[stopped]
	host, _, _ := strings.Cut(ref, "/")
	if c.Status != "running" || c.Watcher != models.LocalHost || c.Image.Registry.URL != host || c.Image.Name != "cat/app" ||
		c.Image.Tag.Value != "1.4.2" || !c.Image.Tag.Semver || !c.Image.Digest.Watch || c.Image.Digest.Repo != v1 ||
		c.Result == nil || c.Result.Digest != v2 || !c.UpdateAvailable || c.Image.OS != "linux" || c.Image.Architecture == "" || c.Image.Created.IsZero() {
		t.Errorf("running item = %+v (image %+v, result %+v)", c, c.Image, c.Result)
	}
	if s.Status != "exited" || s.UpdateAvailable || s.CheckReason == "" {
		t.Errorf("stopped item = %+v, want exited, not offered, saying why", s)
	}

	// stdout only: the engine reads stdout and stderr apart, in no promised order (the conformance suite covers both).
	var logs string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) { // printed 5 ms apart after the start
		logs, err = cat.Logs(t.Context(), name, models.LogOptions{Tail: 100})
		if err != nil || strings.Count(logs, "\n") >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || logs != "out one\nout two\nout three\n" {
		t.Errorf("logs = %q, %v", logs, err)
	}
	if logs, err := cat.Logs(t.Context(), name, models.LogOptions{Tail: 1, Timestamps: true}); err != nil || !strings.HasSuffix(logs, " out three\n") || !strings.HasPrefix(logs, "20") {
		t.Errorf("logs with timestamps, tail 1 = %q, %v", logs, err)
	}

	cref := models.Ref(models.LocalHost, name)
	if _, err := pol.Apply(cref, models.PolicyAction{Action: models.PolicySnooze, Days: 1}, models.Candidate{Digest: v2}); err != nil {
		t.Fatal(err)
	}
	if mineOf(t, cat, name)[name].UpdateAvailable {
		t.Error("offered while snoozed")
	}
	clk.Add(25 * time.Hour) // the snooze ends by itself
	if !mineOf(t, cat, name)[name].UpdateAvailable {
		t.Error("still held back after the snooze ended")
	}

	if got, err := cat.Start(t.Context(), stopped); err != nil || got.Status != "running" {
		t.Errorf("start = %+v, %v", got, err)
	}
	if got, err := cat.Restart(t.Context(), stopped); err != nil || got.Status != "running" || got.ID != sid {
		t.Errorf("restart = %+v, %v", got, err)
	}
	if got, err := cat.Stop(t.Context(), stopped); err != nil || got.Status != "exited" {
		t.Errorf("stop = %+v, %v", got, err)
	}
	if err := cat.Remove(t.Context(), stopped, false); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Get(t.Context(), stopped); err == nil {
		t.Error("removed container still found")
	}
}

// mineOf returns the catalog's items of these names: the engine is shared.
func mineOf(t *testing.T, cat *services.Catalog, names ...string) map[string]models.DrydockContainer {
	t.Helper()
	all, err := cat.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]models.DrydockContainer{}
	for _, c := range all {
		for _, n := range names {
			if c.Name == n {
				out[n] = c
			}
		}
	}
	if len(out) != len(names) {
		t.Fatalf("catalog has %d of %v", len(out), names)
	}
	return out
}
