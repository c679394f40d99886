package main

// The footprint benchmark: the refit binary, built as a user builds it,
// serving an engine with 500 running containers in 100 images. The engine is
// dockertest.API, a read-only fake of the Engine API (held to the real one by
// TestAPIReadsLikeTheEngine), so no one has to run 500 containers; the
// registry is a loopback ocitest registry holding the 100 images. `make bench`
// runs TestBenchReport with REFIT_BENCH=1; TestFootprintBenchHarness runs the
// same body small on every `make test` and asserts no number. To look into a
// result: REFIT_BENCH_LOG=1 copies refit's log to stderr, and REFIT_BENCH_ENV
// adds variables to its environment (REFIT_BENCH_ENV="GODEBUG=gctrace=1").

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services/benchtest"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// footprintEngine is an engine of groups images with perGroup running
// containers each, every third image outdated, and the registry that holds
// the images.
func footprintEngine(t *testing.T, groups, perGroup int) (*dockertest.API, *ocitest.Registry) {
	t.Helper()
	reg := ocitest.NewRegistry(t)
	api := &dockertest.API{}
	for g := range groups {
		repoTag := fmt.Sprintf("bench/app-%03d:1", g)
		ref := reg.Ref(repoTag)
		digest := reg.Push(t, repoTag, ocitest.ImageOpts{Marker: repoTag})
		if g%3 == 0 { // the engine runs an older version than the registry's
			digest = fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("old "+repoTag)))
		}
		repo := ref[:strings.LastIndex(ref, ":")]
		imageID := api.AddImage(ref, repo+"@"+digest)
		for i := range perGroup {
			name := fmt.Sprintf("app-%03d-%d", g, i)
			// What Compose puts on every container.
			api.AddRunning(name, ref, imageID, map[string]string{
				"com.docker.compose.project":             fmt.Sprintf("stack-%03d", g),
				"com.docker.compose.service":             fmt.Sprintf("app-%d", i),
				"com.docker.compose.container-number":    "1",
				"com.docker.compose.oneoff":              "False",
				"com.docker.compose.version":             "2.29.7",
				"com.docker.compose.config-hash":         fmt.Sprintf("%x", sha256.Sum256([]byte(name))),
				"com.docker.compose.project.working_dir": "/srv/stack-" + strconv.Itoa(g),
			})
		}
	}
	return api, reg
}

// footprint is one run of the binary: its size, its memory at rest after the
// first check, and again after serving load.
type footprint struct {
	binary             int64
	idleAnon, idleFile int64         // of idleRSS: anonymous memory, and mapped files (the binary's pages)
	startup            time.Duration // start to the first check's groups in /api/images
	idleRSS, afterRSS  int64         // VmRSS, bytes
	lateRSS            int64         // VmRSS once the runtime's periodic GC ran after the load, or 0
	peakRSS            int64         // VmHWM at the end
	requests           int
}

// buildBench builds refit as `make build` does (static, so no shared library
// is mapped in), or with race, reusing what `go test -race` compiled.
func buildBench(t *testing.T, race bool) (bin string, size int64) {
	t.Helper()
	bin = filepath.Join(t.TempDir(), "refit")
	args := []string{"build", "-o", bin, "-trimpath", "-tags", "netgo osusergo sqlite_omit_load_extension",
		"-ldflags", "-s -w -linkmode external -extldflags -static"}
	if race {
		args = []string{"build", "-o", bin, "-race"}
	}
	build := exec.Command("go", append(args, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if st, err := os.Stat(bin); err == nil {
		size = st.Size()
	}
	return bin, size
}

// The admin every bench refit starts with: a passphrase zxcvbn accepts.
const benchUser, benchPass = "bench", "cinder-lagoon-trellis-0123"

// benchServe is one `refit serve` child of a benchmark, auth on.
type benchServe struct {
	base  string // http://127.0.0.1:port
	pid   int
	db    string
	logs  *lockedBuffer
	start time.Time
}

// serveBench starts `refit serve` on bin over the engine at dockerHost, with
// a fresh database and benchUser as its admin; it stops at the test's end.
func serveBench(t *testing.T, bin, dockerHost string, extraEnv ...string) *benchServe {
	t.Helper()
	dir := t.TempDir()
	s := &benchServe{db: filepath.Join(dir, "refit.db"), logs: &lockedBuffer{}}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"HOME=" + dir, // no Docker credentials
		"DOCKER_HOST=" + dockerHost,
		"REFIT_ADDR=127.0.0.1:0",
		"REFIT_DB=" + s.db,
		"REFIT_ADMIN_USER=" + benchUser,
		"REFIT_ADMIN_PASSWORD=" + benchPass,
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = cmd.Process.Pid
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	})
	addr := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`msg="refit listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.logs.WriteString(sc.Text() + "\n")
			if os.Getenv("REFIT_BENCH_LOG") != "" {
				fmt.Fprintln(os.Stderr, sc.Text())
			}
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("refit did not start:\n%s", s.logs.String())
	}
	return s
}

// signIn returns a client with benchUser's session cookie.
func (s *benchServe) signIn(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	login, err := cl.Post(s.base+"/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"user":%q,"pass":%q}`, benchUser, benchPass)))
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	if login.StatusCode != 200 {
		t.Fatalf("login: %d\n%s", login.StatusCode, s.logs.String())
	}
	return cl
}

