package dockerengine_test

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
	"github.com/google/go-cmp/cmp"

	"refit/models"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// fast keeps real-engine recreates short.
var fast = models.RecreateOptions{Settle: 500 * time.Millisecond, HealthTimeout: 20 * time.Second}

// publish pushes an image built from opts as the fixture's tag and pulls it.
func (f *fixture) publish(t *testing.T, opts ocitest.ImageOpts) {
	t.Helper()
	f.reg.Push(t, "enginetest/app:latest", opts)
	dockertest.Pull(t, f.cli, f.Ref())
}

// run creates and starts a container from raw configuration; whatever ends
// up under its name, or parked, is removed when the test ends.
func (f *fixture) run(t *testing.T, name string, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) string {
	t.Helper()
	if cfg.Image == "" {
		cfg.Image = f.Ref()
	}
	id := dockertest.Run2(t, f.cli, name, cfg, hc, nc)
	dockertest.RemoveAtCleanup(t, f.cli, name)
	dockertest.RemoveAtCleanup(t, f.cli, name+dockerengine.OldSuffix)
	return id
}

func (f *fixture) recreate(t *testing.T, id string, opts models.RecreateOptions) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	newID, err := f.eng.Recreate(ctx, id, opts)
	if newID != "" {
		dockertest.RemoveAtCleanup(t, f.cli, newID)
	}
	return newID, err
}

func (f *fixture) mustRecreate(t *testing.T, id string) container.InspectResponse {
	t.Helper()
	newID, err := f.recreate(t, id, fast)
	if err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	if newID == id {
		t.Fatalf("Recreate kept the ID %s", id)
	}
	if _, err := f.cli.ContainerInspect(t.Context(), id); err == nil {
		t.Errorf("the old container %s still exists", id)
	}
	return dockertest.Inspect(t, f.cli, newID)
}

