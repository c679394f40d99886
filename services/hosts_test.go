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

// twoHosts runs a and b on host one and a on host two, all of ref on the
// old image, while the registry has the new one.
func twoHosts(t *testing.T) (one, two *fake.Engine, reg *fake.Registry, ctr *services.Containers, upd *services.Updates, tog *services.Toggles, hist *services.History) {
	t.Helper()
	reg = fake.NewRegistry()
	reg.Set(ref, newDig)
	engines := []*fake.Engine{fake.NewEngine(), fake.NewEngine()}
	for i, eng := range engines {
		eng.AddImage(oldImg, "registry.test/app@"+oldDig)
		eng.Tag(ref, oldImg)
		eng.Publish(ref, newImg, newDig)
		eng.Run(strings.Repeat(string(rune('1'+i)), 64), "a", ref, oldImg)
	}
	engines[0].Run(idB, "b", ref, oldImg)
	_, tog, hist = mustStore(t)
	ctr = services.NewContainersOn([]services.Host{{Name: "one", Engine: engines[0]}, {Name: "two", Engine: engines[1]}}, reg, tog, quiet, 4)
	upd = services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return engines[0], engines[1], reg, ctr, upd, tog, hist
}

func TestOneHeadPerImageAcrossHosts(t *testing.T) {
	_, _, reg, ctr, _, _, _ := twoHosts(t)
	if n := reg.HeadCount(ref); n != 1 {
		t.Errorf("HEADs of %s = %d over two hosts, want 1", ref, n)
	}
	gs := ctr.Groups()
	if len(gs) != 1 || len(gs[0].Containers) != 3 {
		t.Fatalf("groups = %+v, want one group of three across the hosts", gs)
	}
	for _, c := range gs[0].Containers {
		if c.Host == "" || c.Ref.Host != c.Host || c.Status != models.StatusOutdated {
			t.Errorf("item %+v: want its host named and outdated", c)
		}
	}
}

func TestSameNameOnTwoHostsIsAmbiguous(t *testing.T) {
	_, _, _, ctr, _, tog, _ := twoHosts(t)
	if _, _, err := ctr.Find("a"); !errors.Is(err, models.ErrAmbiguousContainer) || err.Error() == "" {
		t.Errorf("Find(a) = %v, want ambiguous", err)
	}
	it, _, err := ctr.Find("two/a")
	if err != nil || it.Ref != models.Ref("two", "a") {
		t.Fatalf("Find(two/a) = %+v, %v", it, err)
	}
	if it, _, err := ctr.Find("b"); err != nil || it.Ref.Host != "one" {
		t.Errorf("Find(b), unique across hosts = %+v, %v", it, err)
	}
	if _, _, err := ctr.Find("three/a"); !errors.Is(err, models.ErrContainerNotFound) {
		t.Errorf("Find(three/a) = %v, want not found", err)
	}
	if err := tog.Set(models.Ref("two", "a"), true); err != nil {
		t.Fatal(err)
	}
	for _, c := range ctr.Groups()[0].Containers {
		if want := c.Ref == models.Ref("two", "a"); c.AutoUpdate != want {
			t.Errorf("%s auto-update = %v, want %v", c.Ref, c.AutoUpdate, want)
		}
	}
}

