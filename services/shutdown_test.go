package services_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

// blockedAuth holds a pull at its start until the pull is cancelled.
type blockedAuth struct{ in chan struct{} }

func (a blockedAuth) Auth(ctx context.Context, _ string) (models.RegistryAuth, error) {
	close(a.in)
	<-ctx.Done()
	return models.RegistryAuth{}, ctx.Err()
}

// shutdownWorld is newFakeWorld with its own update options.
func shutdownWorld(t *testing.T, auth services.Authenticator, opts services.UpdateOptions) fakeWorld {
	t.Helper()
	w := newFakeWorld(t)
	w.upd = services.NewUpdates(auth, w.ctr, w.hist, quiet, opts)
	t.Cleanup(w.upd.Close)
	return w
}

// shutdown runs Shutdown with timeout and reports how long it took.
func shutdown(t *testing.T, u *services.Updates, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := u.Shutdown(ctx)
	return time.Since(start), err
}

// runsAlone checks that name runs, on image, and nothing is parked.
func runsAlone(t *testing.T, w fakeWorld, name, image string) {
	t.Helper()
	c, ok := w.eng.Container(name)
	if !ok || !c.Running || c.ImageID != image {
		t.Errorf("%s: %+v, want it running on %s", name, c, image)
	}
	if _, ok := w.eng.Container(name + models.OldSuffix); ok {
		t.Errorf("%s is left parked", name+models.OldSuffix)
	}
}

func TestShutdownCancelsAPull(t *testing.T) {
	auth := blockedAuth{in: make(chan struct{})}
	w := shutdownWorld(t, auth, services.UpdateOptions{Settle: time.Millisecond})
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	<-auth.in
	took, err := shutdown(t, w.upd, 3*time.Second)
	if err != nil || took > time.Second {
		t.Errorf("Shutdown during a pull = %v after %s, want nil at once", err, took)
	}
	if p, _ := w.upd.Progress(local("a")); p.Phase != models.PhaseFailed {
		t.Errorf("progress = %+v, want failed", p)
	}
	runsAlone(t, w, "a", oldImg)
	if _, err := w.upd.StartContainer("b", "x"); err != nil {
		t.Fatal(err)
	}
	if p, err := w.upd.Progress(local("b")); err == nil && p.Running() {
		t.Errorf("an update started after Shutdown: %+v", p)
	}
}

func TestShutdownRollsBackARecreateBeforeItsStop(t *testing.T) {
	in := make(chan struct{})
	w := shutdownWorld(t, anon{}, services.UpdateOptions{Settle: time.Millisecond, Hook: func(_, step string) error {
		if step == models.StepRenaming {
			close(in)
			time.Sleep(100 * time.Millisecond) // Shutdown decides meanwhile
		}
		return nil
	}})
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	<-in
	took, err := shutdown(t, w.upd, 3*time.Second)
	if err != nil || took > time.Second {
		t.Errorf("Shutdown after the rename = %v after %s, want nil at once", err, took)
	}
	if p, _ := w.upd.Progress(local("a")); !p.RolledBack {
		t.Errorf("progress = %+v, want rolled back", p)
	}
	runsAlone(t, w, "a", oldImg)
}

func TestShutdownWaitsForAStopInFlightAndRestartsTheOld(t *testing.T) {
	in := make(chan struct{})
	w := shutdownWorld(t, anon{}, services.UpdateOptions{Settle: time.Millisecond, Hook: func(_, step string) error {
		if step == models.StepCreating {
			close(in)
		}
		return nil
	}})
	w.eng.SetStopTime(idA, 500*time.Millisecond)
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	<-in
	time.Sleep(50 * time.Millisecond)
	took, err := shutdown(t, w.upd, 3*time.Second)
	if err != nil || took < 300*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("Shutdown during a 0.5s stop = %v after %s, want nil after the stop", err, took)
	}
	if p, _ := w.upd.Progress(local("a")); !p.RolledBack {
		t.Errorf("progress = %+v, want rolled back", p)
	}
	runsAlone(t, w, "a", oldImg)
}

func TestShutdownLetsASettleThatEndsInTimeFinish(t *testing.T) {
	in := make(chan struct{})
	// The fake's wait is instant: the hook after it stands for the settle.
	w := shutdownWorld(t, anon{}, services.UpdateOptions{Settle: 300 * time.Millisecond, Hook: func(_, step string) error {
		if step == models.StepWaiting {
			close(in)
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	}})
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	<-in
	took, err := shutdown(t, w.upd, 3*time.Second)
	if err != nil || took > 1500*time.Millisecond {
		t.Errorf("Shutdown during the settle = %v after %s, want nil once it ends", err, took)
	}
	if p, _ := w.upd.Progress(local("a")); p.Phase != models.PhaseDone {
		t.Errorf("progress = %+v, want done", p)
	}
	runsAlone(t, w, "a", newImg)
}

func TestShutdownGivesUpAtItsDeadline(t *testing.T) {
	in := make(chan struct{})
	w := shutdownWorld(t, anon{}, services.UpdateOptions{Settle: time.Millisecond, Hook: func(_, step string) error {
		if step == models.StepCreating {
			close(in)
		}
		return nil
	}})
	w.eng.SetStopTime(idA, 3*time.Second)
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	<-in
	time.Sleep(50 * time.Millisecond) // the stop is in flight
	took, err := shutdown(t, w.upd, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "[a]") || took > time.Second {
		t.Errorf("Shutdown during a 3s stop with 0.3s = %v after %s, want an error naming a at the deadline", err, took)
	}
	start := time.Now()
	w.upd.Close()
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Close after a Shutdown that gave up waited %s", d)
	}
}
