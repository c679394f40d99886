package dockerengine

import (
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const oldID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func oldImage() *dockerspec.DockerOCIImageConfig {
	return &dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{
			Env:          []string{"PATH=/usr/bin", "APP_MODE=prod"},
			Entrypoint:   []string{"/app"},
			Cmd:          []string{"serve"},
			Labels:       map[string]string{"org.opencontainers.image.version": "1", "maintainer": "x"},
			User:         "app",
			WorkingDir:   "/srv",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Volumes:      map[string]struct{}{"/data": {}},
			StopSignal:   "SIGQUIT",
		},
		DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{
			Healthcheck: &dockerspec.HealthcheckConfig{Test: []string{"CMD", "/app", "health"}, Interval: 30 * time.Second},
		},
	}
}

// merged is a container as the engine reports it: the image's defaults
// merged with what the user set.
func merged() container.InspectResponse {
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:         oldID,
			Name:       "/web",
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		},
		Config: &container.Config{
			Hostname:     oldID[:12],
			Env:          []string{"PATH=/usr/bin", "APP_MODE=dev", "TOKEN_FILE=/run/secrets/t"},
			Entrypoint:   []string{"/app"},
			Cmd:          []string{"serve"},
			Labels:       map[string]string{"org.opencontainers.image.version": "1", "maintainer": "x", "com.docker.compose.project": "site", "mine": "y"},
			User:         "app",
			WorkingDir:   "/srv",
			ExposedPorts: nat.PortSet{"8080/tcp": {}, "9090/tcp": {}},
			Volumes:      map[string]struct{}{"/data": {}, "/cache": {}},
			StopSignal:   "SIGQUIT",
			Healthcheck:  &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: 30 * time.Second},
			Image:        "app:1",
		},
		NetworkSettings: &container.NetworkSettings{},
	}
}

