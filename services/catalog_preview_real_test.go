package services_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// The preview over the real engine and a real registry: the check's
// digests, the classification, and not one request to the registry.
func TestPreviewSendsNoRegistryRequest(t *testing.T) {
	ru := newRealUpdater(t, nil)
	cli := dockertest.Client(t)
	db, tog, _ := mustStore(t)
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cat := services.NewCatalog(ru.ctr, pol, tog, ru.upd)
	img := ocitest.ImageOpts{Env: []string{"APP_LEVEL=info"}, Labels: map[string]string{"org.example.image": "1"}}
	img.Marker = "v1"
	v1 := ru.reg.Push(t, "prev/app:2.0", img)
	ref := ru.reg.Ref("prev/app:2.0")
	dockertest.Pull(t, cli, ref)
	name, vol := dockertest.UniqueName(t, "prev"), dockertest.UniqueName(t, "prev-data")
	t.Cleanup(func() { // after the container's removal, registered next
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli.VolumeRemove(ctx, vol, true)
	})
	id := dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: ref, Env: []string{"APP_TOKEN=hunter2"},
		Labels: map[string]string{"org.example.owner": "ops"}, Binds: []string{vol + ":/data"}})
	dockertest.RemoveAtCleanup(t, cli, name)
	img.Marker = "v2"
	v2 := ru.reg.Push(t, "prev/app:2.0", img)
	if g := ru.check(t)["prev/app:2.0"]; g.Status != models.StatusOutdated {
		t.Fatalf("group %+v, want outdated", g)
	}

	ru.reg.Reset()
	p, err := cat.Preview(t.Context(), name)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	if c := ru.reg.Counts(); c.Total() != 0 {
		t.Errorf("the preview sent %+v to the registry, want nothing", c)
	}
	if p.ID != id || p.Watcher != models.LocalHost || p.Current.Digest != v1 || p.Current.Tag != "2.0" || p.Current.ImageID == "" ||
		p.Candidate.Digest != v2 || p.Candidate.Tag != "2.0" || !p.UpdateAvailable {
		t.Errorf("preview %s on %s: current %+v, candidate %+v, update %v; want %s → %s", p.ID, p.Watcher, p.Current, p.Candidate,
			p.UpdateAvailable, v1, v2)
	}
	if b, _ := json.Marshal(p); strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "=info") {
		t.Errorf("the preview shows an environment value: %s", b)
	}
	if !slices.Equal(p.Keeps.Env, []string{"APP_TOKEN"}) || !slices.Contains(p.FromImage.Env, "APP_LEVEL") ||
		!slices.Equal(p.Keeps.Labels, []string{"org.example.owner"}) || !slices.Contains(p.FromImage.Labels, "org.example.image") {
		t.Errorf("keeps %+v, fromImage %+v", p.Keeps, p.FromImage)
	}
	if len(p.Volumes) != 1 || p.Volumes[0].Name != vol || p.Volumes[0].Destination != "/data" {
		t.Errorf("volumes = %+v, want %s at /data", p.Volumes, vol)
	}

	// Nothing was pulled: the tag still names the image the container runs.
	local, err := ru.eng.Image(t.Context(), ref)
	if err != nil || local.ID != p.Current.ImageID {
		t.Errorf("local %s is %s (%v), want still %s", ref, local.ID, err, p.Current.ImageID)
	}
}
