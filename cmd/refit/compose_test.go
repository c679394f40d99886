package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// composeBinary is Debian's docker-compose (1.29, the Python one that
// compose files of Watchtower's era were written for); .ci/run installs it.
func composeBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose is not installed (apt-get install docker-compose)")
		}
		t.Skip("docker-compose is not installed (apt-get install docker-compose)")
	}
	return path
}

// Watchtower's own compose file (testdata/watchtower/http-api-mode.yml,
// from its documentation), started by docker-compose with refit's image in
// place of containrrr/watchtower, ends as it does with Watchtower: the API
// refuses a request without the token; with it, GET /v1/update answers 200
// once the labelled app runs its new image under the same name, still
// compose's own, while refit, labelled enable=false, is left alone. What
// else changes is this machine's, not the user's: the registry is a
// loopback one, the engine a private one with no bridge network (so host
// networking in place of the ports), and refit gets a free port.
func TestComposeFileFromWatchtowerDocs(t *testing.T) {
	compose := composeBinary(t)
	dockertest.Host(t) // the gate: real-engine tests are on
	bi := buildImage(t)
	eng, cli := newPrivateEngine(t)
	refitRef := loadBuiltImage(t, cli, bi)

	reg := ocitest.NewRegistry(t)
	appRef := reg.Ref("myapps/monitored-by-watchtower:latest")
	reg.Push(t, "myapps/monitored-by-watchtower:latest", ocitest.ImageOpts{Marker: "v1"})

	doc, err := os.ReadFile(filepath.Join("testdata", "watchtower", "http-api-mode.yml"))
	if err != nil {
		t.Fatal(err)
	}
	port, wtPort := freePort(t), freePort(t)
	file := string(doc)
	for _, r := range []struct{ from, to string }{
		// The one change a user makes.
		{"image: containrrr/watchtower", "image: " + refitRef},
		// This machine's.
		{"image: myapps/monitored-by-watchtower", "image: " + appRef + "\n    network_mode: none"},
		{"- /var/run/docker.sock:", "- " + strings.TrimPrefix(eng.host, "unix://") + ":"},
		{"      - WATCHTOWER_HTTP_API_TOKEN=mytoken", "      - WATCHTOWER_HTTP_API_TOKEN=mytoken\n      - REFIT_ADDR=127.0.0.1:" + port +
			"\n      - REFIT_WATCHTOWER_API_ADDR=127.0.0.1:" + wtPort + // Watchtower's :8080, free here
			"\n      - WATCHTOWER_HTTP_API_METRICS=true"}, // not in the docs' file: the metrics are checked too
		{"    ports:\n      - 8080:8080", "    network_mode: host"},
	} {
		if !strings.Contains(file, r.from) {
			t.Fatalf("the compose file has no %q", r.from)
		}
		file = strings.Replace(file, r.from, r.to, 1)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	project := "wt" + strings.ToLower(strings.ReplaceAll(dockertest.UniqueName(t, "c"), "-", ""))
	dc := func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, compose, append([]string{"-f", path, "-p", project}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+eng.host)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if t.Failed() {
			out, _ := dc(ctx, "logs", "--no-color", "--tail", "40", "watchtower")
			t.Logf("refit's log:\n%s", out)
		}
		if out, err := dc(ctx, "down", "-v", "--remove-orphans"); err != nil {
			t.Logf("docker-compose down: %v\n%s", err, out)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if out, err := dc(ctx, "up", "-d"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	app := composeContainer(t, cli, project, "app-monitored-by-watchtower")
	self := composeContainer(t, cli, project, "watchtower")

	base := "http://127.0.0.1:" + port
	// No redirects: a 303 to /login is not the API's answer.
	hc := &http.Client{Timeout: 2 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	waitHealthy(t, hc, base)
	v2 := reg.Push(t, "myapps/monitored-by-watchtower:latest", ocitest.ImageOpts{Marker: "v2"})

	// Scripts call Watchtower's own port; refit's serves the API too.
	wtBase := "http://127.0.0.1:" + wtPort
	update := func(token string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, wtBase+"/v1/update", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tok := range []string{"", "not-the-token"} {
		if code := update(tok); code != http.StatusUnauthorized {
			t.Errorf("GET /v1/update with token %q = %d, want 401", tok, code)
		}
	}
	if resp, err := hc.Post(base+"/v1/update", "", nil); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /v1/update on refit's own port without the token = %v, %v; want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := hc.Get(wtBase + "/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / on Watchtower's port = %v, %v; want 404: the UI is on refit's port only", resp, err)
	} else {
		resp.Body.Close()
	}
	if now := composeContainer(t, cli, project, "app-monitored-by-watchtower"); now.ID != app.ID {
		t.Fatal("the app was updated without the token")
	}
	began := time.Now()
	if code := update("mytoken"); code != http.StatusOK {
		t.Fatalf("GET /v1/update with the token = %d, want 200", code)
	}
	t.Logf("GET /v1/update answered 200 after %s", time.Since(began).Round(100*time.Millisecond))

	// Answered once it was done: the app runs the new image already.
	now := composeContainer(t, cli, project, "app-monitored-by-watchtower")
	if now.ID == app.ID || now.State != "running" || now.Names[0] != app.Names[0] {
		t.Fatalf("after /v1/update the app is %s %s %v, want a new container running as %v", now.ID[:12], now.State, now.Names, app.Names)
	}
	img, err := cli.ImageInspect(ctx, now.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(img.RepoDigests, " "), v2) {
		t.Errorf("the app runs %v, want %s", img.RepoDigests, v2)
	}
	if now.Labels["com.centurylinklabs.watchtower.enable"] != "true" || now.Labels["com.docker.compose.project"] != project {
		t.Errorf("the app's labels after the update = %v", now.Labels)
	}
	if out, err := dc(ctx, "ps", "-q", "app-monitored-by-watchtower"); err != nil || !strings.HasPrefix(strings.TrimSpace(out), now.ID[:12]) {
		t.Errorf("docker-compose ps -q = %q (%v), want the new container %s", out, err, now.ID[:12])
	}
	if again := composeContainer(t, cli, project, "watchtower"); again.ID != self.ID {
		t.Error("refit, labelled enable=false, was recreated")
	}

	// The scan /v1/update made, under Watchtower's metric names.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, wtBase+"/v1/metrics", nil)
	req.Header.Set("Authorization", "Bearer mytoken")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"watchtower_containers_scanned 2", "watchtower_containers_updated 1", "watchtower_containers_failed 0"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want+"\n") {
			t.Errorf("/v1/metrics = %d, lacks %q:\n%s", resp.StatusCode, want, b)
		}
	}
	if !strings.Contains(string(b), "watchtower_scans_total ") || strings.Contains(string(b), "refit_") {
		t.Errorf("/v1/metrics has no watchtower_scans_total, or refit's own metrics:\n%s", b)
	}
}

// composeContainer is the one container of service in project.
func composeContainer(t *testing.T, cli *client.Client, project, service string) container.Summary {
	t.Helper()
	cs, err := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.compose.project="+project), filters.Arg("label", "com.docker.compose.service="+service))})
	if err != nil || len(cs) != 1 {
		t.Fatalf("containers of %s/%s: %d, %v", project, service, len(cs), err)
	}
	return cs[0]
}
