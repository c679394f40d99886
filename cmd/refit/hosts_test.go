package main

// Several hosts, for real: the refit binary over two or three private
// engines (the crash matrix's), -hosts naming each, images from an
// ocitest registry. Same names on two hosts stay two containers; one check
// costs one HEAD per reference however many hosts run it; a group update
// pulls once per host; a host that stops answering, during a check or
// during an update elsewhere, leaves the others working and comes back by
// itself. Gated like the crash matrix: REFIT_TEST_DOCKER_HOST on, and under
// CI=true an engine that does not start fails the test.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// hostsReconnect bounds how long refit may take to see a host again once its
// engine answers: the watch's backoff tops out at 30 s.
const hostsReconnect = 35 * time.Second

func TestHostsKeepSameNamesApart(t *testing.T) {
	dockertest.Host(t)
	t.Parallel()
	engs, clis := newPrivateEngines(t, 2)
	bin := buildRefit(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("same/web:1")
	reg.Push(t, "same/web:1", ocitest.ImageOpts{Marker: "v1 same"})
	orig := map[string]string{}
	for i, h := range []string{"a", "b"} {
		crashPull(t, clis[i], ref)
		orig[h] = runOnHost(t, clis[i], "web", ref, nil)
	}
	v2 := reg.Push(t, "same/web:1", ocitest.ImageOpts{Marker: "v2 same"})
	p := startHostsRefit(t, bin, []string{"a", "b"}, engs)

	groups := waitGroups(t, p, "web outdated on a and b", func(gs []models.ImageGroup) bool {
		return statusOf(gs, "a", "web") == models.StatusOutdated && statusOf(gs, "b", "web") == models.StatusOutdated
	})
	if len(groups) != 1 || len(groups[0].Containers) != 2 {
		t.Fatalf("GET /api/images = %+v, want one group of two containers", groups)
	}
	for i, h := range []string{"a", "b"} {
		if c := groups[0].Containers[i]; c.Host != h || c.ContainerName != "web" || c.ContainerID != models.ShortID(orig[h]) {
			t.Errorf("container %d = %+v, want web on %s (%s)", i, c, h, models.ShortID(orig[h]))
		}
	}

	// A bare name two hosts share names nothing, whatever the action.
	for _, c := range []struct{ method, action string }{{"POST", "update"}, {"POST", "auto-update"}, {"GET", "progress"}} {
		status, body := hostsCall(t, c.method, p.base+"/api/images/web/"+c.action)
		if status != http.StatusConflict || string(body) != "ambiguous container: use host/name\n" {
			t.Errorf("%s /api/images/web/%s = %d %q, want 409 %q", c.method, c.action, status, body, "ambiguous container: use host/name\n")
		}
	}
	// Drydock's routes too; host%2Fname finds one.
	for _, c := range []struct{ method, path string }{{"GET", ""}, {"GET", "/logs"}, {"POST", "/watch"}, {"POST", "/preview"}} {
		status, body := hostsCall(t, c.method, p.base+"/api/containers/web"+c.path)
		if status != http.StatusConflict || string(body) != "ambiguous container: use host/name\n" {
			t.Errorf("%s /api/containers/web%s = %d %q, want 409 %q", c.method, c.path, status, body, "ambiguous container: use host/name\n")
		}
	}
	if status, body := hostsCall(t, "GET", p.base+"/api/containers/b%2Fweb"); status != http.StatusOK || !strings.Contains(string(body), `"watcher":"b"`) {
		t.Errorf("GET /api/containers/b%%2Fweb = %d %s, want web on b", status, body)
	}
	// The slash written as is makes three path segments: the contract's
	// "bad path". Logged, not pinned: %2F is the form that works.
	status, body := hostsCall(t, "GET", p.base+"/api/images/a/web/progress")
	t.Logf("GET /api/images/a/web/progress (slash unescaped) = %d %q", status, body)

	if status, body := hostsCall(t, "POST", p.base+"/api/images/a%2Fweb/update"); status != 200 || string(body) != `{"status":"updating"}` {
		t.Fatalf("POST /api/images/a%%2Fweb/update = %d %s\nrefit log:\n%s", status, body, p.logs.String())
	}
	pa := waitProgressDone(t, p, "a%2Fweb", func() {
		if status, body := hostsCall(t, "GET", p.base+"/api/images/b%2Fweb/progress"); status != 404 || string(body) != "no progress\n" {
			t.Errorf("while a/web updates, GET b/web's progress = %d %q, want 404 no progress", status, body)
		}
	})
	if pa.Phase != models.PhaseDone || pa.Host != "a" || pa.Container != "web" {
		t.Fatalf("a/web's progress = %+v, want done on host a", pa)
	}
	if !runsDigest(t, clis[0], "web", v2) {
		t.Errorf("a/web does not run v2")
	}
	if cur := dockertest.Inspect(t, clis[1], "web"); cur.ID != orig["b"] {
		t.Errorf("b/web is %s after a/web's update, want the untouched %s", models.ShortID(cur.ID), models.ShortID(orig["b"]))
	}

	// b/web by its ID: its own job, and a/web's finished one stays as it was.
	if status, body := hostsCall(t, "POST", p.base+"/api/images/"+models.ShortID(orig["b"])+"/update"); status != 200 {
		t.Fatalf("POST /api/images/%s/update (b/web) = %d %s", models.ShortID(orig["b"]), status, body)
	}
	pb := waitProgressDone(t, p, "b%2Fweb", nil)
	if pb.Phase != models.PhaseDone || pb.Host != "b" || pb.Container != "web" || !pb.StartedAt.After(pa.EndedAt) {
		t.Errorf("b/web's progress = %+v, want done on host b, started after a/web's ended (%s)", pb, pa.EndedAt)
	}
	if again := getProgress(t, p, "a%2Fweb"); again.Host != "a" || !again.StartedAt.Equal(pa.StartedAt) || !again.EndedAt.Equal(pa.EndedAt) ||
		again.ContainerID != pa.ContainerID {
		t.Errorf("a/web's progress after b/web's update = %+v, want it unchanged: %+v", again, pa)
	}
	if !runsDigest(t, clis[1], "web", v2) {
		t.Errorf("b/web does not run v2")
	}

	// The toggle is per host: a/web on leaves b/web off.
	if status, body := hostsCall(t, "POST", p.base+"/api/images/a%2Fweb/auto-update"); status != 200 || string(body) != `{"auto_update":true}` {
		t.Fatalf("POST /api/images/a%%2Fweb/auto-update = %d %s", status, body)
	}
	gs := getGroups(t, p)
	if a, b := itemOf(gs, "a", "web"), itemOf(gs, "b", "web"); a == nil || b == nil || !a.AutoUpdate || b.AutoUpdate {
		t.Errorf("after toggling a/web: a %+v, b %+v; want a on, b off", a, b)
	}

	recs := getHistory(t, p)
	var got []string
	for _, r := range recs {
		got = append(got, r.Host+"/"+r.Container+" "+r.Result)
	}
	slices.Sort(got)
	if want := []string{"a/web updated", "b/web updated"}; !slices.Equal(got, want) {
		t.Errorf("GET /api/history = %v, want %v", got, want)
	}
}

func TestHostsCheckHeadsEachReferenceOnce(t *testing.T) {
	dockertest.Host(t)
	t.Parallel()
	began := time.Now()
	engs, clis := newPrivateEngines(t, 3)
	bin := buildRefit(t)
	// A registry per image: each one's counters are one reference's.
	regX, regY := ocitest.NewRegistry(t), ocitest.NewRegistry(t)
	refX, refY := regX.Ref("x/app:1"), regY.Ref("y/app:1")
	regX.Push(t, "x/app:1", ocitest.ImageOpts{Marker: "x1"})
	regY.Push(t, "y/app:1", ocitest.ImageOpts{Marker: "y1"})
	layout := []struct{ host, name, ref string }{
		{"east", "x1", refX}, {"east", "y1", refY},
		{"west", "x2", refX}, {"west", "y2", refY},
		{"north", "x3", refX},
	}
	names := []string{"east", "west", "north"}
	for _, l := range layout {
		i := slices.Index(names, l.host)
		crashPull(t, clis[i], l.ref)
		runOnHost(t, clis[i], l.name, l.ref, nil)
	}
	regX.Push(t, "x/app:1", ocitest.ImageOpts{Marker: "x2"}) // x is behind, y is not
	// A fourth host that never answers: it must not cost a request either.
	gone := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	p := startRefitChild(t, bin, t.TempDir(), filepath.Join(t.TempDir(), "refit.db"), engs[0].host, crashSettle,
		"REFIT_HOSTS="+hostsSpec(names, engs)+" gone="+gone)

	want := func(gs []models.ImageGroup) bool {
		for _, l := range layout {
			st := map[string]models.Status{refX: models.StatusOutdated, refY: models.StatusUpToDate}[l.ref]
			if statusOf(gs, l.host, l.name) != st {
				return false
			}
		}
		return true
	}
	waitGroups(t, p, "the start-up check to finish", want)
	// The watch's first refresh asks about new references too, so the
	// statuses can be known before the start-up check has sent its own
	// HEADs: wait for the check itself to end.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, m := crashGet(t, p.base+"/metrics"); strings.Contains(string(m), "refit_check_duration_seconds_count 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the start-up check did not end within 30s")
		}
	}
	setup := time.Since(began)
	regX.Reset()
	regY.Reset()

	start := time.Now()
	status, body := crashPost(t, p.base+"/api/check")
	took := time.Since(start)
	var groups []models.ImageGroup
	if status != 200 || json.Unmarshal(body, &groups) != nil || !want(groups) {
		t.Fatalf("POST /api/check = %d %s, want x outdated and y up to date on every host", status, body)
	}
	for reg, c := range map[string]ocitest.Counts{refX: regX.Counts(), refY: regY.Counts()} {
		if c.HeadManifest != 1 || c.GetManifest != 0 || c.HeadBlob != 0 || c.GetBlob != 0 {
			t.Errorf("one check over 3 hosts: %s's registry answered %+v, want one manifest HEAD and nothing else", reg, c)
		}
	}
	t.Logf("3 live hosts + 1 down, 5 containers, 2 images: check %s, one HEAD per reference; engines and setup %s",
		took.Round(time.Millisecond), setup.Round(100*time.Millisecond))

	t.Run("api/hosts lists them in order with their versions", func(t *testing.T) {
		status, body := crashGet(t, p.base+"/api/hosts")
		var hs []models.HostStatus
		var raw []map[string]any
		if status != 200 || json.Unmarshal(body, &hs) != nil || json.Unmarshal(body, &raw) != nil {
			t.Fatalf("GET /api/hosts = %d %s", status, body)
		}
		if len(hs) != 4 {
			t.Fatalf("GET /api/hosts = %s, want 4 hosts", body)
		}
		counts := map[string]int{"east": 2, "west": 2, "north": 1}
		for i, h := range hs[:3] {
			sv, err := clis[i].ServerVersion(t.Context()) // negotiates the client, as refit's
			if err != nil {
				t.Fatal(err)
			}
			if h.Name != names[i] || h.URL != engs[i].host || h.Status != models.HostOK || h.Error != "" ||
				h.EngineVersion != sv.Version || h.APIVersion != clis[i].ClientVersion() || h.Containers != counts[h.Name] ||
				time.Since(h.LastSeen) > time.Minute {
				t.Errorf("host %d = %+v, want %s at %s ok, Docker %s (API %s), %d containers, seen just now",
					i, h, names[i], engs[i].host, sv.Version, clis[i].ClientVersion(), counts[names[i]])
			}
		}
		if g := hs[3]; g.Name != "gone" || g.URL != gone || g.Status != models.HostUnreachable || g.Error == "" ||
			g.EngineVersion != "" || g.APIVersion != "" || g.Containers != 0 {
			t.Errorf("the host that never answered = %+v, want gone at %s unreachable with an error and nothing else", g, gone)
		}
		if _, ok := raw[3]["last_seen"]; ok {
			t.Errorf("the host never seen has a last_seen: %s", body)
		}
		want := []string{"containers", "engine_version", "api_version", "error", "last_seen", "name", "status", "url"}
		for _, k := range want {
			if _, ok := raw[0][k]; !ok {
				t.Errorf("GET /api/hosts: host without %q: %s", k, body)
			}
		}
		if len(raw[0]) != len(want) {
			t.Errorf("GET /api/hosts: fields %v, want %v", keys(raw[0]), want)
		}
	})
}