func (f *fixture) imageID(t *testing.T) string {
	t.Helper()
	img, err := f.eng.Image(t.Context(), f.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return img.ID
}

func mountOf(c container.InspectResponse, dest string) (container.MountPoint, bool) {
	for _, m := range c.Mounts {
		if m.Destination == dest {
			return m, true
		}
	}
	return container.MountPoint{}, false
}

func TestRecreateKeepsUserSettingsAndTakesNewImageDefaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{
		Env:          []string{"IMG_A=1", "IMG_B=1", "TESTAPP_WRITE=/anon/f=v1data"},
		Cmd:          []string{"v1"},
		Labels:       map[string]string{"img.label": "1", "img.same": "s"},
		Volumes:      []string{"/anon"},
		ExposedPorts: []string{"8080"},
		Marker:       "v1",
	})

	vol := dockertest.UniqueName(t, "refit-named")
	if _, err := f.cli.VolumeCreate(t.Context(), volume.CreateOptions{Name: vol}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cli.VolumeRemove(context.Background(), vol, true) })
	hostDir := t.TempDir()
	stopTimeout := 5
	name := dockertest.UniqueName(t, "refit-keep")
	id := f.run(t, name, &container.Config{
		Env: []string{"USER_X=1", "IMG_B=user"},
		Labels: map[string]string{
			"user.label": "u", "img.same": "mine",
			"com.docker.compose.project": "proj", "com.docker.compose.service": "web",
		},
		User:        "0",
		WorkingDir:  "/work",
		Hostname:    "myhost",
		Domainname:  "example.test",
		Tty:         true,
		OpenStdin:   true,
		StopSignal:  "SIGINT",
		StopTimeout: &stopTimeout,
	}, &container.HostConfig{
		NetworkMode:   "none",
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Binds:         []string{hostDir + ":/hostdata:ro", vol + ":/named"},
		ExtraHosts:    []string{"db.test:10.9.9.9"},
		DNS:           []string{"10.9.9.53"},
		DNSSearch:     []string{"example.test"},
		CapAdd:        []string{"NET_ADMIN"},
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m"}},
		Tmpfs:         map[string]string{"/scratch": "size=1m"},
	}, nil)
	old := dockertest.WaitFor(t, f.cli, id, 10*time.Second, "running", func(c container.InspectResponse) bool { return c.State.Running })
	if got := dockertest.Exec(t, f.cli, id, "/testapp", "cat", "/anon/f"); got != "v1data" {
		t.Fatalf("the old container wrote %q, want v1data", got)
	}
	anon, ok := mountOf(old, "/anon")
	if !ok || anon.Name == "" {
		t.Fatalf("old container has no anonymous volume at /anon: %+v", old.Mounts)
	}

	// Version 2 changes image defaults and no longer writes the file.
	f.publish(t, ocitest.ImageOpts{
		Env:          []string{"IMG_A=2", "IMG_B=2"},
		Cmd:          []string{"v2"},
		Labels:       map[string]string{"img.label": "2", "img.same": "s"},
		Volumes:      []string{"/anon"},
		ExposedPorts: []string{"8080"},
		Marker:       "v2",
	})
	c := f.mustRecreate(t, id)

	if c.Name != "/"+name {
		t.Errorf("Name = %q, want /%s", c.Name, name)
	}
	if c.Image != f.imageID(t) {
		t.Errorf("runs image %s, want version 2 (%s)", c.Image, f.imageID(t))
	}
	cfg := c.Config
	for _, kv := range []string{"USER_X=1", "IMG_B=user", "IMG_A=2"} {
		if !slices.Contains(cfg.Env, kv) {
			t.Errorf("Env %q lacks %s", cfg.Env, kv)
		}
	}
	for _, kv := range []string{"IMG_A=1", "IMG_B=2", "TESTAPP_WRITE=/anon/f=v1data"} {
		if slices.Contains(cfg.Env, kv) {
			t.Errorf("Env %q has %s", cfg.Env, kv)
		}
	}
	if !slices.Equal(cfg.Cmd, []string{"v2"}) || !slices.Equal(cfg.Entrypoint, []string{"/testapp"}) {
		t.Errorf("Entrypoint %q Cmd %q, want the new image's [/testapp] [v2]", cfg.Entrypoint, cfg.Cmd)
	}
	wantLabels := map[string]string{
		"user.label": "u", "img.same": "mine", "img.label": "2",
		"com.docker.compose.project": "proj", "com.docker.compose.service": "web",
	}
	if diff := cmp.Diff(wantLabels, cfg.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if cfg.User != "0" || cfg.WorkingDir != "/work" || cfg.Hostname != "myhost" || cfg.Domainname != "example.test" ||
		!cfg.Tty || !cfg.OpenStdin || cfg.StopSignal != "SIGINT" || cfg.StopTimeout == nil || *cfg.StopTimeout != 5 {
		t.Errorf("config lost user settings: user %q workdir %q hostname %q domain %q tty %v stdin %v signal %q timeout %v",
			cfg.User, cfg.WorkingDir, cfg.Hostname, cfg.Domainname, cfg.Tty, cfg.OpenStdin, cfg.StopSignal, cfg.StopTimeout)
	}

	// Everything in HostConfig carries over; only the anonymous volume is
	// now mounted by name.
	oldHC, newHC := *old.HostConfig, *c.HostConfig
	oldHC.Mounts, newHC.Mounts = nil, nil
	if diff := cmp.Diff(oldHC, newHC); diff != "" {
		t.Errorf("HostConfig changed (-old +new):\n%s", diff)
	}
	if m, ok := mountOf(c, "/anon"); !ok || m.Name != anon.Name {
		t.Errorf("/anon mounts %+v, want the old anonymous volume %s", m, anon.Name)
	}
	if m, ok := mountOf(c, "/named"); !ok || m.Name != vol {
		t.Errorf("/named mounts %+v, want volume %s", m, vol)
	}
	if m, ok := mountOf(c, "/hostdata"); !ok || m.Source != hostDir || m.RW {
		t.Errorf("/hostdata mounts %+v, want %s read-only", m, hostDir)
	}
	if got := dockertest.Exec(t, f.cli, c.ID, "/testapp", "cat", "/anon/f"); got != "v1data" {
		t.Errorf("after the recreate /anon/f = %q, want the old container's v1data", got)
	}
}

