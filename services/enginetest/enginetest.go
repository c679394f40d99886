// Package enginetest is the conformance suite every services.Updater passes:
// the Docker adapter against a real engine, and the fake on every go test.
// It works like testing/fstest.TestFS: the implementation supplies a Fixture
// that can arrange state, and Run checks the behaviour services rely on.
package enginetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

// OldSuffix is the parked name's suffix; Recover must find it after a crash.
const OldSuffix = models.OldSuffix

// Fixture is an engine under test and the means to arrange its state. Each
// subtest gets a fresh one; it cleans up after itself with t.Cleanup.
type Fixture interface {
	// Engine returns the engine under test.
	Engine() services.Updater
	// Ref returns the image reference (repository:tag) the fixture publishes
	// its versions under.
	Ref() string
	// MissingRef returns a reference in the same registry that does not
	// exist.
	MissingRef() string
	// PushVersion makes version v (1, 2, …) the current image of Ref in the
	// registry, without pulling it, and returns its manifest digest. The same
	// v always gives the same digest.
	PushVersion(t *testing.T, v int) (digest string)
	// RunContainer publishes version v, makes it the local image of Ref, and
	// starts a container named name with Config.Image Ref. It returns the
	// container's ID.
	RunContainer(t *testing.T, name string, v int) (id string)
	// StopContainer stops a running container.
	StopContainer(t *testing.T, id string)
	// RunSlowStopper is RunContainer for a container that takes about three
	// seconds to stop: it ignores its stop signal, so the engine kills it
	// once its stop timeout of 3 s has passed.
	RunSlowStopper(t *testing.T, name string, v int) (id string)
	// CreateContainer is RunContainer without the start: the container
	// stays "created".
	CreateContainer(t *testing.T, name string, v int) (id string)
	// RunLogger is RunContainer for a container whose log holds lines and
	// nothing else, written in order: to stdout, or to stderr for a line
	// that begins with "!" (without it). With tty it has a terminal. It
	// returns once every line is in the log.
	RunLogger(t *testing.T, name string, v int, tty bool, lines ...string) (id string)
	// RunWithVolume is RunContainer for a container with one anonymous
	// volume, whose name it returns too. A volume the test leaves is
	// removed at cleanup.
	RunWithVolume(t *testing.T, name string, v int) (id, volume string)
	// RunWithShell is RunContainer for an image that also has /bin/sh.
	RunWithShell(t *testing.T, name string, v int) (id string)
	// VolumeExists reports whether the engine still has the volume.
	VolumeExists(t *testing.T, volume string) bool
}

// Options for the recreates of the suite: short, so a real engine is quick.
var recreateOpts = models.RecreateOptions{Settle: 500 * time.Millisecond, HealthTimeout: 30 * time.Second}

// allSteps is the order of a successful recreate.
var allSteps = []string{"renaming", "creating", "stopping", "starting", "waiting", "removing old"}

// Run checks the Updater that newFixture provides. Subtests that call
// Recover run one at a time, since Recover acts on every container of the
// engine; the rest run in parallel.
func Run(t *testing.T, newFixture func(t *testing.T) Fixture) {
	parallel := func(name string, fn func(t *testing.T, f Fixture)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t))
		})
	}
	serial := func(name string, fn func(t *testing.T, f Fixture)) {
		t.Run(name, func(t *testing.T) { fn(t, newFixture(t)) })
	}
	serial("RecoverRestoresAfterCrashBeforeStart", testRecoverRestores)
	serial("RecoverFinishesAfterCrashOnceNewRuns", testRecoverFinishes)
	serial("RecoverWithNothingPending", testRecoverNothing)
	serial("RecoverWaitsForAStopInFlight", testRecoverStopInFlight)
	serial("RecoverKeepsANewContainerOnlyOnceItSettled", testRecoverSettles)

	parallel("RunningListsRunningContainers", testRunning)
	parallel("EventsDeliversStart", testEvents)
	parallel("PullEmitsEventsAndUpdatesImage", testPull)
	parallel("PullOfMissingTagFails", testPullMissing)
	parallel("ImageOfMissingRefIsNotFound", testImageMissing)
	parallel("RecreateReplacesContainer", testRecreate)
	parallel("RecreateOfUnknownIDIsNotFound", testRecreateUnknown)
	parallel("RecreateStopsWithTheGivenSignalAndTimeout", testRecreateStopSignalAndTimeout)
	parallel("HookErrorRollsBack", testHookRollsBack)
	parallel("CancelledContextRollsBack", testCancelRollsBack)
	parallel("RollbackKeepsTheNewContainersLastLines", testRollbackKeepsLogs)

	parallel("AllListsStoppedContainers", testAll)
	parallel("StopThenStart", testStopThenStart)
	parallel("RestartKeepsTheID", testRestart)
	parallel("RemoveRunningContainer", testRemoveRunning)
	parallel("RemoveKeepsAnonymousVolumesUnlessAsked", testRemoveVolumes)
	parallel("LogsTailAndTimestamps", testLogs)
	parallel("LogsOfATerminalAreRaw", testLogsTTY)
	parallel("UnknownIDIsNotFound", testLifecycleUnknown)
	parallel("RecreatingContainerRefusesStopAndRemove", testLifecycleDuringRecreate)
	parallel("ImageTellsPlatformAndDate", testImagePlatform)
	parallel("ExecRunsInTheContainer", testExec)
	parallel("ExecWithoutShellStoppedOrUnknown", testExecWithoutShell)
}