func TestHostsGroupUpdatePullsOncePerHost(t *testing.T) {
	dockertest.Host(t)
	t.Parallel()
	engs, clis := newPrivateEngines(t, 2)
	bin := buildRefit(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("grp/app:1")
	reg.Push(t, "grp/app:1", ocitest.ImageOpts{Marker: "v1 grp"})
	layout := []struct{ host, name string }{{"a", "g1"}, {"a", "g2"}, {"b", "g3"}, {"b", "g4"}}
	orig := map[string]string{}
	for i := range clis {
		crashPull(t, clis[i], ref)
	}
	for _, l := range layout {
		orig[l.name] = runOnHost(t, clis[hostIndex(l.host)], l.name, ref, []string{"ROLE=" + l.name})
	}
	v2 := reg.Push(t, "grp/app:1", ocitest.ImageOpts{Marker: "v2 grp"})
	p := startHostsRefit(t, bin, []string{"a", "b"}, engs)
	groups := waitGroups(t, p, "all four outdated", func(gs []models.ImageGroup) bool {
		for _, l := range layout {
			if statusOf(gs, l.host, l.name) != models.StatusOutdated {
				return false
			}
		}
		return true
	})

	reg.Reset()
	since := time.Now()
	status, body := crashPost(t, p.base+"/api/groups/"+url.PathEscape(groups[0].Image)+"/update")
	if status != 200 || string(body) != `{"status":"updating"}` {
		t.Fatalf("POST /api/groups/%s/update = %d %s", url.PathEscape(groups[0].Image), status, body)
	}
	for _, l := range layout {
		if pr := waitProgressDone(t, p, l.host+"%2F"+l.name, nil); pr.Phase != models.PhaseDone || pr.Host != l.host {
			t.Errorf("%s/%s: progress %+v, want done on %s", l.host, l.name, pr, l.host)
		}
	}
	until := time.Now().Add(time.Second) // event times are the engine's, in whole nanoseconds of the same clock

	// The engine logs one image "pull" event per pull it was asked for,
	// whatever it had to download: a second pull on a host would show here,
	// which the registry's counters could not tell apart (both engines
	// pull from 127.0.0.1, and a second pull fetches no blob).
	for i, h := range []string{"a", "b"} {
		if pulls := pullEvents(t, clis[i], since, until); len(pulls) != 1 {
			t.Errorf("engine %s logged %d pulls during the group update, want 1: %v", h, len(pulls), pulls)
		}
	}
	t.Logf("registry during the group update over 2 hosts: %+v", reg.Counts())

	for _, l := range layout {
		cli := clis[hostIndex(l.host)]
		cur := dockertest.Inspect(t, cli, l.name)
		if cur.ID == orig[l.name] || !runsDigest(t, cli, l.name, v2) {
			t.Errorf("%s/%s: %s, want a new container on v2", l.host, l.name, models.ShortID(cur.ID))
		}
		if !slices.Contains(cur.Config.Env, "ROLE="+l.name) || cur.Config.Labels["refit.test"] != l.name ||
			cur.HostConfig.RestartPolicy.Name != container.RestartPolicyUnlessStopped || cur.HostConfig.NetworkMode != "none" {
			t.Errorf("%s/%s lost its configuration: env %v, labels %v, restart %q, network %q", l.host, l.name,
				cur.Config.Env, cur.Config.Labels, cur.HostConfig.RestartPolicy.Name, cur.HostConfig.NetworkMode)
		}
	}
	var got []string
	for _, r := range getHistory(t, p) {
		ok := r.Result == "updated" && r.ToDigest == v2
		got = append(got, fmt.Sprintf("%s/%s %v", r.Host, r.Container, ok))
	}
	slices.Sort(got)
	if want := []string{"a/g1 true", "a/g2 true", "b/g3 true", "b/g4 true"}; !slices.Equal(got, want) {
		t.Errorf("GET /api/history (host/name updated-to-v2) = %v, want %v", got, want)
	}
}

func TestHostsOutageLeavesTheOtherHostWorking(t *testing.T) {
	dockertest.Host(t)
	t.Parallel()
	engs, clis := newPrivateEngines(t, 2)
	bin := buildRefit(t)
	reg := ocitest.NewRegistry(t)
	refP, refQ := reg.Ref("out/p:1"), reg.Ref("out/q:1")
	reg.Push(t, "out/p:1", ocitest.ImageOpts{Marker: "p1"})
	reg.Push(t, "out/q:1", ocitest.ImageOpts{Marker: "q1"})
	crashPull(t, clis[0], refP)
	crashPull(t, clis[0], refQ)
	crashPull(t, clis[1], refP)
	runOnHost(t, clis[0], "p1", refP, nil)
	runOnHost(t, clis[0], "q1", refQ, nil)
	runOnHost(t, clis[0], "q2", refQ, nil)
	p2 := runOnHost(t, clis[1], "p2", refP, nil)
	p := startHostsRefit(t, bin, []string{"a", "b"}, engs)
	allUpToDate := func(gs []models.ImageGroup) bool {
		for _, r := range []models.ContainerRef{models.Ref("a", "p1"), models.Ref("a", "q1"), models.Ref("a", "q2"), models.Ref("b", "p2")} {
			if statusOf(gs, r.Host, r.Name) != models.StatusUpToDate {
				return false
			}
		}
		return true
	}
	waitGroups(t, p, "every container up to date", allUpToDate)
	b := engs[1]

	// A stop is the engine's own shutdown: it stops p2 while it still
	// answers, so refit may see b's list empty before b goes. A kill -9 is a
	// host lost at once, a crash or a cut cable: p2 stays listed, unknown.
	t.Run("stopped during a check", func(t *testing.T) {
		reg.Reset()
		reg.SetLatency(3 * time.Second) // the check waits in its HEADs, past the lists
		defer reg.SetLatency(0)
		answer := make(chan error, 1)
		go func() {
			status, body, err := hostsDo("POST", p.base+"/api/check")
			if err == nil && status != 200 {
				err = fmt.Errorf("POST /api/check = %d %s", status, body)
			}
			answer <- err
		}()
		waitUntil(t, 10*time.Second, "the check to ask the registry", p, func() bool { return reg.Counts().HeadManifest > 0 })
		stopEngine(t, b)
		if err := <-answer; err != nil {
			t.Fatalf("the check during b's stop: %v\nrefit log:\n%s", err, p.logs.String())
		}
		reg.SetLatency(0)
		waitHostDown(t, p, "p2", models.StatusUnknown, "(not listed)")
		// A check with b gone still checks a.
		status, body := crashPost(t, p.base+"/api/check")
		var gs []models.ImageGroup
		if status != 200 || json.Unmarshal(body, &gs) != nil {
			t.Fatalf("POST /api/check with b down = %d %s", status, body)
		}
		if st := statusOf(gs, "b", "p2"); statusOf(gs, "a", "p1") != models.StatusUpToDate || (st != models.StatusUnknown && st != "(not listed)") {
			t.Errorf("check with b down: a/p1 %s, b/p2 %s; want uptodate, and p2 unknown or gone", statusOf(gs, "a", "p1"), st)
		}
		restartAndReconnect(t, p, b, clis[1], "p2", p2)
	})

	t.Run("killed during an update on the other host", func(t *testing.T) {
		v2 := reg.Push(t, "out/q:1", ocitest.ImageOpts{Marker: "q2", ExtraLayerSize: 2 << 20})
		reg.SetBlobRate(1 << 20) // a 2 s pull: b stops during it
		defer reg.SetBlobRate(0)
		if status, body := crashPost(t, p.base+"/api/check"); status != 200 {
			t.Fatalf("POST /api/check = %d %s", status, body)
		}
		waitGroups(t, p, "q outdated on a", func(gs []models.ImageGroup) bool {
			return statusOf(gs, "a", "q1") == models.StatusOutdated && statusOf(gs, "a", "q2") == models.StatusOutdated
		})
		if status, body := crashPost(t, p.base+"/api/groups/"+url.PathEscape(refQ)+"/update"); status != 200 {
			t.Fatalf("POST /api/groups/%s/update = %d %s", url.PathEscape(refQ), status, body)
		}
		waitUntil(t, 10*time.Second, "a/q1 to pull", p, func() bool {
			status, body, err := hostsDo("GET", p.base+"/api/images/a%2Fq1/progress")
			var pr models.Progress
			return err == nil && status == 200 && json.Unmarshal(body, &pr) == nil && pr.Phase == models.PhasePulling
		})
		b.kill()
		for _, n := range []string{"q1", "q2"} {
			if pr := waitProgressDone(t, p, "a%2F"+n, nil); pr.Phase != models.PhaseDone {
				t.Errorf("a/%s with b stopped meanwhile: %+v, want done", n, pr)
			}
			if !runsDigest(t, clis[0], n, v2) {
				t.Errorf("a/%s does not run v2", n)
			}
		}
		waitHostDown(t, p, "p2", models.StatusUnknown)
		var got []string
		for _, r := range getHistory(t, p) {
			got = append(got, r.Host+"/"+r.Container+" "+r.Result)
		}
		slices.Sort(got)
		if want := []string{"a/q1 updated", "a/q2 updated"}; !slices.Equal(got, want) {
			t.Errorf("GET /api/history = %v, want %v", got, want)
		}
		restartAndReconnect(t, p, b, clis[1], "p2", p2)
	})
}

// newPrivateEngines starts n private engines at once (see newPrivateEngine).
func newPrivateEngines(t *testing.T, n int) ([]*privateEngine, []*client.Client) {
	t.Helper()
	bin := privateDockerd(t)
	engs := make([]*privateEngine, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { engs[i], errs[i] = startPrivateEngine(bin) })
	}
	wg.Wait()
	for _, e := range engs {
		if e != nil {
			t.Cleanup(e.cleanup)
		}
	}
	if err := errors.Join(errs...); err != nil {
		crashNoEngine(t, err.Error())
	}
	clis := make([]*client.Client, n)
	for i, e := range engs {
		cli, err := client.NewClientWithOpts(client.WithHost(e.host), client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		clis[i] = cli
	}
	return engs, clis
}

// hostIndex is the engine of host "a", "b", … in the tests' layouts.
func hostIndex(host string) int { return int(host[0] - 'a') }

// hostsSpec is REFIT_HOSTS for names[i]=engs[i].
func hostsSpec(names []string, engs []*privateEngine) string {
	var parts []string
	for i, n := range names {
		parts = append(parts, n+"="+engs[i].host)
	}
	return strings.Join(parts, " ")
}

func startHostsRefit(t *testing.T, bin string, names []string, engs []*privateEngine) *refitChild {
	t.Helper()
	dir := t.TempDir()
	return startRefitChild(t, bin, dir, filepath.Join(dir, "refit.db"), engs[0].host, crashSettle, "REFIT_HOSTS="+hostsSpec(names, engs))
}

// runOnHost runs name from ref with restart policy unless-stopped, so it
// comes back with its engine, and returns its ID once it runs.
func runOnHost(t *testing.T, cli *client.Client, name, ref string, env []string) string {
	t.Helper()
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: ref, Env: env, Labels: map[string]string{"refit.test": name}},
		&container.HostConfig{NetworkMode: "none", RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}},
		nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); !dockertest.Inspect(t, cli, created.ID).State.Running; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s does not run: %s", name, dockertest.Logs(t, cli, created.ID))
		}
	}
	return created.ID
}

