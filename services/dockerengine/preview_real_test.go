package dockerengine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// The preview of a container with a network, an alias and an address of
// the user's, an image VOLUME, a named volume and a namespace joiner says
// what the recreate then does, and changes nothing itself.
func TestPreviewTellsWhatRecreateDoes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Marker: "v1", Env: []string{"APP_DEFAULT=from-image"}, Labels: map[string]string{"img": "1"},
		Volumes: []string{"/data"}})
	front, fn := createNetwork(t, f, "refit-pfront", false)
	ip := fmt.Sprintf("10.123.%d.5", fn)
	vol := dockertest.UniqueName(t, "refit-pvol")
	// The recreate mounts the anonymous volumes by name, so removing the
	// new containers with their volumes leaves them: remove them by name.
	vols := []string{vol}
	t.Cleanup(func() { // after the containers' removal, registered next
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, v := range vols {
			f.cli.VolumeRemove(ctx, v, true)
		}
	})
	webName, sideName := dockertest.UniqueName(t, "refit-pweb"), dockertest.UniqueName(t, "refit-pside")
	web := f.run(t, webName, &container.Config{Env: []string{"APP_SECRET=hunter2"}, Labels: map[string]string{"mine": "y"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(front), Binds: []string{vol + ":/named"}},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			front: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}, Aliases: []string{"web"}}}})
	side := f.run(t, sideName, &container.Config{}, &container.HostConfig{NetworkMode: container.NetworkMode("container:" + webName)}, nil)
	anon, ok := mountOf(dockertest.Inspect(t, f.cli, web), "/data")
	if !ok || anon.Name == "" {
		t.Fatalf("no anonymous volume at /data: %+v", anon)
	}
	sideAnon, _ := mountOf(dockertest.Inspect(t, f.cli, side), "/data")
	vols = append(vols, anon.Name, sideAnon.Name)

	p, err := f.eng.Preview(t.Context(), webName)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	if b, _ := json.Marshal(p); strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "from-image") {
		t.Errorf("the preview shows an environment value: %s", b)
	}
	if !cmp.Equal(p.Keeps.Env, []string{"APP_SECRET"}) || !slices.Contains(p.FromImage.Env, "APP_DEFAULT") ||
		!cmp.Equal(p.Keeps.Labels, []string{"mine"}) || !slices.Contains(p.FromImage.Labels, "img") || p.Keeps.NetworkMode != front {
		t.Errorf("keeps %+v, fromImage %+v", p.Keeps, p.FromImage)
	}
	if want := []models.PreviewNetwork{{Name: front, Aliases: []string{"web"}, IPv4Address: ip}}; !cmp.Equal(p.Networks, want) {
		t.Errorf("networks = %+v, want %+v", p.Networks, want)
	}
	wantVols := []models.PreviewVolume{
		{Type: "volume", Name: anon.Name, Destination: "/data", Anonymous: true},
		{Type: "volume", Name: vol, Destination: "/named"},
	}
	if diff := cmp.Diff(wantVols, p.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	if want := []models.PreviewDependent{{ID: side, Name: sideName, NetworkMode: "container:" + webName}}; !cmp.Equal(p.Dependents, want) {
		t.Errorf("dependents = %+v, want %+v", p.Dependents, want)
	}
	for _, id := range []string{web, side} {
		if c := dockertest.Inspect(t, f.cli, id); !c.State.Running || strings.HasSuffix(c.Name, "-refit-old") {
			t.Errorf("after Preview %s is %s as %s, want it untouched", c.Name, c.State.Status, c.Name)
		}
	}

	f.publish(t, ocitest.ImageOpts{Marker: "v2", Env: []string{"APP_DEFAULT=new"}, Volumes: []string{"/data"}})
	c := f.mustRecreate(t, web)
	if m, ok := mountOf(c, "/data"); !ok || m.Name != anon.Name {
		t.Errorf("new /data is %+v, want the volume %s the preview named", m, anon.Name)
	}
	if m, ok := mountOf(c, "/named"); !ok || m.Name != vol {
		t.Errorf("new /named is %+v, want %s", m, vol)
	}
	if !slices.Contains(c.Config.Env, "APP_SECRET=hunter2") || !slices.Contains(c.Config.Env, "APP_DEFAULT=new") || c.Config.Labels["img"] != "" {
		t.Errorf("new env %q, labels %v: want the user's secret kept and the new image's defaults", c.Config.Env, c.Config.Labels)
	}
	s := dockertest.Inspect(t, f.cli, sideName)
	dockertest.RemoveAtCleanup(t, f.cli, s.ID)
	if s.ID == side || string(s.HostConfig.NetworkMode) != "container:"+c.ID {
		t.Errorf("the dependent is %s with %s, want it recreated onto %s", models.ShortID(s.ID), s.HostConfig.NetworkMode, models.ShortID(c.ID))
	}
}
