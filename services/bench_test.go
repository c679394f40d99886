package services_test

// The check benchmark: a cold and a warm Check of N unique images against a
// loopback registry with added latency, measured against the physical limit.
// `make bench` runs TestBenchReport with REFIT_BENCH=1 and puts its markdown
// in docs/bench.md; TestCheckBenchHarness runs the same body once on every
// `make test`, so the harness cannot rot. No test here asserts a time.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"refit/models"
	"refit/services"
	"refit/services/benchtest"
	"refit/services/dockerengine/dockertest"
	"refit/services/fake"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// benchConcurrency is refit's default check concurrency per registry (REFIT_CHECK_CONCURRENCY).
const benchConcurrency = 16

// checkBench is one loopback registry holding the images bench/img-NNN:1,
// pushed once (pushes are neither counted nor delayed), and the toggles every
// checker shares.
type checkBench struct {
	reg     *ocitest.Registry
	refs    []string // full references, registry included
	digests []string // manifest digests, by index
	tog     *services.Toggles
	log     *slog.Logger
}

func newCheckBench(tb testing.TB, n int) *checkBench {
	tb.Helper()
	reg := ocitest.NewRegistry(tb)
	b := &checkBench{reg: reg, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for i := range n {
		repoTag := fmt.Sprintf("bench/img-%03d:1", i)
		b.digests = append(b.digests, reg.Push(tb, repoTag, ocitest.ImageOpts{Marker: repoTag}))
		b.refs = append(b.refs, reg.Ref(repoTag))
	}
	db, err := services.OpenDB(filepath.Join(tb.TempDir(), "refit.db"))
	if err != nil {
		tb.Fatal(err)
	}
	if b.tog, err = services.NewToggles(db); err != nil {
		tb.Fatal(err)
	}
	return b
}

// engine returns a fake engine running one container of each of the first n
// images, each pulled from the registry: its RepoDigests match the tag.
func (b *checkBench) engine(n int) *fake.Engine {
	e := fake.NewEngine()
	for i := range n {
		img := fmt.Sprintf("sha256:%064x", i+1)
		e.AddImage(img, strings.TrimSuffix(b.refs[i], ":1")+"@"+b.digests[i])
		e.Run(fmt.Sprintf("%064x", i+1), fmt.Sprintf("c-%03d", i), b.refs[i], img)
	}
	return e
}

// clientLog counts, on the client side, what the registry's counters cannot
// see: the puller's HTTPS ping attempts, which fail against a plain-HTTP
// registry before it falls back to HTTP.
type clientLog struct {
	base http.RoundTripper

	mu          sync.Mutex
	requests    int
	httpsFailed int
}

func (c *clientLog) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	c.mu.Lock()
	c.requests++
	if err != nil && req.URL.Scheme == "https" {
		c.httpsFailed++
	}
	c.mu.Unlock()
	return resp, err
}

// benchChecker is a checker over n containers with a brand-new oci.Client
// and HTTP transport: a process that just started.
type benchChecker struct {
	ctr    *services.Containers
	client *clientLog
}

// checker builds a cold checker.
func (b *checkBench) checker(tb testing.TB, n int) benchChecker {
	tb.Helper()
	return b.checkerOn(tb, services.OneHost(b.engine(n)))
}

// checkerOn builds a cold checker over hosts.
func (b *checkBench) checkerOn(tb testing.TB, hosts []services.Host) benchChecker {
	tb.Helper()
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	cl := &clientLog{base: tr}
	oc, err := oci.New(oci.Options{Transport: cl})
	if err != nil {
		tb.Fatal(err)
	}
	return benchChecker{ctr: services.NewContainersOn(hosts, oc, b.tog, b.log, benchConcurrency), client: cl}
}

// checkRun is what one Check cost.
type checkRun struct {
	wall           time.Duration
	counts         ocitest.Counts
	clientRequests int // as the client saw them, failed HTTPS pings included
	httpsFailed    int
	upToDate       int // groups the check found up to date
}

func (b *checkBench) check(tb testing.TB, bc benchChecker) checkRun {
	tb.Helper()
	run, groups := b.measure(tb, bc)
	for _, g := range groups {
		if g.Status != models.StatusUpToDate {
			tb.Errorf("group %s is %s (%s), want uptodate", g.Image, g.Status, g.Reason)
		}
	}
	return run
}

