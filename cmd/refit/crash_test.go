package main

// The crash matrix: the refit binary, run as a child process, is killed
// (kill -9), sent SIGTERM, or loses its engine to a restart at each step of
// a recreate, and then a fresh refit on the same database (or the same one,
// for the engine restart) must leave the container running under its name,
// one version of it, with the data of its anonymous volume, and nothing
// parked. Because recovery acts on every parked container of its engine,
// the matrix runs on a private engine that it starts and stops itself:
// REFIT_TEST_DOCKERD names the dockerd binary (default: dockerd on PATH),
// and its directory goes first in PATH so a newer engine finds its own
// containerd and runc. It runs when REFIT_TEST_DOCKER_HOST is set (the
// real-engine tests are on); under CI=true an engine that does not start
// fails the test instead of skipping it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// crashSettle is REFIT_SETTLE of every refit the matrix runs.
const crashSettle = 2 * time.Second

// crashStopTimeout is the test container's stop timeout: it ignores its stop
// signal (SIGUSR1, as PID 1), so every stop takes this long.
const crashStopTimeout = 3

// What is done to refit at the kill point.
const (
	doKill          = "kill -9"
	doTerm          = "SIGTERM"
	doEngineRestart = "engine restart"
)

// crashCase is one row of the matrix: when the journal reaches step (and,
// for "creating", the create answered), wait delay, then do what.
type crashCase struct {
	name  string
	what  string
	step  string
	delay time.Duration
	// newRunning waits, after step, until the new container runs.
	newRunning bool
	// settle replaces crashSettle.
	settle time.Duration
}

var crashCases = []crashCase{
	{name: "kill-renaming", what: doKill, step: models.StepRenaming},
	{name: "kill-created", what: doKill, step: models.StepCreating},
	{name: "kill-stopping-0.3s", what: doKill, step: models.StepStopping, delay: 300 * time.Millisecond},
	{name: "kill-stopping-1.5s", what: doKill, step: models.StepStopping, delay: 1500 * time.Millisecond},
	{name: "kill-stopping-2.7s", what: doKill, step: models.StepStopping, delay: 2700 * time.Millisecond},
	{name: "kill-started", what: doKill, step: models.StepStarting, newRunning: true},
	{name: "kill-waiting", what: doKill, step: models.StepWaiting, delay: time.Second},
	{name: "kill-removing-old", what: doKill, step: models.StepRemovingOld},
	{name: "term-stopping", what: doTerm, step: models.StepStopping, delay: time.Second},
	{name: "term-waiting", what: doTerm, step: models.StepWaiting, delay: time.Second},
	{name: "engine-restart-stopping", what: doEngineRestart, step: models.StepStopping, delay: time.Second},
	// The engine's own shutdown gives the new container its 3 s stop
	// timeout while still answering: with a 2 s settle the update would end
	// before the engine goes, so this one settles for 6 s.
	{name: "engine-restart-waiting", what: doEngineRestart, step: models.StepWaiting, delay: 500 * time.Millisecond, settle: 6 * time.Second},
}

// stepRank orders journal entries along the recreate; a created container
// (NewID set) ranks after the create was asked for.
func stepRank(st models.RecreateState) int {
	switch st.Step {
	case models.StepRenaming:
		return 1
	case models.StepCreating:
		if st.NewID != "" {
			return 3
		}
		return 2
	case models.StepStopping:
		return 4
	case models.StepStarting:
		return 5
	case models.StepWaiting:
		return 6
	case models.StepRemovingOld:
		return 7
	}
	return 0 // rolling back: off the path
}

func (c crashCase) target() int {
	r := stepRank(models.RecreateState{Step: c.step})
	if c.step == models.StepCreating {
		r = 3
	}
	return r
}

// crashRow is what one case did, for the summary table.
type crashRow struct {
	name, what, hit, outcome, history string
	toRunning                         time.Duration
	exit                              string
}

