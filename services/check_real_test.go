package services_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// realChecker wires the checker over the real engine and a loopback
// registry. Other packages' tests share the engine, so assertions look only
// at this test's registry.
type realChecker struct {
	reg   *ocitest.Registry
	ctr   *services.Containers
	oci   *oci.Client
	calls *ownRequests
}

func newRealChecker(t *testing.T) realChecker {
	t.Helper()
	eng := mustRealEngine(t)
	reg := ocitest.NewRegistry(t)
	calls := &ownRequests{base: http.DefaultTransport, host: reg.Host(), n: map[string]int{}}
	oc := mustOCI(t, oci.Options{Backoff: 50 * time.Millisecond, Transport: calls})
	_, tog, _ := mustStore(t)
	return realChecker{reg: reg, ctr: services.NewContainers(eng, oc, tog, quiet, 8), oci: oc, calls: calls}
}

// ownRequests counts the manifest requests this test's own client sends to
// its registry. Other test packages check the same engine at the same time
// and so may ask this registry about its containers too: the server's
// counter sees those, this one does not.
type ownRequests struct {
	base http.RoundTripper
	host string
	mu   sync.Mutex
	n    map[string]int // "HEAD", "GET" of manifests
}

func (o *ownRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == o.host && strings.Contains(req.URL.Path, "/manifests/") {
		o.mu.Lock()
		o.n[req.Method]++
		o.mu.Unlock()
	}
	return o.base.RoundTrip(req)
}

func (o *ownRequests) reset() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.n
	o.n = map[string]int{}
	return n
}

func (o *ownRequests) count(method string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[method]
}

// mine returns this test's groups, keyed by image.
func (rc realChecker) mine(groups []models.ImageGroup) map[string]models.ImageGroup {
	out := map[string]models.ImageGroup{}
	for _, g := range groups {
		if strings.HasPrefix(g.Image, rc.reg.Host()+"/") {
			out[strings.TrimPrefix(g.Image, rc.reg.Host()+"/")] = g
		}
	}
	return out
}

func (rc realChecker) check(t *testing.T) map[string]models.ImageGroup {
	t.Helper()
	rc.reg.Reset()
	rc.calls.reset()
	groups, err := rc.ctr.Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return rc.mine(groups)
}

func statuses(g models.ImageGroup) map[string]models.Status {
	out := map[string]models.Status{}
	for _, c := range g.Containers {
		out[c.ContainerName] = c.Status
	}
	return out
}

