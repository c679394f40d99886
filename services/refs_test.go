package services

import (
	"slices"
	"testing"

	"refit/models"
)

func TestParseImageRef(t *testing.T) {
	tests := []struct {
		in                  string
		group, remote, repo string
		pinned              string
		wantErr             bool
	}{
		{in: "nginx", group: "nginx:latest", remote: "docker.io/library/nginx:latest", repo: "docker.io/library/nginx"},
		{in: "nginx:latest", group: "nginx:latest", remote: "docker.io/library/nginx:latest", repo: "docker.io/library/nginx"},
		{in: "docker.io/library/nginx", group: "nginx:latest", remote: "docker.io/library/nginx:latest", repo: "docker.io/library/nginx"},
		{in: "docker.io/nginx:1.27", group: "nginx:1.27", remote: "docker.io/library/nginx:1.27", repo: "docker.io/library/nginx"},
		{in: "index.docker.io/library/nginx", group: "nginx:latest", remote: "docker.io/library/nginx:latest", repo: "docker.io/library/nginx"},
		{in: "grafana/grafana", group: "grafana/grafana:latest", remote: "docker.io/grafana/grafana:latest", repo: "docker.io/grafana/grafana"},
		{in: "ghcr.io/org/app", group: "ghcr.io/org/app:latest", remote: "ghcr.io/org/app:latest", repo: "ghcr.io/org/app"},
		{in: "ghcr.io/org/team/app:1.2.3", group: "ghcr.io/org/team/app:1.2.3", remote: "ghcr.io/org/team/app:1.2.3", repo: "ghcr.io/org/team/app"},
		{in: "localhost:5000/x:1", group: "localhost:5000/x:1", remote: "localhost:5000/x:1", repo: "localhost:5000/x"},
		{in: "127.0.0.1:5000/a/b", group: "127.0.0.1:5000/a/b:latest", remote: "127.0.0.1:5000/a/b:latest", repo: "127.0.0.1:5000/a/b"},
		{in: "registry.example.com:8443/team/app:v2", group: "registry.example.com:8443/team/app:v2", remote: "registry.example.com:8443/team/app:v2", repo: "registry.example.com:8443/team/app"},
		{in: "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			group:  "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			remote: "docker.io/library/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			repo:   "docker.io/library/nginx", pinned: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{in: "nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			group:  "nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			remote: "docker.io/library/nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			repo:   "docker.io/library/nginx", pinned: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{in: "", wantErr: true},
		{in: "NGINX", wantErr: true},
		{in: "nginx:", wantErr: true},
		{in: "a b", wantErr: true},
		{in: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseImageRef(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseImageRef(%q) = %+v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseImageRef(%q): %v", tc.in, err)
			}
			want := imageRef{Group: tc.group, Remote: tc.remote, Repo: tc.repo, Pinned: tc.pinned}
			if got != want {
				t.Errorf("parseImageRef(%q) = %+v, want %+v", tc.in, got, want)
			}
		})
	}
}

func TestIsImageID(t *testing.T) {
	const img = "sha256:3f5a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
	tests := []struct {
		configured string
		want       bool
	}{
		{"sha256:3f5a2b1c4d5e", true},
		{"3f5a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8", true},
		{"3f5a2b1c4d5e", true},  // a prefix of the image it runs
		{"abcdefabcdef", false}, // hex, but another image: a repository name
		{"nginx", false},
		{"localhost:5000/x:1", false},
	}
	for _, tc := range tests {
		if got := isImageID(tc.configured, img); got != tc.want {
			t.Errorf("isImageID(%q) = %v, want %v", tc.configured, got, tc.want)
		}
	}
}

