package dockerengine_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"

	"refit/models"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

var containerdInfo = system.Info{Driver: "overlayfs", DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}}

// runningThrough returns Running of an adapter over the fake API.
func runningThrough(t *testing.T, api *dockertest.API) func() []models.Container {
	t.Helper()
	eng, err := dockerengine.New(dockerengine.Options{Host: api.Serve(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return func() []models.Container {
		t.Helper()
		cs, err := eng.Running(t.Context())
		if err != nil {
			t.Fatalf("Running: %v", err)
		}
		return cs
	}
}

// The image list is read on every engine event; an image is inspected once,
// and again only when its tags change.
func TestRunningInspectsAnImageOnceUntilItsTagsChange(t *testing.T) {
	api := &dockertest.API{}
	id := api.AddImage("reg.example/app:1", "reg.example/app@"+digestA)
	api.AddRunning("a", "reg.example/app:1", id, nil)
	api.AddRunning("b", "reg.example/app:1", id, nil)
	running := runningThrough(t, api)

	for range 3 {
		running()
	}
	inspects := func() int { return api.Requests("GET /images/" + id + "/json") }
	if n := inspects(); n != 1 {
		t.Errorf("three lists of two containers on one image inspected it %d times, want once", n)
	}
	if n := api.Requests("GET /info"); n != 1 {
		t.Errorf("docker info asked %d times, want once", n)
	}

	// Pushed and pulled under a second name: the list changes, the image is inspected again.
	api.Images[0].RepoTags = append(api.Images[0].RepoTags, "reg.example/alias:1")
	api.Images[0].RepoDigests = append(api.Images[0].RepoDigests, "reg.example/alias@"+digestA)
	cs := running()
	if n := inspects(); n != 2 {
		t.Errorf("after the tags changed the image was inspected %d times in all, want 2", n)
	}
	if want := []string{"reg.example/app@" + digestA, "reg.example/alias@" + digestA}; !slices.Equal(cs[0].RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want %v", cs[0].RepoDigests, want)
	}
	if cs[0].ContainerdStore || cs[0].OriginKnown {
		t.Errorf("a graph driver's container = %+v, want neither ContainerdStore nor OriginKnown", cs[0])
	}
}

// On the containerd store the inspect, not the list, has every repository,
// and from API 1.53 it says where the image came from.
func TestRunningReadsTheContainerdStore(t *testing.T) {
	inspect := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name           string
		apiVersion     string
		doc            map[string]any
		wantKnown      bool
		wantPulledFrom []string
	}{
		{"pulled, API 1.56", "1.56", map[string]any{
			"Identity": map[string]any{"Pull": []map[string]string{{"Repository": "reg.example/app"}, {"Repository": "reg.example/alias"}}},
		}, true, []string{"reg.example/app", "reg.example/alias"}},
		{"built or loaded, API 1.56", "1.56", map[string]any{}, true, nil},
		{"pulled, API 1.52", "1.52", map[string]any{
			"Descriptor": map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digestA, "size": 639},
		}, false, nil},
		{"loaded, API 1.52", "1.52", map[string]any{
			"Descriptor": map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digestA, "size": 586,
				"annotations": map[string]string{"io.containerd.image.name": "reg.example/app:1"}},
		}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &dockertest.API{APIVersion: tc.apiVersion, Info: containerdInfo}
			// The containerd store lists one RepoDigest even though two repositories name the image.
			api.Images = append(api.Images, image.Summary{ID: digestA, RepoTags: []string{"reg.example/app:1", "reg.example/alias:1"},
				RepoDigests: []string{"reg.example/alias@" + digestA}})
			api.AddRunning("a", "reg.example/app:1", digestA, nil)
			doc := map[string]any{"Id": digestA, "RepoTags": []string{"reg.example/app:1", "reg.example/alias:1"},
				"RepoDigests": []string{"reg.example/app@" + digestA, "reg.example/alias@" + digestA}}
			for k, v := range tc.doc {
				doc[k] = v
			}
			api.ImageInspects = map[string]json.RawMessage{digestA: inspect(doc)}
			running := runningThrough(t, api)

			c := running()[0]
			if !c.ContainerdStore || c.ImageID != digestA {
				t.Errorf("ContainerdStore, ImageID = %v, %s; want true, %s", c.ContainerdStore, c.ImageID, digestA)
			}
			if want := []string{"reg.example/app@" + digestA, "reg.example/alias@" + digestA}; !slices.Equal(c.RepoDigests, want) {
				t.Errorf("RepoDigests = %v, want the inspect's %v", c.RepoDigests, want)
			}
			if c.OriginKnown != tc.wantKnown || !slices.Equal(c.PulledFrom, tc.wantPulledFrom) {
				t.Errorf("OriginKnown, PulledFrom = %v, %v; want %v, %v", c.OriginKnown, c.PulledFrom, tc.wantKnown, tc.wantPulledFrom)
			}
		})
	}
}