// runsDigest reports whether name runs an image that ref's repository
// knows as digest.
func runsDigest(t *testing.T, cli *client.Client, name, digest string) bool {
	t.Helper()
	cur := dockertest.Inspect(t, cli, name)
	img, err := cli.ImageInspect(t.Context(), cur.Image)
	return err == nil && cur.State.Running && slices.ContainsFunc(img.RepoDigests, func(d string) bool { return strings.HasSuffix(d, "@"+digest) })
}

// pullEvents are the engine's image pull events between since and until.
func pullEvents(t *testing.T, cli *client.Client, since, until time.Time) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	msgs, errs := cli.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Until:   fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", string(events.ImageEventType)), filters.Arg("event", string(events.ActionPull))),
	})
	var out []string
	for {
		select {
		case m := <-msgs:
			out = append(out, m.Actor.ID)
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("engine events: %v", err)
			}
			return out
		}
	}
}

// hostsDo is one request, safe off the test's goroutine.
func hostsDo(method, url string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := crashHTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func hostsCall(t *testing.T, method, url string) (int, []byte) {
	t.Helper()
	status, body, err := hostsDo(method, url)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return status, body
}

func getGroups(t *testing.T, p *refitChild) []models.ImageGroup {
	t.Helper()
	var gs []models.ImageGroup
	if status, body := crashGet(t, p.base+"/api/images"); status != 200 || json.Unmarshal(body, &gs) != nil {
		t.Fatalf("GET /api/images = %d %s", status, body)
	}
	return gs
}

func getHistory(t *testing.T, p *refitChild) []models.UpdateRecord {
	t.Helper()
	var recs []models.UpdateRecord
	if status, body := crashGet(t, p.base+"/api/history"); status != 200 || json.Unmarshal(body, &recs) != nil {
		t.Fatalf("GET /api/history = %d %s", status, body)
	}
	return recs
}

func getProgress(t *testing.T, p *refitChild, id string) models.Progress {
	t.Helper()
	var pr models.Progress
	if status, body := crashGet(t, p.base+"/api/images/"+id+"/progress"); status != 200 || json.Unmarshal(body, &pr) != nil {
		t.Fatalf("GET /api/images/%s/progress = %d %s\nrefit log:\n%s", id, status, body, p.logs.String())
	}
	return pr
}

// waitProgressDone polls id's progress until its update ends, calling
// meanwhile (when not nil) at each poll.
func waitProgressDone(t *testing.T, p *refitChild, id string, meanwhile func()) models.Progress {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if pr := getProgress(t, p, id); !pr.Running() {
			return pr
		}
		if meanwhile != nil {
			meanwhile()
		}
		if time.Now().After(end) {
			t.Fatalf("the update of %s did not end within 60s\nrefit log:\n%s", id, p.logs.String())
		}
	}
}