func uniqueName(base string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "enginetest-" + base + "-" + hex.EncodeToString(b)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// byName returns the running container with that name.
func byName(t *testing.T, e services.Updater, name string) (models.Container, bool) {
	t.Helper()
	cs, err := e.Running(ctxTimeout(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return models.Container{}, false
}

func hasDigest(repoDigests []string, digest string) bool {
	return slices.ContainsFunc(repoDigests, func(rd string) bool { return strings.HasSuffix(rd, "@"+digest) })
}

func pull(t *testing.T, e services.Updater, ref string) {
	t.Helper()
	if err := e.Pull(ctxTimeout(t, time.Minute), ref, models.RegistryAuth{}, nil); err != nil {
		t.Fatalf("Pull(%s): %v", ref, err)
	}
}

func testRunning(t *testing.T, f Fixture) {
	d1 := f.PushVersion(t, 1)
	name, stoppedName := uniqueName("run"), uniqueName("stopped")
	id := f.RunContainer(t, name, 1)
	stopped := f.RunContainer(t, stoppedName, 1)
	f.StopContainer(t, stopped)

	cs, err := f.Engine().Running(ctxTimeout(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	var found bool
	for _, c := range cs {
		switch c.ID {
		case id:
			found = true
			if c.Name != name {
				t.Errorf("Name = %q, want %q", c.Name, name)
			}
			if c.ConfiguredImage != f.Ref() {
				t.Errorf("ConfiguredImage = %q, want %q", c.ConfiguredImage, f.Ref())
			}
			if !hasDigest(c.RepoDigests, d1) {
				t.Errorf("RepoDigests = %v, want one with @%s", c.RepoDigests, d1)
			}
			if c.ImageID == "" {
				t.Error("ImageID is empty")
			}
		case stopped:
			t.Errorf("Running lists the stopped container %s", stoppedName)
		}
	}
	if !found {
		t.Errorf("Running does not list the running container %s", name)
	}
}

func testEvents(t *testing.T, f Fixture) {
	ctx := ctxTimeout(t, 30*time.Second)
	f.PushVersion(t, 1)
	evs, errs := f.Engine().Events(ctx)
	// The subscription may still be on its way to the engine.
	time.Sleep(300 * time.Millisecond)
	id := f.RunContainer(t, uniqueName("events"), 1)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatal("event channel closed before the start event")
			}
			if ev.Action == "start" && ev.ContainerID == id {
				return
			}
		case err := <-errs:
			t.Fatalf("event stream: %v", err)
		case <-timeout:
			t.Fatal("no start event within 10s")
		}
	}
}

func testPull(t *testing.T, f Fixture) {
	d := f.PushVersion(t, 1)
	var evs []models.PullEvent
	err := f.Engine().Pull(ctxTimeout(t, time.Minute), f.Ref(), models.RegistryAuth{}, func(ev models.PullEvent) {
		evs = append(evs, ev)
	})
	if err != nil {
		t.Fatalf("Pull(%s): %v", f.Ref(), err)
	}
	if len(evs) == 0 {
		t.Error("Pull reported no progress events")
	}
	img, err := f.Engine().Image(ctxTimeout(t, 30*time.Second), f.Ref())
	if err != nil {
		t.Fatalf("Image(%s) after Pull: %v", f.Ref(), err)
	}
	if img.ID == "" || !hasDigest(img.RepoDigests, d) {
		t.Errorf("Image(%s) = %+v, want an ID and a RepoDigest @%s", f.Ref(), img, d)
	}

	d2 := f.PushVersion(t, 2)
	pull(t, f.Engine(), f.Ref())
	img2, err := f.Engine().Image(ctxTimeout(t, 30*time.Second), f.Ref())
	if err != nil {
		t.Fatalf("Image(%s) after the second Pull: %v", f.Ref(), err)
	}
	if img2.ID == img.ID || !hasDigest(img2.RepoDigests, d2) {
		t.Errorf("after pulling version 2, Image = %+v, want a new ID with @%s", img2, d2)
	}
}

func testPullMissing(t *testing.T, f Fixture) {
	f.PushVersion(t, 1)
	err := f.Engine().Pull(ctxTimeout(t, time.Minute), f.MissingRef(), models.RegistryAuth{}, nil)
	if err == nil {
		t.Fatalf("Pull(%s) = nil, want an error", f.MissingRef())
	}
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Pull(%s) = %v, want an error wrapping models.ErrNotFound", f.MissingRef(), err)
	}
}

func testImageMissing(t *testing.T, f Fixture) {
	_, err := f.Engine().Image(ctxTimeout(t, 30*time.Second), f.MissingRef())
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Image(%s) = %v, want models.ErrNotFound", f.MissingRef(), err)
	}
}

