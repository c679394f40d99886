package dockertest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

func TestEnginePullsFromLoopbackRegistryAndRuns(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("test/app:1")
	opts := ocitest.ImageOpts{Labels: map[string]string{"refit.test": "1"}, Marker: "pull"}
	digest := reg.Push(t, "test/app:1", opts)

	dockertest.Pull(t, cli, ref)
	layers, err := reg.Image(t, opts).Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		// The engine may already hold the shared testapp layer from another test, so 0 is fine for it.
		if n := reg.BlobGets(d.String()); n > 1 || (i > 0 && n != 1) {
			t.Errorf("layer %d (%s) fetched %d times, want once", i, d, n)
		}
	}
	img, err := cli.ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Host() + "/test/app@" + digest; !slices.Contains(img.RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want %s", img.RepoDigests, want)
	}

	id := dockertest.Run(t, cli, dockertest.RunOpts{
		Name:  dockertest.UniqueName(t, "refit-pull"),
		Image: ref,
		Env:   []string{"TESTAPP_WRITE=/data/hello=world"},
	})
	c := dockertest.WaitFor(t, cli, id, 10*time.Second, "running", func(c container.InspectResponse) bool {
		return c.State != nil && c.State.Running
	})
	if got := string(c.HostConfig.NetworkMode); got != "none" {
		t.Errorf("NetworkMode = %q, want none", got)
	}
	if got := c.Config.Labels["refit.test"]; got != "1" {
		t.Errorf("image label refit.test = %q, want 1", got)
	}
	if got := dockertest.Exec(t, cli, id, "/testapp", "cat", "/data/hello"); got != "world" {
		t.Errorf("file written by testapp = %q, want world", got)
	}
	if logs := dockertest.Logs(t, cli, id); !strings.Contains(logs, "ready") {
		t.Errorf("logs = %q, want ready", logs)
	}

	// testapp stops on SIGTERM at once, so Stop must not take the 10s kill timeout.
	start := time.Now()
	dockertest.Stop(t, cli, id)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v, want a prompt exit on SIGTERM", d)
	}
	if c := dockertest.Inspect(t, cli, id); c.State.Running || c.State.ExitCode != 0 {
		t.Errorf("after Stop: running %v, exit code %d; want stopped with 0", c.State.Running, c.State.ExitCode)
	}
}

func TestMultiArchPullRecordsIndexDigest(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("test/multi:1")
	indexDigest := reg.PushIndex(t, "test/multi:1", ocitest.ImageOpts{})

	dockertest.Pull(t, cli, ref)
	img, err := cli.ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Host() + "/test/multi@" + indexDigest; !slices.Contains(img.RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want the index digest %s", img.RepoDigests, want)
	}
}

// A loaded image has no RepoDigests on graph drivers. The containerd store
// gives it one per tag, like a pulled image, and marks its descriptor instead.
func TestLoadedImageHasNoDigestFromAPull(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	tag := dockertest.UniqueName(t, "local/app") + ":1"
	dockertest.Load(t, cli, ocitest.Tarball(t, tag, ocitest.ImageOpts{Marker: "local"}))

	img, err := cli.ImageInspect(t.Context(), tag)
	if err != nil {
		t.Fatalf("inspect loaded %s: %v", tag, err)
	}
	if dockertest.ContainerdStore(t, cli) {
		repo, _, _ := strings.Cut(tag, ":")
		if want := []string{repo + "@" + img.ID}; !slices.Equal(img.RepoDigests, want) {
			t.Errorf("RepoDigests = %v, want %v: the containerd store names the tag with the image ID", img.RepoDigests, want)
		}
		if img.Descriptor == nil || img.Descriptor.Annotations["io.containerd.image.name"] == "" {
			t.Errorf("Descriptor = %+v, want the io.containerd.image.name annotation docker load leaves", img.Descriptor)
		}
	} else if len(img.RepoDigests) != 0 {
		t.Errorf("RepoDigests = %v, want none for a loaded image", img.RepoDigests)
	}
	id := dockertest.Run(t, cli, dockertest.RunOpts{Image: tag, Env: []string{"TESTAPP_EXIT=3"}})
	c := dockertest.WaitFor(t, cli, id, 10*time.Second, "exited", func(c container.InspectResponse) bool {
		return c.State != nil && c.State.Status == "exited"
	})
	if c.State.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3 from TESTAPP_EXIT", c.State.ExitCode)
	}
}

func TestHealthcheckFollowsTestAppEnv(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("test/health:1")
	reg.Push(t, "test/health:1", ocitest.ImageOpts{
		Healthcheck:    []string{"CMD", "/testapp", "health"},
		HealthInterval: 200 * time.Millisecond,
	})
	dockertest.Pull(t, cli, ref)

	healthy := dockertest.Run(t, cli, dockertest.RunOpts{Image: ref})
	unhealthy := dockertest.Run(t, cli, dockertest.RunOpts{Image: ref, Env: []string{"TESTAPP_UNHEALTHY=1"}})
	dockertest.WaitHealth(t, cli, healthy, "healthy", 15*time.Second)
	dockertest.WaitHealth(t, cli, unhealthy, "unhealthy", 15*time.Second)
}

func TestRunKeepsNetworksAddressesAndAliases(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	tag := dockertest.UniqueName(t, "local/net") + ":1"
	dockertest.Load(t, cli, ocitest.Tarball(t, tag, ocitest.ImageOpts{}))

	front := dockertest.CreateNetwork(t, cli, dockertest.NetworkOpts{Name: "front", Subnet: "10.123.7.0/24"})
	back := dockertest.CreateNetwork(t, cli, dockertest.NetworkOpts{Name: "back", Internal: true})
	id := dockertest.Run(t, cli, dockertest.RunOpts{
		Name:  dockertest.UniqueName(t, "refit-net"),
		Image: tag,
		Networks: map[string]*network.EndpointSettings{
			front: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.123.7.5"}, Aliases: []string{"web"}},
			back:  {Aliases: []string{"db-client"}},
		},
	})
	c := dockertest.Inspect(t, cli, id)
	if got := c.NetworkSettings.Networks[front]; got == nil || got.IPAddress != "10.123.7.5" || !slices.Contains(got.Aliases, "web") {
		t.Errorf("endpoint on %s = %+v, want 10.123.7.5 with alias web", front, got)
	}
	if got := c.NetworkSettings.Networks[back]; got == nil || !slices.Contains(got.Aliases, "db-client") {
		t.Errorf("endpoint on %s = %+v, want alias db-client", back, got)
	}
}