// A recreated container the user configured nothing on looks like a fresh
// container of the new image: no old defaults are pinned.
func TestRecreateOfDefaultContainerMatchesFreshRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{
		Env: []string{"A=1"}, Cmd: []string{"v1"}, Labels: map[string]string{"v": "1"}, WorkingDir: "/one",
		Volumes: []string{"/v1data"}, ExposedPorts: []string{"1111"},
		Healthcheck: []string{"CMD", "/testapp", "health"}, Marker: "v1",
	})
	id := f.run(t, dockertest.UniqueName(t, "refit-plain"), &container.Config{}, nil, nil)
	f.publish(t, ocitest.ImageOpts{
		Env: []string{"A=2"}, Cmd: []string{"v2"}, Labels: map[string]string{"v": "2"}, WorkingDir: "/two",
		Volumes: []string{"/v2data"}, ExposedPorts: []string{"2222"},
		Healthcheck: []string{"CMD", "/testapp", "health"}, HealthInterval: 500 * time.Millisecond, Marker: "v2",
	})
	c := f.mustRecreate(t, id)
	fresh := dockertest.Inspect(t, f.cli, f.run(t, dockertest.UniqueName(t, "refit-fresh"), &container.Config{}, nil, nil))

	if c.Config.Hostname != c.ID[:12] {
		t.Errorf("Hostname = %q, want the new container's short ID %s", c.Config.Hostname, c.ID[:12])
	}
	got, want := *c.Config, *fresh.Config
	got.Hostname, want.Hostname = "", ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recreated config differs from a fresh run (-fresh +recreated):\n%s", diff)
	}
	if c.State.Health == nil || c.State.Health.Status != container.Healthy {
		t.Errorf("health = %+v, want healthy before Recreate returns", c.State.Health)
	}
	// The old image's anonymous volume is still there for the data in it.
	if _, ok := mountOf(c, "/v1data"); !ok {
		t.Errorf("the old anonymous volume /v1data is not mounted: %+v", c.Mounts)
	}
}

func TestRecreateKeepsUserEntrypointCmdAndHealthcheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Cmd: []string{"v1"}, Marker: "v1"})
	hc := &container.HealthConfig{Test: []string{"CMD", "/testapp", "health"}, Interval: time.Second, Retries: 2}
	id := f.run(t, dockertest.UniqueName(t, "refit-entry"), &container.Config{
		Entrypoint:  []string{"/testapp", "serve"},
		Cmd:         []string{"--flag"},
		Healthcheck: hc,
	}, nil, nil)
	f.publish(t, ocitest.ImageOpts{Cmd: []string{"v2"}, Marker: "v2"})
	c := f.mustRecreate(t, id)
	if !slices.Equal(c.Config.Entrypoint, []string{"/testapp", "serve"}) || !slices.Equal(c.Config.Cmd, []string{"--flag"}) {
		t.Errorf("Entrypoint %q Cmd %q, want the user's [/testapp serve] [--flag]", c.Config.Entrypoint, c.Config.Cmd)
	}
	if diff := cmp.Diff(hc, c.Config.Healthcheck); diff != "" {
		t.Errorf("healthcheck (-want +got):\n%s", diff)
	}
	if c.State.Health == nil || c.State.Health.Status != container.Healthy {
		t.Errorf("health = %+v, want healthy", c.State.Health)
	}
}

// createNetwork creates a network on a free 10.123.N.0/24 and returns its
// name and N. Other packages' tests create networks on the same engine, so
// N is random and taken ones are skipped.
func createNetwork(t *testing.T, f *fixture, base string, internal bool) (string, int) {
	t.Helper()
	name := dockertest.UniqueName(t, base)
	for range 20 {
		n := 100 + mrand.IntN(150)
		_, err := f.cli.NetworkCreate(t.Context(), name, network.CreateOptions{
			Driver:   "bridge",
			Internal: internal,
			IPAM:     &network.IPAM{Config: []network.IPAMConfig{{Subnet: fmt.Sprintf("10.123.%d.0/24", n)}}},
		})
		if err != nil && strings.Contains(err.Error(), "overlaps") {
			continue
		}
		if err != nil {
			t.Fatalf("create network %s: %v", name, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := f.cli.NetworkRemove(ctx, name); err != nil {
				t.Errorf("remove network %s: %v", name, err)
			}
		})
		return name, n
	}
	t.Fatalf("no free 10.123.N.0/24 for %s", name)
	return "", 0
}