func itemOf(gs []models.ImageGroup, host, name string) *models.ContainerItem {
	for _, g := range gs {
		for i, c := range g.Containers {
			if c.Host == host && c.ContainerName == name {
				return &g.Containers[i]
			}
		}
	}
	return nil
}

func statusOf(gs []models.ImageGroup, host, name string) models.Status {
	if c := itemOf(gs, host, name); c != nil {
		return c.Status
	}
	return "(not listed)"
}

// waitGroups polls GET /api/images until ok, for 30 s.
func waitGroups(t *testing.T, p *refitChild, what string, ok func([]models.ImageGroup) bool) []models.ImageGroup {
	t.Helper()
	var gs []models.ImageGroup
	waitUntil(t, 30*time.Second, what, p, func() bool {
		gs = getGroups(t, p)
		return ok(gs)
	})
	return gs
}

func waitUntil(t *testing.T, d time.Duration, what string, p *refitChild, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited %s for %s\nrefit log:\n%s", d, what, p.logs.String())
		}
	}
}

func getHosts(t *testing.T, p *refitChild) map[string]models.HostStatus {
	t.Helper()
	var hs []models.HostStatus
	if status, body := crashGet(t, p.base+"/api/hosts"); status != 200 || json.Unmarshal(body, &hs) != nil {
		t.Fatalf("GET /api/hosts = %d %s", status, body)
	}
	out := map[string]models.HostStatus{}
	for _, h := range hs {
		out[h.Name] = h
	}
	return out
}

