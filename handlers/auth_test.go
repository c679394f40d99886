package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"refit/models"
	"refit/services"
	"refit/views"
)

// testClock is the auth service's clock in these tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer collects the app's log, written from request goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// authApp is newTestApp's app with auth on, over its own SQLite file for
// users and sessions, with three users: admin, operator and viewer, whose
// passwords are in testPasswords.
type authApp struct {
	testApp
	dbPath string
	auth   *services.Auth
	audit  *services.Audit
	clock  *testClock
	logs   *lockedBuffer
	opts   services.AuthOptions
}

// testPasswords are the passwords of newAuthApp's users.
var testPasswords = map[string]string{
	"admin": "plum-quartz-harbour", "operator": "velvet-anchor-sprout", "viewer": "copper-lantern-meadow",
}

func newAuthApp(t *testing.T, opts services.AuthOptions) *authApp {
	t.Helper()
	a := &authApp{testApp: newTestApp(t), dbPath: filepath.Join(t.TempDir(), "auth.db"),
		clock: &testClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}, logs: &lockedBuffer{}, opts: opts}
	a.restart(t)
	for _, r := range models.Roles {
		if _, err := a.auth.AddUser(models.Principal{Name: "test"}, string(r), testPasswords[string(r)], r); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// restart builds a new app over a new handle on the same database file, as
// a restarted refit would.
func (a *authApp) restart(t *testing.T) {
	t.Helper()
	db, err := services.OpenDB(a.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	log := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := a.opts
	opts.BcryptCost, opts.Now = bcrypt.MinCost, a.clock.Now
	if opts.Sleep == nil {
		opts.Sleep = func(time.Duration) {} // the login delay: TestLoginThrottlePerUserAndAddress waits for real
	}
	a.audit = services.NewAudit(db, log, a.clock.Now)
	if a.auth, err = services.NewAuth(db, a.audit, log, opts); err != nil {
		t.Fatal(err)
	}
	d := a.deps
	d.Log, d.Auth, d.Audit = log, a.auth, a.audit
	// Watchtower's HTTP API, so that its routes are in the tables below.
	d.Watchtower = WatchtowerDeps{Update: services.NewWatchtowerAPI(d.Containers, d.Updates, services.WatchtowerAPIOptions{}),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "watchtower_scans_total 0\n") }),
		Token:   testWatchtowerToken}
	a.deps, a.app = d, New(d)
}

// testWatchtowerToken is WATCHTOWER_HTTP_API_TOKEN in these tests.
const testWatchtowerToken = "wt-test-token"

// tokenOnly are the routes Watchtower's scripts call: a bearer token, never
// a session, and a bare 401 as Watchtower answers.
func tokenOnly(p string) bool { return strings.HasPrefix(p, "/v1/") }

// authSession is a signed-in client: its cookie and CSRF token.
type authSession struct{ cookie, csrf string }

// headers are the request headers of a JSON API call with this session.
func (s authSession) headers() []string {
	return []string{"Cookie", services.CookieName + "=" + s.cookie, views.CSRFHeader, s.csrf}
}

// call makes one request; h are header names and values.
func (a *authApp) call(t *testing.T, method, target, body string, h ...string) (int, string, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := a.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func sessionCookie(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == services.CookieName {
			return c
		}
	}
	return nil
}

// login signs in through POST /api/login.
func (a *authApp) login(t *testing.T, user string) authSession {
	t.Helper()
	status, body, h := a.call(t, "POST", "/api/login", `{"user":"`+user+`","pass":"`+testPasswords[user]+`"}`, "Content-Type", "application/json")
	c := sessionCookie(h)
	if status != 200 || body != `{"status":"ok"}` || c == nil || h.Get(views.CSRFHeader) == "" {
		t.Fatalf("login as %s = %d %q, cookie %v", user, status, body, c)
	}
	return authSession{cookie: c.Value, csrf: h.Get(views.CSRFHeader)}
}

// publicRoutes answer without a session.
var publicRoutes = map[string]bool{
	"GET /health": true, "HEAD /health": true,
	"GET /static/*": true, "HEAD /static/*": true,
	"GET /login": true, "HEAD /login": true, "POST /login": true,
	"POST /api/login":      true,
	"GET /api/auth/status": true, "HEAD /api/auth/status": true,
}