func TestRecreateKeepsNetworksAddressesAliasesAndUserMAC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Marker: "v1"})
	front, fn := createNetwork(t, f, "refit-front", false)
	back, bn := createNetwork(t, f, "refit-back", true)
	addr := func(n, host int) string { return fmt.Sprintf("10.123.%d.%d", n, host) }
	userMAC := fmt.Sprintf("02:42:0a:7b:%02x:99", fn)
	old144 := versions.LessThan(f.cli.ClientVersion(), "1.44")

	// web: a user MAC on its primary network, an alias and a static address
	// on each network.
	webName := dockertest.UniqueName(t, "refit-web")
	cfg := &container.Config{}
	frontEP := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: addr(fn, 5)}, Aliases: []string{"web"}}
	if old144 {
		cfg.MacAddress = userMAC //nolint:staticcheck // the way to set it before API 1.44
	} else {
		frontEP.MacAddress = userMAC
	}
	web := f.run(t, webName, cfg, &container.HostConfig{NetworkMode: container.NetworkMode(front)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{front: frontEP}})
	backEP := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: addr(bn, 7)}, Aliases: []string{"second"}}
	if err := f.cli.NetworkConnect(t.Context(), back, web, backEP); err != nil {
		t.Fatalf("connect %s: %v", back, err)
	}
	// plain: an engine-generated MAC, which must not be pinned.
	plain := f.run(t, dockertest.UniqueName(t, "refit-plainnet"), &container.Config{}, &container.HostConfig{NetworkMode: container.NetworkMode(front)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{front: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: addr(fn, 6)}}}})

	f.publish(t, ocitest.ImageOpts{Marker: "v2"})
	c := f.mustRecreate(t, web)
	if string(c.HostConfig.NetworkMode) != front {
		t.Errorf("NetworkMode = %q, want %s", c.HostConfig.NetworkMode, front)
	}
	if len(c.NetworkSettings.Networks) != 2 {
		t.Errorf("networks = %v, want %s and %s", c.NetworkSettings.Networks, front, back)
	}
	for _, w := range []struct {
		net, ip, alias, mac string
	}{
		{front, addr(fn, 5), "web", userMAC},
		{back, addr(bn, 7), "second", ""},
	} {
		ep := c.NetworkSettings.Networks[w.net]
		if ep == nil {
			t.Errorf("not connected to %s", w.net)
			continue
		}
		if ep.IPAddress != w.ip || ep.IPAMConfig == nil || ep.IPAMConfig.IPv4Address != w.ip {
			t.Errorf("%s: address %s (IPAM %+v), want static %s", w.net, ep.IPAddress, ep.IPAMConfig, w.ip)
		}
		if !slices.Contains(ep.Aliases, w.alias) {
			t.Errorf("%s: aliases %q, want %s", w.net, ep.Aliases, w.alias)
		}
		if slices.Contains(ep.Aliases, web[:12]) {
			t.Errorf("%s: aliases %q carry the old container's short ID", w.net, ep.Aliases)
		}
		if w.mac != "" && ep.MacAddress != w.mac {
			t.Errorf("%s: MAC %s, want the user's %s", w.net, ep.MacAddress, w.mac)
		}
	}
	if old144 && c.Config.MacAddress != userMAC { //nolint:staticcheck
		t.Errorf("Config.MacAddress = %q, want the user's %s", c.Config.MacAddress, userMAC) //nolint:staticcheck
	}

	p := f.mustRecreate(t, plain)
	if ep := p.NetworkSettings.Networks[front]; ep == nil || ep.IPAddress != addr(fn, 6) {
		t.Errorf("plain: endpoint %+v, want %s", ep, addr(fn, 6))
	}
	if p.Config.MacAddress != "" { //nolint:staticcheck
		t.Errorf("plain: the generated MAC was pinned as %s", p.Config.MacAddress) //nolint:staticcheck
	}
}

