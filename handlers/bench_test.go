package handlers

// The API and page benchmark: GET /api/images and GET /
// with 500 containers in 100 groups, 50 concurrent keep-alive clients over
// real loopback HTTP. `make bench` runs TestBenchReport with REFIT_BENCH=1;
// TestLoadBenchHarness runs the same body small on every `make test`. No test
// here asserts a time.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"refit/services"
	"refit/services/benchtest"
	"refit/services/fake"
	"refit/views"
)

// newBenchApp is newTestApp's app (auth off) with its fixture containers
// replaced by perGroup containers in each of groups images, after a check.
// Every third group is outdated, so the page shows both states.
func newBenchApp(t *testing.T, groups, perGroup int) testApp {
	t.Helper()
	return newBenchAppOn(t, 1, groups, perGroup)
}

// newBenchAppOn is newBenchApp over hosts fake engines (h1…, or newTestApp's
// one engine when hosts is 1): container c of each group runs on host c mod
// hosts, so with perGroup a multiple of hosts every image is on every host.
func newBenchAppOn(t *testing.T, hosts, groups, perGroup int) testApp {
	t.Helper()
	ta := newTestApp(t)
	for _, id := range []string{nginxID, appID, app2ID} {
		ta.engine.Remove(t.Context(), id, false)
	}
	engines := []*fake.Engine{ta.engine}
	for range hosts - 1 {
		engines = append(engines, fake.NewEngine())
	}
	for g := range groups {
		repo := fmt.Sprintf("ghcr.io/bench/app-%03d", g)
		remote := fmt.Sprintf("sha256:%064x", 1_000_000+g)
		local := remote
		if g%3 == 0 {
			local = fmt.Sprintf("sha256:%064x", 2_000_000+g)
		}
		img := fmt.Sprintf("sha256:%064x", 3_000_000+g)
		for _, e := range engines {
			e.AddImage(img, repo+"@"+local)
		}
		ta.reg.Set(repo+":1", remote)
		for c := range perGroup {
			engines[c%hosts].Run(fmt.Sprintf("%064x", g*perGroup+c+1), fmt.Sprintf("app-%03d-%d", g, c), repo+":1", img)
		}
	}
	if hosts > 1 { // the same app over a snapshot of every host
		hs := make([]services.Host, hosts)
		for i, e := range engines {
			hs[i] = services.Host{Name: fmt.Sprintf("h%d", i+1), Engine: e}
		}
		d := ta.deps
		d.Containers = services.NewContainersOn(hs, ta.reg, d.Toggles, d.Log, 4)
		d.Updates = services.NewUpdates(auth{}, d.Containers, d.History, d.Log, services.UpdateOptions{})
		t.Cleanup(d.Updates.Close)
		ta.deps, ta.app = d, New(d)
	}
	got, err := ta.deps.Containers.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != groups {
		t.Fatalf("check found %d groups, want %d", len(got), groups)
	}
	for _, g := range got {
		for _, it := range g.Containers {
			if (it.Host != "") != (hosts > 1) {
				t.Fatalf("%d hosts: container %s names host %q", hosts, it.ContainerName, it.Host)
			}
		}
	}
	return ta
}

// serve starts ta's app on 127.0.0.1:0 and returns its base URL.
func benchServe(t *testing.T, ta testApp) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ta.app.Listener(ln)
	}()
	t.Cleanup(func() {
		ta.app.Shutdown()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// benchLoadResult is what total requests from clients concurrent keep-alive
// clients cost.
type benchLoadResult struct {
	total, clients int
	elapsed        time.Duration
	p50, p99, max  time.Duration
	bytes          int64 // of one response
}

func (r benchLoadResult) rps() float64 { return float64(r.total) / r.elapsed.Seconds() }

// load sends total GETs of url from clients goroutines, each with its own
// keep-alive connection, and fails the test on any answer but 200. With gz
// the requests accept gzip, as browsers do, and the bodies are read as they
// come, not inflated (as load generators do); without, they ask for none.
func benchLoad(t *testing.T, url string, gz bool, clients, total int) benchLoadResult {
	t.Helper()
	// DisableCompression: else the transport asks for gzip itself and inflates.
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, total)
	var next atomic.Int64
	var size atomic.Int64
	var failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				req, err := http.NewRequest(http.MethodGet, url, nil)
				if err != nil {
					panic(err)
				}
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				s := time.Now()
				resp, err := cl.Do(req)
				if err == nil && gz != (resp.Header.Get("Content-Encoding") == "gzip") {
					err = fmt.Errorf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
				}
				if err == nil {
					var n int64
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					size.Store(n)
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(s)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("GET %s: %v", url, err) })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Fatalf("GET %s: %d of %d requests failed", url, n, total)
	}
	slices.Sort(lat)
	return benchLoadResult{total: total, clients: clients, elapsed: elapsed, bytes: size.Load(),
		p50: lat[total/2], p99: lat[total*99/100], max: lat[total-1]}
}