func TestCrashMatrix(t *testing.T) {
	dockertest.Host(t) // the gate: real-engine tests are on (fails under CI=true without it)
	eng, cli := newPrivateEngine(t)
	sv, err := cli.ServerVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("private engine: Docker %s (API %s)", sv.Version, sv.APIVersion)

	refit := buildRefit(t)
	reg := ocitest.NewRegistry(t)
	var rows []*crashRow
	began := time.Now()
	for _, c := range crashCases {
		row := crashRow{name: c.name, what: c.what}
		t.Run(c.name, func(t *testing.T) {
			rows = append(rows, &row) // not for a case -run leaves out
			runCrashCase(t, c, eng, cli, reg, refit, &row)
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "crash matrix on Docker %s, %s in all:\n", sv.Version, time.Since(began).Round(100*time.Millisecond))
	fmt.Fprintf(&b, "%-24s %-15s %-44s %-46s %-10s %s\n", "case", "done", "journal at that moment (-> after)", "outcome", "running", "history")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-24s %-15s %-44s %-46s %-10s %s\n", r.name, r.what, r.hit, r.outcome+r.exit,
			r.toRunning.Round(100*time.Millisecond), r.history)
	}
	t.Log(b.String())
}

func crashNoEngine(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot start a private Docker engine: %s", why)
	}
	t.Skipf("cannot start a private Docker engine: %s", why)
}