// routePerm is the permission each route needs, kept in sync with
// routes.go by TestRoutePolicyTableIsComplete. Logout and the caller's own
// tokens need only a session, whatever the role.
var routePerm = map[string]models.Permission{
	"POST /api/logout":                                 models.PermView,
	"GET /api/images":                                  models.PermView,
	"GET /api/version":                                 models.PermView,
	"GET /metrics":                                     models.PermView,    // or the metrics token
	"GET /v1/update":                                   models.PermOperate, // or Watchtower's token; a bearer token only
	"POST /v1/update":                                  models.PermOperate,
	"GET /v1/metrics":                                  models.PermView,
	"GET /api/images/*":                                models.PermView, // progress
	"POST /api/images/*":                               models.PermOperate,
	"PUT /api/images/*":                                models.PermOperate,
	"PATCH /api/images/*":                              models.PermOperate,
	"DELETE /api/images/*":                             models.PermOperate,
	"POST /api/groups/*":                               models.PermOperate,
	"POST /api/check":                                  models.PermOperate,
	"GET /api/ratelimit":                               models.PermView,
	"GET /api/history":                                 models.PermView,
	"GET /api/tokens":                                  models.PermView,
	"POST /api/tokens":                                 models.PermView,
	"DELETE /api/tokens/:id":                           models.PermView,
	"POST /api/account/password":                       models.PermView,
	"GET /api/audit":                                   models.PermAdmin,
	"GET /api/users":                                   models.PermAdmin,
	"POST /api/users":                                  models.PermAdmin,
	"PATCH /api/users/:name":                           models.PermAdmin,
	"DELETE /api/users/:name":                          models.PermAdmin,
	"GET /":                                            models.PermView,
	"GET /history":                                     models.PermView,
	"GET /containers/:host/:name/crash-logs":           models.PermView,
	"POST /update-outdated":                            models.PermOperate,
	"GET /fragments/images":                            models.PermView,
	"GET /hosts":                                       models.PermView,
	"GET /fragments/hosts":                             models.PermView,
	"POST /check":                                      models.PermOperate,
	"GET /containers/:host/:name/row":                  models.PermView,
	"GET /containers/:host/:name/menu":                 models.PermView,
	"POST /containers/:host/:name/update":              models.PermOperate,
	"POST /containers/:host/:name/auto-update":         models.PermOperate,
	"GET /containers/:host/:name/logs":                 models.PermView,
	"GET /containers/:host/:name/preview":              models.PermView,
	"GET /containers/:host/:name/backups":              models.PermView,
	"GET /containers/:host/:name/tags":                 models.PermView,
	"POST /containers/:host/:name/tag-rule":            models.PermOperate,
	"POST /containers/:host/:name/update-tag":          models.PermOperate,
	"POST /containers/:host/:name/rollback":            models.PermOperate,
	"POST /containers/:host/:name/policy":              models.PermOperate,
	"POST /containers/:host/:name/start":               models.PermOperate,
	"POST /containers/:host/:name/stop":                models.PermOperate,
	"POST /containers/:host/:name/restart":             models.PermOperate,
	"POST /containers/:host/:name/delete":              models.PermAdmin,
	"GET /fragments/stopped":                           models.PermView,
	"GET /api/hosts":                                   models.PermView,
	"GET /api/containers":                              models.PermView,
	"POST /api/containers/watch":                       models.PermOperate,
	"GET /api/containers/:id":                          models.PermView,
	"POST /api/containers/:id/watch":                   models.PermOperate,
	"PATCH /api/containers/:id/update-policy":          models.PermOperate,
	"GET /api/containers/:id/logs":                     models.PermView,
	"PUT /api/containers/:id/tag-rule":                 models.PermOperate,
	"DELETE /api/containers/:id/tag-rule":              models.PermOperate,
	"POST /api/containers/:id/preview":                 models.PermView,
	"POST /api/containers/:id/update":                  models.PermOperate,
	"GET /api/containers/:id/backups":                  models.PermView,
	"POST /api/containers/:id/rollback":                models.PermOperate,
	"POST /api/containers/:id/start":                   models.PermOperate,
	"POST /api/containers/:id/stop":                    models.PermOperate,
	"POST /api/containers/:id/restart":                 models.PermOperate,
	"DELETE /api/containers/:id":                       models.PermAdmin,
	"GET /api/v1/containers":                           models.PermView,
	"POST /api/v1/containers/watch":                    models.PermOperate,
	"GET /api/v1/containers/:id":                       models.PermView,
	"POST /api/v1/containers/:id/watch":                models.PermOperate,
	"PATCH /api/v1/containers/:id/update-policy":       models.PermOperate,
	"GET /api/v1/containers/:id/logs":                  models.PermView,
	"PUT /api/v1/containers/:id/tag-rule":              models.PermOperate,
	"DELETE /api/v1/containers/:id/tag-rule":           models.PermOperate,
	"POST /api/v1/containers/:id/preview":              models.PermView,
	"POST /api/v1/containers/:id/update":               models.PermOperate,
	"GET /api/v1/containers/:id/backups":               models.PermView,
	"POST /api/v1/containers/:id/rollback":             models.PermOperate,
	"POST /api/v1/containers/:id/start":                models.PermOperate,
	"POST /api/v1/containers/:id/stop":                 models.PermOperate,
	"POST /api/v1/containers/:id/restart":              models.PermOperate,
	"DELETE /api/v1/containers/:id":                    models.PermAdmin,
	"GET /groups/:key":                                 models.PermView,
	"POST /groups/:key/update":                         models.PermOperate,
	"POST /logout":                                     models.PermView,
	"GET /tokens":                                      models.PermView,
	"POST /tokens":                                     models.PermView,
	"POST /tokens/:id/revoke":                          models.PermView,
	"GET /account":                                     models.PermView,
	"POST /account/password":                           models.PermView,
	"GET /users":                                       models.PermAdmin,
	"POST /users":                                      models.PermAdmin,
	"POST /users/:name/role":                           models.PermAdmin,
	"POST /users/:name/password":                       models.PermAdmin,
	"POST /users/:name/remove":                         models.PermAdmin,
	"GET /audit":                                       models.PermAdmin,
	"GET /notifications":                               models.PermAdmin,
	"POST /notifications":                              models.PermAdmin,
	"POST /notifications/test":                         models.PermAdmin,
	"POST /notifications/:name/remove":                 models.PermAdmin,
	"GET /api/notifications/targets":                   models.PermAdmin,
	"POST /api/notifications/targets":                  models.PermAdmin,
	"DELETE /api/notifications/targets/:name":          models.PermAdmin,
	"POST /api/notifications/test":                     models.PermAdmin,
	"GET /api/notifications/outbox":                    models.PermAdmin,
	"GET /api/containers/:id/triggers":                 models.PermView,
	"POST /api/containers/:id/triggers/:type/:name":    models.PermOperate,
	"GET /api/v1/containers/:id/triggers":              models.PermView,
	"POST /api/v1/containers/:id/triggers/:type/:name": models.PermOperate,
}

// testedMethods are the methods the route walk tries; api.All registers
// the rest too, and they behave the same.
var testedMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}

type route struct{ method, pattern, path string }

// appRoutes lists the app's routes with a concrete path for each.
func appRoutes(app *fiber.App) []route {
	var out []route
	seen := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		key := r.Method + " " + r.Path
		if !testedMethods[r.Method] || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, route{r.Method, r.Path, concretePath(r.Method, r.Path)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].method+out[i].pattern < out[j].method+out[j].pattern })
	return out
}

func concretePath(method, pattern string) string {
	switch pattern {
	case "/api/images/*":
		if method == "GET" || method == "HEAD" {
			return "/api/images/nginx/progress"
		}
		return "/api/images/nginx/update"
	case "/api/groups/*":
		return "/api/groups/nginx:latest/update"
	}
	p := strings.ReplaceAll(pattern, ":name", "nginx")
	p = strings.ReplaceAll(p, ":key", models.GroupKey("nginx:latest"))
	p = strings.ReplaceAll(p, ":type", "generic")
	return strings.ReplaceAll(p, ":id", "999")
}

func isAPIPath(p string) bool { return strings.HasPrefix(p, "/api/") || p == "/metrics" }

func TestRoutePolicyTableIsComplete(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for _, r := range appRoutes(a.app) {
		key := r.method + " " + r.pattern
		if r.method == "HEAD" {
			continue // follows its GET
		}
		if _, ok := routePerm[key]; !ok && !publicRoutes[key] {
			t.Errorf("route %s is in neither publicRoutes nor routePerm: add it with the permission it needs", key)
		}
	}
}

// TestEveryRouteNeedsAuth requests every route without credentials.
func TestEveryRouteNeedsAuth(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for _, r := range appRoutes(a.app) {
		key := r.method + " " + r.pattern
		t.Run(key, func(t *testing.T) {
			status, body, h := a.call(t, r.method, r.path, "")
			switch {
			case publicRoutes[key]:
				// POST /login answers 401 for the empty form, with the form.
				if body == "unauthorized\n" || strings.HasPrefix(h.Get("Location"), "/login") || h.Get("HX-Redirect") != "" || status == 403 {
					t.Errorf("public route %s = %d %q", key, status, body)
				}
			case tokenOnly(r.path):
				if status != 401 || body != "" {
					t.Errorf("%s without credentials = %d %q, want a bare 401", key, status, body)
				}
			case isAPIPath(r.path):
				if status != 401 || (r.method != "HEAD" && body != "unauthorized\n") {
					t.Errorf("%s without credentials = %d %q, want 401 unauthorized", key, status, body)
				}
			default:
				if status != 303 || !strings.HasPrefix(h.Get("Location"), "/login") {
					t.Errorf("%s without a session = %d Location %q, want 303 to /login", key, status, h.Get("Location"))
				}
				status, _, h = a.call(t, r.method, r.path, "", "HX-Request", "true")
				if status != 401 || h.Get("HX-Redirect") != "/login" {
					t.Errorf("htmx %s without a session = %d HX-Redirect %q, want 401 with HX-Redirect /login", key, status, h.Get("HX-Redirect"))
				}
			}
		})
	}
	// A forged or stale cookie is no better than none, and is expired.
	status, _, h := a.call(t, "GET", "/api/images", "", "Cookie", services.CookieName+"=forged")
	if c := sessionCookie(h); status != 401 || c == nil || c.MaxAge >= 0 {
		t.Errorf("forged cookie = %d, cookie %v; want 401 and an expired cookie", status, c)
	}
	// The assets the login page needs are public.
	if status, _, _ := a.call(t, "GET", views.CSSPath, ""); status != 200 {
		t.Errorf("GET %s without a session = %d, want 200", views.CSSPath, status)
	}
	// A proxy's basic auth is not refit's: the session still counts.
	s := a.login(t, "viewer")
	if status, _, _ := a.call(t, "GET", "/api/images", "", append(s.headers(), "Authorization", "Basic dXNlcjpwYXNz")...); status != 200 {
		t.Errorf("session plus a proxy's Authorization: Basic = %d, want 200", status)
	}
	if status, _, _ := a.call(t, "GET", "/api/images", "", "Authorization", "Basic dXNlcjpwYXNz"); status != 401 {
		t.Errorf("Authorization: Basic alone = %d, want 401", status)
	}
	// Unknown paths too.
	if status, _, _ := a.call(t, "GET", "/api/nothing-here", ""); status != 401 {
		t.Errorf("GET /api/nothing-here = %d, want 401", status)
	}
}