func TestCheckAgainstRealEngineAndRegistry(t *testing.T) {
	rc := newRealChecker(t)
	cli := dockertest.Client(t)
	reg := rc.reg

	// v1 of app:1, pulled and running.
	v1 := reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, reg.Ref("test/app:1"))
	a := dockertest.UniqueName(t, "a")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: a, Image: reg.Ref("test/app:1")})

	// A multi-arch tag: the HEAD gives the index digest, which the pull records.
	reg.PushIndex(t, "test/multi:1", ocitest.ImageOpts{Marker: "multi"})
	dockertest.Pull(t, cli, reg.Ref("test/multi:1"))
	m := dockertest.UniqueName(t, "multi")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: m, Image: reg.Ref("test/multi:1")})

	// A locally loaded image that no registry has. Graph drivers give it no
	// RepoDigests; the containerd store gives it one, like a pulled image.
	dockertest.Load(t, cli, ocitest.Tarball(t, reg.Ref("test/local:1"), ocitest.ImageOpts{Marker: "local"}))
	l := dockertest.UniqueName(t, "local")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: l, Image: reg.Ref("test/local:1")})

	// An image built here (FROM scratch, the classic builder) under a name the registry does not have.
	dockertest.Build(t, cli, reg.Ref("test/built:1"), map[string][]byte{"testapp": ocitest.MustTestApp(t)},
		"FROM scratch\nCOPY testapp /testapp\nENTRYPOINT [\"/testapp\"]\n")
	bu := dockertest.UniqueName(t, "built")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: bu, Image: reg.Ref("test/built:1")})

	// Absent from the list: a container started from an image ID, and a stopped one.
	ii, _, err := cli.ImageInspectWithRaw(context.Background(), reg.Ref("test/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	byID := dockertest.UniqueName(t, "byid")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: byID, Image: ii.ID})
	byShortID := dockertest.UniqueName(t, "byshortid")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: byShortID, Image: strings.TrimPrefix(ii.ID, "sha256:")[:12]})
	stopped := dockertest.UniqueName(t, "stopped")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: stopped, Image: reg.Ref("test/app:1"), NoStart: true})

	// The multi-arch image pushed and pulled under a second name: the
	// containerd store's image list shows one RepoDigest for both.
	reg.PushIndex(t, "test/alias:1", ocitest.ImageOpts{Marker: "multi"})
	dockertest.Pull(t, cli, reg.Ref("test/alias:1"))
	al := dockertest.UniqueName(t, "alias")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: al, Image: reg.Ref("test/alias:1")})

	t.Run("up to date costs one HEAD per image and no GET", func(t *testing.T) {
		got := rc.check(t)
		if g := got["test/app:1"]; g.Status != models.StatusUpToDate || g.RemoteDigest != models.ShortDigest(v1) {
			t.Errorf("app group = %s %s, want uptodate %s", g.Status, g.RemoteDigest, models.ShortDigest(v1))
		}
		if g := got["test/multi:1"]; g.Status != models.StatusUpToDate {
			t.Errorf("multi-arch group = %s (%s), want uptodate", g.Status, g.Reason)
		}
		if g := got["test/alias:1"]; g.Status != models.StatusUpToDate {
			t.Errorf("group of the image's second name = %s (%s), want uptodate", g.Status, g.Reason)
		}
		for _, img := range []string{"test/local:1", "test/built:1"} {
			if g := got[img]; g.Status != models.StatusUnknown || g.Containers[0].LocalDigest != "unknown" ||
				!strings.Contains(g.Reason, "local image") {
				t.Errorf("%s group = %+v, want unknown for a local image with local digest unknown", img, g)
			}
		}
		for _, g := range got {
			for _, c := range g.Containers {
				if c.ContainerName == byID || c.ContainerName == byShortID || c.ContainerName == stopped {
					t.Errorf("%s is listed in %s; containers started from image IDs and stopped ones are skipped", c.ContainerName, g.Image)
				}
			}
		}
		c := reg.Counts() // other packages' checks only ever HEAD, so no GET is anyone's
		// app, multi and alias; the loaded and the built image cost nothing.
		if heads := rc.calls.count("HEAD"); heads != 3 || rc.calls.count("GET") != 0 || c.GetManifest != 0 || c.GetBlob != 0 {
			t.Errorf("the check sent %d HEADs and %d GETs of manifests (registry saw %+v), want 3 HEADs (one per pulled image) and no GET",
				heads, rc.calls.count("GET"), c)
		}
	})

	t.Run("new version pushed makes it outdated", func(t *testing.T) {
		v2 := reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v2"})
		g := rc.check(t)["test/app:1"]
		if g.Status != models.StatusOutdated || g.RemoteFull != v2 {
			t.Fatalf("app group = %s remote %s, want outdated remote %s", g.Status, g.RemoteFull, v2)
		}
		if g.Containers[0].LocalDigest != models.ShortDigest(v1) {
			t.Errorf("local digest = %s, want %s", g.Containers[0].LocalDigest, models.ShortDigest(v1))
		}
	})

	t.Run("one container on the new version makes the group partial", func(t *testing.T) {
		dockertest.Pull(t, cli, reg.Ref("test/app:1"))
		b := dockertest.UniqueName(t, "b")
		dockertest.Run(t, cli, dockertest.RunOpts{Name: b, Image: reg.Ref("test/app:1")})
		g := rc.check(t)["test/app:1"]
		want := map[string]models.Status{a: models.StatusOutdated, b: models.StatusUpToDate}
		if got := statuses(g); g.Status != models.StatusPartial || got[a] != want[a] || got[b] != want[b] {
			t.Errorf("group %s with %v, want partial with %v", g.Status, got, want)
		}
		// The list shows the old container by image ID now that its tag moved;
		// its configured reference still groups it. On the containerd store
		// the old image lost its RepoDigest for the repository with the tag:
		// its ID, the manifest digest, still says it is outdated.
		if len(g.Containers) != 2 {
			t.Errorf("group has %d containers, want 2", len(g.Containers))
		}
	})

	t.Run("429 makes groups unknown with the reason, and backs off", func(t *testing.T) {
		reg.FailManifests(429, "1")
		defer reg.FailManifests(0, "")
		got := rc.check(t)
		for img, g := range got {
			if img == "test/local:1" || img == "test/built:1" {
				continue // never asked
			}
			if g.Status != models.StatusUnknown || !strings.Contains(g.Reason, "rate limit") {
				t.Errorf("%s = %s (%q), want unknown for the rate limit", g.Image, g.Status, g.Reason)
			}
		}
		// Counted from the start: a 429 is never resent, so each image costs
		// at most the one HEAD that was already on its way.
		if n := rc.calls.count("HEAD"); n < 1 || n > len(got) || rc.calls.count("GET") != 0 {
			t.Errorf("the check that met the 429 sent %d HEADs and %d GETs, want 1 to %d HEADs and no GET",
				n, rc.calls.count("GET"), len(got))
		}
		if !limited(rc.oci.RateLimits(), reg.Host()) {
			t.Errorf("RateLimits() = %+v, want %s limited", rc.oci.RateLimits(), reg.Host())
		}
		rc.check(t) // within Retry-After: no request at all
		if n := rc.calls.count("HEAD"); n != 0 {
			t.Errorf("a check within Retry-After sent %d HEADs, want 0", n)
		}
	})
}

func limited(rls []models.RateLimit, host string) bool {
	for _, rl := range rls {
		if rl.Registry == host && rl.Limited {
			return true
		}
	}
	return false
}

func TestEventsKeepSnapshotFreshWithoutRegistryCalls(t *testing.T) {
	rc := newRealChecker(t)
	cli := dockertest.Client(t)
	rc.reg.Push(t, "test/ev:1", ocitest.ImageOpts{Marker: "ev"})
	dockertest.Pull(t, cli, rc.reg.Ref("test/ev:1"))
	a := dockertest.UniqueName(t, "ev-a")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: a, Image: rc.reg.Ref("test/ev:1")})
	rc.check(t)
	rc.calls.reset()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rc.ctr.Watch(ctx)

	b := dockertest.UniqueName(t, "ev-b")
	bid := dockertest.Run(t, cli, dockertest.RunOpts{Name: b, Image: rc.reg.Ref("test/ev:1")})
	waitGroup(t, rc, "test/ev:1", func(g models.ImageGroup) bool { return len(g.Containers) == 2 }, "the started container to appear")
	dockertest.Stop(t, cli, bid)
	waitGroup(t, rc, "test/ev:1", func(g models.ImageGroup) bool { return len(g.Containers) == 1 }, "the stopped container to go")
	if n := rc.calls.reset(); len(n) != 0 {
		t.Errorf("events cost registry requests %v, want none for a known image", n)
	}
}

func waitGroup(t *testing.T, rc realChecker, image string, ok func(models.ImageGroup) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if g, found := rc.mine(rc.ctr.Groups())[image]; found && ok(g) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %+v", what, rc.mine(rc.ctr.Groups())[image])
}