// buildRefit builds the refit binary, as a user builds it (cgo for SQLite).
func buildRefit(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "refit")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runCrashCase(t *testing.T, c crashCase, eng *privateEngine, cli *client.Client, reg *ocitest.Registry, refit string, row *crashRow) {
	ctx := t.Context()
	name := "crash-" + strings.ReplaceAll(c.name, ".", "")
	repoTag := "crash/" + name + ":1"
	ref := reg.Ref(repoTag)
	reg.Push(t, repoTag, ocitest.ImageOpts{Env: []string{"TESTAPP_WRITE=/data/f=v1data"}, Volumes: []string{"/data"}, Marker: "v1 " + name})
	crashPull(t, cli, ref)
	v1, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// v2 writes nothing: the file reads v1data only from the old volume.
	v2Digest := reg.Push(t, repoTag, ocitest.ImageOpts{Volumes: []string{"/data"}, Marker: "v2 " + name})

	original := runSlowStopper(t, cli, eng, ref, name)
	volume := dataVolume(dockertest.Inspect(t, cli, original))
	if volume == "" {
		t.Fatal("the container has no anonymous volume at /data")
	}

	dir := t.TempDir()
	db := filepath.Join(dir, "refit.db")
	settle := crashSettle
	if c.settle > 0 {
		settle = c.settle
	}
	a := startRefitChild(t, refit, dir, db, eng.host, settle)
	jr := openJournalReader(t, db)
	startUpdate(t, a, name)

	// Wait for the kill point.
	deadline := time.Now().Add(30 * time.Second)
	var seen models.RecreateState
	for {
		rows := jr.rows(t)
		if len(rows) > 0 {
			seen = rows[0]
			if stepRank(seen) >= c.target() {
				break
			}
		} else if stepRank(seen) > 0 {
			break // the entry is gone: the recreate ended before the kill point
		}
		if time.Now().After(deadline) {
			t.Fatalf("the journal never reached %q (last seen %+v)\nrefit log:\n%s", c.step, seen, a.logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	if c.newRunning && seen.NewID != "" {
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if n, err := cli.ContainerInspect(ctx, seen.NewID); err == nil && n.State.Running {
				break
			}
		}
	}
	if c.delay > 0 {
		time.Sleep(c.delay)
	}

	var answered time.Time // when the fresh refit (or the engine) started
	b := a
	atAction := jr.rows(t) // a SIGTERM or an engine stop takes a while: the entry may move on
	switch c.what {
	case doKill:
		a.kill()
	case doTerm:
		sent := time.Now()
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
			row.exit = fmt.Sprintf(" (exit %d after %s)", a.cmd.ProcessState.ExitCode(), time.Since(sent).Round(100*time.Millisecond))
		case <-time.After(15 * time.Second):
			a.kill()
			t.Errorf("refit did not exit within 15s of SIGTERM\nrefit log:\n%s", a.logs.String())
			row.exit = " (no exit within 15s)"
		}
	case doEngineRestart:
		if err := eng.stop(); err != nil {
			t.Fatalf("stop the engine: %v", err)
		}
	}
	hit := jr.rows(t)
	row.hit = describeEntries(hit)
	if c.what != doKill {
		row.hit = describeEntries(atAction) + " -> " + row.hit
	}
	time.Sleep(100 * time.Millisecond) // requests the engine had already received land
	before := ""
	if c.what != doEngineRestart {
		before = engineState(ctx, cli)
	}
	t.Logf("%s at journal %q (kill point %q +%s); engine: %s", c.what, row.hit, c.step, c.delay, before)

	// After a kill or SIGTERM, recovery is needed when the engine does not
	// show the untouched original running alone under its name.
	needed := true
	if c.what != doEngineRestart {
		cur, err := cli.ContainerInspect(ctx, name)
		needed = len(hit) > 0 && (err != nil || cur.ID != original || !cur.State.Running || countContainers(ctx, cli) != 1)
	}

	switch c.what {
	case doKill, doTerm:
		answered = time.Now()
		b = startRefitChild(t, refit, dir, db, eng.host, settle)
	case doEngineRestart:
		if err := eng.start(); err != nil {
			t.Fatalf("start the engine again: %v", err)
		}
		answered = time.Now()
		t.Logf("engine answers again after a restart; refit keeps running")
	}
	fail := func(format string, args ...any) {
		t.Helper()
		logs := "refit log:\n" + a.logs.String()
		if b != a {
			logs = "refit log (the first process):\n" + a.logs.String() + "\nrefit log (the fresh one):\n" + b.logs.String()
		}
		t.Fatalf("%s\nengine: %s\njournal: %+v\n%s", fmt.Sprintf(format, args...), engineState(context.Background(), cli), jr.rows(t), logs)
	}

	// The name runs, alone, and nothing is parked or journalled.
	var cur container.InspectResponse
	for {
		var ok bool
		cur, ok = recovered(ctx, cli, jr, t, name)
		if ok {
			row.toRunning = time.Since(answered)
			break
		}
		if time.Since(answered) > 30*time.Second {
			row.outcome = "not running within 30s"
			fail("%s does not run alone within 30s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	later, err := cli.ContainerInspect(ctx, name)
	if err != nil || later.ID != cur.ID || !later.State.Running || later.State.StartedAt != cur.State.StartedAt {
		row.outcome = "stopped or replaced within 5s"
		fail("%s (%s) did not keep running for 5s", name, models.ShortID(cur.ID))
	}
	if _, ok := recovered(ctx, cli, jr, t, name); !ok {
		fail("the state changed within 5s")
	}
	if n := countContainers(ctx, cli); n != 1 {
		fail("%d containers, want only %s", n, name)
	}

	version := "?"
	switch {
	case cur.Image == v1.ID:
		version = "old"
	default:
		if img, err := cli.ImageInspect(ctx, cur.Image); err == nil && slices.ContainsFunc(img.RepoDigests, func(d string) bool { return strings.HasSuffix(d, "@"+v2Digest) }) {
			version = "new"
		}
	}
	if version == "?" {
		fail("%s runs image %s, neither the old nor the new version", name, cur.Image)
	}
	if cur.ID == original {
		version = "old (the original)"
	} else if version == "old" {
		version = "old (a copy)" // would lose nothing, but refit never does this
	}
	row.outcome = version + " runs"
	if v := dataVolume(cur); v != volume {
		fail("%s mounts volume %q at /data, want the original %q", name, v, volume)
	}
	if got := dockertest.Exec(t, cli, cur.ID, "/testapp", "cat", "/data/f"); got != "v1data" {
		fail("/data/f reads %q, want v1data", got)
	}

	// The recovery is on record, by the process that recovered.
	var recs []models.UpdateRecord
	if status, body := crashGet(t, b.base+"/api/history"); status != 200 {
		fail("GET /api/history = %d %s", status, body)
	} else if err := json.Unmarshal(body, &recs); err != nil {
		fail("GET /api/history: %v: %s", err, body)
	}
	var byRecovery []string
	for _, r := range recs {
		if r.Container == name && r.By == "recovery" {
			byRecovery = append(byRecovery, strings.TrimSuffix(r.Result+": "+r.Error, ": "))
		}
	}
	row.history = strings.Join(byRecovery, " | ")
	if row.history == "" {
		row.history = "(no recovery record)"
	}
	switch {
	case needed && len(byRecovery) == 0:
		fail("recovery was needed but GET /api/history records none: %+v", recs)
	case !needed && len(byRecovery) > 0:
		fail("nothing was left to recover, yet history records %v", byRecovery)
	}
	if c.what == doTerm && !needed {
		row.history = "(the dying refit finished or rolled back its update; nothing to recover)"
	}
	t.Logf("%s: %s, running %s after %s; history: %s", c.name, row.outcome, row.toRunning.Round(100*time.Millisecond),
		map[bool]string{true: "the engine answered", false: "the fresh start"}[c.what == doEngineRestart], row.history)
}

// runSlowStopper creates and starts name from ref on the private engine: it
// ignores its stop signal (SIGUSR1, as PID 1), so every stop takes
// crashStopTimeout; it is removed with the engine's other containers when
// the test ends. It returns once the container wrote its file.
func runSlowStopper(t *testing.T, cli *client.Client, eng *privateEngine, ref, name string) string {
	t.Helper()
	stop := crashStopTimeout
	created, err := cli.ContainerCreate(t.Context(), &container.Config{Image: ref, StopSignal: "SIGUSR1", StopTimeout: &stop},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAllContainers(t, eng.host) })
	if err := cli.ContainerStart(t.Context(), created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFile(t, cli, created.ID)
	return created.ID
}

// describeEntries is the journal entry of the one container, in a few words.
func describeEntries(sts []models.RecreateState) string {
	if len(sts) == 0 {
		return "(no entry)"
	}
	st := sts[0]
	s := st.Step
	if st.Step == models.StepCreating && st.NewID != "" {
		s += " (created)"
	}
	if st.StopSent {
		s += " stop_sent"
	}
	return s
}

// recovered reports whether name runs, no container is parked and the
// journal is empty.
func recovered(ctx context.Context, cli *client.Client, jr *journalReader, t *testing.T, name string) (container.InspectResponse, bool) {
	c, err := cli.ContainerInspect(ctx, name)
	if err != nil || !c.State.Running || c.State.Restarting || c.Name != "/"+name {
		return c, false
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return c, false
	}
	for _, l := range list {
		for _, n := range l.Names {
			if strings.HasSuffix(n, models.OldSuffix) {
				return c, false
			}
		}
	}
	return c, len(jr.rows(t)) == 0
}

func countContainers(ctx context.Context, cli *client.Client) int {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return -1
	}
	return len(list)
}

// engineState lists every container: name, short ID, state.
func engineState(ctx context.Context, cli *client.Client) string {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var parts []string
	for _, c := range list {
		parts = append(parts, fmt.Sprintf("%s %s %s", strings.Join(c.Names, ","), models.ShortID(c.ID), c.State))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "(no containers)"
	}
	return strings.Join(parts, "; ")
}

func dataVolume(c container.InspectResponse) string {
	for _, m := range c.Mounts {
		if m.Destination == "/data" {
			return m.Name
		}
	}
	return ""
}

func waitFile(t *testing.T, cli *client.Client, id string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c := dockertest.Inspect(t, cli, id)
		if c.State.Running && len(c.Mounts) > 0 && strings.Contains(dockertest.Logs(t, cli, id), "ready") {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the container did not say ready: %s", dockertest.Logs(t, cli, id))
		}
	}
}

func crashPull(t *testing.T, cli *client.Client, ref string) {
	t.Helper()
	rc, err := cli.ImagePull(t.Context(), ref, image.PullOptions{})
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
}

// removeAllContainers empties the private engine between cases, volumes too.
func removeAllContainers(t *testing.T, host string) {
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		t.Logf("list containers for cleanup: %v", err)
		return
	}
	for _, c := range list {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Logf("remove %s: %v", c.ID, err)
		}
	}
}

