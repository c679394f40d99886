package enginetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

// inAll returns the container with that ID from All, running or not.
func inAll(t *testing.T, e services.Updater, id string) (models.Container, bool) {
	t.Helper()
	cs, err := e.All(ctxTimeout(t, 30*time.Second))
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	return models.Container{}, false
}

// wantState checks the state All reports for id.
func wantState(t *testing.T, e services.Updater, id, state string) {
	t.Helper()
	c, ok := inAll(t, e, id)
	if !ok {
		t.Fatalf("All does not list %s", models.ShortID(id))
	}
	if c.State != state {
		t.Errorf("%s is %q, want %q", c.Name, c.State, state)
	}
}

func testAll(t *testing.T, f Fixture) {
	d1 := f.PushVersion(t, 1)
	names := map[string]string{"running": uniqueName("all-running"), "exited": uniqueName("all-exited"),
		"created": uniqueName("all-created")}
	ids := map[string]string{
		"running": f.RunContainer(t, names["running"], 1),
		"exited":  f.RunContainer(t, names["exited"], 1),
		"created": f.CreateContainer(t, names["created"], 1),
	}
	f.StopContainer(t, ids["exited"])

	cs, err := f.Engine().All(ctxTimeout(t, 30*time.Second))
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	for state, id := range ids {
		var c models.Container
		for _, x := range cs {
			if x.ID == id {
				c = x
			}
		}
		if c.ID == "" {
			t.Errorf("All does not list the %s container %s", state, names[state])
			continue
		}
		if c.State != state || c.Name != names[state] || c.ConfiguredImage != f.Ref() || c.ImageID == "" ||
			!hasDigest(c.RepoDigests, d1) {
			t.Errorf("All lists %+v; want State %q, Name %q, ConfiguredImage %q, an ImageID and a RepoDigest @%s",
				c, state, names[state], f.Ref(), d1)
		}
	}
	if c, ok := byName(t, f.Engine(), names["running"]); !ok || c.State != "running" {
		t.Errorf("Running lists %+v (found %v), want State running", c, ok)
	}
}

