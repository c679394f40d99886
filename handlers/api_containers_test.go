package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

// GET /api/containers speaks Drydock's shape; /api/v1 is the same.
func TestDrydockContainersList(t *testing.T) {
	ta := newTestApp(t)
	status, body, _ := ta.do(t, "GET", "/api/containers", nil)
	if status != 200 {
		t.Fatalf("GET /api/containers = %d %s", status, body)
	}
	golden(t, "containers", body)
	if _, v1, _ := ta.do(t, "GET", "/api/v1/containers", nil); v1 != body {
		t.Errorf("/api/v1/containers differs from /api/containers:\n%s", v1)
	}
	var list []models.DrydockContainer
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	byName := map[string]models.DrydockContainer{}
	for _, c := range list {
		byName[c.Name] = c
	}
	n := byName["nginx"]
	if n.ID != nginxID || n.Watcher != models.LocalHost || n.Status != "running" || n.Image.Name != "library/nginx" ||
		n.Image.Registry.URL != "docker.io" || n.Image.Tag.Value != "latest" || n.Image.Tag.Semver || !n.Image.Digest.Watch ||
		n.Image.Digest.Repo != dOld || n.Result == nil || n.Result.Digest != dNew || !n.UpdateAvailable {
		t.Errorf("nginx = %+v", n)
	}
	if a := byName["app"]; a.Image.Tag.Value != "1.2" || !a.Image.Tag.Semver || a.UpdateAvailable || a.CheckStatus != models.StatusUpToDate {
		t.Errorf("app = %+v", a)
	}
}

func TestDrydockContainerGetAndErrors(t *testing.T) {
	ta := newTestApp(t)
	for _, id := range []string{nginxID, nginxID[:12], "nginx", "local%2Fnginx"} {
		status, body, _ := ta.do(t, "GET", "/api/containers/"+id, nil)
		if status != 200 || !strings.Contains(body, `"id":"`+nginxID+`"`) {
			t.Errorf("GET /api/containers/%s = %d %s", id, status, body)
		}
	}
	if status, body, _ := ta.do(t, "GET", "/api/containers/nope", nil); status != 404 || body != "container not found\n" {
		t.Errorf("unknown = %d %q", status, body)
	}
}

// skip-current holds the digest found now; a snooze holds any; clear lets
// it be offered again. /api/images keeps the check's plain status.
func TestDrydockUpdatePolicy(t *testing.T) {
	ta := newTestApp(t)
	patch := func(body string) (int, string) {
		t.Helper()
		st, b, _ := ta.doJSON(t, "PATCH", "/api/containers/nginx/update-policy", body)
		return st, b
	}
	st, body := patch(`{"action":"skip-current"}`)
	var c models.DrydockContainer
	if err := json.Unmarshal([]byte(body), &c); st != 200 || err != nil || c.UpdateAvailable || len(c.UpdatePolicy.SkipDigests) != 1 || c.UpdatePolicy.SkipDigests[0] != dNew {
		t.Fatalf("skip-current = %d %s", st, body)
	}
	if _, images, _ := ta.do(t, "GET", "/api/images", nil); !strings.Contains(images, `"container_name":"nginx","local_digest":"sha256:1111111111","status":"outdated"`) {
		t.Errorf("/api/images after a skip: %s", images)
	}
	if st, body := patch(`{"action":"clear"}`); st != 200 || !strings.Contains(body, `"updateAvailable":true`) {
		t.Errorf("clear = %d %s", st, body)
	}
	if st, body := patch(`{"action":"snooze","days":7}`); st != 200 || !strings.Contains(body, `"snoozeUntil":"`) || !strings.Contains(body, `"updateAvailable":false`) {
		t.Errorf("snooze = %d %s", st, body)
	}
	if st, body := patch(`{"action":"unsnooze"}`); st != 200 || !strings.Contains(body, `"updateAvailable":true`) {
		t.Errorf("unsnooze = %d %s", st, body)
	}
	if st, body := patch(`{"action":"sleep"}`); st != 400 || body != "unknown policy action\n" {
		t.Errorf("unknown action = %d %q", st, body)
	}
	if st, body := patch(`{"action":"snooze"}`); st != 400 || !strings.HasPrefix(body, "snooze wants days") {
		t.Errorf("snooze without days = %d %q", st, body)
	}
	if st, _, _ := ta.doJSON(t, "PATCH", "/api/containers/app/update-policy", `{"action":"skip-current"}`); st != 400 {
		t.Errorf("skip-current of an up-to-date container = %d, want 400 no update available", st)
	}
}

