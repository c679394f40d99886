package services

import (
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
	)
	nginx, _ := parseImageRef("docker.io/library/nginx:latest")
	pinned, _ := parseImageRef("nginx@" + a)
	tests := []struct {
		name      string
		ref       imageRef
		remote    string
		local     []string
		want      models.Status
		wantLocal string
	}{
		{"same digest, familiar name", nginx, a, []string{"nginx@" + a}, models.StatusUpToDate, a},
		{"same digest, full name", nginx, a, []string{"docker.io/library/nginx@" + a}, models.StatusUpToDate, a},
		{"newer remote", nginx, b, []string{"nginx@" + a}, models.StatusOutdated, a},
		{"one of several digests matches", nginx, b, []string{"nginx@" + a, "nginx@" + b}, models.StatusUpToDate, b},
		{"digest of another repository only", nginx, a, []string{"mirror.example/nginx@" + a}, models.StatusUnknown, ""},
		{"locally built", nginx, a, nil, models.StatusUnknown, ""},
		{"registry unknown", nginx, "", []string{"nginx@" + a}, models.StatusUnknown, a},
		{"pinned and present", pinned, a, []string{"nginx@" + a}, models.StatusUpToDate, a},
		{"pinned never outdated", pinned, a, []string{"nginx@" + b}, models.StatusUnknown, b},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, local := containerStatus(tc.ref, tc.remote, models.Container{RepoDigests: tc.local})
			if got != tc.want || local != tc.wantLocal {
				t.Errorf("containerStatus() = %s, %q; want %s, %q", got, local, tc.want, tc.wantLocal)
			}
		})
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