func testRecreate(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("recreate")
	id := f.RunContainer(t, name, 1)
	d2 := f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	var steps, hooks []string
	opts := recreateOpts
	opts.Step = func(s string) { steps = append(steps, s) }
	opts.Hook = func(s string) error { hooks = append(hooks, s); return nil }
	newID, err := e.Recreate(ctxTimeout(t, 2*time.Minute), id, opts)
	if err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	if newID == "" || newID == id {
		t.Fatalf("Recreate = %q, want a new ID (old %s)", newID, id)
	}
	if !slices.Equal(steps, allSteps) || !slices.Equal(hooks, allSteps) {
		t.Errorf("steps %v, hooks %v; want both %v", steps, hooks, allSteps)
	}
	c, ok := byName(t, e, name)
	if !ok {
		t.Fatalf("no running container named %s after Recreate", name)
	}
	if c.ID != newID {
		t.Errorf("%s has ID %s, want the new %s", name, c.ID, newID)
	}
	if c.ConfiguredImage != f.Ref() {
		t.Errorf("ConfiguredImage = %q, want %q", c.ConfiguredImage, f.Ref())
	}
	if !hasDigest(c.RepoDigests, d2) {
		t.Errorf("new container runs an image with RepoDigests %v, want @%s", c.RepoDigests, d2)
	}
	if _, ok := byName(t, e, name+OldSuffix); ok {
		t.Errorf("%s still runs", name+OldSuffix)
	}
	// The old container is gone: recreating it again finds nothing.
	if _, err := e.Recreate(ctxTimeout(t, time.Minute), id, opts); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Recreate of the removed old ID = %v, want models.ErrNotFound", err)
	}
}

func testRecreateUnknown(t *testing.T, f Fixture) {
	_, err := f.Engine().Recreate(ctxTimeout(t, time.Minute), uniqueName("nosuch"), recreateOpts)
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Recreate of an unknown container = %v, want models.ErrNotFound", err)
	}
	var re *models.RecreateError
	if errors.As(err, &re) {
		t.Errorf("Recreate of an unknown container returned a RecreateError %v; nothing was touched", re)
	}
}

