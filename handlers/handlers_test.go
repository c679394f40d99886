package handlers

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/views"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	nginxID = "3d4c5b6a7f8e0123456789abcdef0123456789abcdef0123456789abcdef0123"
	appID   = "a1b2c3d4e5f60123456789abcdef0123456789abcdef0123456789abcdef0123"
	app2ID  = "b1b2c3d4e5f60123456789abcdef0123456789abcdef0123456789abcdef0123"
	dOld    = "sha256:1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dNew    = "sha256:2222222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// testApp is the real app over real services on the fakes and a real SQLite file.
type testApp struct {
	app    *fiber.App
	engine *fake.Engine
	reg    *fake.Registry
	deps   Deps
	db     *gorm.DB
}

func newTestApp(t *testing.T) testApp {
	t.Helper()
	eng := fake.NewEngine()
	reg := fake.NewRegistry()
	eng.AddImage("sha256:img-old", "nginx@"+dOld)
	eng.AddImage("sha256:img-app", "ghcr.io/org/app@"+dNew)
	eng.Run(nginxID, "nginx", "nginx", "sha256:img-old")
	eng.Run(appID, "app", "ghcr.io/org/app:1.2", "sha256:img-app")
	eng.Run(app2ID, "app-2", "ghcr.io/org/app:1.2", "sha256:img-old-app")
	reg.Set("docker.io/library/nginx:latest", dNew)
	reg.Set("ghcr.io/org/app:1.2", dNew)

	db, err := services.OpenDB(filepath.Join(t.TempDir(), "refit.db"))
	if err != nil {
		t.Fatal(err)
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctr := services.NewContainers(eng, reg, tog, log, 4)
	rules, err := services.NewTagRules(db)
	if err != nil {
		t.Fatal(err)
	}
	ctr.FollowTags(rules)
	hist := services.NewHistory(db)
	upd := services.NewUpdates(auth{}, ctr, hist, log, services.UpdateOptions{})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	aud := services.NewAudit(db, log, nil)
	// These tests speak the API contract with auth off; auth_test.go builds apps with it on.
	au, err := services.NewAuth(db, aud, log, services.AuthOptions{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	d := withCatalog(t, Deps{Log: log, Containers: ctr, Toggles: tog, Updates: upd, History: hist, Auth: au, Audit: aud,
		AllowedHosts: []string{"example.com"}}, db) // httptest.NewRequest's Host
	return testApp{app: New(d), engine: eng, reg: reg, deps: d, db: db}
}

// withCatalog gives d the update policies in db and Drydock's catalog.
func withCatalog(t *testing.T, d Deps, db *gorm.DB) Deps {
	t.Helper()
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	d.Policies, d.Catalog = pol, services.NewCatalog(d.Containers, pol, d.Toggles, d.Updates)
	d.Notifier = services.NewNotifier(db, &fake.Sender{}, d.Containers, d.Log, services.NotifyOptions{Policies: pol})
	return d
}

type auth struct{}

func (auth) Auth(context.Context, string) (models.RegistryAuth, error) {
	return models.RegistryAuth{}, nil
}

func (ta testApp) do(t *testing.T, method, target string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, append(pretty, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if strings.TrimSpace(string(want)) != string(pretty) {
		t.Errorf("%s differs from %s:\n%s", name, path, pretty)
	}
}

func TestAPIImagesMatchesGolden(t *testing.T) {
	ta := newTestApp(t)
	if err := ta.deps.Toggles.Set(local("nginx"), true); err != nil {
		t.Fatal(err)
	}
	status, body, h := ta.do(t, "GET", "/api/images", nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/images = %d %s", status, h.Get("Content-Type"))
	}
	golden(t, "images", body)
}

func TestAPIImagesEmptyIsArray(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.Remove(t.Context(), nginxID, false)
	ta.engine.Remove(t.Context(), appID, false)
	ta.engine.Remove(t.Context(), app2ID, false)
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := ta.do(t, "GET", "/api/images", nil); strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /api/images with no containers = %q, want []", body)
	}
}

// TestAPIErrorTable checks every row of the contract's error table, byte for byte.
func TestAPIErrorTable(t *testing.T) {
	ta := newTestApp(t)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/images/3d4c5b6a7f8e", 400, "bad path: /api/images/{id}/{action}\n"},
		{"GET", "/api/images/3d4c5b6a7f8e/progress/extra", 400, "bad path: /api/images/{id}/{action}\n"},
		{"GET", "/api/images//progress", 400, "bad path: /api/images/{id}/{action}\n"},
		{"POST", "/api/images/3d4c5b6a7f8e/", 400, "bad path: /api/images/{id}/{action}\n"},
		{"POST", "/api/images/3d4c5b6a7f8e/explode", 400, "unknown action\n"},
		{"GET", "/api/images/nope/progress", 404, "container not found\n"},
		{"POST", "/api/images/nope/update", 404, "container not found\n"},
		{"POST", "/api/images/nope/auto-update", 404, "container not found\n"},
		{"GET", "/api/images/3d4c5b6a7f8e/progress", 404, "no progress\n"},
		{"GET", "/api/images/nginx/progress", 404, "no progress\n"},
		{"GET", "/api/images/" + nginxID + "/progress", 404, "no progress\n"},
		{"GET", "/api/images/3d4c5b6a7f8e/update", 405, "method not allowed\n"},
		{"GET", "/api/images/3d4c5b6a7f8e/auto-update", 405, "method not allowed\n"},
		{"POST", "/api/images/3d4c5b6a7f8e/progress", 405, "method not allowed\n"},
		{"DELETE", "/api/images/3d4c5b6a7f8e/update", 405, "method not allowed\n"},
		{"POST", "/api/images", 405, "method not allowed\n"},
		{"DELETE", "/api/images", 405, "method not allowed\n"},
		{"GET", "/api/check", 405, "method not allowed\n"},
		{"GET", "/api/groups/nginx:latest/update", 405, "method not allowed\n"},
		{"POST", "/api/groups/nope:1/update", 404, "image not found\n"},
		{"POST", "/api/groups/ghcr.io%2Forg%2Fnope:1/update", 404, "image not found\n"},
		{"POST", "/health", 405, "method not allowed\n"},
		{"GET", "/api/nothing-here", 404, "not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, body, h := ta.do(t, tc.method, tc.path, nil)
			if status != tc.status || body != tc.body {
				t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, status, body, tc.status, tc.body)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", h.Get("Content-Type"))
			}
		})
	}
}