// benchHandlerCost measures one request through the whole Fiber stack
// (middleware, routing, handler, rendering) without the network.
func benchHandlerCost(ta testApp, path string, gz bool) testing.BenchmarkResult {
	h := ta.app.Handler()
	return testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		var ctx fasthttp.RequestCtx
		for b.Loop() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod(fasthttp.MethodGet)
			ctx.Request.SetRequestURI(path)
			ctx.Request.Header.SetHost("localhost") // without a Host refit answers 421
			if gz {
				ctx.Request.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip")
			}
			h(&ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusOK {
				b.Fatalf("GET %s = %d", path, ctx.Response.StatusCode())
			}
		}
	})
}

// benchUncachedPage is what GET / costs when the groups cache misses: the
// dashboard data and the whole page rendered, groups included.
func benchUncachedPage(ta testApp) testing.BenchmarkResult {
	ctr, upd := ta.deps.Containers, ta.deps.Updates
	return testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			v := views.Viewer{CanUpdate: true}
			d := views.NewDashboardData(ctr.Groups(), jobsOf(upd, ta.deps.Policies), v, time.Now())
			d.RateLimits, d.LastCheck, d.Checking = ctr.RateLimits(), ctr.CheckedAt(), ctr.Checking()
			if err := views.Layout("Containers", v, views.ContainersPage(d)).Render(context.Background(), &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchGzipPage is what gzip-encoding the dashboard costs, once per miss.
func benchGzipPage(t *testing.T, base string) testing.BenchmarkResult {
	t.Helper()
	resp, err := http.Get(base + "/") // the transport asks for gzip and inflates
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if newEncoded(body, "text/html", false).gzipped() == nil {
				b.Fatal("the page did not compress")
			}
		}
	})
}

// TestLoadBenchHarness runs the load benchmark's body small on every test
// run and asserts only that every request answered 200.
func TestLoadBenchHarness(t *testing.T) {
	for _, hosts := range []int{1, benchHosts} {
		ta := newBenchAppOn(t, hosts, 2, benchHosts)
		base := benchServe(t, ta)
		for _, ep := range benchEndpoints {
			if r := benchLoad(t, base+ep.path, ep.gz, 2, 10); r.bytes == 0 {
				t.Errorf("%d hosts: GET %s answered an empty body", hosts, ep.path)
			}
		}
		if hosts > 1 {
			_, body, _ := ta.do(t, http.MethodGet, "/api/images", nil)
			if !strings.Contains(body, `"host":"h5"`) {
				t.Errorf("%d hosts: /api/images names no container of h5: %.300s", hosts, body)
			}
		}
	}
}

type benchEndpoint struct {
	path   string
	gz     bool          // accept gzip
	target time.Duration // p99
}

func (e benchEndpoint) encoding() string {
	if e.gz {
		return "gzip"
	}
	return "none"
}

// benchHosts is the many-hosts layout: the same containers spread over this many engines.
const benchHosts = 5

// benchEndpoints are the endpoints measured, with their p99 targets.
// /fragments/images, the table the dashboard refreshes, has the page's.
var benchEndpoints = []benchEndpoint{
	{"/api/images", false, 5 * time.Millisecond}, {"/api/images", true, 5 * time.Millisecond},
	{"/", false, 10 * time.Millisecond}, {"/", true, 10 * time.Millisecond},
	{"/fragments/images", false, 10 * time.Millisecond}, {"/fragments/images", true, 10 * time.Millisecond},
}

// benchRun is one load run of benchEndpoints[ep].
type benchRun struct {
	ep  int
	res benchLoadResult
}

// benchMeasured is every endpoint of one app, under load and alone.
type benchMeasured struct {
	runs     []benchRun                // clients, then one client, per endpoint
	costs    []testing.BenchmarkResult // by endpoint
	uncached testing.BenchmarkResult
}