func testStopThenStart(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("stop")
	id := f.RunSlowStopper(t, name, 1)

	// By name: the container's own stop timeout of 3 s, not the engine's
	// default of 10 s and never at once.
	began := time.Now()
	if err := e.Stop(ctxTimeout(t, time.Minute), name); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(began); d < 2500*time.Millisecond || d > 9*time.Second {
		t.Errorf("Stop took %v, want about the container's 3s stop timeout", d)
	}
	wantState(t, e, id, "exited")
	if err := e.Stop(ctxTimeout(t, time.Minute), models.ShortID(id)); err != nil {
		t.Errorf("Stop of a stopped container = %v, want nil", err)
	}

	if err := e.Start(ctxTimeout(t, time.Minute), models.ShortID(id)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	wantState(t, e, id, "running")
	if err := e.Start(ctxTimeout(t, time.Minute), id); err != nil {
		t.Errorf("Start of a running container = %v, want nil", err)
	}
	wantState(t, e, id, "running")
}

func testRestart(t *testing.T, f Fixture) {
	e := f.Engine()
	ctx := ctxTimeout(t, time.Minute)
	name := uniqueName("restart")
	id := f.RunContainer(t, name, 1)
	evs, errs := e.Events(ctx)
	time.Sleep(300 * time.Millisecond) // the subscription may still be on its way

	if err := e.Restart(ctx, name); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	var died bool
	for started := false; !started; {
		select {
		case ev := <-evs:
			if ev.ContainerID == id && ev.Action == "die" {
				died = true
			}
			started = died && ev.ContainerID == id && ev.Action == "start"
		case err := <-errs:
			t.Fatalf("event stream: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("no die then start event for %s within 10s of Restart (died %v)", name, died)
		}
	}
	c, ok := byName(t, e, name)
	if !ok || c.ID != id || c.State != "running" {
		t.Errorf("after Restart %s is %+v (running %v), want %s running", name, c, ok, models.ShortID(id))
	}

	f.StopContainer(t, id)
	if err := e.Restart(ctx, models.ShortID(id)); err != nil {
		t.Fatalf("Restart of a stopped container: %v", err)
	}
	wantState(t, e, id, "running")
}

func testRemoveRunning(t *testing.T, f Fixture) {
	e := f.Engine()
	ctx := ctxTimeout(t, time.Minute)
	id := f.RunContainer(t, uniqueName("remove"), 1)
	stoppedName := uniqueName("remove-stopped")
	stopped := f.RunContainer(t, stoppedName, 1)
	f.StopContainer(t, stopped)

	if err := e.Remove(ctx, models.ShortID(id), false); err != nil {
		t.Fatalf("Remove of a running container: %v", err)
	}
	if err := e.Remove(ctx, stoppedName, false); err != nil {
		t.Fatalf("Remove of a stopped container: %v", err)
	}
	for _, x := range []string{id, stopped} {
		if c, ok := inAll(t, e, x); ok {
			t.Errorf("All still lists %+v after Remove", c)
		}
	}
	if err := e.Remove(ctx, id, false); !errors.Is(err, models.ErrContainerNotFound) {
		t.Errorf("second Remove = %v, want models.ErrContainerNotFound", err)
	}
}

func testRemoveVolumes(t *testing.T, f Fixture) {
	e := f.Engine()
	ctx := ctxTimeout(t, time.Minute)
	kept, keptVol := f.RunWithVolume(t, uniqueName("vol-kept"), 1)
	gone, goneVol := f.RunWithVolume(t, uniqueName("vol-gone"), 1)
	if err := e.Remove(ctx, kept, false); err != nil {
		t.Fatalf("Remove(volumes=false): %v", err)
	}
	if !f.VolumeExists(t, keptVol) {
		t.Error("Remove(volumes=false) removed the anonymous volume")
	}
	if err := e.Remove(ctx, gone, true); err != nil {
		t.Fatalf("Remove(volumes=true): %v", err)
	}
	if f.VolumeExists(t, goneVol) {
		t.Error("Remove(volumes=true) left the anonymous volume")
	}
}

// timestamped splits Logs' output with Timestamps into times and texts.
func timestamped(t *testing.T, out string) ([]time.Time, []string) {
	t.Helper()
	var ts []time.Time
	var texts []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" {
			continue
		}
		stamp, text, ok := strings.Cut(l, " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if !ok || err != nil {
			t.Fatalf("log line %q does not begin with an RFC 3339 time and a space (%v)", l, err)
		}
		ts, texts = append(ts, at), append(texts, text)
	}
	return ts, texts
}

func testLogs(t *testing.T, f Fixture) {
	e := f.Engine()
	ctx := ctxTimeout(t, time.Minute)
	began := time.Now()
	name := uniqueName("logs")
	id := f.RunLogger(t, name, 1, false, "one", "!two", "three", "four")

	all, err := e.Logs(ctx, name, models.LogOptions{})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	// The engine reads stdout and stderr apart and stores each line as it
	// reads it, so a stderr line may land among the stdout ones elsewhere
	// than written (20.10 does it under load); each stream keeps its order.
	lines := strings.SplitAfter(all, "\n")
	lines = lines[:len(lines)-1]
	if out := strings.ReplaceAll(all, "two\n", ""); out != "one\nthree\nfour\n" || len(lines) != 4 {
		t.Fatalf("Logs = %q, want one, three and four in order and two among them", all)
	}
	for _, tc := range []struct {
		id   string
		o    models.LogOptions
		want string
	}{
		{models.ShortID(id), models.LogOptions{Tail: 2}, strings.Join(lines[2:], "")},
		{id, models.LogOptions{Tail: 10}, all},
	} {
		if got, err := e.Logs(ctx, tc.id, tc.o); err != nil || got != tc.want {
			t.Errorf("Logs(%+v) = %q, %v; want %q", tc.o, got, err, tc.want)
		}
	}

	out, err := e.Logs(ctx, name, models.LogOptions{Timestamps: true})
	if err != nil {
		t.Fatalf("Logs with timestamps: %v", err)
	}
	ts, texts := timestamped(t, out)
	if strings.Join(texts, "") != all {
		t.Fatalf("Logs with timestamps = %q, want %q each after its time", out, all)
	}
	latest := ts[0]
	for i, at := range ts {
		if at.Before(began.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("line %d has time %v, not near now", i, at)
		}
		if at.After(latest) {
			latest = at
		}
	}

	// Since keeps the lines received at or after it.
	since := ts[2]
	var want strings.Builder
	for i, at := range ts {
		if !at.Before(since) {
			want.WriteString(texts[i])
		}
	}
	// Docker 29 may round since so that a line of the other stream stamped
	// just before it comes too: every line at or after it must be there.
	got, err := e.Logs(ctx, name, models.LogOptions{Since: since})
	for _, l := range strings.SplitAfter(want.String(), "\n") {
		if err != nil || !strings.Contains(got, l) {
			t.Errorf("Logs since the third line's time = %q, %v; want every line of %q", got, err, want.String())
			break
		}
	}
	if got, err := e.Logs(ctx, name, models.LogOptions{Since: latest.Add(time.Millisecond)}); err != nil || got != "" {
		t.Errorf("Logs since after the last line = %q, %v; want none", got, err)
	}
}

