package dockerengine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"refit/services"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/enginetest"
	"refit/services/oci/ocitest"
)

// fixture runs the conformance suite against the engine behind
// REFIT_TEST_DOCKER_HOST, with its own loopback registry.
type fixture struct {
	cli *client.Client
	reg *ocitest.Registry
	eng *dockerengine.Engine
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cli := dockertest.Client(t)
	owned := dockertest.Owned(t)
	eng, err := dockerengine.New(dockerengine.Options{Host: dockertest.Host(t), RecoverScope: func(name string) bool {
		return owned(name) || strings.HasPrefix(name, "enginetest-") // the conformance suite names its own
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	f := &fixture{cli: cli, reg: ocitest.NewRegistry(t), eng: eng}
	t.Cleanup(f.removeImages)
	return f
}

// removeImages removes the references pulled from this fixture's registry,
// including versions whose tag moved on. By reference, never by ID: test
// images are deterministic, so other tests hold the same IDs under their
// own references. Not forced: what is in use stays.
func (f *fixture) removeImages() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	imgs, err := f.cli.ImageList(ctx, image.ListOptions{All: true})
	if err != nil {
		return
	}
	prefix := f.reg.Host() + "/"
	for _, im := range imgs {
		for _, r := range append(im.RepoTags, im.RepoDigests...) {
			if strings.HasPrefix(r, prefix) {
				f.cli.ImageRemove(ctx, r, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}

func (f *fixture) Engine() services.Updater { return f.eng }
func (f *fixture) Ref() string              { return f.reg.Ref("enginetest/app:latest") }
func (f *fixture) MissingRef() string       { return f.reg.Ref("enginetest/app:missing") }

func (f *fixture) PushVersion(t *testing.T, v int) string {
	return f.reg.Push(t, "enginetest/app:latest", ocitest.ImageOpts{
		Marker: fmt.Sprintf("v%d", v), // Push salts it with the registry: no ID is shared between fixtures
		Labels: map[string]string{"refit.test.version": fmt.Sprint(v)},
	})
}

func (f *fixture) RunContainer(t *testing.T, name string, v int) string {
	f.PushVersion(t, v)
	dockertest.Pull(t, f.cli, f.Ref())
	id := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: name, Image: f.Ref()})
	// Recreates give the name to new containers and park old ones.
	dockertest.RemoveAtCleanup(t, f.cli, name)
	dockertest.RemoveAtCleanup(t, f.cli, name+dockerengine.OldSuffix)
	return id
}

func (f *fixture) StopContainer(t *testing.T, id string) { dockertest.Stop(t, f.cli, id) }

// RunWithShell runs the test app from an image of its own that carries a
// static busybox as /bin/sh.
func (f *fixture) RunWithShell(t *testing.T, name string, v int) string {
	ref := f.reg.Ref("enginetest/shell:latest")
	f.reg.Push(t, "enginetest/shell:latest", ocitest.ImageOpts{Shell: true, Marker: fmt.Sprintf("v%d", v)})
	dockertest.Pull(t, f.cli, ref)
	id := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: name, Image: ref})
	dockertest.RemoveAtCleanup(t, f.cli, name)
	return id
}

// RunSlowStopper runs a container whose stop signal the test app ignores (an
// unhandled SIGUSR1 does nothing to PID 1), so a stop lasts its 3 s timeout.
func (f *fixture) RunSlowStopper(t *testing.T, name string, v int) string {
	f.PushVersion(t, v)
	dockertest.Pull(t, f.cli, f.Ref())
	timeout := 3
	id := dockertest.Run2(t, f.cli, name, &container.Config{Image: f.Ref(), StopSignal: "SIGUSR1", StopTimeout: &timeout}, nil, nil)
	dockertest.RemoveAtCleanup(t, f.cli, name)
	dockertest.RemoveAtCleanup(t, f.cli, name+dockerengine.OldSuffix)
	return id
}

func (f *fixture) CreateContainer(t *testing.T, name string, v int) string {
	f.PushVersion(t, v)
	dockertest.Pull(t, f.cli, f.Ref())
	return dockertest.Run(t, f.cli, dockertest.RunOpts{Name: name, Image: f.Ref(), NoStart: true})
}

func (f *fixture) RunLogger(t *testing.T, name string, v int, tty bool, lines ...string) string {
	f.PushVersion(t, v)
	dockertest.Pull(t, f.cli, f.Ref())
	id := dockertest.Run2(t, f.cli, name, &container.Config{Image: f.Ref(), Tty: tty,
		Env: []string{"TESTAPP_PRINT=" + strings.Join(lines, "\n")}}, nil, nil)
	last := strings.TrimPrefix(lines[len(lines)-1], "!")
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Raw: the multiplexed stream holds the text as it is.
		rc, err := f.cli.ContainerLogs(t.Context(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(last)) {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has not logged %q within 30s; its log: %q", name, last, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) RunWithVolume(t *testing.T, name string, v int) (string, string) {
	f.PushVersion(t, v)
	dockertest.Pull(t, f.cli, f.Ref())
	id := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: name, Image: f.Ref(), Volumes: []string{"/data"}})
	var vol string
	for _, m := range dockertest.Inspect(t, f.cli, id).Mounts {
		if m.Type == mount.TypeVolume && m.Destination == "/data" {
			vol = m.Name
		}
	}
	if vol == "" {
		t.Fatalf("%s has no anonymous volume at /data", name)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		f.cli.VolumeRemove(ctx, vol, false) // already gone, or still in use by a container removed next
	})
	return id, vol
}

func (f *fixture) VolumeExists(t *testing.T, volume string) bool {
	_, err := f.cli.VolumeInspect(t.Context(), volume)
	if errdefs.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) enginetest.Fixture { return newFixture(t) })
}
