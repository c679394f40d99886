package dockerengine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
)

// dockertest.API, the fake engine the footprint benchmark runs the refit
// binary against, reads like the real one: given the real engine's own
// documents, the adapter lists the same containers through both, the image-ID
// container (inspected) and the stopped one (left out) included.
func TestAPIReadsLikeTheEngine(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	f.PushVersion(t, 1)
	dockertest.Pull(t, f.cli, f.Ref())
	byTag := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: dockertest.UniqueName(t, "api-tag"), Image: f.Ref(),
		Labels: map[string]string{"refit.test": "api"}})
	byID := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: dockertest.UniqueName(t, "api-id"),
		Image: dockertest.Inspect(t, f.cli, byTag).Image})
	stopped := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: dockertest.UniqueName(t, "api-stopped"), Image: f.Ref()})
	dockertest.Stop(t, f.cli, stopped)
	ours := []string{byTag, byID, stopped}

	list, err := f.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	api := &dockertest.API{Inspects: map[string]container.InspectResponse{}}
	for _, c := range list {
		if slices.Contains(ours, c.ID) {
			api.Containers = append(api.Containers, c)
			api.Inspects[c.ID] = dockertest.Inspect(t, f.cli, c.ID)
		}
	}
	if api.Images, err = f.cli.ImageList(ctx, image.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	// The engine's own documents for what the adapter asks besides: which
	// image store, and the inspect of the image, at the version it asks.
	if api.Info, err = f.cli.Info(ctx); err != nil {
		t.Fatal(err)
	}
	api.APIVersion = dockertest.ServerAPIVersion(t, f.cli)
	api.ImageInspects = map[string]json.RawMessage{}
	for _, c := range api.Containers {
		api.ImageInspects[c.ImageID] = rawImageInspect(t, ctx, f.cli, c.ImageID)
	}
	fakeEng, err := dockerengine.New(dockerengine.Options{Host: api.Serve(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer fakeEng.Close()

	want := runningOf(t, ctx, f.eng, ours)
	got := runningOf(t, ctx, fakeEng, ours)
	if len(want) != 2 || !reflect.DeepEqual(got, want) {
		t.Fatalf("through the fake API:\n%+v\nthrough the engine:\n%+v", got, want)
	}
	if api.Requests("GET /containers/"+byID+"/json") == 0 {
		t.Error("the image-ID container was not inspected through the fake")
	}
	if v, err := fakeEng.Ping(ctx); err != nil || v == "" {
		t.Errorf("Ping through the fake = %q, %v", v, err)
	}
	if recs, err := fakeEng.Recover(ctx, models.RecoverOptions{}); err != nil || len(recs) != 0 {
		t.Errorf("Recover through the fake = %v, %v; want nothing to do", recs, err)
	}
	// The event stream stays open and quiet until the caller stops it.
	evCtx, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	events, errs := fakeEng.Events(evCtx)
	select {
	case ev := <-events:
		t.Errorf("an event from the fake: %v", ev)
	case err := <-errs:
		if evCtx.Err() == nil {
			t.Errorf("the fake's event stream failed: %v", err)
		}
	case <-evCtx.Done():
	}
}

// rawImageInspect is the engine's inspect of an image as the adapter reads
// it: at API 1.53, for the image's Identity, on a containerd store that
// speaks it.
func rawImageInspect(t *testing.T, ctx context.Context, cli *client.Client, id string) json.RawMessage {
	t.Helper()
	if dockertest.ContainerdStore(t, cli) && versions.GreaterThanOrEqualTo(dockertest.ServerAPIVersion(t, cli), "1.53") {
		c, err := client.NewClientWithOpts(client.WithHost(cli.DaemonHost()), client.WithVersion("1.53"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cli = c
	}
	var raw bytes.Buffer
	if _, err := cli.ImageInspect(ctx, id, client.ImageInspectWithRawResponse(&raw)); err != nil {
		t.Fatalf("inspect image %s: %v", id, err)
	}
	return raw.Bytes()
}

// runningOf is e.Running narrowed to the given container IDs, in ID order.
func runningOf(t *testing.T, ctx context.Context, e *dockerengine.Engine, ids []string) []models.Container {
	t.Helper()
	cs, err := e.Running(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs = slices.DeleteFunc(cs, func(c models.Container) bool { return !slices.Contains(ids, c.ID) })
	slices.SortFunc(cs, func(a, b models.Container) int { return strings.Compare(a.ID, b.ID) })
	for i := range cs {
		cs[i].StatusText = "" // "Up 1 second": the engine's clock, not the adapter's reading
	}
	return cs
}