func testLogsTTY(t *testing.T, f Fixture) {
	name := uniqueName("logs-tty")
	f.RunLogger(t, name, 1, true, "one", "!two")
	got, err := f.Engine().Logs(ctxTimeout(t, time.Minute), name, models.LogOptions{})
	if want := "one\r\ntwo\r\n"; err != nil || got != want {
		t.Errorf("Logs of a terminal = %q, %v; want %q, as the terminal wrote it", got, err, want)
	}
}

func testLifecycleUnknown(t *testing.T, f Fixture) {
	e := f.Engine()
	ctx := ctxTimeout(t, time.Minute)
	id := uniqueName("nosuch")
	_, logsErr := e.Logs(ctx, id, models.LogOptions{})
	for op, err := range map[string]error{
		"Start":   e.Start(ctx, id),
		"Stop":    e.Stop(ctx, id),
		"Restart": e.Restart(ctx, id),
		"Remove":  e.Remove(ctx, id, true),
		"Logs":    logsErr,
	} {
		if !errors.Is(err, models.ErrContainerNotFound) {
			t.Errorf("%s of an unknown container = %v, want models.ErrContainerNotFound", op, err)
		}
	}
}

// A stop or remove in the middle of a recreate would break its rollback;
// reading the log is harmless.
func testLifecycleDuringRecreate(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("busy")
	id := f.RunContainer(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())
	opts := recreateOpts
	var checked bool
	opts.Hook = func(step string) error {
		if step != models.StepCreating {
			return nil
		}
		checked = true
		ctx := ctxTimeout(t, time.Minute)
		for what, err := range map[string]error{
			"Stop of the new container by name": e.Stop(ctx, name),
			"Remove of the parked old one":      e.Remove(ctx, id, false),
			"Restart of the parked old one":     e.Restart(ctx, models.ShortID(id)),
		} {
			if !errors.Is(err, models.ErrConflict) {
				t.Errorf("%s = %v, want models.ErrConflict", what, err)
			}
		}
		if _, err := e.Logs(ctx, id, models.LogOptions{}); err != nil {
			t.Errorf("Logs during a recreate: %v", err)
		}
		return nil
	}
	if _, err := e.Recreate(ctxTimeout(t, 2*time.Minute), id, opts); err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	if !checked {
		t.Fatal("the hook never ran at creating")
	}
}

func testImagePlatform(t *testing.T, f Fixture) {
	f.PushVersion(t, 1)
	pull(t, f.Engine(), f.Ref())
	img, err := f.Engine().Image(ctxTimeout(t, 30*time.Second), f.Ref())
	if err != nil {
		t.Fatalf("Image: %v", err)
	}
	// The fixtures' images are built for linux/amd64.
	if img.OS != "linux" || img.Architecture != "amd64" || img.Created.IsZero() || img.Created.After(time.Now()) {
		t.Errorf("Image = %+v, want OS linux, Architecture amd64 and a creation time in the past", img)
	}
}