// TestRolesGetWhatTheyMay asks every route as each role: a role that lacks
// the route's permission gets 403, one that has it anything else.
func TestRolesGetWhatTheyMay(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for _, role := range models.Roles {
		s := a.login(t, string(role))
		tok := a.token(t, s, "policy")
		for _, r := range appRoutes(a.app) {
			key := r.method + " " + r.pattern
			perm, ok := routePerm[strings.Replace(key, "HEAD ", "GET ", 1)]
			if !ok || strings.HasSuffix(r.pattern, "logout") {
				continue // public, or would end the session the loop uses
			}
			want := role.Can(perm)
			auths := [][]string{s.headers()}
			if tokenOnly(r.path) {
				auths = nil
			}
			if isAPIPath(r.path) || tokenOnly(r.path) {
				auths = append(auths, []string{"Authorization", "Bearer " + tok})
			}
			for _, h := range auths {
				status, body, _ := a.call(t, r.method, r.path, "", h...)
				if got := status != 403; got != want || status == 401 {
					t.Errorf("%s as %s (%s) = %d %q, want allowed=%v", key, role, h[0], status, body, want)
				}
			}
		}
	}
}

// token creates an API token through POST /api/tokens.
func (a *authApp) token(t *testing.T, s authSession, name string) string {
	t.Helper()
	status, body, _ := a.call(t, "POST", "/api/tokens", `{"name":"`+name+`"}`, append(s.headers(), "Content-Type", "application/json")...)
	var out struct {
		ID    uint   `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &out); status != 201 || err != nil || !strings.HasPrefix(out.Token, "refit_") {
		t.Fatalf("POST /api/tokens = %d %s", status, body)
	}
	return out.Token
}

func TestLoginLogoutContract(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for _, tc := range []struct{ body, want string }{
		{`{"user":"admin","pass":"wrong-password"}`, "invalid credentials\n"},
		{`{"user":"nobody","pass":"plum-quartz-harbour"}`, "invalid credentials\n"},
	} {
		if status, body, h := a.call(t, "POST", "/api/login", tc.body); status != 401 || body != tc.want || sessionCookie(h) != nil {
			t.Errorf("POST /api/login %s = %d %q", tc.body, status, body)
		}
	}
	for _, bad := range []string{"", "user=admin", `{"user":"admin"}`, `{"user":1,"pass":"x"}`, `[]`} {
		status, body, _ := a.call(t, "POST", "/api/login", bad)
		if status != 400 || body != "invalid input: body must be {\"user\":\"…\",\"pass\":\"…\"}\n" {
			t.Errorf("POST /api/login %q = %d %q, want 400 with the expected body", bad, status, body)
		}
	}
	status, body, h := a.call(t, "POST", "/api/login", `{"user":"admin","pass":"plum-quartz-harbour"}`)
	c := sessionCookie(h)
	if status != 200 || body != `{"status":"ok"}` || c == nil {
		t.Fatalf("POST /api/login = %d %q, cookie %v", status, body, c)
	}
	raw := h.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="} {
		if !strings.Contains(raw, attr) {
			t.Errorf("Set-Cookie %q lacks %s", raw, attr)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP", raw)
	}
	s := authSession{cookie: c.Value, csrf: h.Get(views.CSRFHeader)}
	if status, _, _ := a.call(t, "GET", "/api/images", "", s.headers()...); status != 200 {
		t.Fatalf("GET /api/images with the session = %d", status)
	}
	// Logout needs no CSRF token (the contract's clients send none).
	status, body, h = a.call(t, "POST", "/api/logout", "", "Cookie", services.CookieName+"="+s.cookie)
	if c := sessionCookie(h); status != 200 || c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("POST /api/logout = %d %q, cookie %v; want 200 and an expired cookie", status, body, c)
	}
	if status, body, _ := a.call(t, "GET", "/api/images", "", s.headers()...); status != 401 || body != "unauthorized\n" {
		t.Errorf("the old cookie after logout = %d %q, want 401", status, body)
	}
	// But a cross-site logout is still refused.
	s = a.login(t, "admin")
	if status, _, _ := a.call(t, "POST", "/api/logout", "", "Cookie", services.CookieName+"="+s.cookie, "Origin", "https://evil.example"); status != 403 {
		t.Errorf("cross-site logout = %d, want 403", status)
	}
}

func TestAuthStatus(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	if _, body, _ := a.call(t, "GET", "/api/auth/status", ""); body != `{"enabled":true}` {
		t.Errorf("auth on: GET /api/auth/status = %s", body)
	}
	off := newTestApp(t)
	if _, body, _ := off.do(t, "GET", "/api/auth/status", nil); body != `{"enabled":false}` {
		t.Errorf("auth off: GET /api/auth/status = %s", body)
	}
}

// TestAuthOffAllowsEverything is REFIT_AUTH=off: no session, no token, every
// route answers as for an admin named "anonymous".
func TestAuthOffAllowsEverything(t *testing.T) {
	off := newTestApp(t)
	for _, r := range appRoutes(off.app) {
		if strings.HasSuffix(r.pattern, "logout") || r.pattern == "/login" || r.method == "HEAD" {
			continue // logout and login mean nothing with auth off
		}
		status, body, _ := off.do(t, r.method, r.path, nil)
		ownPassword := strings.HasSuffix(r.pattern, "/account/password") // nobody has one: 403 is right
		if status == 401 || status == 403 && !ownPassword || status == 303 && r.method == "GET" {
			t.Errorf("auth off: %s %s = %d %q", r.method, r.path, status, body)
		}
	}
	status, body, _ := off.do(t, "GET", "/", nil)
	if status != 200 || strings.Contains(body, "Log out") {
		t.Errorf("auth off: GET / = %d, with a logout button: %v", status, strings.Contains(body, "Log out"))
	}
	// Updates are attributed to "anonymous".
	es, _ := off.deps.Audit.Recent(100)
	found := false
	for _, e := range es {
		found = found || (e.Action == models.AuditCheck && e.Actor == services.AnonymousName)
	}
	if !found {
		t.Errorf("no check by anonymous in the audit log: %+v", es)
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	s := a.login(t, "operator")
	a.restart(t)
	if status, _, _ := a.call(t, "POST", "/api/check", "", s.headers()...); status != 200 {
		t.Errorf("POST /api/check with a session from before the restart = %d, want 200", status)
	}
}

func TestSessionExpiry(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{SessionIdle: 2 * time.Hour, SessionMax: 5 * time.Hour})
	s := a.login(t, "viewer")
	for i := 0; i < 3; i++ { // used every 90 minutes: alive until the absolute limit
		a.clock.Add(90 * time.Minute)
		if status, _, _ := a.call(t, "GET", "/api/images", "", s.headers()...); status != 200 {
			t.Fatalf("after %d×90m = %d", i+1, status)
		}
	}
	a.clock.Add(90 * time.Minute) // 6h after login, 90m after last use
	if status, _, _ := a.call(t, "GET", "/api/images", "", s.headers()...); status != 401 {
		t.Errorf("past the absolute limit = %d, want 401", status)
	}
	s = a.login(t, "viewer")
	a.clock.Add(2*time.Hour + time.Second)
	status, _, h := a.call(t, "GET", "/", "", s.headers()...)
	if status != 303 || h.Get("Location") != "/login" {
		t.Errorf("idle past the limit GET / = %d %q, want 303 to /login", status, h.Get("Location"))
	}
}

func TestLoginThrottle(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for i := 0; i < 5; i++ {
		if status, _, _ := a.call(t, "POST", "/api/login", `{"user":"admin","pass":"wrong-password"}`); status != 401 {
			t.Fatalf("failure %d = %d, want 401", i+1, status)
		}
	}
	status, body, h := a.call(t, "POST", "/api/login", `{"user":"admin","pass":"plum-quartz-harbour"}`)
	if status != 429 || body != "too many attempts\n" || h.Get("Retry-After") != "900" {
		t.Fatalf("6th attempt = %d %q, Retry-After %q; want 429 too many attempts, 900", status, body, h.Get("Retry-After"))
	}
	// The form says so in words.
	a.clock.Add(time.Minute)
	status, body, h = a.call(t, "POST", "/login", "user=admin&pass=plum-quartz-harbour", "Content-Type", fiber.MIMEApplicationForm)
	if status != 429 || !strings.Contains(body, "Too many failed attempts") || h.Get("Retry-After") != "840" {
		t.Errorf("POST /login while throttled = %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	a.clock.Add(14 * time.Minute)
	a.login(t, "admin")
}

func TestCSRF(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{TrustedOrigins: []string{"https://refit.example.com"}})
	s := a.login(t, "operator")
	cookie := []string{"Cookie", services.CookieName + "=" + s.cookie}
	with := func(h ...string) []string { return append(append([]string{}, cookie...), h...) }
	tests := []struct {
		name, method, path, body string
		h                        []string
		want                     int
	}{
		{"api without token", "POST", "/api/check", "", with(), 403},
		{"api wrong token", "POST", "/api/check", "", with(views.CSRFHeader, "nope"), 403},
		{"api with token", "POST", "/api/check", "", with(views.CSRFHeader, s.csrf), 200},
		{"api JSON same origin", "POST", "/api/check", "{}", with("Content-Type", "application/json", "Origin", "http://example.com"), 200},
		{"api JSON trusted origin", "POST", "/api/check", "{}", with("Content-Type", "application/json", "Origin", "https://refit.example.com"), 200},
		{"api form same origin", "POST", "/api/check", "a=b", with("Content-Type", fiber.MIMEApplicationForm, "Origin", "http://example.com"), 403},
		{"api JSON cross origin", "POST", "/api/check", "{}", with("Content-Type", "application/json", "Origin", "https://evil.example"), 403},
		{"api token but cross origin", "POST", "/api/check", "", with(views.CSRFHeader, s.csrf, "Origin", "https://evil.example"), 403},
		{"api token but null origin", "POST", "/api/check", "", with(views.CSRFHeader, s.csrf, "Origin", "null"), 403},
		{"api token but cross referer", "POST", "/api/check", "", with(views.CSRFHeader, s.csrf, "Referer", "https://evil.example/x"), 403},
		{"form without token", "POST", "/check", "", with("Content-Type", fiber.MIMEApplicationForm), 403},
		{"form with token", "POST", "/check", "csrf=" + url.QueryEscape(s.csrf), with("Content-Type", fiber.MIMEApplicationForm, "Origin", "http://example.com"), 303},
		{"token in the URL is not read", "POST", "/check?csrf=" + url.QueryEscape(s.csrf), "", with(), 403},
		{"htmx with header", "POST", "/check", "", with("HX-Request", "true", views.CSRFHeader, s.csrf), 200},
		{"htmx without header", "POST", "/check", "", with("HX-Request", "true"), 403},
		{"GET needs none", "GET", "/fragments/images", "", with(), 200},
		{"cross-site login", "POST", "/api/login", `{"user":"viewer","pass":"copper-lantern-meadow"}`, []string{"Origin", "https://evil.example"}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := a.call(t, tc.method, tc.path, tc.body, tc.h...)
			if status != tc.want {
				t.Errorf("%s %s = %d %q, want %d", tc.method, tc.path, status, body, tc.want)
			}
			if tc.want == 403 && isAPIPath(tc.path) && body != "forbidden\n" {
				t.Errorf("body = %q, want forbidden", body)
			}
		})
	}
	// Bearer tokens need no CSRF token.
	tok := a.token(t, s, "ci")
	if status, _, _ := a.call(t, "POST", "/api/check", "", "Authorization", "Bearer "+tok); status != 200 {
		t.Errorf("POST /api/check with a bearer token = %d, want 200", status)
	}
}

func TestTokens(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	s := a.login(t, "operator")
	tok := a.token(t, s, "backup script")
	bearer := []string{"Authorization", "Bearer " + tok}
	a.clock.Add(time.Hour)
	if status, _, _ := a.call(t, "GET", "/api/images", "", bearer...); status != 200 {
		t.Fatalf("GET /api/images with the token = %d", status)
	}
	if status, _, _ := a.call(t, "POST", "/api/images/nginx/auto-update", "", bearer...); status != 200 {
		t.Errorf("toggle with an operator's token = %d, want 200", status)
	}
	if status, _, _ := a.call(t, "GET", "/api/users", "", bearer...); status != 403 {
		t.Errorf("GET /api/users with an operator's token = %d, want 403", status)
	}
	_, body, _ := a.call(t, "GET", "/api/tokens", "", bearer...)
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 {
		t.Fatalf("GET /api/tokens = %s", body)
	}
	if strings.Contains(body, tok) || list[0]["hash"] != nil || list[0]["token"] != nil || list[0]["name"] != "backup script" ||
		list[0]["last_used_at"] != a.clock.Now().Format(time.RFC3339) {
		t.Errorf("GET /api/tokens = %s", body)
	}
	// The tokens page lists it without the secret.
	_, page, _ := a.call(t, "GET", "/tokens", "", s.headers()...)
	doc := mustDoc(t, page)
	if doc.Find("#"+views.TokenRowID(1)).Length() != 1 || strings.Contains(page, tok) {
		t.Errorf("tokens page does not list the token, or shows its secret")
	}
	id := int(list[0]["id"].(float64))
	if status, _, _ := a.call(t, "DELETE", "/api/tokens/"+strings.TrimSpace(jsonNum(id)), "", s.headers()...); status != 200 {
		t.Fatalf("DELETE /api/tokens/%d = %d", id, status)
	}
	if status, body, _ := a.call(t, "GET", "/api/images", "", bearer...); status != 401 || body != "unauthorized\n" {
		t.Errorf("a revoked token = %d %q, want 401", status, body)
	}
	if strings.Contains(a.logs.String(), tok) || strings.Contains(a.logs.String(), s.cookie) || strings.Contains(a.logs.String(), testPasswords["operator"]) {
		t.Error("a token, session cookie or password reached the log")
	}
}

func TestTokensPageShowsNewTokenOnce(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	s := a.login(t, "viewer")
	status, page, _ := a.call(t, "POST", "/tokens", "name=ci&csrf="+url.QueryEscape(s.csrf), append(s.headers(), "Content-Type", fiber.MIMEApplicationForm)...)
	secret, _ := mustDoc(t, page).Find("#" + views.NewTokenID).Attr("value")
	if status != 200 || !strings.HasPrefix(secret, "refit_") {
		t.Fatalf("POST /tokens = %d, new token %q", status, secret)
	}
	if status, _, _ := a.call(t, "GET", "/api/images", "", "Authorization", "Bearer "+secret); status != 200 {
		t.Errorf("the token from the page = %d", status)
	}
	if _, page, _ := a.call(t, "GET", "/tokens", "", s.headers()...); strings.Contains(page, secret) {
		t.Error("the tokens page shows the secret again")
	}
	status, page, _ = a.call(t, "POST", "/tokens", "name=", append(s.headers(), "Content-Type", fiber.MIMEApplicationForm)...)
	if status != 400 || mustDoc(t, page).Find("#"+views.FormErrorID).Length() != 1 {
		t.Errorf("POST /tokens without a name = %d", status)
	}
}

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

func mustDoc(t *testing.T, html string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestLoginForm(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	status, page, _ := a.call(t, "GET", "/login", "")
	doc := mustDoc(t, page)
	form := doc.Find("form#" + views.LoginFormID)
	if status != 200 || form.AttrOr("method", "") != "post" || form.AttrOr("action", "") != "/login" ||
		form.Find(`input[name="user"]`).Length() != 1 || form.Find(`input[name="pass"][type="password"]`).Length() != 1 {
		t.Fatalf("GET /login = %d, form %q", status, form.Text())
	}
	formCT := []string{"Content-Type", fiber.MIMEApplicationForm}
	status, page, h := a.call(t, "POST", "/login", "user=admin&pass=wrong-password", formCT...)
	if status != 401 || !strings.Contains(mustDoc(t, page).Find("#"+views.FormErrorID).Text(), "Wrong user name or password") ||
		sessionCookie(h) != nil {
		t.Errorf("POST /login with a wrong password = %d", status)
	}
	if v, _ := mustDoc(t, page).Find(`input[name="user"]`).Attr("value"); v != "admin" {
		t.Errorf("the failed form forgot the user name: %q", v)
	}
	status, _, h = a.call(t, "POST", "/login", "user=admin&pass=plum-quartz-harbour", formCT...)
	c := sessionCookie(h)
	if status != 303 || h.Get("Location") != "/" || c == nil {
		t.Fatalf("POST /login = %d Location %q, cookie %v", status, h.Get("Location"), c)
	}
	// The page shows who is signed in, a logout form with the CSRF token,
	// and the admin's links.
	status, page, _ = a.call(t, "GET", "/", "", "Cookie", services.CookieName+"="+c.Value)
	doc = mustDoc(t, page)
	if status != 200 || !strings.Contains(doc.Find("header").Text(), "admin") ||
		doc.Find(`header form[action="/logout"] input[name="csrf"]`).Length() != 1 ||
		doc.Find(`header a[href="/users"]`).Length() != 1 || doc.Find(`header a[href="/audit"]`).Length() != 1 ||
		doc.Find(`header a[href="/notifications"]`).Length() != 1 ||
		!strings.Contains(doc.Find("body").AttrOr("hx-headers", ""), views.CSRFHeader) {
		t.Errorf("GET / after login = %d; header %q", status, doc.Find("header").Text())
	}
	// Going back where the user meant to go, but never to another site.
	if _, _, h := a.call(t, "GET", "/audit", ""); h.Get("Location") != "/login?next=%2Faudit" {
		t.Errorf("GET /audit without a session → %q", h.Get("Location"))
	}
	for next, want := range map[string]string{"/audit": "/audit", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/",
		"/\t/127.0.0.2:18111/pwned": "/", "/%09/evil.example": "/"} {
		_, _, h := a.call(t, "POST", "/login", "user=viewer&pass=copper-lantern-meadow&next="+url.QueryEscape(next), formCT...)
		if h.Get("Location") != want {
			t.Errorf("login with next=%q → %q, want %q", next, h.Get("Location"), want)
		}
	}
	// Logout by form.
	s := authSession{cookie: c.Value}
	_, page, _ = a.call(t, "GET", "/", "", "Cookie", services.CookieName+"="+c.Value)
	s.csrf, _ = mustDoc(t, page).Find(`header form[action="/logout"] input[name="csrf"]`).Attr("value")
	status, _, h = a.call(t, "POST", "/logout", "csrf="+url.QueryEscape(s.csrf), "Cookie", services.CookieName+"="+s.cookie, "Content-Type", fiber.MIMEApplicationForm)
	if status != 303 || h.Get("Location") != "/login" || sessionCookie(h) == nil || sessionCookie(h).MaxAge >= 0 {
		t.Errorf("POST /logout = %d %q", status, h.Get("Location"))
	}
	if status, _, _ := a.call(t, "GET", "/", "", "Cookie", services.CookieName+"="+s.cookie); status != 303 {
		t.Errorf("GET / after logout = %d, want 303", status)
	}
}

func TestViewerSeesNoControls(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for role, want := range map[string]bool{"viewer": false, "operator": true} {
		s := a.login(t, role)
		_, page, _ := a.call(t, "GET", "/", "", s.headers()...)
		doc := mustDoc(t, page)
		if got := doc.Find("#"+views.CheckNowID).Length() == 1; got != want {
			t.Errorf("%s sees Check now: %v, want %v", role, got, want)
		}
		if got := doc.Find("#"+views.UpdateButtonID(local("nginx"))).Length() == 1; got != want {
			t.Errorf("%s sees Update: %v, want %v", role, got, want)
		}
		if doc.Find(`header a[href="/users"]`).Length() != 0 || doc.Find(`header a[href="/notifications"]`).Length() != 0 {
			t.Errorf("%s sees the Users or the Notifications link", role)
		}
	}
}

func TestUsersPage(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	s := a.login(t, "admin")
	post := func(path, form string) (int, *goquery.Document, http.Header) {
		status, page, h := a.call(t, "POST", path, form+"&csrf="+url.QueryEscape(s.csrf), "Cookie", services.CookieName+"="+s.cookie, "Content-Type", fiber.MIMEApplicationForm)
		return status, mustDoc(t, page), h
	}
	if status, _, h := post("/users", "name=dave&pass=oyster-meteor-violin&role=operator"); status != 303 || h.Get("Location") != "/users" {
		t.Fatalf("add user = %d %q", status, h.Get("Location"))
	}
	status, doc, _ := post("/users", "name=erin&pass=short&role=viewer")
	if status != 400 || !strings.Contains(doc.Find("#"+views.FormErrorID).Text(), "at least 10 characters") {
		t.Errorf("add user with a short password = %d %q", status, doc.Find("#"+views.FormErrorID).Text())
	}
	for _, tc := range []struct{ path, form, want string }{
		{"/users", "name=erin&pass=erin-and-more&role=viewer", "must not contain the user name"},
		{"/users", "name=erin&pass=++++++++++&role=viewer", "must not be one character repeated"},
		{"/users", "name=erin&pass=1234567890&role=viewer", "too easy to guess"},
		{"/users/dave/password", "pass=1234567890", "too easy to guess"},
	} {
		status, doc, _ := post(tc.path, tc.form)
		if status != 400 || !strings.Contains(doc.Find("#"+views.FormErrorID).Text(), tc.want) {
			t.Errorf("POST %s %s = %d %q, want 400 %q", tc.path, tc.form, status, doc.Find("#"+views.FormErrorID).Text(), tc.want)
		}
	}
	if status, _, _ := post("/users/dave/role", "role=viewer"); status != 303 {
		t.Errorf("set role = %d", status)
	}
	if status, _, _ := post("/users/dave/password", "pass=another-password"); status != 303 {
		t.Errorf("set password = %d", status)
	}
	status, doc, _ = post("/users/admin/remove", "")
	if status != 409 || !strings.Contains(doc.Find("#"+views.FormErrorID).Text(), "last admin") {
		t.Errorf("remove the last admin = %d %q", status, doc.Find("#"+views.FormErrorID).Text())
	}
	status, doc, _ = post("/users/admin/role", "role=viewer")
	if status != 409 {
		t.Errorf("demote the last admin = %d", status)
	}
	if status, _, _ := post("/users/dave/remove", ""); status != 303 {
		t.Errorf("remove user = %d", status)
	}
	_, page, _ := a.call(t, "GET", "/users", "", s.headers()...)
	doc = mustDoc(t, page)
	if doc.Find("#"+views.UserRowID("operator")).Length() != 1 || doc.Find("#"+views.UserRowID("dave")).Length() != 0 {
		t.Errorf("users page rows: %q", doc.Find("#"+views.UsersTableID).Text())
	}
	if views.MinPasswordLength != services.MinPasswordLength {
		t.Errorf("views.MinPasswordLength = %d, services says %d", views.MinPasswordLength, services.MinPasswordLength)
	}
}

func TestUsersAPI(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	h := append(a.login(t, "admin").headers(), "Content-Type", "application/json")
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/api/users", `{"name":"dave","pass":"oyster-meteor-violin","role":"operator"}`, 201, `"name":"dave","role":"operator"`},
		{"POST", "/api/users", `{"name":"dave","pass":"oyster-meteor-violin","role":"operator"}`, 409, "user already exists\n"},
		{"POST", "/api/users", `{"name":"erin","pass":"short","role":"viewer"}`, 400, "invalid input: password must be at least 10 characters\n"},
		{"POST", "/api/users", `{"name":"erin","pass":"hazel-trumpet-glacier","role":"root"}`, 400, "invalid input: role must be admin, operator or viewer\n"},
		{"PATCH", "/api/users/dave", `{"role":"viewer"}`, 200, `{"status":"ok"}`},
		{"PATCH", "/api/users/admin", `{"role":"viewer"}`, 409, "the last admin cannot be removed or demoted\n"},
		{"PATCH", "/api/users/nobody", `{"pass":"a-decent-passphrase"}`, 404, "user not found\n"},
		// The hostile test's three: the name, ten spaces, a sequence.
		{"POST", "/api/users", `{"name":"erin1234","pass":"erin1234erin","role":"viewer"}`, 400, "invalid input: password must not contain the user name\n"},
		{"POST", "/api/users", `{"name":"erin","pass":"          ","role":"viewer"}`, 400, "invalid input: password must not be one character repeated\n"},
		{"POST", "/api/users", `{"name":"erin","pass":"1234567890","role":"viewer"}`, 400, "invalid input: password is too easy to guess"},
		{"PATCH", "/api/users/dave", `{"pass":"1234567890"}`, 400, "invalid input: password is too easy to guess"},
		{"DELETE", "/api/users/admin", "", 409, "the last admin cannot be removed or demoted\n"},
		{"DELETE", "/api/users/dave", "", 200, `{"status":"ok"}`},
		{"GET", "/api/users", "", 200, `"name":"admin","role":"admin"`},
	}
	for _, tc := range tests {
		status, body, _ := a.call(t, tc.method, tc.path, tc.body, h...)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s = %d %q, want %d %q", tc.method, tc.path, tc.body, status, body, tc.status, tc.want)
		}
		if strings.Contains(body, "password_hash") || strings.Contains(body, "$2a$") {
			t.Errorf("%s %s leaks a password hash: %s", tc.method, tc.path, body)
		}
	}
}

func TestAuditLog(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	a.call(t, "POST", "/api/login", `{"user":"operator","pass":"wrong-password"}`)
	s := a.login(t, "operator")
	a.call(t, "POST", "/api/check", "", s.headers()...)
	a.call(t, "POST", "/api/images/nginx/auto-update", "", s.headers()...)
	a.call(t, "POST", "/api/images/nginx/update", "", s.headers()...)
	a.call(t, "POST", "/api/groups/ghcr.io%2Forg%2Fapp:1.2/update", "", s.headers()...)
	a.call(t, "POST", "/containers/local/nope/update", "", s.headers()...)
	a.call(t, "GET", "/api/images/nginx/progress", "", s.headers()...)
	a.call(t, "POST", "/api/logout", "", s.headers()...)

	if status, _, _ := a.call(t, "GET", "/api/audit", "", a.login(t, "operator").headers()...); status != 403 {
		t.Errorf("GET /api/audit as operator = %d, want 403", status)
	}
	admin := a.login(t, "admin")
	status, body, _ := a.call(t, "GET", "/api/audit?limit=9", "", admin.headers()...)
	var es []models.AuditEntry
	if err := json.Unmarshal([]byte(body), &es); status != 200 || err != nil {
		t.Fatalf("GET /api/audit = %d %s", status, body)
	}
	var got []string
	for _, e := range es {
		got = append(got, strings.Join([]string{e.Actor, e.Action, e.Target, e.Result}, " "))
	}
	want := []string{
		"admin login  ok",
		"operator login  ok",
		"operator logout  ok",
		"operator update nope container not found",
		"operator group_update ghcr.io/org/app:1.2 started",
		"operator update nginx started",
		"operator toggle nginx ok",
		"operator check  ok",
		"operator login  ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("GET /api/audit?limit=9, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if es[0].Addr == "" || es[0].At.IsZero() {
		t.Errorf("entry without address or time: %+v", es[0])
	}
	_, page, _ := a.call(t, "GET", "/audit", "", admin.headers()...)
	if n := mustDoc(t, page).Find("#" + views.AuditTableID + " tbody tr").Length(); n < 10 {
		t.Errorf("audit page shows %d rows", n)
	}
	if !regexp.MustCompile(`login_failed`).MatchString(page) {
		t.Error("audit page lacks the failed login")
	}
}

func TestChangePasswordAPI(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	s := a.login(t, "viewer")
	other := a.login(t, "viewer") // another browser
	tok := a.token(t, s, "ci")
	bearer := []string{"Authorization", "Bearer " + tok}
	change := func(body string, h ...string) (int, string, http.Header) {
		return a.call(t, "POST", "/api/account/password", body, append(h, "Content-Type", "application/json")...)
	}
	tests := []struct {
		body   string
		status int
		want   string
	}{
		{`{"current":"wrong-password","new":"a-brand-new-password"}`, 401, "invalid credentials\n"},
		{`{"current":"copper-lantern-meadow","new":"short"}`, 400, "invalid input: password must be at least 10 characters\n"},
		{`{"current":"copper-lantern-meadow","new":"viewer-again"}`, 400, "invalid input: password must not contain the user name\n"},
		{`{"current":"copper-lantern-meadow","new":"          "}`, 400, "invalid input: password must not be one character repeated\n"},
		{`{"new":"a-brand-new-password"}`, 400, "invalid input: body must be {\"current\":\"…\",\"new\":\"…\"}\n"},
		{`current=copper-lantern-meadow`, 400, "invalid input: body must be {\"current\":\"…\",\"new\":\"…\"}\n"},
	}
	for _, tc := range tests {
		if status, body, h := change(tc.body, s.headers()...); status != tc.status || body != tc.want || sessionCookie(h) != nil {
			t.Errorf("POST /api/account/password %s = %d %q, want %d %q", tc.body, status, body, tc.status, tc.want)
		}
	}
	status, body, h := change(`{"current":"copper-lantern-meadow","new":"a-brand-new-password"}`, s.headers()...)
	if c := sessionCookie(h); status != 200 || body != `{"status":"ok"}` || c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("POST /api/account/password = %d %q, cookie %v; want 200 and an expired cookie", status, body, c)
	}
	for _, old := range []authSession{s, other} {
		if status, body, _ := a.call(t, "GET", "/api/images", "", old.headers()...); status != 401 || body != "unauthorized\n" {
			t.Errorf("a session from before the change = %d %q, want 401", status, body)
		}
	}
	if status, _, _ := a.call(t, "GET", "/api/images", "", bearer...); status != 200 {
		t.Errorf("the token after the change = %d, want 200", status)
	}
	if status, _, _ := a.call(t, "POST", "/api/login", `{"user":"viewer","pass":"copper-lantern-meadow"}`); status != 401 {
		t.Errorf("login with the old password = %d, want 401", status)
	}
	if status, _, _ := a.call(t, "POST", "/api/login", `{"user":"viewer","pass":"a-brand-new-password"}`); status != 200 {
		t.Errorf("login with the new password = %d, want 200", status)
	}
	// With a token: no cookie to expire. Too many wrong guesses: 429.
	status, _, h = change(`{"current":"a-brand-new-password","new":"yet-another-password"}`, bearer...)
	if status != 200 || h.Get("Set-Cookie") != "" {
		t.Errorf("change with a token = %d, Set-Cookie %q", status, h.Get("Set-Cookie"))
	}
	for i := 0; i < 5; i++ {
		change(`{"current":"wrong-password","new":"a-brand-new-password"}`, bearer...)
	}
	status, body, h = change(`{"current":"yet-another-password","new":"a-brand-new-password"}`, bearer...)
	if status != 429 || body != "too many attempts\n" || h.Get("Retry-After") != "900" {
		t.Errorf("6th attempt = %d %q, Retry-After %q; want 429 too many attempts, 900", status, body, h.Get("Retry-After"))
	}
}

func TestChangePasswordForm(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	s := a.login(t, "viewer")
	cookie := []string{"Cookie", services.CookieName + "=" + s.cookie}
	status, page, _ := a.call(t, "GET", views.AccountPath, "", cookie...)
	doc := mustDoc(t, page)
	form := doc.Find("form#" + views.PasswordFormID)
	if status != 200 || form.AttrOr("method", "") != "post" || form.AttrOr("action", "") != views.AccountPasswordPath ||
		form.Find(`input[name="csrf"]`).AttrOr("value", "") != s.csrf ||
		form.Find(`input[name="current"][type="password"][autocomplete="current-password"]`).Length() != 1 ||
		form.Find(`input[name="new"][type="password"][autocomplete="new-password"][minlength="10"]`).Length() != 1 ||
		form.Find(`input[name="repeat"][type="password"][autocomplete="new-password"][minlength="10"]`).Length() != 1 ||
		form.Find("#"+views.PasswordHintID).Text() != views.PasswordHint {
		t.Fatalf("GET %s = %d, form %q", views.AccountPath, status, form.Text())
	}
	if main := doc.Find("main").Text(); !strings.Contains(main, "viewer") || doc.Find(`header a[href="/account"]`).Length() != 1 {
		t.Errorf("the account page does not say who is signed in, or the header lacks the Account link: %q", main)
	}
	post := func(form string, h ...string) (int, *goquery.Document, http.Header) {
		status, page, hdr := a.call(t, "POST", views.AccountPasswordPath, form, append(h, "Content-Type", fiber.MIMEApplicationForm)...)
		return status, mustDoc(t, page), hdr
	}
	csrf := "&csrf=" + url.QueryEscape(s.csrf)
	if status, _, _ := post("current=copper-lantern-meadow&new=a-brand-new-password&repeat=a-brand-new-password", cookie...); status != 403 {
		t.Errorf("without the CSRF token = %d, want 403", status)
	}
	for _, tc := range []struct {
		form   string
		status int
		want   string
	}{
		{"current=copper-lantern-meadow&new=a-brand-new-password&repeat=a-brand-new-passwort", 400, "differ"},
		{"current=copper-lantern-meadow&new=short&repeat=short", 400, "at least 10 characters"},
		{"current=copper-lantern-meadow&new=1234567890&repeat=1234567890", 400, "too easy to guess"},
		{"current=wrong-password&new=a-brand-new-password&repeat=a-brand-new-password", 401, "current password is wrong"},
	} {
		status, doc, h := post(tc.form+csrf, cookie...)
		if status != tc.status || !strings.Contains(doc.Find("#"+views.FormErrorID).Text(), tc.want) ||
			doc.Find("form#"+views.PasswordFormID).Length() != 1 || sessionCookie(h) != nil {
			t.Errorf("POST %s %s = %d %q, want %d with %q and the form", views.AccountPasswordPath, tc.form, status,
				doc.Find("#"+views.FormErrorID).Text(), tc.status, tc.want)
		}
	}
	status, _, h := post("current=copper-lantern-meadow&new=a-brand-new-password&repeat=a-brand-new-password"+csrf, cookie...)
	if c := sessionCookie(h); status != 303 || h.Get("Location") != "/login?changed=1" || c == nil || c.MaxAge >= 0 {
		t.Fatalf("POST %s = %d Location %q, cookie %v; want 303 to /login?changed=1 and an expired cookie",
			views.AccountPasswordPath, status, h.Get("Location"), c)
	}
	_, page, _ = a.call(t, "GET", h.Get("Location"), "")
	if got := mustDoc(t, page).Find("#" + views.NoticeID).Text(); got != views.PasswordChangedNotice {
		t.Errorf("the login page after the change says %q, want %q", got, views.PasswordChangedNotice)
	}
	if _, page, _ := a.call(t, "GET", views.LoginPath, ""); mustDoc(t, page).Find("#"+views.NoticeID).Length() != 0 {
		t.Error("the plain login page shows the notice")
	}
	if status, _, h := a.call(t, "GET", "/", "", cookie...); status != 303 || h.Get("Location") != "/login" {
		t.Errorf("the old session after the change: GET / = %d %q, want 303 to /login", status, h.Get("Location"))
	}
	formCT := []string{"Content-Type", fiber.MIMEApplicationForm}
	if status, _, h := a.call(t, "POST", "/login", "user=viewer&pass=a-brand-new-password", formCT...); status != 303 || h.Get("Location") != "/" {
		t.Errorf("login with the new password = %d %q", status, h.Get("Location"))
	}
	// Throttled: the page says so, with Retry-After.
	s = a.login(t, "operator")
	for i := 0; i < 5; i++ {
		post("current=wrong-password&new=a-brand-new-password&repeat=a-brand-new-password&csrf="+url.QueryEscape(s.csrf), s.headers()...)
	}
	status, doc, h = post("current=velvet-anchor-sprout&new=a-brand-new-password&repeat=a-brand-new-password&csrf="+url.QueryEscape(s.csrf), s.headers()...)
	if status != 429 || !strings.Contains(doc.Find("#"+views.FormErrorID).Text(), "Too many failed attempts") || h.Get("Retry-After") != "900" {
		t.Errorf("throttled POST %s = %d %q, Retry-After %q", views.AccountPasswordPath, status, doc.Find("#"+views.FormErrorID).Text(), h.Get("Retry-After"))
	}
}

// After login refit goes back only to a path of its own, whatever the next
// field says and however often it was encoded.
func TestSafeNext(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/audit", "/audit"},
		{"/users?x=1", "/users?x=1"},
		{"/login?next=%2Faudit", "/login?next=%2Faudit"},
		{"", "/"},
		{"audit", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/127.0.0.2:18111/pwned", "/"}, // the hostile test's, once the form is decoded
		{"/%09/127.0.0.2:18111/pwned", "/"},
		{"/%2509/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\u00a0/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%255Cevil.example", "/"},
		{"/%25252F%25252Fevil.example", "/"},
		{"https://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/javascript:alert(1)", "/javascript:alert(1)"}, // a path, harmless
		{"http:/evil.example", "/"},
		{" /audit", "/"},
		{"/%zz", "/"},
		{"/\xff", "/"},
	}
	for _, tc := range tests {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// dbSize is the size of the SQLite file with its write-ahead log.
func (a *authApp) dbSize(t *testing.T) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{a.dbPath, a.dbPath + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// The hostile test's flood: 40 failed logins with a 3 MB user name grew the
// database by 258 MB. Now such a body is refused with 413 before anything
// reads it, and a name that fits in the body is stored clipped.
func TestLoginFloodDoesNotFillTheDisk(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	before := a.dbSize(t)
	huge := strings.Repeat("x", 3<<20)
	for i := 0; i < 40; i++ {
		status, body, _ := a.call(t, "POST", "/api/login", `{"user":"`+huge+`","pass":"whatever"}`, "Content-Type", "application/json")
		if status != 413 || body != "request body too large\n" {
			t.Fatalf("login %d with a 3 MB name = %d %q, want 413 request body too large", i+1, status, body)
		}
	}
	if status, _, _ := a.call(t, "POST", "/login", "user="+huge+"&pass=whatever", "Content-Type", fiber.MIMEApplicationForm); status != 413 {
		t.Errorf("form login with a 3 MB name = %d, want 413", status)
	}
	if status, _, _ := a.call(t, "POST", "/api/tokens", `{"name":"`+huge+`"}`, a.login(t, "viewer").headers()...); status != 413 {
		t.Errorf("a token with a 3 MB name = %d, want 413", status)
	}
	long := strings.Repeat("y", 7<<10) // fits in the body
	for i := 0; i < 40; i++ {
		if status, _, _ := a.call(t, "POST", "/api/login", `{"user":"`+long+`","pass":"whatever"}`, "Content-Type", "application/json"); status != 401 && status != 429 {
			t.Fatalf("login %d with a 7 KB name = %d, want 401 or 429", i+1, status)
		}
	}
	if grown := a.dbSize(t) - before; grown > 1<<20 {
		t.Errorf("the database grew by %d bytes, want under 1 MiB", grown)
	}
	es, err := a.audit.Recent(1)
	if err != nil || len(es) != 1 || len(es[0].Actor) > 100 || !strings.HasPrefix(es[0].Actor, "yyyy") || !strings.Contains(es[0].Actor, "…(+") {
		t.Errorf("the last failed login's actor = %.200q (%d bytes), want it clipped with a marker", es[0].Actor, len(es[0].Actor))
	}
}

// The audit log comes in pages: the API caps ?limit= at 500 and pages down
// with ?before=; the page shows 50 with links to older and newer entries.
func TestAuditLogPages(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	for i := 0; i < 600; i++ {
		a.audit.Record(models.AuditEntry{Actor: "bot", Action: models.AuditCheck, Target: strings.Repeat("t", 1000), Result: "ok"})
	}
	admin := a.login(t, "admin")
	get := func(path string) []models.AuditEntry {
		t.Helper()
		status, body, _ := a.call(t, "GET", path, "", admin.headers()...)
		var es []models.AuditEntry
		if err := json.Unmarshal([]byte(body), &es); status != 200 || err != nil {
			t.Fatalf("GET %s = %d %.200s", path, status, body)
		}
		if len(body) > len(es)*600 {
			t.Errorf("GET %s: %d bytes for %d entries", path, len(body), len(es))
		}
		return es
	}
	es := get("/api/audit?limit=1000")
	if len(es) != services.MaxAuditLimit || len(es[len(es)-1].Target) > 300 {
		t.Fatalf("GET /api/audit?limit=1000 = %d entries, want %d clipped ones", len(es), services.MaxAuditLimit)
	}
	last := es[len(es)-1].ID
	rest := get("/api/audit?limit=500&before=" + strconv.FormatUint(uint64(last), 10))
	if len(rest) != int(last)-1 || rest[0].ID != last-1 {
		t.Errorf("the page before #%d: %d entries from #%d, want %d from #%d", last, len(rest), rest[0].ID, last-1, last-1)
	}
	if got := get("/api/audit"); len(got) != 100 || got[0].ID != es[0].ID {
		t.Errorf("GET /api/audit = %d entries, want the newest 100", len(got))
	}

	page := func(path string) (*goquery.Document, int) {
		t.Helper()
		status, body, _ := a.call(t, "GET", path, "", admin.headers()...)
		if status != 200 {
			t.Fatalf("GET %s = %d", path, status)
		}
		return mustDoc(t, body), len(body)
	}
	doc, size := page("/audit")
	rows := doc.Find("#" + views.AuditTableID + " tbody tr")
	older, _ := doc.Find("#" + views.AuditPagesID + ` a[rel="next"]`).Attr("href")
	if rows.Length() != views.AuditPageSize || older == "" || doc.Find("#"+views.AuditPagesID+` a[rel="prev"]`).Length() != 0 || size > 200<<10 {
		t.Fatalf("GET /audit: %d rows, %d bytes, older %q; want %d rows, an Older link and no Newer one", rows.Length(), size, older, views.AuditPageSize)
	}
	doc, _ = page(older)
	newer, _ := doc.Find("#" + views.AuditPagesID + ` a[rel="prev"]`).Attr("href")
	if n := doc.Find("#" + views.AuditTableID + " tbody tr").Length(); n != views.AuditPageSize || newer == "" {
		t.Fatalf("GET %s: %d rows, newer %q", older, n, newer)
	}
	doc, _ = page(newer)
	if doc.Find("#"+views.AuditTableID+" tbody tr").Length() != views.AuditPageSize || doc.Find("#"+views.AuditPagesID+` a[rel="prev"]`).Length() != 0 {
		t.Errorf("GET %s is not the newest page again", newer)
	}
}

// An attacker hammering a user name from one address is refused there, with
// 429 and Retry-After, right password or not; the owner at another address
// gets in, after a delay that the attacker's failures grew and the cap
// bounds. Client addresses come from a trusted proxy's X-Forwarded-For.
func TestLoginThrottlePerUserAndAddress(t *testing.T) {
	const step, limit = 20 * time.Millisecond, 150 * time.Millisecond
	a := newAuthApp(t, services.AuthOptions{FailureDelay: step, MaxFailureDelay: limit, Sleep: time.Sleep})
	a.deps.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")} // app.Test's peer
	a.restart(t)
	from := func(addr, pass string) (int, string, http.Header, time.Duration) {
		start := time.Now()
		status, body, h := a.call(t, "POST", "/api/login", `{"user":"admin","pass":"`+pass+`"}`,
			"Content-Type", fiber.MIMEApplicationJSON, fiber.HeaderXForwardedFor, addr)
		return status, body, h, time.Since(start)
	}
	for i := 0; i < 30; i++ {
		status, body, h, _ := from("203.0.113.9", "wrong-password")
		if want := map[bool]int{true: 401, false: 429}[i < 5]; status != want {
			t.Fatalf("attacker's attempt %d = %d %q, want %d", i+1, status, body, want)
		}
		if i >= 5 && (body != "too many attempts\n" || h.Get("Retry-After") != "900") {
			t.Fatalf("attacker's attempt %d = %q, Retry-After %q", i+1, body, h.Get("Retry-After"))
		}
	}
	if status, _, _, _ := from("203.0.113.9", testPasswords["admin"]); status != 429 {
		t.Errorf("the attacker's address with the right password = %d, want 429", status)
	}
	// Two more attackers, five guesses each: the delay reaches its cap.
	for i := 10; i < 12; i++ {
		for j := 0; j < 5; j++ {
			from(fmt.Sprintf("203.0.113.%d", i), "wrong-password")
		}
	}
	status, body, h, took := from("198.51.100.7", testPasswords["admin"])
	if status != 200 || sessionCookie(h) == nil {
		t.Fatalf("the owner from another address = %d %q, want 200 and a session", status, body)
	}
	if took < limit || took > limit+2*time.Second {
		t.Errorf("the owner's login took %v, want the capped delay %v", took, limit)
	}
	if status, _, _, _ := from("203.0.113.9", testPasswords["admin"]); status != 429 {
		t.Errorf("after the owner's login the attacker's address = %d, want 429 still", status)
	}
}
