package dockerengine_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// envMin144 names an engine started with DOCKER_MIN_API_VERSION=1.44, as
// Docker 29.0 refuses older clients (.ci/run starts one).
const envMin144 = "REFIT_TEST_DOCKER_HOST_MIN144"

// Against an engine that refuses clients below API 1.44, the adapter
// negotiates a version it accepts and lists, inspects, pulls and recreates.
func TestAdapterWorksWithEngineRefusingOldClients(t *testing.T) {
	host := os.Getenv(envMin144)
	if host == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(envMin144 + " is not set: CI runs this against an engine with DOCKER_MIN_API_VERSION=1.44")
		}
		t.Skip("set " + envMin144 + " to an engine started with DOCKER_MIN_API_VERSION=1.44")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// The engine really refuses an old client: otherwise this test proves nothing.
	old, err := client.NewClientWithOpts(client.WithHost(host), client.WithVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.ServerVersion(ctx); err == nil || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("an API 1.41 client got %v, want a refusal: is DOCKER_MIN_API_VERSION=1.44 set on %s?", err, host)
	}

	eng, err := dockerengine.New(dockerengine.Options{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	v, err := eng.Ping(ctx)
	if err != nil || versions.LessThan(v, "1.44") {
		t.Fatalf("Ping = %q, %v; want the engine's API, at least 1.44", v, err)
	}

	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("min144/app:1")
	d1 := reg.Push(t, "min144/app:1", ocitest.ImageOpts{Marker: "min144 v1"})
	if err := eng.Pull(ctx, ref, models.RegistryAuth{}, nil); err != nil {
		t.Fatalf("Pull v1: %v", err)
	}
	name := dockertest.UniqueName(t, "min144")
	id := dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ref})
	dockertest.RemoveAtCleanup(t, cli, name) // the recreated container keeps the name

	c := runningNamed(t, ctx, eng, name)
	if c.ID != id || c.ConfiguredImage != ref || !hasRepoDigest(c.RepoDigests, d1) {
		t.Fatalf("Running lists %+v, want %s running %s with a RepoDigest @%s", c, id, ref, d1)
	}

	d2 := reg.Push(t, "min144/app:1", ocitest.ImageOpts{Marker: "min144 v2"})
	if err := eng.Pull(ctx, ref, models.RegistryAuth{}, nil); err != nil {
		t.Fatalf("Pull v2: %v", err)
	}
	img, err := eng.Image(ctx, ref)
	if err != nil || !hasRepoDigest(img.RepoDigests, d2) {
		t.Fatalf("Image(%s) = %+v, %v; want RepoDigests with @%s", ref, img, err, d2)
	}
	newID, err := eng.Recreate(ctx, id, models.RecreateOptions{Settle: 500 * time.Millisecond, HealthTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	if c := runningNamed(t, ctx, eng, name); c.ID != newID || !hasRepoDigest(c.RepoDigests, d2) {
		t.Errorf("after Recreate %s is %+v, want %s on @%s", name, c, newID, d2)
	}
}

func runningNamed(t *testing.T, ctx context.Context, eng *dockerengine.Engine, name string) models.Container {
	t.Helper()
	cs, err := eng.Running(ctx)
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Running does not list %s", name)
	return models.Container{}
}

func hasRepoDigest(repoDigests []string, digest string) bool {
	for _, rd := range repoDigests {
		if strings.HasSuffix(rd, "@"+digest) {
			return true
		}
	}
	return false
}