// measure runs one Check and records what it cost, whatever it found.
func (b *checkBench) measure(tb testing.TB, bc benchChecker) (checkRun, []models.ImageGroup) {
	tb.Helper()
	b.reg.Reset()
	bc.client.mu.Lock()
	bc.client.requests, bc.client.httpsFailed = 0, 0
	bc.client.mu.Unlock()
	start := time.Now()
	groups, err := bc.ctr.Check(context.Background())
	wall := time.Since(start)
	if err != nil {
		tb.Fatalf("Check: %v", err)
	}
	run := checkRun{wall: wall, counts: b.reg.Counts()}
	bc.client.mu.Lock()
	run.clientRequests, run.httpsFailed = bc.client.requests, bc.client.httpsFailed
	bc.client.mu.Unlock()
	for _, g := range groups {
		if g.Status == models.StatusUpToDate {
			run.upToDate++
		}
	}
	// Every request the client sent reached the registry's counters, but the
	// HTTPS halves of the ping race, which a plain-HTTP server cannot answer.
	if want := run.counts.Total() + run.httpsFailed; run.clientRequests != want {
		tb.Errorf("the client sent %d requests, the registry counted %d and %d HTTPS pings failed; want them equal",
			run.clientRequests, run.counts.Total(), run.httpsFailed)
	}
	return run, groups
}

// faultRun is what a check cost while the registry misbehaved.
type faultRun struct {
	name          string
	first, second checkRun // the check that met the fault, and the next one
}

// benchFaults measures checks of n images over a warm client while the
// registry answers every HEAD 429 (then again, within its Retry-After), and
// while it answers each image's first HEAD 503.
func (b *checkBench) benchFaults(tb testing.TB, n int) []faultRun {
	tb.Helper()
	defer b.reg.FailManifests(0, "")
	var runs []faultRun

	bc := b.checker(tb, n)
	b.check(tb, bc)
	b.reg.FailManifests(http.StatusTooManyRequests, "60")
	r := faultRun{name: "429, Retry-After 60"}
	r.first, _ = b.measure(tb, bc)
	r.second, _ = b.measure(tb, bc)
	runs = append(runs, r)
	b.reg.FailManifests(0, "")

	bc = b.checker(tb, n)
	b.check(tb, bc)
	b.reg.Fail(ocitest.Manifests, ocitest.Fault{Status: http.StatusServiceUnavailable, Times: n})
	r = faultRun{name: "503 once per image"}
	r.first = b.check(tb, bc)
	r.second = b.check(tb, bc)
	return append(runs, r)
}

// TestCheckBenchHarness runs the check benchmark's body once, small and
// without latency, and asserts only request counts: exactly one HEAD per
// unique image, no GET, at most one ping per repository on a cold check and
// none on a warm one.
func TestCheckBenchHarness(t *testing.T) {
	const n = 3
	b := newCheckBench(t, n)
	bc := b.checker(t, n)
	for _, pass := range []string{"cold", "warm"} {
		run := b.check(t, bc)
		c := run.counts
		if run.upToDate != n || c.HeadManifest != n || c.GetManifest != 0 || c.GetBlob != 0 || c.HeadBlob != 0 {
			t.Errorf("%s check: %d up to date, registry saw %+v; want %d up to date, %d HEADs of manifests and nothing else",
				pass, run.upToDate, c, n, n)
		}
		wantPings := 1 // one per registry, shared by its repositories
		if pass == "warm" {
			wantPings = 0
		}
		if c.Ping != wantPings || c.Token != 0 || c.Other != 0 {
			t.Errorf("%s check: %d pings, %d token and %d other requests, want %d, 0 and 0",
				pass, c.Ping, c.Token, c.Other, wantPings)
		}
	}
}

// TestCheckBenchFaults asserts what registry trouble costs in the bench's
// own numbers: a 429 at most one HEAD per image and then nothing until
// Retry-After, a 503 exactly one retry.
func TestCheckBenchFaults(t *testing.T) {
	const n = 3
	b := newCheckBench(t, n)
	runs := b.benchFaults(t, n)

	limited := runs[0]
	if c := limited.first.counts; c.HeadManifest < 1 || c.HeadManifest > n || c.Total() != c.HeadManifest || limited.first.upToDate != 0 {
		t.Errorf("check meeting 429s: %+v, %d up to date; want 1 to %d HEADs (the ones in flight), nothing else, none up to date",
			c, limited.first.upToDate, n)
	}
	if c := limited.second.counts; c.Total() != 0 || limited.second.clientRequests != 0 {
		t.Errorf("check within Retry-After: registry saw %+v, client sent %d; want no request at all",
			c, limited.second.clientRequests)
	}

	flaky := runs[1]
	if c := flaky.first.counts; c.HeadManifest != 2*n || c.Total() != 2*n || flaky.first.upToDate != n {
		t.Errorf("check meeting one 503 per image: %+v, %d up to date; want %d HEADs and nothing else, all up to date",
			c, flaky.first.upToDate, 2*n)
	}
	if c := flaky.second.counts; c.HeadManifest != n || c.Total() != n {
		t.Errorf("check after the 503s: %+v, want %d HEADs", c, n)
	}
}

// --- Many hosts: one check over several engines ---
//
// hostsImages images, each run by containers on every host: one host with
// all of them, and benchHosts hosts with a share each. A check lists the
// hosts in parallel and sends one HEAD per unique reference across them all,
// so both layouts send the same hostsImages HEADs and should take the same
// time. The registry is the check bench's, the engines fake.Engine as there;
// a list latency, when set, makes each engine's list take that long (a remote
// engine's round trip; fake.Engine alone answers at once).

