package handlers

import (
	"strings"
	"testing"

	"refit/services/fake"
)

// The preview is a dry run in Drydock's place: the snapshot's digests, the
// engine's plan, no registry request and no values of the environment.
func TestDrydockPreview(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.SetImageConfig("sha256:img-old", fake.ImageConfig{Env: []string{"NGINX_VERSION=1.27"}, Labels: map[string]string{"maintainer": "nginx"}})
	ta.engine.SetContainerConfig("nginx", fake.ContainerConfig{Env: []string{"DB_PASSWORD=hunter2"},
		Labels: map[string]string{"com.example.owner": "ops"}, Volumes: map[string]string{"html": "/usr/share/nginx/html"}})
	heads := ta.reg.HeadCount("docker.io/library/nginx:latest")

	st, body, _ := ta.do(t, "POST", "/api/containers/nginx/preview", nil)
	if st != 200 {
		t.Fatalf("POST /api/containers/nginx/preview = %d %s", st, body)
	}
	golden(t, "container_preview", body)
	if strings.Contains(body, "hunter2") {
		t.Errorf("the preview shows an environment value: %s", body)
	}
	if _, v1, _ := ta.do(t, "POST", "/api/v1/containers/nginx/preview", nil); v1 != body {
		t.Errorf("/api/v1 differs from /api:\n%s", v1)
	}
	if n := ta.reg.HeadCount("docker.io/library/nginx:latest"); n != heads {
		t.Errorf("the preview asked the registry %d times, want none", n-heads)
	}
	if n := ta.engine.PullCount("nginx"); n != 0 {
		t.Errorf("the preview pulled %d times, want none", n)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nope/preview", nil); st != 404 || body != "container not found\n" {
		t.Errorf("preview of an unknown container = %d %q, want 404", st, body)
	}
}