// run is the load run of endpoint ep at clients clients.
func (m benchMeasured) run(ep, clients int) benchLoadResult {
	for _, r := range m.runs {
		if r.ep == ep && r.res.clients == clients {
			return r.res
		}
	}
	panic("no such run")
}

// benchMeasure measures every endpoint of each app (served at bases): its
// cost alone, then total requests from clients clients after a warm-up, then
// a tenth of that from one. The apps take turns per endpoint, so a change in
// the machine's load meanwhile falls on all of them.
func benchMeasure(t *testing.T, apps []testApp, bases []string, clients, total int) []benchMeasured {
	t.Helper()
	ms := make([]benchMeasured, len(apps))
	for i := range ms {
		ms[i].costs = make([]testing.BenchmarkResult, len(benchEndpoints))
	}
	for i, ep := range benchEndpoints {
		for a, ta := range apps {
			m, base := &ms[a], bases[a]
			m.costs[i] = benchHandlerCost(ta, ep.path, ep.gz)
			benchLoad(t, base+ep.path, ep.gz, clients, 1000) // warm up connections and caches
			for _, n := range []int{clients, 1} {
				reqs := total
				if n == 1 {
					reqs = max(total/10, 100)
				}
				r := benchLoad(t, base+ep.path, ep.gz, n, reqs)
				m.runs = append(m.runs, benchRun{ep: i, res: r})
				t.Logf("app %d: GET %s (gzip %v), %d clients: p50 %v p99 %v, %.0f req/s", a, ep.path, ep.gz, n,
					r.p50, r.p99, r.rps())
			}
			t.Logf("app %d: GET %s: %v", a, ep.path, m.costs[i])
		}
	}
	for a, ta := range apps {
		ms[a].uncached = benchUncachedPage(ta)
	}
	return ms
}