func TestDrydockWatchOneSendsOneHead(t *testing.T) {
	ta := newTestApp(t)
	before := ta.reg.HeadCount("docker.io/library/nginx:latest")
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/watch", nil); st != 200 || !strings.Contains(body, `"name":"nginx"`) {
		t.Fatalf("watch = %d %s", st, body)
	}
	if got := ta.reg.HeadCount("docker.io/library/nginx:latest") - before; got != 1 {
		t.Errorf("watch of one container sent %d HEADs, want 1", got)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/watch", nil); st != 200 || !strings.HasPrefix(body, "[") {
		t.Errorf("watch all = %d %s", st, body)
	}
}

func (ta testApp) doJSON(t *testing.T, method, target, body string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Stop, start and restart answer the item as it is afterwards; a stopped
// container stays in the list, and leaves /api/images.
func TestDrydockLifecycle(t *testing.T) {
	ta := newTestApp(t)
	st, body, _ := ta.do(t, "POST", "/api/containers/nginx/stop", nil)
	if st != 200 || !strings.Contains(body, `"status":"exited"`) {
		t.Fatalf("stop = %d %s", st, body)
	}
	if _, list, _ := ta.do(t, "GET", "/api/containers", nil); !strings.Contains(list, `"name":"nginx"`) {
		t.Errorf("a stopped container left the list: %s", list)
	}
	if _, images, _ := ta.do(t, "GET", "/api/images", nil); strings.Contains(images, `"container_name":"nginx"`) {
		t.Errorf("/api/images lists a stopped container: %s", images)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/start", nil); st != 200 || !strings.Contains(body, `"status":"running"`) {
		t.Errorf("start = %d %s", st, body)
	}
	if st, body, _ := ta.do(t, "POST", "/api/v1/containers/nginx/restart", nil); st != 200 || !strings.Contains(body, `"id":"`+nginxID+`"`) {
		t.Errorf("restart = %d %s, want the same ID", st, body)
	}
}

func TestDrydockLogs(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.SetLogs("nginx", "one", "two", "three")
	st, body, _ := ta.do(t, "GET", "/api/containers/nginx/logs?tail=2&timestamps=false", nil)
	var got struct{ Logs string }
	if err := json.Unmarshal([]byte(body), &got); st != 200 || err != nil || got.Logs != "two\nthree\n" {
		t.Errorf("logs tail 2 = %d %s", st, body)
	}
	for _, q := range []string{"tail=0", "tail=10001", "tail=x", "since=-1", "timestamps=maybe"} {
		if st, body, _ := ta.do(t, "GET", "/api/containers/nginx/logs?"+q, nil); st != 400 || !strings.HasPrefix(body, "bad ") {
			t.Errorf("logs?%s = %d %q, want 400", q, st, body)
		}
	}
	if st, _, _ := ta.do(t, "GET", "/api/containers/nope/logs", nil); st != 404 {
		t.Errorf("logs of an unknown container = %d", st)
	}
}

func TestDrydockDelete(t *testing.T) {
	ta := newTestApp(t)
	if st, body, _ := ta.do(t, "DELETE", "/api/containers/app-2?volumes=maybe", nil); st != 400 {
		t.Errorf("delete with a bad volumes = %d %q", st, body)
	}
	if st, body, _ := ta.do(t, "DELETE", "/api/containers/app-2", nil); st != 204 || body != "" {
		t.Fatalf("delete = %d %q", st, body)
	}
	if st, _, _ := ta.do(t, "GET", "/api/containers/app-2", nil); st != 404 {
		t.Errorf("deleted container still found: %d", st)
	}
}

// The synchronous update answers once the recreate is done, with the new
// container; then there is nothing left to update.
func TestDrydockUpdateIsSynchronous(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	st, body, _ := ta.do(t, "POST", "/api/containers/nginx/update", nil)
	var c models.DrydockContainer
	if err := json.Unmarshal([]byte(body), &c); st != 200 || err != nil || c.ID == nginxID || c.Name != "nginx" || c.UpdateAvailable {
		t.Fatalf("update = %d %s; want the new container, up to date", st, body)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/update", nil); st != 400 || body != "no update available\n" {
		t.Errorf("second update = %d %q", st, body)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/app/update", nil); st != 400 || body != "no update available\n" {
		t.Errorf("update of an up-to-date container = %d %q", st, body)
	}
}

// A stopped container has a policy too: a snooze, a clear; with no check
// of it there is nothing to skip.
func TestDrydockPolicyOfAStoppedContainer(t *testing.T) {
	ta := newTestApp(t)
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/stop", nil); st != 200 {
		t.Fatalf("stop = %d %s", st, body)
	}
	if st, body, _ := ta.doJSON(t, "PATCH", "/api/containers/nginx/update-policy", `{"action":"skip-current"}`); st != 400 || body != "no update available\n" {
		t.Errorf("skip-current of a stopped container = %d %q, want 400 no update available", st, body)
	}
	st, body, _ := ta.doJSON(t, "PATCH", "/api/v1/containers/nginx/update-policy", `{"action":"snooze","days":1}`)
	if st != 200 || !strings.Contains(body, `"status":"exited"`) || !strings.Contains(body, `"snoozeUntil":"`) {
		t.Errorf("snooze of a stopped container = %d %s", st, body)
	}
	if st, body, _ := ta.doJSON(t, "PATCH", "/api/containers/nginx/update-policy", `{"action":"clear"}`); st != 200 || strings.Contains(body, "snoozeUntil") {
		t.Errorf("clear of a stopped container = %d %s", st, body)
	}
}

