package services_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/services"
	"refit/services/fake"
)

// lockedBuffer is a log sink that a watch goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func listed(ctr *services.Containers, name string) bool {
	_, _, err := ctr.Find(name)
	return err == nil
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An engine outage is one log line when it begins and one when it ends; the
// snapshot stays as last seen meanwhile, the state says since when, and the
// watch reconnects by itself.
func TestEngineOutageIsCalmAndTheWatchReconnects(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Run(idA, "a", ref, oldImg)
	var logs lockedBuffer
	_, tog, _ := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, slog.New(slog.NewTextHandler(&logs, nil)), 4)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go ctr.Watch(ctx)
	waitUntil(t, "a listed", 5*time.Second, func() bool { return listed(ctr, "a") })

	eng.SetDown(errors.New("dial unix docker.sock: connect: no such file or directory"))
	waitUntil(t, "the outage noticed", 5*time.Second, func() bool { return ctr.EngineState().Down })
	time.Sleep(1500 * time.Millisecond) // two retries, a second apart and then two
	if n := logs.count("docker engine not reachable"); n != 1 {
		t.Errorf("%d log lines for one outage, want 1:\n%s", n, logs.b.String())
	}
	st := ctr.EngineState()
	if st.Since.IsZero() || !strings.Contains(st.Reason, "no such file") {
		t.Errorf("engine state %+v, want since and the reason", st)
	}
	if !listed(ctr, "a") {
		t.Error("the snapshot lost a during the outage; it should stay as last seen")
	}

	eng.SetDown(nil)
	eng.Run(idB, "b", ref, oldImg) // started while refit could not see
	waitUntil(t, "b listed after the engine is back", 10*time.Second, func() bool { return listed(ctr, "b") })
	if ctr.EngineState().Down {
		t.Error("still marked down")
	}
	if n := logs.count("docker engine reachable again"); n != 1 {
		t.Errorf("%d lines for the end of the outage, want 1", n)
	}
	eng.Stop(t.Context(), idB)
	waitUntil(t, "b gone after its stop", 5*time.Second, func() bool { return !listed(ctr, "b") })
}

// A check waiting on a slow registry (one that hangs until its timeout)
// must not keep a stopped container listed: the list goes into the
// snapshot before any registry is asked.
func TestSlowRegistryDoesNotHoldTheSnapshot(t *testing.T) {
	w := newFakeWorld(t)
	w.reg.Slow = make(chan struct{})
	checked := make(chan error, 1)
	go func() {
		_, err := w.ctr.Check(context.Background())
		checked <- err
	}()
	time.Sleep(50 * time.Millisecond) // the check is now waiting on the registry
	w.eng.Stop(t.Context(), idA)
	done := make(chan error, 1)
	go func() { done <- w.ctr.Refresh(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Refresh waited for the check's registry requests")
	}
	if listed(w.ctr, "a") {
		t.Error("a is still listed after its stop")
	}
	close(w.reg.Slow)
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if listed(w.ctr, "a") {
		t.Error("the check that began before the stop put a back")
	}
	if n := w.reg.HeadCount(ref); n != 2 { // newFakeWorld's own check, and this one
		t.Errorf("%d HEADs of %s, want 2", n, ref)
	}
}

// An engine that restarts between two lists never looks unreachable; its
// broken event stream still runs the reconnect callbacks (recovery).
func TestABrokenEventStreamCountsAsAPossibleRestart(t *testing.T) {
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	_, tog, _ := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	var mu sync.Mutex
	calls := 0
	ctr.OnReachable(func(string) { mu.Lock(); calls++; mu.Unlock() })
	count := func() int { mu.Lock(); defer mu.Unlock(); return calls }
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go ctr.Watch(ctx)
	waitUntil(t, "the first contact", 5*time.Second, func() bool { return count() == 1 })
	eng.BreakEvents()
	waitUntil(t, "the callbacks after the stream broke", 5*time.Second, func() bool { return count() == 2 })
}
