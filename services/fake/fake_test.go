package fake_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/enginetest"
	"refit/services/fake"
)

// fixture arranges a fake.Engine for the conformance suite.
type fixture struct {
	e *fake.Engine
}

func (f *fixture) Engine() services.Updater { return f.e }
func (f *fixture) Ref() string              { return "registry.test/enginetest/app:latest" }
func (f *fixture) MissingRef() string       { return "registry.test/enginetest/app:missing" }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (f *fixture) PushVersion(t *testing.T, v int) string {
	digest := hash(fmt.Sprintf("manifest %d", v))
	f.e.Publish(f.Ref(), hash(fmt.Sprintf("image %d", v)), digest)
	return digest
}

func (f *fixture) RunContainer(t *testing.T, name string, v int) string {
	f.PushVersion(t, v)
	if err := f.e.Pull(t.Context(), f.Ref(), models.RegistryAuth{}, nil); err != nil {
		t.Fatal(err)
	}
	img, err := f.e.Image(t.Context(), f.Ref())
	if err != nil {
		t.Fatal(err)
	}
	id := hash(name)[len("sha256:"):]
	f.e.Run(id, name, f.Ref(), img.ID)
	return id
}

func (f *fixture) StopContainer(t *testing.T, id string) {
	if err := f.e.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) RunSlowStopper(t *testing.T, name string, v int) string {
	id := f.RunContainer(t, name, v)
	f.e.SetStopTime(id, 3*time.Second) // ignores its SIGUSR1: killed at its timeout of 3 s
	f.e.SetStopSignal(id, "SIGUSR1")
	return id
}

func (f *fixture) CreateContainer(t *testing.T, name string, v int) string {
	f.PushVersion(t, v)
	if err := f.e.Pull(t.Context(), f.Ref(), models.RegistryAuth{}, nil); err != nil {
		t.Fatal(err)
	}
	img, err := f.e.Image(t.Context(), f.Ref())
	if err != nil {
		t.Fatal(err)
	}
	id := hash(name)[len("sha256:"):]
	f.e.Create(id, name, f.Ref(), img.ID)
	return id
}

func (f *fixture) RunLogger(t *testing.T, name string, v int, tty bool, lines ...string) string {
	id := f.RunContainer(t, name, v)
	var log []string
	for _, l := range lines {
		log = append(log, strings.TrimPrefix(l, "!")) // one log: which stream does not matter here
	}
	f.e.SetLogs(id, log...)
	f.e.SetTTY(id, tty)
	return id
}

func (f *fixture) RunWithVolume(t *testing.T, name string, v int) (string, string) {
	id := f.RunContainer(t, name, v)
	return id, f.e.AddVolume(id)
}

func (f *fixture) VolumeExists(t *testing.T, volume string) bool { return f.e.VolumeExists(volume) }

func (f *fixture) RunWithShell(t *testing.T, name string, v int) string {
	id := f.RunContainer(t, name, v)
	f.e.SetShell(id, true)
	return id
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) enginetest.Fixture { return &fixture{e: fake.NewEngine()} })
}

func TestFailStepRollsBackAndKeepsTheOldContainer(t *testing.T) {
	for _, step := range []string{"creating", "starting", "waiting"} {
		t.Run(step, func(t *testing.T) {
			f := &fixture{e: fake.NewEngine()}
			id := f.RunContainer(t, "web", 1)
			f.PushVersion(t, 2)
			if err := f.e.Pull(t.Context(), f.Ref(), models.RegistryAuth{}, nil); err != nil {
				t.Fatal(err)
			}
			f.e.FailStep("web", step, errors.New("boom"))
			_, err := f.e.Recreate(t.Context(), id, models.RecreateOptions{})
			if !models.IsRolledBack(err) {
				t.Fatalf("Recreate = %v, want a rollback", err)
			}
			c, ok := f.e.Container("web")
			if !ok || c.ID != id || !c.Running {
				t.Errorf("after the rollback web = %+v (found %v), want %s running", c, ok, id)
			}
			if _, ok := f.e.Container("web" + fake.OldSuffix); ok {
				t.Error("a parked container is left after the rollback")
			}
		})
	}
}

func TestPullScriptsEventsErrorsAndCounts(t *testing.T) {
	e := fake.NewEngine()
	ref := "registry.test/app:1"
	e.Publish(ref, hash("img"), hash("manifest"))
	want := []models.PullEvent{{Layer: "abc", Status: "Downloading", Current: 1, Total: 2}}
	e.SetPullEvents(ref, want...)
	e.FailPull(ref, errors.New("toomanyrequests"))

	var got []models.PullEvent
	err := e.Pull(t.Context(), ref, models.RegistryAuth{}, func(ev models.PullEvent) { got = append(got, ev) })
	if err == nil || len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Pull = %v with events %v, want the scripted event then an error", err, got)
	}
	if _, err := e.Image(t.Context(), ref); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Image after a failed pull = %v, want ErrNotFound", err)
	}
	e.FailPull(ref, nil)
	if err := e.Pull(t.Context(), ref, models.RegistryAuth{}, nil); err != nil {
		t.Fatalf("Pull after clearing the failure: %v", err)
	}
	img, err := e.Image(t.Context(), ref)
	if err != nil || img.ID != hash("img") || len(img.RepoDigests) != 1 || img.RepoDigests[0] != "registry.test/app@"+hash("manifest") {
		t.Errorf("Image = %+v, %v; want %s with registry.test/app@%s", img, err, hash("img"), hash("manifest"))
	}
	if n := e.PullCount(ref); n != 2 {
		t.Errorf("PullCount = %d, want 2", n)
	}
}

func TestRecoverRestoresWhenTheNewContainerIsUnhealthy(t *testing.T) {
	e := fake.NewEngine()
	e.Tag("app:1", hash("img"))
	e.Run("old", "web"+fake.OldSuffix, "app:1", hash("img"))
	if err := e.Stop(t.Context(), "old"); err != nil {
		t.Fatal(err)
	}
	e.Run("new", "web", "app:1", hash("img"))
	e.SetHealth("new", "unhealthy")

	recs, err := e.Recover(t.Context(), models.RecoverOptions{})
	if err != nil || len(recs) != 1 || recs[0].Action != "restored" {
		t.Fatalf("Recover = %+v, %v; want web restored", recs, err)
	}
	if c, ok := e.Container("web"); !ok || c.ID != "old" || !c.Running {
		t.Errorf("web = %+v (found %v), want the old container running", c, ok)
	}
	if _, ok := e.Container("new"); ok {
		t.Error("the unhealthy new container is still there")
	}
}