// waitChecked waits until the first check is done: every one of want
// containers has a status from the registry.
func (s *benchServe) waitChecked(t *testing.T, cl *http.Client, want int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		var groups []models.ImageGroup
		if status, body := getBody(t, cl, s.base+"/api/images"); status == 200 {
			json.Unmarshal(body, &groups)
		}
		n, checked := 0, true
		for _, g := range groups {
			n += len(g.Containers)
			checked = checked && g.Status != models.StatusUnknown
		}
		if n == want && checked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("refit lists %d containers (want %d), checked %v:\n%s", n, want, checked, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// measureFootprint builds refit, runs `refit serve` over api and reg, and
// measures it: rest after the first check, then rest after requests GETs,
// and, with late, that long after them.
func measureFootprint(t *testing.T, api *dockertest.API, reg *ocitest.Registry, wantContainers int, race bool,
	requests int, rest, late time.Duration, extraEnv ...string) footprint {
	t.Helper()
	var fp footprint
	bin, size := buildBench(t, race)
	fp.binary = size
	s := serveBench(t, bin, api.Serve(t), extraEnv...)
	cl := s.signIn(t)
	s.waitChecked(t, cl, wantContainers)
	fp.startup = time.Since(s.start)
	time.Sleep(rest)
	fp.idleRSS, _, fp.idleAnon, fp.idleFile = procStatus(t, s.pid)
	base := s.base

	// Load: the dashboard and the API, as browsers and scripts ask for them.
	var wg sync.WaitGroup
	per := requests / 8
	for w := range 8 {
		wg.Go(func() {
			for i := range per {
				path := "/api/images"
				if (i+w)%2 == 0 {
					path = "/"
				}
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				resp, err := cl.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("GET %s = %d", path, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	fp.requests = per * 8
	time.Sleep(rest)
	fp.afterRSS, fp.peakRSS, _, _ = procStatus(t, s.pid)
	if late > 0 {
		time.Sleep(late - rest)
		fp.lateRSS, fp.peakRSS, _, _ = procStatus(t, s.pid)
	}
	return fp
}

// procStatus returns a process's VmRSS, VmHWM, RssAnon and RssFile in bytes.
func procStatus(t *testing.T, pid int) (rss, hwm, anon, file int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("memory of refit: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		case "RssAnon":
			anon = kb << 10
		case "RssFile":
			file = kb << 10
		}
	}
	return rss, hwm, anon, file
}

func getBody(t *testing.T, cl *http.Client, url string) (int, []byte) {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) { l.mu.Lock(); defer l.mu.Unlock(); l.b.WriteString(s) }
func (l *lockedBuffer) String() string       { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestFootprintBenchHarness runs the footprint benchmark small.
func TestFootprintBenchHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	api, reg := footprintEngine(t, 3, 2)
	fp := measureFootprint(t, api, reg, 6, true, 16, 0, 0)
	if fp.binary == 0 || fp.idleRSS == 0 || fp.afterRSS == 0 {
		t.Fatalf("footprint not measured: %+v", fp)
	}
	if api.Requests("GET /images/json") == 0 {
		t.Error("refit did not list images through the fake engine")
	}
}

// TestBenchReport measures the binary's footprint (see `make bench`).
func TestBenchReport(t *testing.T) {
	benchtest.Require(t)
	const groups, perGroup, requests = 100, 5, 4000
	// Go forces a GC every two minutes; the late point is after the first one
	// that follows the load.
	const rest, late = 10 * time.Second, 130 * time.Second
	api, reg := footprintEngine(t, groups, perGroup)
	fp := measureFootprint(t, api, reg, groups*perGroup, false, requests, rest, late, strings.Fields(os.Getenv("REFIT_BENCH_ENV"))...)
	t.Logf("%+v", fp)

	verdict := func(v, limit int64) string {
		if v <= limit {
			return "yes"
		}
		return "**no**"
	}
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB (%.1f MiB)", float64(n)/1e6, float64(n)/(1<<20)) }
	w := &strings.Builder{}
	fmt.Fprintf(w, "## Footprint\n\n")
	fmt.Fprintf(w, "The refit binary as `make build` makes it (static, `-trimpath -ldflags '-s -w'`), started with "+
		"`refit serve` and its defaults (auth on, SQLite file, check at start), over an engine with %d running "+
		"containers in %d images and a loopback registry holding the images, every third of them newer than the "+
		"engine's. The engine is `dockertest.API`, a read-only fake of the Engine API that answers the lists refit "+
		"reads from documents shaped like the real engine's (Compose labels included); `TestAPIReadsLikeTheEngine` "+
		"holds it to a real engine. Memory is the process's VmRSS from /proc (what `ps` shows): at rest %s after "+
		"the first check, then %s and %s after %d GETs of / and /api/images (gzip, 8 clients, signed in).\n\n",
		groups*perGroup, groups, rest, rest, late, fp.requests)
	fmt.Fprintf(w, "| what | value | target | met |\n|---|---:|---:|---|\n")
	fmt.Fprintf(w, "| binary size | %s | ≤ 30 MB | %s |\n", mb(fp.binary), verdict(fp.binary, 30e6))
	img := buildImage(t)
	compressed, unpacked, layers := imageSize(t, img.img)
	imgOK := verdict(unpacked, imageMaxBytes)
	if layers > imageMaxLayers {
		imgOK = "**no**"
	}
	fmt.Fprintf(w, "| container image (`make image`, linux/%s), unpacked; %s compressed, %d layers | %s | ≤ 30 MB, ≤ %d layers | %s |\n",
		runtime.GOARCH, mb(compressed), layers, mb(unpacked), imageMaxLayers, imgOK)
	fmt.Fprintf(w, "| **resident memory at rest with %d containers**, after the first check | %s | ≤ 30 MB | %s |\n",
		groups*perGroup, mb(fp.idleRSS), verdict(fp.idleRSS, 30e6))
	fmt.Fprintf(w, "| of which the binary's own pages (RssFile) | %s | | |\n", mb(fp.idleFile))
	fmt.Fprintf(w, "| of which heap, stacks and SQLite (RssAnon) | %s | | |\n", mb(fp.idleAnon))
	fmt.Fprintf(w, "| resident memory %s after the load | %s | | |\n", rest, mb(fp.afterRSS))
	fmt.Fprintf(w, "| resident memory %s after the load | %s | | |\n", late, mb(fp.lateRSS))
	fmt.Fprintf(w, "| peak resident memory (VmHWM) | %s | | |\n", mb(fp.peakRSS))
	fmt.Fprintf(w, "| start to the first check's %d groups served | %s | | |\n", groups, fp.startup.Round(time.Millisecond))
	fmt.Fprintf(w, "\nThe binary's pages are most of it: on the machine these numbers come from, every page of the "+
		"mapped binary counts as resident once it runs. refit returns the memory of a check to the system when the "+
		"check ends (`debug.FreeOSMemory`), since an idle process would otherwise keep it until a GC it rarely "+
		"needs, and runs the GC at GOGC=50 unless GOGC is set.\n\n")
	benchtest.Write(t, w.String())
	t.Run("hostile", benchHostile)
}
