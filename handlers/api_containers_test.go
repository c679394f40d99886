package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"refit/models"
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