const (
	benchHosts      = 5
	hostsImages     = 50
	hostsContainers = 500 // in all, over every host
)

// listDelay is a fake engine whose container list takes list.
type listDelay struct {
	*fake.Engine
	list time.Duration
}

func (e listDelay) Running(ctx context.Context) ([]models.Container, error) {
	if e.list > 0 {
		select {
		case <-time.After(e.list):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return e.Engine.Running(ctx)
}

// hostsLayout returns hosts fake engines named h1…, together running total
// containers, each host an equal share, container i of a host running image
// i mod images, each image pulled from the registry. With one host it is
// models.LocalHost, as refit without -hosts.
func (b *checkBench) hostsLayout(hosts, total, images int, list time.Duration) []services.Host {
	out := make([]services.Host, hosts)
	for h := range hosts {
		e := fake.NewEngine()
		for i := range images {
			e.AddImage(fmt.Sprintf("sha256:%064x", i+1), strings.TrimSuffix(b.refs[i], ":1")+"@"+b.digests[i])
		}
		for i := range total / hosts {
			img := i % images
			e.Run(fmt.Sprintf("%064x", h*1_000_000+i+1), fmt.Sprintf("c-%03d", i), b.refs[img],
				fmt.Sprintf("sha256:%064x", img+1))
		}
		out[h] = services.Host{Name: fmt.Sprintf("h%d", h+1), Engine: listDelay{Engine: e, list: list}}
	}
	if hosts == 1 {
		out[0].Name = models.LocalHost
	}
	return out
}

// hostsRun is a cold and a warm check of one layout.
type hostsRun struct {
	hosts      int
	cold, warm checkRun
}

// benchHostsCheck checks the layout of hosts hosts rounds times, each round
// with a cold checker, and returns the round whose cold check was the median.
// It fails the test unless every check found all containers, on their hosts,
// in hostsImages groups, all up to date.
func (b *checkBench) benchHostsCheck(tb testing.TB, hosts, rounds int, list time.Duration) hostsRun {
	tb.Helper()
	var runs []hostsRun
	for range rounds {
		bc := b.checkerOn(tb, b.hostsLayout(hosts, hostsContainers, hostsImages, list))
		r := hostsRun{hosts: hosts}
		for i, run := range []*checkRun{&r.cold, &r.warm} {
			var groups []models.ImageGroup
			*run, groups = b.measure(tb, bc)
			b.checkHostsGroups(tb, hosts, groups, []string{"cold", "warm"}[i])
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(x, y hostsRun) int { return cmp.Compare(x.cold.wall, y.cold.wall) })
	return runs[len(runs)/2]
}

func (b *checkBench) checkHostsGroups(tb testing.TB, hosts int, groups []models.ImageGroup, pass string) {
	tb.Helper()
	if len(groups) != hostsImages {
		tb.Errorf("%d hosts, %s check: %d groups, want %d", hosts, pass, len(groups), hostsImages)
	}
	perHost := map[string]int{}
	for _, g := range groups {
		if g.Status != models.StatusUpToDate {
			tb.Errorf("%d hosts, %s check: group %s is %s (%s), want uptodate", hosts, pass, g.Image, g.Status, g.Reason)
		}
		for _, it := range g.Containers {
			perHost[it.Host]++
		}
	}
	for h, n := range perHost {
		want := hostsContainers / hosts
		if hosts == 1 {
			want = hostsContainers
			if h != "" { // items name their host only when there are several
				tb.Errorf("one host, %s check: %d items name host %q, want none", pass, n, h)
			}
		} else if h == "" || n != want {
			tb.Errorf("%d hosts, %s check: %d items on host %q, want %d on each named host", hosts, pass, n, h, want)
		}
	}
	if len(perHost) != hosts {
		tb.Errorf("%d hosts, %s check: items on %d hosts (%v)", hosts, pass, len(perHost), perHost)
	}
}

// hostsCPU is what a warm check of a layout costs, without latency.
type hostsCPU struct {
	wall   time.Duration
	allocs float64
}

func benchHostsCPU(b *checkBench, hosts int) hostsCPU {
	b.reg.SetLatency(0)
	var out hostsCPU
	res := testing.Benchmark(func(tb *testing.B) {
		tb.ReportAllocs()
		bc := b.checkerOn(tb, b.hostsLayout(hosts, hostsContainers, hostsImages, 0))
		if _, err := bc.ctr.Check(context.Background()); err != nil {
			tb.Fatal(err)
		}
		for tb.Loop() {
			if _, err := bc.ctr.Check(context.Background()); err != nil {
				tb.Fatal(err)
			}
		}
	})
	out.wall, out.allocs = time.Duration(res.NsPerOp()), float64(res.AllocsPerOp())
	return out
}

// TestHostsCheckBenchHarness runs the many-hosts check bench once at its
// real size, without latency, and asserts its request counts: exactly one
// HEAD per unique image across all hosts (hostsImages), one ping on a cold
// check and none on a warm one, no GET; the same as one host with all the
// containers.
func TestHostsCheckBenchHarness(t *testing.T) {
	b := newCheckBench(t, hostsImages)
	for _, hosts := range []int{1, benchHosts} {
		r := b.benchHostsCheck(t, hosts, 1, 0)
		for i, run := range []checkRun{r.cold, r.warm} {
			c, wantPings := run.counts, 1-i
			if c.HeadManifest != hostsImages || c.Ping != wantPings || c.Total() != hostsImages+wantPings {
				t.Errorf("%d hosts × %d containers over %d images, %s check: registry saw %+v; want exactly %d "+
					"HEADs of manifests, %d pings and nothing else", hosts, hostsContainers/hosts, hostsImages,
					[]string{"cold", "warm"}[i], c, hostsImages, wantPings)
			}
		}
	}
}

// benchHostsReport measures the many-hosts check against one host with the
// same containers, and returns its markdown section.
func benchHostsReport(t *testing.T, b *checkBench) string {
	const rounds = 3
	latencies := []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond}
	lists := []time.Duration{0, 20 * time.Millisecond}
	type row struct {
		latency, list time.Duration
		one, many     hostsRun
	}
	var rows []row
	start := time.Now()
	for _, list := range lists {
		for _, lat := range latencies {
			b.reg.SetLatency(lat)
			r := row{latency: lat, list: list}
			r.one = b.benchHostsCheck(t, 1, rounds, list)
			r.many = b.benchHostsCheck(t, benchHosts, rounds, list)
			rows = append(rows, r)
			t.Logf("%d containers over %d images, latency %v, list %v: one host %v, %d hosts %v", hostsContainers,
				hostsImages, lat, list, r.one.cold.wall, benchHosts, r.many.cold.wall)
		}
	}
	b.reg.SetLatency(0)
	total := time.Since(start)

	waves := time.Duration((hostsImages + benchConcurrency - 1) / benchConcurrency)
	w := &strings.Builder{}
	fmt.Fprintf(w, "### Many hosts: %d hosts × %d containers over %d images\n\n", benchHosts,
		hostsContainers/benchHosts, hostsImages)
	fmt.Fprintf(w, "The same registry and client as above. %d containers running %d images (each image %d times), "+
		"either on one `fake.Engine` (`services.NewContainers`) or spread over %d of them, %d each and every image "+
		"on every host (`services.NewContainersOn`). A check lists the hosts in parallel and sends one HEAD per "+
		"unique image across all of them. `fake.Engine` answers a list at once, as in the rows above; with a list "+
		"latency each engine's list takes that long (a remote engine's round trip). Each cell is the median of %d "+
		"cold checks, each with a new client; warm is the second check of that round.\n\n", hostsContainers,
		hostsImages, hostsContainers/hostsImages, benchHosts, hostsContainers/benchHosts, rounds)
	fmt.Fprintf(w, "Limit = list latency + ceil(%d / %d) × latency + one ping (the hosts are listed at once). "+
		"Target, as for one host: exactly %d HEADs and no GET, and a cold check within 1.5× of the limit where "+
		"the registry has a latency. The ratio to one host has no target of its own; ideally it is 1.\n\n",
		hostsImages, benchConcurrency, hostsImages)
	fmt.Fprintf(w, "| latency | list latency | hosts | cold | warm | HEAD manifest | GET manifest | GET blob | pings | "+
		"limit | cold/limit | cold vs one host | met |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		limit := r.list + waves*r.latency + r.latency
		for _, hr := range []hostsRun{r.one, r.many} {
			c := hr.cold.counts
			vs, met := "1 (baseline)", "yes"
			if hr.hosts > 1 {
				vs = fmt.Sprintf("%.2f×", float64(hr.cold.wall)/float64(r.one.cold.wall))
			}
			if c.HeadManifest != hostsImages || c.GetManifest != 0 || c.GetBlob+c.HeadBlob != 0 ||
				r.latency > 0 && float64(hr.cold.wall) > 1.5*float64(limit) {
				met = "**no**"
			}
			fmt.Fprintf(w, "| %v | %v | %d | %s | %s | %d | %d | %d | %d | %s | %s | %s | %s |\n", r.latency, r.list,
				hr.hosts, benchMS(hr.cold.wall), benchMS(hr.warm.wall), c.HeadManifest, c.GetManifest,
				c.GetBlob+c.HeadBlob, c.Ping, benchMS(limit), benchRatio(hr.cold.wall, limit), vs, met)
		}
	}
	one, many := benchHostsCPU(b, 1), benchHostsCPU(b, benchHosts)
	fmt.Fprintf(w, "\nrefit's own time in a check, with neither latency (`testing.Benchmark` of a warm check, the "+
		"registry still on loopback): %s and %.0f allocations with one host, %s and %.0f over %d hosts (%.2f×). "+
		"A latency adds to it, so the ratio to one host shrinks as the registry gets slower.", benchMS(one.wall),
		one.allocs, benchMS(many.wall), many.allocs, benchHosts, float64(many.wall)/float64(one.wall))
	if float64(many.wall) > 1.3*float64(one.wall) {
		fmt.Fprintf(w, " The difference is the snapshot, not the requests (the same %d HEADs either way): "+
			"`services.Containers` rebuilds the whole snapshot (every host's containers, with their status) after "+
			"each host's list, so a check over %d hosts rebuilds it %d times where one host rebuilds it twice, "+
			"and most of a rebuild parses every container's RepoDigests (a CPU profile of this check: about two "+
			"thirds of it in `rebuildLocked`, half in `repoDigests`). One rebuild after all the lists of a check "+
			"would make the hosts cost what one host does.", hostsImages, benchHosts, benchHosts+1)
	}
	fmt.Fprintf(w, "\n\nThe whole comparison took %s.\n\n", total.Round(100*time.Millisecond))
	return w.String()
}

// TestBenchReport measures Check over the matrix of image counts and
// latencies and writes a markdown report (see `make bench`).
func TestBenchReport(t *testing.T) {
	benchtest.Require(t)
	sizes := []int{10, 100, 500}
	latencies := []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond}

	start := time.Now()
	b := newCheckBench(t, sizes[len(sizes)-1])
	pushTime := time.Since(start)

	type row struct {
		n          int
		latency    time.Duration
		cold, warm checkRun
	}
	var rows []row
	for _, lat := range latencies {
		for _, n := range sizes {
			b.reg.SetLatency(lat)
			bc := b.checker(t, n)
			r := row{n: n, latency: lat, cold: b.check(t, bc)}
			r.warm = b.check(t, bc)
			rows = append(rows, r)
			t.Logf("%d images, latency %v: cold %v, warm %v", n, lat, r.cold.wall, r.warm.wall)
		}
	}
	b.reg.SetLatency(0)
	total := time.Since(start)

	w := &strings.Builder{}
	fmt.Fprintf(w, "## Check: one HEAD per unique image\n\n")
	fmt.Fprintf(w, "N unique images, one running container each, in a loopback ocitest registry that waits `latency` "+
		"before answering each request. The real `oci.Client` and `services.Containers` over `fake.Engine`, "+
		"concurrency %d (the default). Cold: a new client and HTTP transport (a process that just started). "+
		"Warm: a second check with the same client.\n\n", benchConcurrency)
	fmt.Fprintf(w, "Limits (waves = ceil(N / %d)):\n\n", benchConcurrency)
	fmt.Fprintf(w, "- **limit** = waves × latency + one ping round trip for the registry: the physical limit of a cold check.\n")
	fmt.Fprintf(w, "- warm limit = waves × latency: fetchers are cached, no ping.\n\n")
	fmt.Fprintf(w, "Target: cold within 1.5× of **limit** at 100 images; exactly one HEAD per unique image and no GET "+
		"of manifests or blobs.\n\n")

	fmt.Fprintf(w, "### Cold check\n\n")
	fmt.Fprintf(w, "| images | latency | wall | HEAD manifest | GET manifest | GET blob | pings | "+
		"failed HTTPS pings¹ | all requests² | limit | wall/limit |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		waves := time.Duration((r.n + benchConcurrency - 1) / benchConcurrency)
		limit := waves*r.latency + r.latency
		c := r.cold.counts
		fmt.Fprintf(w, "| %d | %v | %s | %d | %d | %d | %d | %d | %d | %s | %s |\n",
			r.n, r.latency, benchMS(r.cold.wall), c.HeadManifest, c.GetManifest, c.GetBlob+c.HeadBlob, c.Ping,
			r.cold.httpsFailed, c.Total(), benchMS(limit), benchRatio(r.cold.wall, limit))
	}
	fmt.Fprintf(w, "\n¹ Seen by the client only: for a plain-HTTP registry (127.0.0.1) go-containerregistry races an "+
		"HTTPS ping first; it fails at the TLS handshake, never reaches the registry handler and is not delayed, "+
		"but costs a TCP connection per registry.\n\n")
	fmt.Fprintf(w, "² Every request the registry answered, retries, pings and token requests included; the client's "+
		"own count equals it plus the failed HTTPS pings (the harness checks this on every run).\n\n")

	fmt.Fprintf(w, "### Warm check (same client)\n\n")
	fmt.Fprintf(w, "| images | latency | wall | HEAD manifest | GET manifest | GET blob | pings | all requests | limit | wall/limit |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		waves := time.Duration((r.n + benchConcurrency - 1) / benchConcurrency)
		limit := waves * r.latency
		c := r.warm.counts
		fmt.Fprintf(w, "| %d | %v | %s | %d | %d | %d | %d | %d | %s | %s |\n",
			r.n, r.latency, benchMS(r.warm.wall), c.HeadManifest, c.GetManifest, c.GetBlob+c.HeadBlob, c.Ping,
			c.Total(), benchMS(limit), benchRatio(r.warm.wall, limit))
	}
	for _, r := range rows {
		if r.n != 100 || r.latency == 0 {
			continue
		}
		waves := time.Duration((r.n + benchConcurrency - 1) / benchConcurrency)
		limit := waves*r.latency + r.latency
		verdict := "**missed**"
		if float64(r.cold.wall) <= 1.5*float64(limit) {
			verdict = "met"
		}
		fmt.Fprintf(w, "\n**100 images, %v:** cold check %s = %s the limit (target ≤ 1.50×): %s. HEADs %d, "+
			"GETs of manifests %d, pings %d (one per registry: services/oci shares it across repositories).\n",
			r.latency, benchMS(r.cold.wall), benchRatio(r.cold.wall, limit), verdict, r.cold.counts.HeadManifest,
			r.cold.counts.GetManifest, r.cold.counts.Ping)
	}
	const faultImages = benchConcurrency // more would queue behind the paused retries and meet the 503s twice
	fmt.Fprintf(w, "\n### Registry trouble (%d images, no latency, warm client)\n\n", faultImages)
	fmt.Fprintf(w, "A 429 is never resent and no request goes to that registry before its Retry-After; a 408 or "+
		"5xx is resent once after a pause of a second. Target: at most one HEAD per image on a 429 (those already "+
		"in flight), none on the next check; exactly two per image on one 503 each.\n\n")
	fmt.Fprintf(w, "| registry answers | check | wall | HEAD manifest | all requests | client requests | up to date |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|\n")
	for _, f := range b.benchFaults(t, faultImages) {
		for i, run := range []checkRun{f.first, f.second} {
			fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %d | %d / %d |\n", f.name, []string{"first", "next"}[i],
				benchMS(run.wall), run.counts.HeadManifest, run.counts.Total(), run.clientRequests, run.upToDate,
				faultImages)
		}
	}
	fmt.Fprintf(w, "\nPushing the %d images took %s (not measured above); the whole matrix took %s.\n\n",
		sizes[len(sizes)-1], pushTime.Round(100*time.Millisecond), total.Round(100*time.Millisecond))

	w.WriteString(benchHostsReport(t, b))

	benchtest.Write(t, w.String())
	benchtest.Write(t, benchUpdateReport(t))
}