func TestContainerStatus(t *testing.T) {
	const (
		a = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		b = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		c = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" // a graph driver's config digest
	)
	nginx, _ := parseImageRef("docker.io/library/nginx:latest")
	pinned, _ := parseImageRef("nginx@" + a)
	app, _ := parseImageRef("127.0.0.1:5000/team/app:1")
	// Graph drivers (20.10): the image ID is the config digest; RepoDigests come from pulls.
	graph := func(repoDigests ...string) models.Container {
		return models.Container{ImageID: c, RepoDigests: repoDigests}
	}
	// The containerd store (29): the image ID is the manifest or index digest;
	// RepoDigests name the current tags; the origin is known from API 1.53.
	ctrd := func(id string, repoDigests []string, pulledFrom ...string) models.Container {
		return models.Container{ImageID: id, RepoDigests: repoDigests, ContainerdStore: true,
			OriginKnown: true, PulledFrom: pulledFrom}
	}
	ctrdNoOrigin := func(id string, repoDigests ...string) models.Container {
		return models.Container{ImageID: id, RepoDigests: repoDigests, ContainerdStore: true}
	}
	tests := []struct {
		name      string
		ref       imageRef
		remote    string
		c         models.Container
		want      models.Status
		wantLocal string
	}{
		{"same digest, familiar name", nginx, a, graph("nginx@" + a), models.StatusUpToDate, a},
		{"same digest, full name", nginx, a, graph("docker.io/library/nginx@" + a), models.StatusUpToDate, a},
		{"newer remote", nginx, b, graph("nginx@" + a), models.StatusOutdated, a},
		{"one of several digests matches", nginx, b, graph("nginx@"+a, "nginx@"+b), models.StatusUpToDate, b},
		{"digest of another repository only", nginx, a, graph("mirror.example/nginx@" + a), models.StatusUnknown, ""},
		{"locally built", nginx, a, graph(), models.StatusUnknown, ""},
		{"registry unknown", nginx, "", graph("nginx@" + a), models.StatusUnknown, a},
		{"pinned and present", pinned, a, graph("nginx@" + a), models.StatusUpToDate, a},
		{"pinned never outdated", pinned, a, graph("nginx@" + b), models.StatusUnknown, b},

		{"containerd: runs what the tag names", nginx, a, ctrd(a, []string{"nginx@" + a}, "docker.io/library/nginx"),
			models.StatusUpToDate, a},
		{"containerd: multi-arch, the image ID is the index digest", app, a,
			ctrd(a, []string{"127.0.0.1:5000/team/app@" + a}, "127.0.0.1/team/app"), models.StatusUpToDate, a},
		// The tag moved to a newer pull: the old image lost its RepoDigest for the repository.
		{"containerd: tag moved on", nginx, b, ctrd(a, nil, "docker.io/library/nginx"), models.StatusOutdated, a},
		{"containerd: tag moved, remote still the old one", nginx, a, ctrd(a, nil, "docker.io/library/nginx"),
			models.StatusUpToDate, a},
		// Several repositories name one image: the list showed one RepoDigest, the ID decides anyway.
		{"containerd: pushed under several names", app, a,
			ctrd(a, []string{"127.0.0.1:5000/other/x@" + a}, "127.0.0.1/team/app", "127.0.0.1/other/x"), models.StatusUpToDate, a},
		{"containerd: loaded image has a RepoDigest", nginx, a, ctrd(b, []string{"nginx@" + b}), models.StatusUnknown, ""},
		{"containerd: pulled under another name and tagged", nginx, a,
			ctrd(a, []string{"nginx@" + a, "ghcr.io/org/nginx@" + a}, "ghcr.io/org/nginx"), models.StatusUnknown, ""},
		{"containerd: registry unknown", nginx, "", ctrd(a, []string{"nginx@" + a}, "docker.io/library/nginx"),
			models.StatusUnknown, a},
		{"containerd: pinned never outdated", pinned, a, ctrd(b, []string{"nginx@" + b}, "docker.io/library/nginx"),
			models.StatusUnknown, b},
		// Before API 1.53 the origin is unknown unless docker load marked the image: the HEAD decides.
		{"containerd without origin: up to date", nginx, a, ctrdNoOrigin(a, "nginx@"+a), models.StatusUpToDate, a},
		{"containerd without origin: tag moved on", nginx, b, ctrdNoOrigin(a), models.StatusOutdated, a},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, local := containerStatus(tc.ref, tc.remote, tc.c)
			if got != tc.want || local != tc.wantLocal {
				t.Errorf("containerStatus() = %s, %q; want %s, %q", got, local, tc.want, tc.wantLocal)
			}
		})
	}
}

func TestPulledFrom(t *testing.T) {
	tests := []struct {
		repos []string
		repo  string
		want  bool
	}{
		{[]string{"docker.io/library/nginx"}, "docker.io/library/nginx", true},
		{[]string{"nginx"}, "docker.io/library/nginx", true},
		{[]string{"127.0.0.1/team/app"}, "127.0.0.1:5000/team/app", true}, // containerd drops the port
		{[]string{"127.0.0.1:5000/team/app"}, "127.0.0.1:5000/team/app", true},
		{[]string{"localhost/app"}, "localhost:5000/app", true},
		{[]string{"ghcr.io/org/app"}, "docker.io/library/app", false},
		{[]string{"127.0.0.1/team/other"}, "127.0.0.1:5000/team/app", false},
		{nil, "docker.io/library/nginx", false},
	}
	for _, tc := range tests {
		if got := pulledFrom(tc.repos, tc.repo); got != tc.want {
			t.Errorf("pulledFrom(%q, %q) = %v, want %v", tc.repos, tc.repo, got, tc.want)
		}
	}
}