// kill is kill -9 of the engine's dockerd: its containers' shims live on,
// and the next start takes them back.
func (e *privateEngine) kill() {
	e.cmd.Process.Kill()
	<-e.done
}

func stopEngine(t *testing.T, e *privateEngine) {
	t.Helper()
	if err := e.stop(); err != nil {
		t.Fatalf("stop engine: %v", err)
	}
}

// waitHostDown waits until b shows unreachable with an error and its
// container name with one of the statuses want ("(not listed)" for none),
// and checks that a's containers are still checked.
func waitHostDown(t *testing.T, p *refitChild, name string, want ...models.Status) {
	t.Helper()
	waitUntil(t, 10*time.Second, fmt.Sprintf("b unreachable, %s %v", name, want), p, func() bool {
		h := getHosts(t, p)["b"]
		gs := getGroups(t, p)
		return h.Status == models.HostUnreachable && h.Error != "" && slices.Contains(want, statusOf(gs, "b", name))
	})
	h, gs := getHosts(t, p), getGroups(t, p)
	if h["a"].Status != models.HostOK || statusOf(gs, "a", "p1") != models.StatusUpToDate {
		t.Errorf("with b down: host a %+v, a/p1 %s; want ok, uptodate", h["a"], statusOf(gs, "a", "p1"))
	}
	t.Logf("b down: %q; b/%s listed as %s", h["b"].Error, name, statusOf(gs, "b", name))
}