func TestHealthIsEmpty200(t *testing.T) {
	ta := newTestApp(t)
	status, body, _ := ta.do(t, "GET", "/health", nil)
	if status != 200 || body != "" {
		t.Errorf("GET /health = %d %q, want 200 and an empty body", status, body)
	}
}

func TestAutoUpdateTogglePersistsByName(t *testing.T) {
	ta := newTestApp(t)
	for i, want := range []string{`{"auto_update":true}`, `{"auto_update":false}`, `{"auto_update":true}`} {
		id := []string{"3d4c5b6a7f8e", "nginx", nginxID}[i] // short ID, name and full ID all work
		status, body, _ := ta.do(t, "POST", "/api/images/"+id+"/auto-update", nil)
		if status != 200 || body != want {
			t.Fatalf("toggle %d via %s = %d %s, want 200 %s", i, id, status, body, want)
		}
	}
	// Reopening the database (a restart) keeps it, keyed by name.
	tog2, err := services.NewToggles(ta.db)
	if err != nil {
		t.Fatal(err)
	}
	if !tog2.AutoUpdate(local("nginx")) {
		t.Error("toggle did not survive reopening the database")
	}
	_, body, _ := ta.do(t, "GET", "/api/images", nil)
	if !strings.Contains(body, `"container_name":"nginx","local_digest":"sha256:1111111111","status":"outdated","auto_update":true`) {
		t.Errorf("GET /api/images does not show the toggle: %s", body)
	}
}

func TestAPICheckAnswersLikeImages(t *testing.T) {
	ta := newTestApp(t)
	ta.reg.Set("docker.io/library/nginx:latest", dOld)
	status, body, _ := ta.do(t, "POST", "/api/check", nil)
	if status != 200 || !strings.Contains(body, `"image":"nginx:latest","remote_digest":"sha256:1111111111","status":"uptodate"`) {
		t.Errorf("POST /api/check = %d %s", status, body)
	}
	_, list, _ := ta.do(t, "GET", "/api/images", nil)
	if list != body {
		t.Errorf("GET /api/images after a check differs from the check's answer")
	}
}