// A local image costs no registry request: a HEAD would ask Docker Hub about
// a name that may exist only here.
func TestUniqueRemotesSkipsLocalImages(t *testing.T) {
	const a = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	cs := []models.Container{
		{ConfiguredImage: "nginx", ImageID: a, RepoDigests: []string{"nginx@" + a}},
		{ConfiguredImage: "nginx:latest", ImageID: a, RepoDigests: []string{"nginx@" + a}}, // same image, asked once
		{ConfiguredImage: "myapp:dev", ImageID: a},                                         // built here (20.10)
		{ConfiguredImage: "loaded:1", ImageID: a, RepoDigests: []string{"loaded@" + a}, ContainerdStore: true,
			OriginKnown: true}, // loaded (29)
		{ConfiguredImage: "ghcr.io/org/app:1", ImageID: a, RepoDigests: []string{"ghcr.io/org/app@" + a},
			ContainerdStore: true, OriginKnown: true, PulledFrom: []string{"ghcr.io/org/app"}},
		{ConfiguredImage: "ghcr.io/org/old:1", ImageID: a, ContainerdStore: true}, // tag moved, origin unknown: asked
		{ConfiguredImage: "sha256:" + a[7:19], ImageID: a},                        // an image ID: nothing to follow
		// One container of a group on a pulled version is enough to ask.
		{ConfiguredImage: "grafana/grafana", ImageID: a},
		{ConfiguredImage: "grafana/grafana", ImageID: a, RepoDigests: []string{"grafana/grafana@" + a}},
	}
	got := uniqueRemotes(cs)
	want := []string{"docker.io/grafana/grafana:latest", "docker.io/library/nginx:latest", "ghcr.io/org/app:1", "ghcr.io/org/old:1"}
	if !slices.Equal(got, want) {
		t.Errorf("uniqueRemotes() = %q, want %q", got, want)
	}
}

func TestGroupReason(t *testing.T) {
	local := models.ContainerItem{Status: models.StatusUnknown}
	pulled := models.ContainerItem{Status: models.StatusUnknown, LocalFull: "sha256:a"}
	tests := []struct {
		name   string
		reason string
		st     models.Status
		items  []models.ContainerItem
		want   string
	}{
		{"all local, not asked", "not checked yet", models.StatusUnknown, []models.ContainerItem{local, local}, reasonLocal},
		{"registry trouble stays", "registry rate limit reached", models.StatusUnknown, []models.ContainerItem{pulled}, "registry rate limit reached"},
		{"one local among pulled", "", models.StatusPartial, []models.ContainerItem{local, pulled}, ""},
		{"answered, nothing to compare", "", models.StatusUnknown, []models.ContainerItem{pulled},
			"no registry digest for the local image (built or loaded locally)"},
	}
	for _, tc := range tests {
		if got := groupReason(tc.reason, tc.st, tc.items); got != tc.want {
			t.Errorf("%s: groupReason() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestGroupStatus(t *testing.T) {
	item := func(s models.Status) models.ContainerItem { return models.ContainerItem{Status: s} }
	up, out, unk := models.StatusUpToDate, models.StatusOutdated, models.StatusUnknown
	tests := []struct {
		name   string
		remote string
		items  []models.ContainerItem
		want   models.Status
	}{
		{"remote unknown", "", []models.ContainerItem{item(up)}, unk},
		{"all up to date", "sha256:x", []models.ContainerItem{item(up), item(up)}, up},
		{"all outdated", "sha256:x", []models.ContainerItem{item(out), item(out)}, out},
		{"mixed", "sha256:x", []models.ContainerItem{item(up), item(out)}, models.StatusPartial},
		{"up and unknown", "sha256:x", []models.ContainerItem{item(up), item(unk)}, models.StatusPartial},
		{"all unknown", "sha256:x", []models.ContainerItem{item(unk)}, unk},
	}
	for _, tc := range tests {
		if got := groupStatus(tc.remote, tc.items); got != tc.want {
			t.Errorf("%s: groupStatus() = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestShortDigest(t *testing.T) {
	tests := map[string]string{
		"": "unknown",
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": "sha256:0123456789",
		"sha256:01": "sha256:01",
	}
	for in, want := range tests {
		if got := models.ShortDigest(in); got != want {
			t.Errorf("ShortDigest(%q) = %q, want %q", in, got, want)
		}
	}
}