// restartAndReconnect starts b's engine again on the same data-root, where
// name (id) comes back by its restart policy, and waits for refit to see b
// ok and name with a real status again. After a kill -9, Docker 20.10
// cancels the restart policy of what it finds dead: the test starts it then,
// and refit must see that on the new event stream.
func restartAndReconnect(t *testing.T, p *refitChild, b *privateEngine, cli *client.Client, name, id string) {
	t.Helper()
	if err := b.start(); err != nil {
		t.Fatalf("start engine b again: %v", err)
	}
	back := time.Now()
	if !dockertest.Inspect(t, cli, id).State.Running {
		t.Logf("engine b did not restart %s by its policy; starting it", name)
		if err := cli.ContainerStart(t.Context(), id, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var c *models.ContainerItem
	var h models.HostStatus
	for end := back.Add(hostsReconnect); ; time.Sleep(100 * time.Millisecond) {
		c, h = itemOf(getGroups(t, p), "b", name), getHosts(t, p)["b"]
		if h.Status == models.HostOK && c != nil && c.Status == models.StatusUpToDate && c.ContainerID == models.ShortID(id) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s after b's engine answered: host b %+v, b/%s %+v, want ok and %s uptodate\nengine b: %s\ndockerd b:\n%s\nrefit log:\n%s",
				hostsReconnect, h, name, c, models.ShortID(id), engineState(t.Context(), cli), lastLines(b.log.String(), 40), p.logs.String())
		}
	}
	t.Logf("refit saw b again %s after its engine answered", time.Since(back).Round(100*time.Millisecond))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