func TestRecreateRollsBackWhenTheNewVersionFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		v2      ocitest.ImageOpts
		policy  container.RestartPolicyMode
		opts    models.RecreateOptions
		wantWhy string
	}{
		{"exits", ocitest.ImageOpts{Env: []string{"TESTAPP_EXIT=1"}, Marker: "v2"}, "", fast, "exited with code 1"},
		{"exits and restarts", ocitest.ImageOpts{Env: []string{"TESTAPP_EXIT=1"}, Marker: "v2"}, container.RestartPolicyAlways, fast, ""},
		{"never healthy",
			ocitest.ImageOpts{Env: []string{"TESTAPP_UNHEALTHY=1"}, Healthcheck: []string{"CMD", "/testapp", "health"}, Marker: "v2"}, "",
			models.RecreateOptions{Settle: fast.Settle, HealthTimeout: 2 * time.Second}, "healthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.publish(t, ocitest.ImageOpts{Healthcheck: tc.v2.Healthcheck, Marker: "v1"})
			name := dockertest.UniqueName(t, "refit-rollback")
			id := f.run(t, name, &container.Config{}, &container.HostConfig{NetworkMode: "none", RestartPolicy: container.RestartPolicy{Name: tc.policy}}, nil)
			if tc.v2.Healthcheck != nil {
				dockertest.WaitHealth(t, f.cli, id, "healthy", 15*time.Second)
			}
			f.publish(t, tc.v2)

			var steps []string
			opts := tc.opts
			opts.Step = func(s string) { steps = append(steps, s) }
			_, err := f.recreate(t, id, opts)
			if !models.IsRolledBack(err) {
				t.Fatalf("Recreate = %v, want a rollback", err)
			}
			if !strings.Contains(err.Error(), tc.wantWhy) {
				t.Errorf("error %q does not say %q", err, tc.wantWhy)
			}
			if !slices.Contains(steps, dockerengine.StepRollingBack) {
				t.Errorf("steps %v lack %q", steps, dockerengine.StepRollingBack)
			}
			c := dockertest.Inspect(t, f.cli, name)
			if c.ID != id || !c.State.Running {
				t.Errorf("%s is %s (running %v), want the old %s running", name, c.ID, c.State.Running, id)
			}
			assertNoStrays(t, f, name, id)
		})
	}
}

// assertNoStrays checks that only the container id carries name or its
// parked form.
func assertNoStrays(t *testing.T, f *fixture, name, id string) {
	t.Helper()
	list, err := f.cli.ContainerList(t.Context(), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		for _, n := range c.Names {
			if strings.HasPrefix(n, "/"+name) && c.ID != id {
				t.Errorf("container %s (%s, %s) is left over", n, c.ID[:12], c.State)
			}
		}
	}
}

func TestRecreateRefusesWithoutTouching(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Marker: "v1"})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		opts   models.RecreateOptions
		want   error
	}{
		{"swarm task", map[string]string{"com.docker.swarm.service.id": "abc"}, fast, models.ErrInvalid},
		{"image not pulled", nil, models.RecreateOptions{Image: f.reg.Ref("enginetest/app:nope")}, models.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := dockertest.UniqueName(t, "refit-refuse")
			id := f.run(t, name, &container.Config{Labels: tc.labels}, nil, nil)
			_, err := f.recreate(t, id, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Errorf("Recreate = %v, want %v", err, tc.want)
			}
			if c := dockertest.Inspect(t, f.cli, name); c.ID != id || !c.State.Running {
				t.Errorf("%s was touched: now %s, running %v", name, c.ID, c.State.Running)
			}
			assertNoStrays(t, f, name, id)
		})
	}
}