func TestSpecDropsWhatTheImageSupplied(t *testing.T) {
	s := specFor(specInput{old: merged(), oldImage: oldImage(), ref: "app:2", api: "1.41"})
	want := &container.Config{
		Env:          []string{"APP_MODE=dev", "TOKEN_FILE=/run/secrets/t"},
		Labels:       map[string]string{"com.docker.compose.project": "site", "mine": "y"},
		ExposedPorts: nat.PortSet{"9090/tcp": {}},
		Volumes:      map[string]struct{}{"/cache": {}},
		Image:        "app:2",
	}
	if diff := cmp.Diff(want, s.config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestSpecKeepsWhatTheUserSet(t *testing.T) {
	old := merged()
	old.Config.Hostname = "web.internal"
	old.Config.Domainname = "example.test"
	old.Config.User = "1000:1000"
	old.Config.WorkingDir = "/work"
	old.Config.StopSignal = "SIGTERM"
	old.Config.StopTimeout = new(int)
	*old.Config.StopTimeout = 30
	old.Config.Tty, old.Config.OpenStdin = true, true
	old.Config.Labels["maintainer"] = "me" // same key, the user's value
	old.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: 5 * time.Second}

	s := specFor(specInput{old: old, oldImage: oldImage(), ref: "app:2", api: "1.41"})
	c := s.config
	if c.Hostname != "web.internal" || c.Domainname != "example.test" || c.User != "1000:1000" || c.WorkingDir != "/work" ||
		c.StopSignal != "SIGTERM" || c.StopTimeout == nil || *c.StopTimeout != 30 || !c.Tty || !c.OpenStdin {
		t.Errorf("config lost user settings: %+v", c)
	}
	if c.Labels["maintainer"] != "me" {
		t.Errorf("label maintainer = %q, want the user's me", c.Labels["maintainer"])
	}
	// Only the interval was the user's; the test is inherited from the new image.
	if want := (&container.HealthConfig{Interval: 5 * time.Second}); !cmp.Equal(c.Healthcheck, want) {
		t.Errorf("healthcheck = %+v, want %+v", c.Healthcheck, want)
	}
}

func TestSpecEntrypointAndCmd(t *testing.T) {
	for _, tc := range []struct {
		name           string
		entrypoint     []string
		cmd            []string
		wantEntrypoint []string
		wantCmd        []string
	}{
		{"both from the image", []string{"/app"}, []string{"serve"}, nil, nil},
		{"user cmd", []string{"/app"}, []string{"migrate"}, nil, []string{"migrate"}},
		{"user entrypoint keeps cmd as set", []string{"/bin/sh", "-c"}, []string{"serve"}, []string{"/bin/sh", "-c"}, []string{"serve"}},
		{"user entrypoint without cmd", []string{"/other"}, nil, []string{"/other"}, nil},
		{"entrypoint reset by the user", nil, []string{"/bin/run"}, []string{""}, []string{"/bin/run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := merged()
			old.Config.Entrypoint, old.Config.Cmd = tc.entrypoint, tc.cmd
			c := specFor(specInput{old: old, oldImage: oldImage(), ref: "app:2", api: "1.41"}).config
			if !slices.Equal(c.Entrypoint, tc.wantEntrypoint) || !slices.Equal(c.Cmd, tc.wantCmd) {
				t.Errorf("entrypoint %q cmd %q, want %q %q", c.Entrypoint, c.Cmd, tc.wantEntrypoint, tc.wantCmd)
			}
		})
	}
}

func TestSpecMountsAnonymousVolumesByName(t *testing.T) {
	old := merged()
	old.HostConfig.Binds = []string{"/srv/conf:/conf:ro", "dbdata:/var/lib/db", "/legacy-anon"}
	old.HostConfig.Mounts = []mount.Mount{{Type: mount.TypeVolume, Target: "/via-mount"}}
	old.Mounts = []container.MountPoint{
		{Type: mount.TypeBind, Source: "/srv/conf", Destination: "/conf"},
		{Type: mount.TypeVolume, Name: "dbdata", Destination: "/var/lib/db", RW: true},
		{Type: mount.TypeVolume, Name: "anon1", Destination: "/data", RW: true},         // image VOLUME
		{Type: mount.TypeVolume, Name: "anon2", Destination: "/legacy-anon", RW: false}, // Binds without a source
		{Type: mount.TypeVolume, Name: "anon3", Destination: "/via-mount", RW: true},    // --mount without a source
	}
	hc := specFor(specInput{old: old, oldImage: oldImage(), ref: "app:2", api: "1.41"}).host
	if want := []string{"/srv/conf:/conf:ro", "dbdata:/var/lib/db"}; !slices.Equal(hc.Binds, want) {
		t.Errorf("Binds = %q, want %q", hc.Binds, want)
	}
	want := []mount.Mount{
		{Type: mount.TypeVolume, Source: "anon3", Target: "/via-mount"},
		{Type: mount.TypeVolume, Source: "anon1", Target: "/data"},
		{Type: mount.TypeVolume, Source: "anon2", Target: "/legacy-anon", ReadOnly: true},
	}
	if diff := cmp.Diff(want, hc.Mounts); diff != "" {
		t.Errorf("Mounts (-want +got):\n%s", diff)
	}
	if old.HostConfig.Mounts[0].Source != "" {
		t.Error("specFor changed the old HostConfig")
	}
}

func TestSpecHostnameByNetworkMode(t *testing.T) {
	for _, tc := range []struct {
		mode, hostname, want string
	}{
		{"none", oldID[:12], ""},
		{"none", "db", "db"},
		{"host", "buildhost", ""},
		{"host", "other", "other"},
		{"container:" + oldID, "ffffffffffff", ""},
	} {
		old := merged()
		old.HostConfig.NetworkMode = container.NetworkMode(tc.mode)
		old.Config.Hostname = tc.hostname
		s := specFor(specInput{old: old, oldImage: oldImage(), ref: "app:2", api: "1.41", daemonHostname: "buildhost"})
		if s.config.Hostname != tc.want {
			t.Errorf("mode %s, hostname %q: got %q, want %q", tc.mode, tc.hostname, s.config.Hostname, tc.want)
		}
		if s.net != nil || s.connect != nil {
			t.Errorf("mode %s: endpoints %+v %+v, want none", tc.mode, s.net, s.connect)
		}
	}
}

func networked(mac string) container.InspectResponse {
	old := merged()
	old.HostConfig.NetworkMode = "front"
	old.Config.MacAddress = mac //nolint:staticcheck // how engines before 1.44 report a user-set MAC
	old.NetworkSettings.Networks = map[string]*network.EndpointSettings{
		"front": {
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.123.1.5"},
			Aliases:    []string{"web", oldID[:12]},
			MacAddress: "02:42:0a:7b:01:05",
			NetworkID:  "n1", EndpointID: "e1", IPAddress: "10.123.1.5", Gateway: "10.123.1.1",
		},
		"back": {
			Aliases:    []string{oldID[:12], "api"},
			Links:      []string{"db:database"},
			MacAddress: "02:42:0a:7b:02:09",
			NetworkID:  "n2", IPAddress: "10.123.2.9",
		},
	}
	return old
}

func TestSpecNetworksBefore144(t *testing.T) {
	s := specFor(specInput{old: networked(""), oldImage: oldImage(), ref: "app:2", api: "1.41"})
	wantNet := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		"front": {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.123.1.5"}, Aliases: []string{"web"}},
	}}
	if diff := cmp.Diff(wantNet, s.net); diff != "" {
		t.Errorf("create endpoints (-want +got):\n%s", diff)
	}
	wantConnect := []endpoint{{network: "back", settings: &network.EndpointSettings{Aliases: []string{"api"}, Links: []string{"db:database"}}}}
	if diff := cmp.Diff(wantConnect, s.connect, cmp.AllowUnexported(endpoint{})); diff != "" {
		t.Errorf("connect (-want +got):\n%s", diff)
	}
	if s.config.MacAddress != "" { //nolint:staticcheck
		t.Errorf("an engine-generated MAC was pinned: %q", s.config.MacAddress) //nolint:staticcheck
	}

	s = specFor(specInput{old: networked("02:42:0a:7b:01:99"), oldImage: oldImage(), ref: "app:2", api: "1.41"})
	if s.config.MacAddress != "02:42:0a:7b:01:99" || s.net.EndpointsConfig["front"].MacAddress != "" { //nolint:staticcheck
		t.Errorf("user MAC: Config %q, endpoint %q; want it in Config before 1.44", s.config.MacAddress, s.net.EndpointsConfig["front"].MacAddress) //nolint:staticcheck
	}
}

