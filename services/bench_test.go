package services_test

// The check benchmark: a cold and a warm Check of N unique images against a
// loopback registry with added latency, measured against the physical limit.
// `make bench` runs TestBenchReport with REFIT_BENCH=1 and puts its markdown
// in docs/bench.md; TestCheckBenchHarness runs the same body once on every
// `make test`, so the harness cannot rot. No test here asserts a time.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// benchConcurrency is refit's default check concurrency (REFIT_CHECK_CONCURRENCY).
const benchConcurrency = 8

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
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	cl := &clientLog{base: tr}
	oc, err := oci.New(oci.Options{Transport: cl})
	if err != nil {
		tb.Fatal(err)
	}
	return benchChecker{ctr: services.NewContainers(b.engine(n), oc, b.tog, b.log, benchConcurrency), client: cl}
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
		} else {
			tb.Errorf("group %s is %s (%s), want uptodate", g.Image, g.Status, g.Reason)
		}
	}
	return run
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
		maxOther := 1 // one ping per registry, shared by its repositories
		if pass == "warm" {
			maxOther = 0
		}
		if c.Other > maxOther {
			t.Errorf("%s check: %d other requests (pings), want at most %d", pass, c.Other, maxOther)
		}
	}
}

// TestBenchReport measures Check over the matrix of image counts and
// latencies and writes a markdown report (see `make bench`).
func TestBenchReport(t *testing.T) {
	if os.Getenv("REFIT_BENCH") == "" {
		t.Skip("set REFIT_BENCH=1 (make bench) to run the benchmarks")
	}
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
	fmt.Fprintf(w, "- **limit/repo** = waves × 2 × latency: what the client can reach as built, since go-containerregistry "+
		"pings (`GET /v2/`) once per *repository* before that repository's HEAD.\n")
	fmt.Fprintf(w, "- warm limit = waves × latency: fetchers are cached, no ping.\n\n")
	fmt.Fprintf(w, "Target: cold within 1.5× of **limit** at 100 images; exactly one HEAD per unique image and no GET "+
		"of manifests or blobs.\n\n")

	fmt.Fprintf(w, "### Cold check\n\n")
	fmt.Fprintf(w, "| images | latency | wall | HEAD manifest | GET manifest | GET blob | other (pings) | "+
		"failed HTTPS pings¹ | limit | wall/limit |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		waves := time.Duration((r.n + benchConcurrency - 1) / benchConcurrency)
		limit := waves*r.latency + r.latency
		c := r.cold.counts
		fmt.Fprintf(w, "| %d | %v | %s | %d | %d | %d | %d | %d | %s | %s |\n",
			r.n, r.latency, benchMS(r.cold.wall), c.HeadManifest, c.GetManifest, c.GetBlob+c.HeadBlob, c.Other,
			r.cold.httpsFailed, benchMS(limit), benchRatio(r.cold.wall, limit))
	}
	fmt.Fprintf(w, "\n¹ Seen by the client only: for a plain-HTTP registry (127.0.0.1) go-containerregistry races an "+
		"HTTPS ping first; it fails at the TLS handshake, never reaches the registry handler and is not delayed, "+
		"but costs a TCP connection per repository.\n\n")

	fmt.Fprintf(w, "### Warm check (same client)\n\n")
	fmt.Fprintf(w, "| images | latency | wall | HEAD manifest | GET manifest | GET blob | other | limit | wall/limit |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		waves := time.Duration((r.n + benchConcurrency - 1) / benchConcurrency)
		limit := waves * r.latency
		c := r.warm.counts
		fmt.Fprintf(w, "| %d | %v | %s | %d | %d | %d | %d | %s | %s |\n",
			r.n, r.latency, benchMS(r.warm.wall), c.HeadManifest, c.GetManifest, c.GetBlob+c.HeadBlob, c.Other,
			benchMS(limit), benchRatio(r.warm.wall, limit))
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
			r.cold.counts.GetManifest, r.cold.counts.Other)
	}
	fmt.Fprintf(w, "\nPushing the %d images took %s (not measured above); the whole matrix took %s.\n\n",
		sizes[len(sizes)-1], pushTime.Round(100*time.Millisecond), total.Round(100*time.Millisecond))

	benchWriteReport(t, w.String())
}

// benchWriteReport appends markdown to $REFIT_BENCH_OUT, or prints it.
func benchWriteReport(t *testing.T, md string) {
	t.Helper()
	path := os.Getenv("REFIT_BENCH_OUT")
	if path == "" {
		fmt.Print(md)
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, md); err != nil {
		t.Fatal(err)
	}
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
