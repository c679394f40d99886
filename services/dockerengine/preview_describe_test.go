package dockerengine

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"

	"refit/models"
)

// previewOf is what Preview answers for old, without an engine.
func previewOf(old container.InspectResponse, api string) models.Preview {
	in := specInput{old: old, oldImage: oldImage(), ref: old.Config.Image, api: api}
	return describe(&member{old: old, name: "web", spec: specFor(in)})
}

// The classification of the fixture specFor's own tests use: the user's
// settings are kept, what equals the image's comes from the new image.
func TestPreviewSplitsTheUsersFromTheImages(t *testing.T) {
	p := previewOf(merged(), "1.41")
	wantKeeps := models.PreviewKeeps{Name: "web", Env: []string{"APP_MODE", "TOKEN_FILE"},
		Labels: []string{"com.docker.compose.project", "mine"}, Config: []string{}, ExposedPorts: []string{"9090/tcp"},
		Ports: []models.PreviewPort{}, RestartPolicy: "no", NetworkMode: "none", Resources: []string{}, Host: []string{}}
	if diff := cmp.Diff(wantKeeps, p.Keeps); diff != "" {
		t.Errorf("keeps (-want +got):\n%s", diff)
	}
	wantFrom := models.PreviewFromImage{Env: []string{"PATH"}, Labels: []string{"maintainer", "org.opencontainers.image.version"},
		Config:       []string{"cmd", "entrypoint", "healthcheck", "shell", "stopSignal", "user", "workdir"},
		ExposedPorts: []string{"8080/tcp"}}
	if diff := cmp.Diff(wantFrom, p.FromImage); diff != "" {
		t.Errorf("fromImage (-want +got):\n%s", diff)
	}
}

func TestPreviewKeepsWhatTheUserSet(t *testing.T) {
	old := merged()
	old.Config.Hostname, old.Config.User, old.Config.WorkingDir = "web.internal", "1000", "/work"
	old.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: 5 * time.Second}
	old.HostConfig.PortBindings = nat.PortMap{"9090/tcp": {{HostIP: "127.0.0.1", HostPort: "19090"}}}
	old.HostConfig.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3}
	old.HostConfig.Resources = container.Resources{Memory: 64 << 20, NanoCPUs: 5e8, OomKillDisable: new(bool)}
	old.HostConfig.Privileged, old.HostConfig.CapAdd = true, []string{"NET_ADMIN"}

	p := previewOf(old, "1.41")
	if want := []string{"healthcheck.interval", "hostname", "user", "workdir"}; !cmp.Equal(p.Keeps.Config, want) {
		t.Errorf("keeps.config = %q, want %q", p.Keeps.Config, want)
	}
	// The engine merges a partial healthcheck with the new image's.
	if want := []string{"cmd", "entrypoint", "healthcheck.retries", "healthcheck.startInterval", "healthcheck.startPeriod",
		"healthcheck.test", "healthcheck.timeout", "shell", "stopSignal"}; !cmp.Equal(p.FromImage.Config, want) {
		t.Errorf("fromImage.config = %q, want %q", p.FromImage.Config, want)
	}
	if want := []models.PreviewPort{{Port: "9090/tcp", HostIP: "127.0.0.1", HostPort: "19090"}}; !cmp.Equal(p.Keeps.Ports, want) {
		t.Errorf("ports = %+v, want %+v", p.Keeps.Ports, want)
	}
	if p.Keeps.RestartPolicy != "on-failure:3" {
		t.Errorf("restart policy = %q, want on-failure:3", p.Keeps.RestartPolicy)
	}
	// OomKillDisable false is how inspect reports "not set".
	if want := []string{"memory", "nanoCPUs"}; !cmp.Equal(p.Keeps.Resources, want) {
		t.Errorf("resources = %q, want %q", p.Keeps.Resources, want)
	}
	if want := []string{"capAdd", "privileged"}; !cmp.Equal(p.Keeps.Host, want) {
		t.Errorf("host = %q, want %q", p.Keeps.Host, want)
	}
}