func TestAPIRateLimit(t *testing.T) {
	ta := newTestApp(t)
	status, body, _ := ta.do(t, "GET", "/api/ratelimit", nil)
	if status != 200 || !strings.Contains(body, `"rate_limited":false`) {
		t.Errorf("GET /api/ratelimit = %d %s", status, body)
	}
}

func TestRowAnswerRefreshesItsGroupHeaderOutOfBand(t *testing.T) {
	ta := newTestApp(t)
	req := httptest.NewRequest("GET", views.RowPath(local("nginx")), nil)
	req.Header.Set("HX-Request", "true")
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	head := `id="` + views.GroupHeaderID(models.GroupKey("nginx:latest")) + `"`
	if resp.StatusCode != 200 || !strings.Contains(body, `id="`+views.RowID(local("nginx"))+`"`) ||
		!strings.Contains(body, "<template>") || !strings.Contains(body, head) || !strings.Contains(body, `hx-swap-oob="true"`) {
		t.Errorf("row answer = %d %s; want the row and its group header out of band", resp.StatusCode, body)
	}
}

// The ghcr.io group has nothing outdated (app is current, app-2 unknown), so
// its update says so; nginx's is outdated. Either answer shows the path was
// understood: an image it did not parse would be a 404.
func TestAPIGroupUpdateTakesTheImageAsShown(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/api/groups/ghcr.io/org/app:1.2/update", `{"status":"uptodate"}`},
		{"/api/groups/ghcr.io%2Forg%2Fapp:1.2/update", `{"status":"uptodate"}`},
		{"/api/groups/nginx:latest/update", `{"status":"updating"}`},
		{"/api/groups/docker.io%2Flibrary%2Fnginx/update", `{"status":"updating"}`},
	} {
		ta := newTestApp(t)
		status, body, _ := ta.do(t, "POST", tc.path, nil)
		if status != 200 || body != tc.want {
			t.Errorf("POST %s = %d %q, want 200 %s", tc.path, status, body, tc.want)
		}
	}
}

// A real update (the new image is published, so the pull succeeds and the
// container is replaced): a second request starts nothing, and the ID the
// client started with answers the progress through to done, which names
// the new container.
func TestAPIStartUpdateAnswersUpdatingTwiceAndTheOldIDFollowsTheJob(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	for i := 0; i < 2; i++ {
		status, body, _ := ta.do(t, "POST", "/api/images/3d4c5b6a7f8e/update", nil)
		if status != 200 || body != `{"status":"updating"}` {
			t.Fatalf("request %d = %d %q", i, status, body)
		}
	}
	var p models.Progress
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		status, body, _ := ta.do(t, "GET", "/api/images/3d4c5b6a7f8e/progress", nil)
		if status != 200 || !strings.Contains(body, `"layer":`) || !strings.Contains(body, `"percent":`) || !strings.Contains(body, `"status":`) {
			t.Fatalf("progress by the old ID = %d %s", status, body)
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if !p.Running() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, ok := ta.engine.Container("nginx")
	if p.Status != "done" || !ok || c.ID == nginxID || p.ContainerID != models.ShortID(c.ID) {
		t.Errorf("final progress %+v; nginx is now %s: want done with container_id %s", p, c.ID, models.ShortID(c.ID))
	}
	if calls := ta.engine.PullCount("nginx"); calls != 1 {
		t.Errorf("pulled %d times, want 1", calls)
	}
}

func TestStaticAssetsAreEmbeddedAndCacheable(t *testing.T) {
	ta := newTestApp(t)
	for _, p := range []string{views.CSSPath, views.HTMXPath} {
		status, body, h := ta.do(t, "GET", p, nil)
		if status != 200 || len(body) < 1000 || !strings.Contains(h.Get("Cache-Control"), "max-age=") || h.Get("ETag") == "" {
			t.Errorf("GET %s = %d, %d bytes, Cache-Control %q, ETag %q", p, status, len(body), h.Get("Cache-Control"), h.Get("ETag"))
		}
	}
}

// local is the container of that name on the one host these tests have.
func local(name string) models.ContainerRef { return models.Ref(models.LocalHost, name) }