func benchMS(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func benchRatio(wall, limit time.Duration) string {
	if limit <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", float64(wall)/float64(limit))
}

// --- Update against the plain docker CLI, on the real engine ---
//
// One container, and groups of 5 and 20 containers of one image, updated by
// refit (services.Updates over dockerengine and oci) and by the docker CLI
// doing the same work by hand: `docker pull`, then per container `docker
// stop`, `docker rm`, `docker run -d --network none --name …` (the options
// the containers were started with) and a sleep of the same settle time that
// refit waits for a container without a healthcheck to count as up. Both
// paths run in the same process against the same engine and registry, in
// alternating order. Each run has its own repository with fresh layers, so
// every pull really downloads.

// benchSettle is refit's Settle here, and the CLI path's sleep after each run.
const benchSettle = 200 * time.Millisecond

// updateBench is one loopback registry and one refit stack over the test engine.
type updateBench struct {
	reg  *ocitest.Registry
	cli  *client.Client
	host string
	ctr  *services.Containers
	upd  *services.Updates
	runs int
}

func newUpdateBench(t *testing.T) *updateBench {
	t.Helper()
	eng := mustRealEngine(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("the update benchmark compares with the docker CLI: %v", err)
	}
	oc := mustOCI(t, oci.Options{})
	_, tog, hist := mustStore(t)
	ctr := services.NewContainers(eng, oc, tog, quiet, benchConcurrency)
	upd := services.NewUpdates(oc, ctr, hist, quiet, services.UpdateOptions{
		Settle: benchSettle, HealthTimeout: 30 * time.Second,
	})
	t.Cleanup(upd.Close)
	return &updateBench{reg: ocitest.NewRegistry(t), cli: dockertest.Client(t), host: dockertest.Host(t),
		ctr: ctr, upd: upd}
}

// updateRun is one measured update of n containers.
type updateRun struct {
	wall          time.Duration
	counts        ocitest.Counts // registry requests during the update
	newBlobs      int            // blobs of v2 the engine did not have (layers and config)
	maxGetsOfBlob int            // the most GETs any one of them got
}

// benchFixture is a fresh repository whose tag moved from v1 (pulled, and
// run as n containers) to v2, which has new layers.
type benchFixture struct {
	ref      string
	names    []string
	newBlobs []string
	v1ID     string
}

func (b *updateBench) prepare(t *testing.T, n int) benchFixture {
	t.Helper()
	b.runs++
	suffix := dockertest.UniqueName(t, "v")
	repoTag := fmt.Sprintf("bench/upd-%d-%s:1", b.runs, suffix)
	img1 := ocitest.Image(t, ocitest.ImageOpts{Marker: "v1 " + suffix, ExtraLayerSize: 1 << 20})
	img2 := ocitest.Image(t, ocitest.ImageOpts{Marker: "v2 " + suffix, ExtraLayerSize: 4 << 20})
	b.reg.PushImage(t, repoTag, img1)
	f := benchFixture{ref: b.reg.Ref(repoTag)}
	dockertest.Pull(t, b.cli, f.ref)
	ins, err := b.cli.ImageInspect(t.Context(), f.ref)
	if err != nil {
		t.Fatal(err)
	}
	f.v1ID = ins.ID
	for i := range n {
		name := dockertest.UniqueName(t, fmt.Sprintf("bupd%d", i))
		dockertest.Run(t, b.cli, dockertest.RunOpts{Name: name, Image: f.ref})
		dockertest.RemoveAtCleanup(t, b.cli, name) // by name: both paths replace the ID
		f.names = append(f.names, name)
	}
	b.reg.PushImage(t, repoTag, img2)
	old := map[string]bool{}
	for _, d := range benchBlobs(t, img1) {
		old[d] = true
	}
	for _, d := range benchBlobs(t, img2) {
		if !old[d] {
			f.newBlobs = append(f.newBlobs, d)
		}
	}
	return f
}

// benchBlobs is an image's layer and config digests.
func benchBlobs(t *testing.T, img v1.Image) []string {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{cfg.String()}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

// finish records what the registry served and removes the fixture.
func (b *updateBench) finish(t *testing.T, f benchFixture, wall time.Duration) updateRun {
	t.Helper()
	r := updateRun{wall: wall, counts: b.reg.Counts(), newBlobs: len(f.newBlobs)}
	for _, d := range f.newBlobs {
		r.maxGetsOfBlob = max(r.maxGetsOfBlob, b.reg.BlobGets(d))
	}
	ctx := context.WithoutCancel(t.Context())
	for _, n := range f.names {
		if c, err := b.cli.ContainerInspect(ctx, n); err != nil || !c.State.Running {
			t.Fatalf("after the update %s is not running: %v", n, err)
		}
		b.cli.ContainerRemove(ctx, n, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}
	b.cli.ImageRemove(ctx, f.ref, image.RemoveOptions{Force: true, PruneChildren: true})
	b.cli.ImageRemove(ctx, f.v1ID, image.RemoveOptions{Force: true, PruneChildren: true})
	return r
}

// refit updates the fixture's containers: StartContainer for one, StartGroup
// (one pull, then one recreate after another) for a group. The check that
// finds them outdated runs before the clock starts.
func (b *updateBench) refit(t *testing.T, n int) updateRun {
	t.Helper()
	f := b.prepare(t, n)
	if _, err := b.ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.reg.Reset()
	start := time.Now()
	if n == 1 {
		if _, err := b.upd.StartContainer(f.names[0], "bench"); err != nil {
			t.Fatal(err)
		}
	} else if _, err := b.upd.StartGroup(f.ref, "bench"); err != nil {
		t.Fatal(err)
	}
	deadline := start.Add(2 * time.Minute)
	for b.upd.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("refit's update did not end within 2 minutes")
		}
		time.Sleep(2 * time.Millisecond)
	}
	wall := time.Since(start)
	for _, name := range f.names {
		if p, ok := b.upd.ProgressOf(local(name)); !ok || p.Phase != models.PhaseDone {
			t.Fatalf("refit's update of %s: %+v", name, p)
		}
	}
	return b.finish(t, f, wall)
}

// dockerCLI does the same by hand with the docker CLI against the same engine.
func (b *updateBench) dockerCLI(t *testing.T, n int) updateRun {
	t.Helper()
	f := b.prepare(t, n)
	b.reg.Reset()
	env := append(os.Environ(), "DOCKER_HOST="+b.host)
	docker := func(args ...string) {
		cmd := exec.CommandContext(t.Context(), "docker", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	start := time.Now()
	docker("pull", "-q", f.ref)
	for _, name := range f.names {
		docker("stop", name)
		docker("rm", name)
		docker("run", "-d", "--network", "none", "--name", name, f.ref)
		time.Sleep(benchSettle)
	}
	return b.finish(t, f, time.Since(start))
}

// benchUpdates measures sizes with rounds runs of each path, alternating
// which goes first.
func benchUpdates(t *testing.T, sizes []int, rounds int) (refitRuns, cliRuns map[int][]updateRun) {
	b := newUpdateBench(t)
	refitRuns, cliRuns = map[int][]updateRun{}, map[int][]updateRun{}
	for _, n := range sizes {
		for r := range rounds {
			if r%2 == 0 {
				refitRuns[n] = append(refitRuns[n], b.refit(t, n))
				cliRuns[n] = append(cliRuns[n], b.dockerCLI(t, n))
			} else {
				cliRuns[n] = append(cliRuns[n], b.dockerCLI(t, n))
				refitRuns[n] = append(refitRuns[n], b.refit(t, n))
			}
			t.Logf("%d containers, round %d: refit %v, CLI %v", n, r+1,
				refitRuns[n][len(refitRuns[n])-1].wall, cliRuns[n][len(cliRuns[n])-1].wall)
		}
	}
	return refitRuns, cliRuns
}

// TestUpdateBenchHarness runs the update comparison once, small, on every
// test run with an engine; it asserts no time.
func TestUpdateBenchHarness(t *testing.T) {
	refitRuns, cliRuns := benchUpdates(t, []int{2}, 1)
	for _, r := range append(refitRuns[2], cliRuns[2]...) {
		if r.newBlobs == 0 || r.maxGetsOfBlob == 0 {
			t.Errorf("run %+v pulled none of the new blobs", r)
		}
	}
}

func benchMean(runs []updateRun) time.Duration {
	var sum time.Duration
	for _, r := range runs {
		sum += r.wall
	}
	return sum / time.Duration(max(len(runs), 1))
}

func benchWalls(runs []updateRun) string {
	var s []string
	for _, r := range runs {
		s = append(s, fmt.Sprintf("%.0f", float64(r.wall)/float64(time.Millisecond)))
	}
	return strings.Join(s, " / ") + " ms"
}

// benchUpdateReport is the markdown section of the update comparison.
func benchUpdateReport(t *testing.T) string {
	w := &strings.Builder{}
	fmt.Fprintf(w, "## Update: refit against the plain docker CLI\n\n")
	if os.Getenv(dockertest.EnvHost) == "" {
		fmt.Fprintf(w, "Not measured: set REFIT_TEST_DOCKER_HOST (`make bench` starts a private engine when it is unset).\n\n")
		return w.String()
	}
	const rounds = 4
	sizes := []int{1, 5, 20}
	start := time.Now()
	refitRuns, cliRuns := benchUpdates(t, sizes, rounds)
	total := time.Since(start)

	fmt.Fprintf(w, "The real Docker engine of `REFIT_TEST_DOCKER_HOST` (%s) and a loopback ocitest registry. "+
		"N running containers (`--network none`) of one tag, which then moves to an image with two new layers "+
		"(4 MiB and a small one) and a new config. **refit**: `services.Updates` over `dockerengine` and `oci`, "+
		"Settle %v, after a check that is not timed; one container is `StartContainer`, a group `StartGroup` "+
		"(one pull, then the containers one after another); the clock stops when no job runs. **CLI**: `docker pull`, "+
		"then per container `docker stop`, `docker rm`, `docker run -d --network none --name …` and a "+
		"`sleep %v`, the same settle wait (refit polls a container without a healthcheck until it has run "+
		"that long, every 50 ms), via os/exec with `DOCKER_HOST` set to the same engine. "+
		"%d rounds per size, alternating which path goes first; each run has its own repository, so every pull "+
		"downloads. Target: refit ≤ 1.1× the CLI.\n\n", benchEngineVersion(t), benchSettle, benchSettle, rounds)
	fmt.Fprintf(w, "| containers | refit (each round) | CLI (each round) | refit mean | CLI mean | refit/CLI | "+
		"GET blob refit | GET blob CLI | new blobs | most GETs of one blob (refit / CLI) | met |\n")
	fmt.Fprintf(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, n := range sizes {
		rr, cr := refitRuns[n], cliRuns[n]
		rm, cm := benchMean(rr), benchMean(cr)
		ratio := float64(rm) / float64(cm)
		maxR, maxC, getR, getC := 0, 0, 0, 0
		for i := range rr {
			maxR, maxC = max(maxR, rr[i].maxGetsOfBlob), max(maxC, cr[i].maxGetsOfBlob)
			getR, getC = max(getR, rr[i].counts.GetBlob), max(getC, cr[i].counts.GetBlob)
		}
		met := "yes"
		if ratio > 1.1 {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %.2f× | %d | %d | %d | %d / %d | %s |\n", n, benchWalls(rr),
			benchWalls(cr), benchMS(rm), benchMS(cm), ratio, getR, getC, rr[0].newBlobs, maxR, maxC, met)
	}
	fmt.Fprintf(w, "\nGET blob: the most in any round of that path (HEADs of blobs are not counted). The whole "+
		"comparison, fixtures included, took %s.\n\n", total.Round(100*time.Millisecond))
	return w.String()
}

func benchEngineVersion(t *testing.T) string {
	v, err := dockertest.Client(t).ServerVersion(t.Context())
	if err != nil {
		return "version unknown"
	}
	return "Docker " + v.Version + ", API " + v.APIVersion
}