// startUpdate checks, waits until name is outdated, and asks for its update.
func startUpdate(t *testing.T, p *refitChild, name string) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		status, body := crashPost(t, p.base+"/api/check")
		var groups []models.ImageGroup
		if status == 200 && json.Unmarshal(body, &groups) == nil {
			for _, g := range groups {
				for _, c := range g.Containers {
					if c.ContainerName == name && c.Status == models.StatusOutdated {
						if status, body := crashPost(t, p.base+"/api/images/"+name+"/update"); status != 200 {
							t.Fatalf("POST /api/images/%s/update = %d %s", name, status, body)
						}
						return
					}
				}
			}
		}
		if time.Now().After(end) {
			t.Fatalf("%s is not outdated: %d %s\nrefit log:\n%s", name, status, body, p.logs.String())
		}
	}
}

var crashHTTP = &http.Client{Timeout: 30 * time.Second}

func crashPost(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := crashHTTP.Post(url, "application/json", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func crashGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := crashHTTP.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// refitChild is one `refit serve` process.
type refitChild struct {
	cmd  *exec.Cmd
	logs *logBuffer
	base string
	done chan struct{}
}

// startRefitChild starts `refit serve` on dockerHost; env adds variables
// (REFIT_HOSTS, for the tests of several hosts).
func startRefitChild(t *testing.T, bin, dir, db, dockerHost string, settle time.Duration, env ...string) *refitChild {
	t.Helper()
	p := &refitChild{logs: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = []string{
		"HOME=" + dir, // no Docker credentials
		"DOCKER_HOST=" + dockerHost,
		"REFIT_ADDR=127.0.0.1:0",
		"REFIT_DB=" + db,
		"REFIT_AUTH=off",
		"REFIT_SETTLE=" + settle.String(),
		"REFIT_CHECK_INTERVAL=0",
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			p.kill()
		}
	})
	listening := regexp.MustCompile(`msg="refit listening" addr=(\S+)`)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := listening.FindStringSubmatch(p.logs.String()); m != nil {
			p.base = "http://" + m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("refit exited at start:\n%s", p.logs.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("refit did not start:\n%s", p.logs.String())
		}
	}
}

// kill is kill -9, and waits for the process to be gone.
func (p *refitChild) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// journalReader reads the recreate journal from refit's database while
// refit runs (WAL lets a reader in), read-only.
type journalReader struct{ db *gorm.DB }

func openJournalReader(t *testing.T, path string) *journalReader {
	t.Helper()
	db, err := gorm.Open(sqlite.Open("file:"+path+"?mode=ro&_busy_timeout=5000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("open %s read-only: %v", path, err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	return &journalReader{db: db}
}

func (j *journalReader) rows(t *testing.T) []models.RecreateState {
	t.Helper()
	var out []models.RecreateState
	if err := j.db.Order("name").Find(&out).Error; err != nil {
		t.Fatalf("read the journal: %v", err)
	}
	return out
}

// privateEngine is a dockerd of the test's own, with its whole state in dir.
type privateEngine struct {
	bin, dir, host string
	cmd            *exec.Cmd
	done           chan struct{}
	log            logBuffer // of every start, for a failure
}

func startPrivateEngine(bin string) (*privateEngine, error) {
	// Short: the socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "refit-crash-")
	if err != nil {
		return nil, err
	}
	e := &privateEngine{bin: bin, dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock")}
	if err := e.start(); err != nil {
		e.cleanup()
		return nil, err
	}
	return e, nil
}

// start runs dockerd and waits until it answers.
func (e *privateEngine) start() error {
	cmd := exec.Command(e.bin,
		"--data-root", filepath.Join(e.dir, "root"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "dockerd.pid"),
		"--host", e.host,
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(e.bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = &e.log, &e.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // none of the test's signals
	if err := cmd.Start(); err != nil {
		return err
	}
	e.cmd, e.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(e.done)
	cli, err := client.NewClientWithOpts(client.WithHost(e.host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cli.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("dockerd exited during start-up: %s", lastLines(e.log.String(), 20))
		default:
		}
		if time.Now().After(end) {
			return fmt.Errorf("dockerd did not answer within 60s: %v\n%s", err, lastLines(e.log.String(), 20))
		}
	}
}

// stop stops dockerd by its pid (it stops its containers first), and kills
// it after 30s.
func (e *privateEngine) stop() error {
	if e.cmd == nil {
		return nil
	}
	select {
	case <-e.done:
		return nil
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
		return nil
	case <-time.After(30 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
		return errors.New("dockerd did not stop within 30s of SIGTERM; killed")
	}
}

// cleanup stops the engine, unmounts what is left below its directory and
// removes it.
func (e *privateEngine) cleanup() {
	e.stop()
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var below []string
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], e.dir+"/") {
			below = append(below, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(below)))
	for _, m := range below {
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
	if err := os.RemoveAll(e.dir); err != nil {
		time.Sleep(time.Second)
		os.RemoveAll(e.dir)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