func TestRecreateMovesNetworkNamespaceJoiners(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Marker: "v1"})
	mainName, sideName := dockertest.UniqueName(t, "refit-owner"), dockertest.UniqueName(t, "refit-sidecar")
	owner := f.run(t, mainName, &container.Config{}, nil, nil)
	side := f.run(t, sideName, &container.Config{}, &container.HostConfig{NetworkMode: container.NetworkMode("container:" + mainName)}, nil)
	f.publish(t, ocitest.ImageOpts{Marker: "v2"})

	c := f.mustRecreate(t, owner)
	s := dockertest.Inspect(t, f.cli, sideName)
	dockertest.RemoveAtCleanup(t, f.cli, s.ID)
	if s.ID == side {
		t.Fatalf("the sidecar was not recreated")
	}
	if want := "container:" + c.ID; string(s.HostConfig.NetworkMode) != want {
		t.Errorf("sidecar NetworkMode = %q, want %q", s.HostConfig.NetworkMode, want)
	}
	if !s.State.Running {
		t.Errorf("sidecar is %s, want running", s.State.Status)
	}
	if _, err := f.cli.ContainerInspect(t.Context(), side); err == nil {
		t.Errorf("the old sidecar %s still exists", side)
	}

	// A joiner recreated on its own keeps pointing at its owner.
	s2 := f.mustRecreate(t, s.ID)
	if want := "container:" + c.ID; string(s2.HostConfig.NetworkMode) != want || !s2.State.Running {
		t.Errorf("recreated sidecar: NetworkMode %q running %v, want %q running", s2.HostConfig.NetworkMode, s2.State.Running, want)
	}
}

func TestRecreateRollsBackNetworkNamespaceJoiners(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Marker: "v1"})
	mainName, sideName := dockertest.UniqueName(t, "refit-owner"), dockertest.UniqueName(t, "refit-sidecar")
	owner := f.run(t, mainName, &container.Config{}, nil, nil)
	side := f.run(t, sideName, &container.Config{}, &container.HostConfig{NetworkMode: container.NetworkMode("container:" + owner)}, nil)
	f.publish(t, ocitest.ImageOpts{Env: []string{"TESTAPP_EXIT=1"}, Marker: "v2"})

	if _, err := f.recreate(t, owner, fast); !models.IsRolledBack(err) {
		t.Fatalf("Recreate = %v, want a rollback", err)
	}
	for name, id := range map[string]string{mainName: owner, sideName: side} {
		if c := dockertest.Inspect(t, f.cli, name); c.ID != id || !c.State.Running {
			t.Errorf("%s is %s (running %v), want the old %s running", name, c.ID, c.State.Running, id)
		}
		assertNoStrays(t, f, name, id)
	}
}

// The tests below call Recover, which acts on every parked container of the
// engine, so they do not run in parallel with the recreates above.

func TestHookErrorAtStartingRollsBackAndLeavesNothingToRecover(t *testing.T) {
	f := newFixture(t)
	f.publish(t, ocitest.ImageOpts{Marker: "v1"})
	name := dockertest.UniqueName(t, "refit-hook")
	id := f.run(t, name, &container.Config{}, nil, nil)
	f.publish(t, ocitest.ImageOpts{Marker: "v2"})

	opts := fast
	opts.Hook = func(s string) error {
		if s == dockerengine.StepStarting {
			return errors.New("killed")
		}
		return nil
	}
	if _, err := f.recreate(t, id, opts); !models.IsRolledBack(err) {
		t.Fatalf("Recreate = %v, want a rollback", err)
	}
	recs, err := f.eng.Recover(t.Context(), models.RecoverOptions{Settle: fast.Settle})
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	for _, r := range recs {
		if r.Container == name {
			t.Errorf("Recover acted on %s after a clean rollback: %+v", name, r)
		}
	}
	if c := dockertest.Inspect(t, f.cli, name); c.ID != id || !c.State.Running {
		t.Errorf("%s is %s (running %v), want the old %s running", name, c.ID, c.State.Running, id)
	}
}