func TestSpecNetworksFrom144(t *testing.T) {
	s := specFor(specInput{old: networked("02:42:0a:7b:01:99"), oldImage: oldImage(), ref: "app:2", api: "1.44"})
	if len(s.connect) != 0 || len(s.net.EndpointsConfig) != 2 {
		t.Fatalf("create endpoints %v, connect %v; want both networks at create", s.net.EndpointsConfig, s.connect)
	}
	if got := s.net.EndpointsConfig["front"].MacAddress; got != "02:42:0a:7b:01:99" {
		t.Errorf("primary endpoint MAC = %q, want the user's", got)
	}
	if got := s.net.EndpointsConfig["back"].MacAddress; got != "" {
		t.Errorf("secondary endpoint MAC = %q, want none pinned", got)
	}
	if s.config.MacAddress != "" { //nolint:staticcheck
		t.Errorf("Config.MacAddress = %q, want it only on the endpoint", s.config.MacAddress) //nolint:staticcheck
	}
}

func TestSpecNormalisesLegacyLinks(t *testing.T) {
	old := merged()
	old.HostConfig.Links = []string{"/db:/web/db", "/cache:/web/redis", "plain:alias"}
	hc := specFor(specInput{old: old, oldImage: oldImage(), ref: "app:2", api: "1.41"}).host
	if want := []string{"db:db", "cache:redis", "plain:alias"}; !slices.Equal(hc.Links, want) {
		t.Errorf("Links = %q, want %q", hc.Links, want)
	}
}