// While an update works on a container its logs still read; a rollback is
// 409 before any backup is looked up (the update may be taking it).
func TestDrydockWhileAnUpdateRuns(t *testing.T) {
	ta := newTestApp(t)
	held := heldAuth(make(chan struct{}))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	upd := services.NewUpdates(held, ta.deps.Containers, ta.deps.History, log, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	t.Cleanup(func() { close(held) }) // first: the update goes on and ends
	d := ta.deps
	d.Updates = upd
	ta.app = New(withCatalog(t, d, ta.db))
	ta.engine.SetLogs("nginx", "one")
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	if st, body, _ := ta.do(t, "POST", "/api/images/nginx/update", nil); st != 200 {
		t.Fatalf("update = %d %s", st, body)
	}
	if p, ok := upd.ProgressOf(local("nginx")); !ok || !p.Running() {
		t.Fatalf("progress after the update's start = %+v, %v; want running", p, ok)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/rollback", jsonBody(`{}`)); st != 409 || body != "container is being updated\n" {
		t.Errorf("rollback during the update = %d %q, want 409", st, body)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/stop", nil); st != 409 || body != "container is being updated\n" {
		t.Errorf("stop during the update = %d %q, want 409", st, body)
	}
	if st, body, _ := ta.do(t, "GET", "/api/containers/nginx/logs?timestamps=false", nil); st != 200 || body != `{"logs":"one\n"}` {
		t.Errorf("logs during the update = %d %s, want 200 and the log", st, body)
	}
}

// heldAuth holds every pull at its credentials until it is closed.
type heldAuth chan struct{}

func (h heldAuth) Auth(ctx context.Context, _ string) (models.RegistryAuth, error) {
	select {
	case <-h:
	case <-ctx.Done():
	}
	return models.RegistryAuth{}, nil
}