// killWhileStarting runs a recreate of a container with an anonymous volume
// from v1 to v2 and kills it right after the new container starts, before
// its healthcheck has said anything: the old container is parked, stopped,
// and the new one runs, "starting". It returns the name and the old ID.
func killWhileStarting(t *testing.T, f *fixture, v2 ocitest.ImageOpts) (string, string) {
	t.Helper()
	f.publish(t, ocitest.ImageOpts{Healthcheck: []string{"CMD", "/testapp", "health"},
		Env: []string{"TESTAPP_WRITE=/anon/f=v1data"}, Volumes: []string{"/anon"}, Marker: "v1"})
	name := dockertest.UniqueName(t, "refit-kill")
	id := f.run(t, name, &container.Config{}, nil, nil)
	f.publish(t, v2)

	done := make(chan struct{})
	go func() {
		defer close(done)
		opts := fast
		opts.Hook = func(s string) error {
			if s == dockerengine.StepStarting {
				runtime.Goexit() // killed: nothing after this runs, rollback included
			}
			return nil
		}
		_, err := f.eng.Recreate(t.Context(), id, opts)
		t.Errorf("Recreate returned %v instead of being killed", err)
	}()
	<-done
	n := dockertest.Inspect(t, f.cli, name)
	dockertest.RemoveAtCleanup(t, f.cli, n.ID)
	if n.ID == id || !n.State.Running || n.State.Health == nil || n.State.Health.Status != container.Starting {
		t.Fatalf("after the kill %s is %s (running %v, health %+v), want the new container running and starting",
			name, n.ID, n.State.Running, n.State.Health)
	}
	if p := dockertest.Inspect(t, f.cli, name+dockerengine.OldSuffix); p.ID != id || p.State.Running {
		t.Fatalf("parked container is %s (running %v), want the old %s stopped", p.ID, p.State.Running, id)
	}
	return name, id
}

// recoverOnly runs Recover and returns what it did with name.
func recoverOnly(t *testing.T, f *fixture, name string) models.Recovery {
	t.Helper()
	recs, err := f.eng.Recover(t.Context(), models.RecoverOptions{Settle: fast.Settle})
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	i := slices.IndexFunc(recs, func(r models.Recovery) bool { return r.Container == name })
	if i < 0 {
		t.Fatalf("Recover = %+v, nothing about %s", recs, name)
	}
	return recs[i]
}

// Interrupted while the new version was "starting", Recover lets the
// healthcheck decide: healthy, the update is finished.
func TestRecoverAfterKillWhileStartingWaitsForHealthy(t *testing.T) {
	f := newFixture(t)
	name, id := killWhileStarting(t, f, ocitest.ImageOpts{Healthcheck: []string{"CMD", "/testapp", "health"},
		HealthInterval: 2 * time.Second, Volumes: []string{"/anon"}, Marker: "v2"})
	if rec := recoverOnly(t, f, name); rec.Action != "finished" {
		t.Fatalf("Recover = %+v, want %s finished once healthy", rec, name)
	}
	c := dockertest.Inspect(t, f.cli, name)
	if c.ID == id || !c.State.Running || c.State.Health == nil || c.State.Health.Status != container.Healthy {
		t.Errorf("%s is %s (running %v, health %+v), want the new container healthy", name, c.ID, c.State.Running, c.State.Health)
	}
	if _, err := f.cli.ContainerInspect(t.Context(), id); err == nil {
		t.Errorf("the old container %s is still there", id)
	}
	if got := dockertest.Exec(t, f.cli, c.ID, "/testapp", "cat", "/anon/f"); got != "v1data" {
		t.Errorf("/anon/f = %q in the new container, want v1data", got)
	}
}

// Unhealthy, the old container is back, with its data.
func TestRecoverAfterKillWhileStartingRestoresWhenUnhealthy(t *testing.T) {
	f := newFixture(t)
	name, id := killWhileStarting(t, f, ocitest.ImageOpts{Healthcheck: []string{"CMD", "/testapp", "health"},
		Env: []string{"TESTAPP_UNHEALTHY=1"}, Volumes: []string{"/anon"}, Marker: "v2"})
	if rec := recoverOnly(t, f, name); rec.Action != "restored" || !strings.Contains(rec.Detail, "unhealthy") {
		t.Fatalf("Recover = %+v, want %s restored from an unhealthy new container", rec, name)
	}
	c := dockertest.Inspect(t, f.cli, name)
	if c.ID != id || !c.State.Running {
		t.Errorf("%s is %s (running %v), want the old %s running", name, c.ID, c.State.Running, id)
	}
	assertNoStrays(t, f, name, id)
	if got := dockertest.Exec(t, f.cli, id, "/testapp", "cat", "/anon/f"); got != "v1data" {
		t.Errorf("/anon/f = %q after the restore, want v1data", got)
	}
}
