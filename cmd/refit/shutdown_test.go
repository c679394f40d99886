package main

// A SIGTERM during an update, to the refit binary as a child process on the
// crash matrix's private engine: refit must exit 0 within -shutdown-timeout
// (8 s by default) and leave the name running, nothing parked and nothing
// in the journal for the next start.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// shutdownTimeout is refit's default -shutdown-timeout.
const shutdownTimeout = 8 * time.Second

type shutdownCase struct {
	name string
	// at is when to send SIGTERM: "pulling", or a journal step.
	at     string
	delay  time.Duration
	settle time.Duration
	// want is the version that runs afterwards.
	want string
}

var shutdownCases = []shutdownCase{
	{name: "pulling", at: "pulling", want: "old"},
	{name: "stopping", at: models.StepStopping, delay: 500 * time.Millisecond, settle: crashSettle, want: "old"},
	// The settle ends 1.5 s after the SIGTERM, in time: the update finishes.
	{name: "settling", at: models.StepWaiting, delay: 500 * time.Millisecond, settle: crashSettle, want: "new"},
	// A 30 s settle cannot end in time: it rolls back at once.
	{name: "settling-30s", at: models.StepWaiting, delay: 500 * time.Millisecond, settle: 30 * time.Second, want: "old"},
}

func TestSIGTERMDuringAnUpdate(t *testing.T) {
	dockertest.Host(t)
	eng, cli := newPrivateEngine(t)
	refit := buildRefit(t)
	reg := ocitest.NewRegistry(t)
	var summary []string
	for _, c := range shutdownCases {
		t.Run(c.name, func(t *testing.T) {
			took := runShutdownCase(t, c, eng, cli, reg, refit)
			summary = append(summary, fmt.Sprintf("%-14s exit 0 after %s, %s runs", c.name, took.Round(time.Millisecond), c.want))
		})
	}
	t.Logf("SIGTERM during an update (-shutdown-timeout %s):\n%s", shutdownTimeout, strings.Join(summary, "\n"))
}

// newPrivateEngine starts an engine of the test's own (REFIT_TEST_DOCKERD,
// else dockerd on PATH) and a client of it, both gone when the test ends:
// refit's recovery acts on every parked container of its engine, so these
// tests keep away from the one other packages share.
func newPrivateEngine(t *testing.T) (*privateEngine, *client.Client) {
	t.Helper()
	eng, err := startPrivateEngine(privateDockerd(t))
	if err != nil {
		crashNoEngine(t, err.Error())
	}
	t.Cleanup(eng.cleanup)
	cli, err := client.NewClientWithOpts(client.WithHost(eng.host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return eng, cli
}

func runShutdownCase(t *testing.T, c shutdownCase, eng *privateEngine, cli *client.Client, reg *ocitest.Registry, refit string) time.Duration {
	ctx := t.Context()
	name := "term-" + c.name
	repoTag := "term/" + name + ":1"
	ref := reg.Ref(repoTag)
	reg.Push(t, repoTag, ocitest.ImageOpts{Env: []string{"TESTAPP_WRITE=/data/f=v1data"}, Volumes: []string{"/data"}, Marker: "v1 " + name})
	crashPull(t, cli, ref)
	v2 := ocitest.ImageOpts{Volumes: []string{"/data"}, Marker: "v2 " + name}
	if c.at == "pulling" {
		v2.ExtraLayerSize = 4 << 20
		reg.SetBlobRate(256 << 10) // 16 s for the layer
		t.Cleanup(func() { reg.SetBlobRate(0) })
	}
	reg.Push(t, repoTag, v2)
	original := runSlowStopper(t, cli, eng, ref, name)

	dir := t.TempDir()
	db := filepath.Join(dir, "refit.db")
	settle := c.settle
	if settle == 0 {
		settle = crashSettle
	}
	p := startRefitChild(t, refit, dir, db, eng.host, settle)
	jr := openJournalReader(t, db)
	startUpdate(t, p, name)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if c.at == "pulling" {
			var pr models.Progress
			if status, body := crashGet(t, p.base+"/api/images/"+name+"/progress"); status == 200 &&
				json.Unmarshal(body, &pr) == nil && pr.Phase == models.PhasePulling && pr.Status == "Downloading" {
				break
			}
		} else if rows := jr.rows(t); len(rows) > 0 && rows[0].Step == c.at {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the update never reached %s\nrefit log:\n%s", c.at, p.logs.String())
		}
	}
	time.Sleep(c.delay)

	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	var took time.Duration
	select {
	case <-p.done:
		took = time.Since(sent)
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatalf("refit did not exit within 15s of SIGTERM\nrefit log:\n%s", p.logs.String())
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nengine: %s\njournal: %+v\nrefit log:\n%s", fmt.Sprintf(format, args...), engineState(ctx, cli), jr.rows(t), p.logs.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || took > shutdownTimeout+500*time.Millisecond {
		fail("SIGTERM at %s: exit %d after %s, want 0 within %s", c.at, code, took, shutdownTimeout)
	}
	cur, ok := recovered(ctx, cli, jr, t, name)
	if !ok {
		fail("after the exit %s does not run alone with an empty journal", name)
	}
	if n := countContainers(ctx, cli); n != 1 {
		fail("%d containers, want only %s", n, name)
	}
	if got := map[bool]string{true: "old", false: "new"}[cur.ID == original]; got != c.want {
		fail("the %s version runs, want the %s one", got, c.want)
	}
	t.Logf("SIGTERM at %s +%s: exit 0 after %s; the %s version runs; refit's last lines:\n%s", c.at, c.delay,
		took.Round(time.Millisecond), c.want, lastLines(p.logs.String(), 6))
	return took
}

// privateDockerd is the dockerd binary the crash matrix runs.
func privateDockerd(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("REFIT_TEST_DOCKERD")
	if bin == "" {
		bin = "dockerd"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		crashNoEngine(t, fmt.Sprintf("no dockerd: %v", err))
	}
	return path
}