func TestGroupUpdatePullsOncePerHost(t *testing.T) {
	one, two, _, ctr, upd, _, hist := twoHosts(t)
	if _, err := upd.StartGroup(ref, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []models.ContainerRef{models.Ref("one", "a"), models.Ref("one", "b"), models.Ref("two", "a")} {
		waitUntil(t, r.String()+" updated", 5*time.Second, func() bool {
			p, err := upd.Progress(r)
			return err == nil && p.Phase == models.PhaseDone && p.Host == r.Host
		})
	}
	if a, b := one.PullCount(ref), two.PullCount(ref); a != 1 || b != 1 {
		t.Errorf("pulls: one %d, two %d; want one each", a, b)
	}
	recs, _ := hist.Recent(10)
	hosts := map[string]int{}
	for _, r := range recs {
		hosts[r.Host]++
	}
	if hosts["one"] != 2 || hosts["two"] != 1 {
		t.Errorf("history by host = %v, want one:2 two:1", hosts)
	}
	for _, c := range ctr.Groups()[0].Containers {
		if c.Status != models.StatusUpToDate {
			t.Errorf("%s after the group update: %s", c.Ref, c.Status)
		}
	}
}

func TestHostDownKeepsItsContainersAsUnknown(t *testing.T) {
	one, two, _, ctr, upd, _, _ := twoHosts(t)
	two.SetDown(errors.New("connection refused"))
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatalf("a check with one host down failed: %v", err)
	}
	var seen int
	for _, c := range ctr.Groups()[0].Containers {
		switch c.Ref.Host {
		case "two":
			seen++
			if c.Status != models.StatusUnknown || !strings.HasPrefix(c.Reason, "host unreachable since ") {
				t.Errorf("two's container: %+v, want unknown, host unreachable", c)
			}
		case "one":
			if c.Status != models.StatusOutdated {
				t.Errorf("one's container %s: %s, want outdated still", c.Ref, c.Status)
			}
		}
	}
	if seen != 1 {
		t.Errorf("two's containers listed %d, want 1 (as last seen)", seen)
	}
	st := ctr.EngineState()
	if !st.Down || st.Hosts != "two" {
		t.Errorf("engine state %+v, want two down", st)
	}
	hs := ctr.Hosts()
	if len(hs) != 2 || hs[0].Status != models.HostOK || hs[1].Status != models.HostUnreachable || hs[1].Error != "connection refused" ||
		hs[0].EngineVersion != fake.FakeVersion || hs[1].Containers != 1 {
		t.Errorf("hosts = %+v", hs)
	}
	// An update on the host that answers goes through.
	if _, err := upd.StartContainer("one/a", "alice"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "one/a updated", 5*time.Second, func() bool {
		p, err := upd.Progress(models.Ref("one", "a"))
		return err == nil && p.Phase == models.PhaseDone
	})
	if one.PullCount(ref) != 1 {
		t.Errorf("one pulled %d times", one.PullCount(ref))
	}
	two.SetDown(nil)
	if err := ctr.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := ctr.EngineState(); st.Down {
		t.Errorf("engine state after two is back: %+v", st)
	}
}

func TestOneHostKeepsTheContractShape(t *testing.T) {
	w := newFakeWorld(t)
	for _, c := range w.ctr.Groups()[0].Containers {
		if c.Host != "" || c.Ref.Host != models.LocalHost {
			t.Errorf("one host: item %+v names a host", c)
		}
	}
	if w.ctr.Several() {
		t.Error("one host counts as several")
	}
}

// A Swarm service is judged by its spec's tag and updated through the
// engine's own rolling update: no pull, no recreate of a task.
func TestServiceUpdatesThroughTheEngine(t *testing.T) {
	for _, tc := range []struct {
		name, fail, result string
	}{{"completes", "", "updated"}, {"rolls back", "tasks exit 1", "rolled back"}} {
		t.Run(tc.name, func(t *testing.T) {
			eng, reg := fake.NewEngine(), fake.NewRegistry()
			reg.Set(ref, newDig)
			eng.AddService("web", ref+"@"+oldDig, 3)
			if tc.fail != "" {
				eng.FailServiceDigest(newDig, tc.fail)
			}
			_, tog, hist := mustStore(t)
			ctr := services.NewContainers(eng, reg, tog, quiet, 4)
			upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond})
			t.Cleanup(upd.Close)
			if _, err := ctr.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			gs := ctr.Groups()
			if len(gs) != 1 || len(gs[0].Containers) != 1 {
				t.Fatalf("groups = %+v", gs)
			}
			it := gs[0].Containers[0]
			if it.Kind != models.KindService || it.Status != models.StatusOutdated || it.LocalFull != oldDig {
				t.Fatalf("service item = %+v, want an outdated service pinned to the old digest", it)
			}
			if _, err := upd.StartGroup(ref, "alice"); err != nil {
				t.Fatal(err)
			}
			var p models.Progress
			waitUntil(t, "the service update to end", 5*time.Second, func() bool {
				p, _ = upd.Progress(it.Ref)
				return !p.Running()
			})
			if got := eng.ServiceUpdates("web"); len(got) != 1 || got[0] != ref+"@"+newDig {
				t.Errorf("service updates = %v, want one to %s@%s", got, ref, newDig)
			}
			if eng.PullCount(ref) != 0 {
				t.Errorf("refit pulled %d times for a service", eng.PullCount(ref))
			}
			recs, _ := hist.Recent(1)
			if len(recs) != 1 || recs[0].Result != tc.result || recs[0].Container != it.Ref.Name {
				t.Errorf("history = %+v, want %s", recs, tc.result)
			}
			if tc.fail != "" && (!p.RolledBack || !strings.Contains(p.Status, tc.fail)) {
				t.Errorf("progress = %+v, want rolled back saying why", p)
			}
			if tc.fail == "" && p.Phase != models.PhaseDone {
				t.Errorf("progress = %+v, want done", p)
			}
		})
	}
}