func TestPreviewEntrypointAndCmd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		entrypoint []string
		cmd        []string
		keeps      []string
		fromImage  []string // of entrypoint and cmd
	}{
		{"both from the image", []string{"/app"}, []string{"serve"}, nil, []string{"cmd", "entrypoint"}},
		{"user cmd", []string{"/app"}, []string{"migrate"}, []string{"cmd"}, []string{"entrypoint"}},
		{"user entrypoint and cmd", []string{"/bin/sh", "-c"}, []string{"serve"}, []string{"cmd", "entrypoint"}, nil},
		{"user entrypoint without cmd: no one's cmd", []string{"/other"}, nil, []string{"entrypoint"}, nil},
		{"entrypoint reset by the user", nil, []string{"/bin/run"}, []string{"cmd", "entrypoint"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := merged()
			old.Config.Entrypoint, old.Config.Cmd = tc.entrypoint, tc.cmd
			p := previewOf(old, "1.41")
			if got := only(p.Keeps.Config, "cmd", "entrypoint"); !cmp.Equal(got, tc.keeps) {
				t.Errorf("keeps %q, want %q", got, tc.keeps)
			}
			if got := only(p.FromImage.Config, "cmd", "entrypoint"); !cmp.Equal(got, tc.fromImage) {
				t.Errorf("fromImage %q, want %q", got, tc.fromImage)
			}
		})
	}
}

func only(l []string, of ...string) []string {
	var out []string
	for _, s := range l {
		for _, o := range of {
			if s == o {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestPreviewVolumes(t *testing.T) {
	old := merged()
	old.HostConfig.Binds = []string{"/srv/conf:/conf:ro", "dbdata:/var/lib/db", "/legacy-anon"}
	old.HostConfig.Mounts = []mount.Mount{{Type: mount.TypeVolume, Target: "/via-mount"}, {Type: mount.TypeVolume, Source: "named", Target: "/named"}}
	old.HostConfig.Tmpfs = map[string]string{"/run": "size=1m"}
	old.Mounts = []container.MountPoint{
		{Type: mount.TypeBind, Source: "/srv/conf", Destination: "/conf"},
		{Type: mount.TypeVolume, Name: "dbdata", Destination: "/var/lib/db", RW: true},
		{Type: mount.TypeVolume, Name: "named", Destination: "/named", RW: true},
		{Type: mount.TypeVolume, Name: "anon1", Destination: "/data", RW: true},
		{Type: mount.TypeVolume, Name: "anon2", Destination: "/legacy-anon", RW: false},
		{Type: mount.TypeVolume, Name: "anon3", Destination: "/via-mount", RW: true},
	}
	want := []models.PreviewVolume{
		{Type: "bind", Source: "/srv/conf", Destination: "/conf", ReadOnly: true},
		{Type: "volume", Name: "anon1", Destination: "/data", Anonymous: true},
		{Type: "volume", Name: "anon2", Destination: "/legacy-anon", ReadOnly: true, Anonymous: true},
		{Type: "volume", Name: "named", Destination: "/named"},
		{Type: "tmpfs", Destination: "/run"},
		{Type: "volume", Name: "dbdata", Destination: "/var/lib/db"},
		{Type: "volume", Name: "anon3", Destination: "/via-mount", Anonymous: true},
	}
	if diff := cmp.Diff(want, previewOf(old, "1.41").Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
}

// Before API 1.44 one network comes at create and the rest by connect; the
// preview lists them alike. The engine's short-ID alias and generated MACs
// are not carried over, so not listed.
func TestPreviewNetworks(t *testing.T) {
	want := []models.PreviewNetwork{
		{Name: "back", Aliases: []string{"api"}},
		{Name: "front", Aliases: []string{"web"}, IPv4Address: "10.123.1.5"},
	}
	for _, api := range []string{"1.41", "1.44"} {
		p := previewOf(networked(""), api)
		if diff := cmp.Diff(want, p.Networks); diff != "" {
			t.Errorf("API %s: networks (-want +got):\n%s", api, diff)
		}
		if p.Keeps.NetworkMode != "front" {
			t.Errorf("API %s: network mode %q, want front", api, p.Keeps.NetworkMode)
		}
	}
	p := previewOf(networked("02:42:0a:7b:01:99"), "1.44")
	if p.Networks[1].MacAddress != "02:42:0a:7b:01:99" || !cmp.Equal(only(p.Keeps.Config, "macAddress"), []string{"macAddress"}) {
		t.Errorf("user MAC: networks %+v, keeps.config %q; want it on front and kept", p.Networks, p.Keeps.Config)
	}
}