// assertRolledBack checks that err is a rollback and that id runs under name
// again, with nothing parked.
func assertRolledBack(t *testing.T, e services.Updater, err error, name, id string) {
	t.Helper()
	var re *models.RecreateError
	if !errors.As(err, &re) || !re.RolledBack {
		t.Fatalf("Recreate = %v, want a *models.RecreateError with RolledBack", err)
	}
	c, ok := byName(t, e, name)
	if !ok {
		t.Fatalf("no running container named %s after the rollback", name)
	}
	if c.ID != id {
		t.Errorf("%s has ID %s after the rollback, want the old %s", name, c.ID, id)
	}
	cs, err := e.Running(ctxTimeout(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.HasPrefix(c.Name, name) && c.ID != id {
			t.Errorf("after the rollback %s (%s) runs too", c.Name, c.ID)
		}
	}
}

func testHookRollsBack(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("hook")
	id := f.RunContainer(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	var steps []string
	opts := recreateOpts
	opts.Step = func(s string) { steps = append(steps, s) }
	opts.Hook = func(s string) error {
		if s == "starting" {
			return errors.New("injected")
		}
		return nil
	}
	_, err := e.Recreate(ctxTimeout(t, 2*time.Minute), id, opts)
	assertRolledBack(t, e, err, name, id)
	if want := []string{"renaming", "creating", "stopping", "starting", "rolling back"}; !slices.Equal(steps, want) {
		t.Errorf("steps = %v, want %v", steps, want)
	}
	if !strings.Contains(err.Error(), "injected") {
		t.Errorf("error %q does not say why", err)
	}
}

// testRollbackKeepsLogs: the rollback removes the new container, so the
// error carries what it wrote (it runs the same program as the old one,
// which prints the same lines).
func testRollbackKeepsLogs(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("crashlogs")
	id := f.RunLogger(t, name, 1, false, "booting", "!config: missing key")
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())
	opts := recreateOpts
	opts.Hook = func(s string) error {
		if s == "waiting" { // up: its lines are in its log
			return errors.New("injected")
		}
		return nil
	}
	_, err := e.Recreate(ctxTimeout(t, 2*time.Minute), id, opts)
	assertRolledBack(t, e, err, name, id)
	var re *models.RecreateError
	errors.As(err, &re)
	if !strings.Contains(re.Logs, "booting") || !strings.Contains(re.Logs, "config: missing key") {
		t.Errorf("RecreateError.Logs = %q, want the new container's lines", re.Logs)
	}
}

func testCancelRollsBack(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("cancel")
	id := f.RunContainer(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opts := recreateOpts
	opts.Hook = func(s string) error {
		if s == "stopping" {
			cancel()
		}
		return nil
	}
	_, err := e.Recreate(ctx, id, opts)
	assertRolledBack(t, e, err, name, id)
}

// newJournal keeps the entries a recreate notes in memory, as refit's
// SQLite journal does, for the Recover after a crash.
func newJournal() *services.Journal { return services.NewJournal(nil) }

// pending is the journal's entries; an in-memory journal does not fail.
func pending(j *services.Journal) []models.RecreateState {
	out, _ := j.Pending(models.LocalHost)
	return out
}

// crash runs a recreate of id that dies right after step, as if refit were
// killed: runtime.Goexit skips everything after the hook, rollback included.
func crash(t *testing.T, e services.Updater, j *services.Journal, id, step string) {
	t.Helper()
	done := make(chan struct{})
	reached := false
	go func() {
		defer close(done)
		opts := recreateOpts
		opts.Journal = j.On(models.LocalHost)
		opts.Hook = func(s string) error {
			if s == step {
				reached = true
				runtime.Goexit()
			}
			return nil
		}
		_, err := e.Recreate(context.WithoutCancel(t.Context()), id, opts)
		t.Errorf("Recreate returned (%v) instead of dying after %q", err, step)
	}()
	<-done
	if !reached {
		t.Fatalf("the recreate never reached %q", step)
	}
}

func recovered(t *testing.T, e services.Updater, j *services.Journal) []models.Recovery {
	t.Helper()
	recs, err := e.Recover(ctxTimeout(t, 2*time.Minute), models.RecoverOptions{Pending: pending(j),
		Settle: recreateOpts.Settle, HealthTimeout: recreateOpts.HealthTimeout})
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	return recs
}

func findRecovery(recs []models.Recovery, name string) (models.Recovery, bool) {
	for _, r := range recs {
		if r.Container == name {
			return r, true
		}
	}
	return models.Recovery{}, false
}

func testRecoverRestores(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("crash")
	id := f.RunContainer(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	// Killed after stopping the old container, before starting the new one.
	j := newJournal()
	crash(t, e, j, id, "stopping")
	if c, ok := byName(t, e, name); ok {
		t.Fatalf("after the crash %s runs (%s); want nothing running under the name", name, c.ID)
	}

	rec, ok := findRecovery(recovered(t, e, j), name)
	if !ok || rec.Action != "restored" {
		t.Fatalf("Recover = %+v for %s, want restored", rec, name)
	}
	c, ok := byName(t, e, name)
	if !ok || c.ID != id {
		t.Fatalf("after Recover %s runs as %q (found %v), want the old %s", name, c.ID, ok, id)
	}
	if _, ok := findRecovery(recovered(t, e, newJournal()), name); ok {
		t.Error("a second Recover acted on the container again")
	}
}

func testRecoverFinishes(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("crash")
	id := f.RunContainer(t, name, 1)
	d2 := f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	// Killed once the new container runs, before the old one is removed.
	j := newJournal()
	crash(t, e, j, id, "waiting")
	rec, ok := findRecovery(recovered(t, e, j), name)
	if !ok || rec.Action != "finished" {
		t.Fatalf("Recover = %+v for %s, want finished", rec, name)
	}
	c, ok := byName(t, e, name)
	if !ok || c.ID == id || !hasDigest(c.RepoDigests, d2) {
		t.Fatalf("after Recover %s = %+v (found %v), want the new container on @%s", name, c, ok, d2)
	}
	if _, err := e.Recreate(ctxTimeout(t, time.Minute), id, recreateOpts); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("the old container still exists after Recover finished: Recreate = %v", err)
	}
}

func testRecoverNothing(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("calm")
	id := f.RunContainer(t, name, 1)
	if rec, ok := findRecovery(recovered(t, e, newJournal()), name); ok {
		t.Errorf("Recover acted on %s, which no update touched: %+v", name, rec)
	}
	if c, ok := byName(t, e, name); !ok || c.ID != id {
		t.Errorf("after Recover %s = %+v (found %v), want %s untouched", name, c, ok, id)
	}
}

// testRecoverStopInFlight: refit dies while the engine is still stopping the
// old container (a slow one: its stop takes 3 s). The stop finishes after
// the crash; recovery must wait for it, or it would "restore" a container
// that exits a moment later.
func testRecoverStopInFlight(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("slowstop")
	id := f.RunSlowStopper(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	j := newJournal()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		opts := recreateOpts
		opts.Journal = j.On(models.LocalHost)
		opts.Step = func(s string) {
			switch s {
			case "stopping":
				// The request is cut off half way through the stop, and the
				// process dies before it can roll back.
				time.AfterFunc(500*time.Millisecond, cancel)
			case "rolling back":
				runtime.Goexit()
			}
		}
		_, err := e.Recreate(ctx, id, opts)
		t.Errorf("Recreate returned (%v) instead of dying during the stop", err)
	}()
	<-done
	if c, ok := byName(t, e, name+OldSuffix); !ok || c.ID != id {
		t.Fatalf("right after the crash the old container is not running parked (found %v, %+v); the test did not catch the stop in flight", ok, c)
	}

	rec, ok := findRecovery(recovered(t, e, j), name)
	if !ok || rec.Action != "restored" {
		t.Fatalf("Recover = %+v for %s, want restored", rec, name)
	}
	assertRunsFor(t, e, name, id, 4*time.Second)
}

// testRecoverSettles: killed right after the new container started.
// Recovery keeps it only once it passes the recreate's own rule (running for
// the settle time without a restart), and then removes the old one.
func testRecoverSettles(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("settle")
	id := f.RunContainer(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())

	j := newJournal()
	crash(t, e, j, id, "starting")
	c, ok := byName(t, e, name)
	if !ok || c.ID == id {
		t.Fatalf("after the crash %s is %+v (found %v), want the new container running", name, c, ok)
	}
	rec, ok := findRecovery(recovered(t, e, j), name)
	if !ok || rec.Action != "finished" {
		t.Fatalf("Recover = %+v for %s, want finished (the new container keeps running)", rec, name)
	}
	assertRunsFor(t, e, name, c.ID, time.Second)
}

// assertRunsFor checks that id runs under name, alone, and still does after d.
func assertRunsFor(t *testing.T, e services.Updater, name, id string, d time.Duration) {
	t.Helper()
	for _, wait := range []time.Duration{0, d} {
		time.Sleep(wait)
		c, ok := byName(t, e, name)
		if !ok || c.ID != id {
			t.Fatalf("%v after Recover %s runs as %q (found %v), want %s", wait, name, c.ID, ok, id)
		}
		if _, ok := byName(t, e, name+OldSuffix); ok {
			t.Fatalf("%v after Recover %s still runs", wait, name+OldSuffix)
		}
	}
}