// TestBenchReport measures the API and the dashboard under load and writes a
// markdown report (see `make bench`); cmd/refit's measures the footprint.
func TestBenchReport(t *testing.T) {
	benchtest.Require(t)
	const groups, perGroup, clients = 100, 5, 50
	total := 20_000
	if v, err := strconv.Atoi(os.Getenv("REFIT_BENCH_REQUESTS")); err == nil && v > 0 {
		total = v // quick runs and profiles
	}
	ta := newBenchApp(t, groups, perGroup)
	base := benchServe(t, ta)
	endpoints := benchEndpoints
	if dir := os.Getenv("REFIT_BENCH_DUMP"); dir != "" { // to see what a response weighs
		for _, ep := range endpoints {
			resp, err := http.Get(base + ep.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			name := strings.Trim(strings.ReplaceAll(ep.path, "/", "_"), "_")
			if err := os.WriteFile(filepath.Join(dir, "bench-"+cmp.Or(name, "index")+".out"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	taMany := newBenchAppOn(t, benchHosts, groups, perGroup)
	ms := benchMeasure(t, []testApp{ta, taMany}, []string{base, benchServe(t, taMany)}, clients, total)
	one, many := ms[0], ms[1]
	runs, costs, uncached := one.runs, one.costs, one.uncached
	gzCost := benchGzipPage(t, base)

	w := &strings.Builder{}
	fmt.Fprintf(w, "## API and dashboard under load\n\n")
	fmt.Fprintf(w, "%d containers in %d image groups (every third group outdated) on `fake.Engine`, the real app as "+
		"handlers_test.go's newTestApp builds it (auth off), served by `app.Listener` on 127.0.0.1:0. %d concurrent "+
		"clients, each with its own keep-alive connection, send %d GETs per endpoint after 1,000 warm-up requests; "+
		"then one client sends a tenth of that. GET /fragments/images is the table the dashboard refreshes, held to "+
		"the page's target. "+
		"Clients and server share the machine's %d CPUs, so the load generator's own cost is in these numbers.\n\n",
		groups*perGroup, groups, clients, total, runtime.NumCPU())
	fmt.Fprintf(w, "| endpoint | Accept-Encoding | clients | requests | response | p50 | p99 | max | requests/s | floor² | p99 target | met |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, rn := range runs {
		ep, r := endpoints[rn.ep], rn.res
		met := "yes"
		if r.p99 > ep.target {
			met = "**no**"
		}
		floor := time.Duration(costs[rn.ep].NsPerOp()) * time.Duration(r.clients) /
			time.Duration(min(r.clients, runtime.NumCPU()))
		fmt.Fprintf(w, "| GET %s | %s | %d | %d | %s | %s | %s | %s | %.0f | %s | ≤ %s | %s |\n", ep.path, ep.encoding(), r.clients, r.total,
			benchKiB(r.bytes), benchMS(r.p50), benchMS(r.p99), benchMS(r.max), r.rps(), benchMS(floor),
			benchMS(ep.target), met)
	}
	fmt.Fprintf(w, "\n² Queueing floor of the mean latency (Little's law): clients × the server's time per request "+
		"(table below) / min(clients, %d CPUs), even with a free load generator. A p99 target below the floor "+
		"cannot be met on this machine at that concurrency; only a cheaper request or more CPUs can. The "+
		"single-client rows show the latency of one request without queueing.\n", runtime.NumCPU())
	for _, rn := range runs {
		ep, r := endpoints[rn.ep], rn.res
		if r.clients == 1 || r.p99 <= ep.target {
			continue
		}
		cost := time.Duration(costs[rn.ep].NsPerOp())
		cpus := time.Duration(runtime.NumCPU())
		floor := cost * time.Duration(r.clients) / cpus
		serverShare := cost.Seconds() * r.rps() / float64(runtime.NumCPU()) // of all CPUs
		fmt.Fprintf(w, "\n**GET %s (Accept-Encoding: %s) misses p99 ≤ %s at %d clients** (p50 %s, p99 %s). ", ep.path,
			ep.encoding(), benchMS(ep.target), r.clients, benchMS(r.p50), benchMS(r.p99))
		if floor > ep.target {
			fmt.Fprintf(w, "Unreachable on this machine as built: the server spends %s of CPU per request, so %d "+
				"waiting clients on %d CPUs queue for at least %s on average. The target at this concurrency needs "+
				"the request below about %s of CPU (%.0f× cheaper) or more CPUs.\n", benchMS(cost), r.clients,
				runtime.NumCPU(), benchMS(floor), benchMS(ep.target*cpus/time.Duration(r.clients)),
				float64(floor)/float64(ep.target))
		} else if serverShare < 0.25 {
			fmt.Fprintf(w, "Not the handler: it spends %s of CPU per request (floor %s at %d clients), and at %.0f "+
				"requests/s that is %.0f%% of the CPUs. The rest is the bytes: every response copies %s through "+
				"the socket and loopback into one of %d client goroutines reading it on the same %d CPUs, and the "+
				"tail is their scheduling and GC. ", benchMS(cost), benchMS(floor), r.clients, r.rps(),
				100*serverShare, benchKiB(r.bytes), r.clients, runtime.NumCPU())
			if !ep.gz {
				fmt.Fprintf(w, "Browsers always accept gzip and get the cached gzip encoding instead (the gzip rows); "+
					"only a client that asks for no encoding, like curl without --compressed, gets this.")
			}
			fmt.Fprintln(w)
		} else {
			fmt.Fprintf(w, "The server's own mean-latency floor is %s (%s of CPU per request × %d clients / %d "+
				"CPUs), so a p99 within %s leaves the tail almost no room. And at %.0f requests/s the server "+
				"used only %.0f%% of the CPUs: the in-process load generator (%d goroutines reading %s each) "+
				"and loopback took the rest, and the tail is scheduling and GC of both. A cheaper request is the "+
				"lever (see the allocations below); measure with the load generator on another machine to see "+
				"the server alone.\n", benchMS(floor), benchMS(cost), r.clients, runtime.NumCPU(),
				benchMS(ep.target), r.rps(), 100*serverShare, r.clients, benchKiB(r.bytes))
		}
	}
	fmt.Fprintf(w, "\nOne request through the whole Fiber stack (middleware, routing, handler, JSON or templ rendering), "+
		"no network, `testing.Benchmark` over `app.Handler()`:\n\n")
	fmt.Fprintf(w, "| endpoint | Accept-Encoding | time/request | allocations/request | bytes allocated/request |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|\n")
	for i, ep := range endpoints {
		c := costs[i]
		fmt.Fprintf(w, "| GET %s | %s | %s | %d | %s |\n", ep.path, ep.encoding(), benchMS(time.Duration(c.NsPerOp())),
			c.AllocsPerOp(), benchKiB(c.AllocedBytesPerOp()))
	}
	fmt.Fprintf(w, "| GET / when its cache misses³ | none | %s | %d | %s |\n", benchMS(time.Duration(uncached.NsPerOp())),
		uncached.AllocsPerOp(), benchKiB(uncached.AllocedBytesPerOp()))
	fmt.Fprintf(w, "| its gzip encoding, made once per miss for gzip clients | gzip | %s | %d | %s |\n",
		benchMS(time.Duration(gzCost.NsPerOp())), gzCost.AllocsPerOp(), benchKiB(gzCost.AllocedBytesPerOp()))
	fmt.Fprintf(w, "\n³ GET /api/images is encoded once per snapshot and toggles version, and the dashboard "+
		"(page and table) is rendered once per snapshot, toggles, jobs, viewer, page head and wall-clock second, "+
		"each kept with its gzip encoding, made on the first request that accepts it; so under load nearly every "+
		"request is a hit, as in the rows above. A miss renders the page again: this row is that render (the "+
		"page's data and `views.ContainersPage` in `views.Layout`, without the cache), without Fiber, and the next "+
		"its compression.\n")

	fmt.Fprintln(w)
	w.WriteString(benchHostsSection(groups*perGroup, clients, one, many))
	benchtest.Write(t, w.String())
}

// benchHostsSection compares the same containers on one host and on
// benchHosts hosts.
func benchHostsSection(containers, clients int, one, many benchMeasured) string {
	w := &strings.Builder{}
	fmt.Fprintf(w, "### Many hosts: %d containers over %d hosts\n\n", containers, benchHosts)
	fmt.Fprintf(w, "The same %d containers and groups, on %d `fake.Engine`s (`services.NewContainersOn`, hosts h1…h%d, "+
		"%d containers each, every image on every host) instead of one: each group has one container per host, every "+
		"item names its host and every row shows its host badge. Measured the same way in the same run, the two apps "+
		"taking turns per endpoint (the one-host rows above are the other half).\n\n", containers, benchHosts, benchHosts, containers/benchHosts)
	fmt.Fprintf(w, "| endpoint | Accept-Encoding | clients | response 1 host / %d | p50 1 host / %d | p99 1 host | "+
		"p99 %d hosts | %d hosts / 1 host | time/request 1 host / %d | p99 target | met (%d hosts) |\n",
		benchHosts, benchHosts, benchHosts, benchHosts, benchHosts, benchHosts)
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var missed []string
	for i, ep := range benchEndpoints {
		for _, n := range []int{clients, 1} {
			r1, r5 := one.run(i, n), many.run(i, n)
			met := "yes"
			if r5.p99 > ep.target {
				met = "**no**"
				if n > 1 {
					how := "as with one host"
					if r1.p99 <= ep.target {
						how = "**where one host meets it**"
					}
					missed = append(missed, fmt.Sprintf("GET %s (%s) %s", ep.path, ep.encoding(), how))
				}
			}
			fmt.Fprintf(w, "| GET %s | %s | %d | %s / %s | %s / %s | %s | %s | %.2f× | %s / %s | ≤ %s | %s |\n",
				ep.path, ep.encoding(), n, benchKiB(r1.bytes), benchKiB(r5.bytes), benchMS(r1.p50), benchMS(r5.p50),
				benchMS(r1.p99), benchMS(r5.p99), float64(r5.p99)/float64(r1.p99),
				benchUS(one.costs[i]), benchUS(many.costs[i]),
				benchMS(ep.target), met)
		}
	}
	fmt.Fprintf(w, "\nThe page's render when its cache misses: %s and %d allocations with one host, %s and %d with %d.",
		benchMS(time.Duration(one.uncached.NsPerOp())), one.uncached.AllocsPerOp(),
		benchMS(time.Duration(many.uncached.NsPerOp())), many.uncached.AllocsPerOp(), benchHosts)
	if len(missed) > 0 {
		fmt.Fprintf(w, " Missed at %d clients over %d hosts: %s.", clients, benchHosts, strings.Join(missed, "; "))
	}
	fmt.Fprintf(w, "\n\n")
	return w.String()
}

func benchMS(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func benchUS(r testing.BenchmarkResult) string {
	return fmt.Sprintf("%.1f µs", float64(r.NsPerOp())/1e3)
}

func benchKiB(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }
