package handlers

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/crypto/bcrypt"

	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
	"refit/views"
)

// Every answer, pages, API, static files and errors alike, carries the
// security headers; HSTS only when the request came over TLS.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	ta := newTestApp(t)
	want := map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for _, path := range []string{"/", views.LoginPath, "/api/images", views.HTMXPath, views.ScriptPath,
		"/nothing-here", "/api/nothing-here", "/health"} {
		_, _, h := ta.do(t, "GET", path, nil)
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
		if got := h.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("GET %s over plain HTTP: Strict-Transport-Security = %q, want none", path, got)
		}
	}
	for _, policy := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(contentSecurityPolicy, policy) {
			t.Errorf("CSP %q lacks %q", contentSecurityPolicy, policy)
		}
	}
	for _, loose := range []string{"unsafe-inline", "unsafe-eval", "*", "data:"} {
		if strings.Contains(contentSecurityPolicy, loose) {
			t.Errorf("CSP %q allows %q", contentSecurityPolicy, loose)
		}
	}
}

// X-Forwarded-Proto: https brings HSTS only from a trusted proxy.
func TestHSTSOnlyBehindTLS(t *testing.T) {
	for _, trust := range []bool{false, true} {
		ta := newTestApp(t)
		if trust {
			ta.deps.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")} // app.Test's peer
			ta.app = New(ta.deps)
		}
		req, _ := http.NewRequest("GET", "http://example.com/", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := ta.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Strict-Transport-Security")
		if trust && !strings.HasPrefix(got, "max-age=") {
			t.Errorf("trusted proxy says https: Strict-Transport-Security = %q, want max-age=…", got)
		}
		if !trust && got != "" {
			t.Errorf("untrusted peer says https: Strict-Transport-Security = %q, want none", got)
		}
	}
}

// hostReq is a request to ta's app with this Host and headers.
func (ta testApp) hostReq(t *testing.T, method, path, host, body string, h ...string) (int, string, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://"+host+path, r)
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// DNS rebinding with auth off: a page under an attacker's name that
// resolves to refit is same-origin with itself, so only the Host shows it.
func TestUnknownHostIsMisdirected(t *testing.T) {
	ta := newTestApp(t)
	au, err := services.NewAuth(ta.db, ta.deps.Audit, ta.deps.Log, services.AuthOptions{Disabled: true, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ta.deps.Auth = au
	ta.deps.AllowedHosts = []string{"refit.example.com", "refit.lan:8443", "127.0.0.1:9999"}
	ta.app = New(ta.deps)
	me, _ := os.Hostname()
	allowed := []string{"localhost", "localhost:8099", "LOCALHOST.:8099", "127.0.0.1", "127.3.4.5:8099", "[::1]:8099",
		"[::1]", "192.168.1.10:8099", "[fd00::7]:8099", strings.ToLower(me) + ":8099", "refit.example.com",
		"refit.example.com:443", "refit.lan:8443"}
	for _, host := range allowed {
		if status, body, _ := ta.hostReq(t, "GET", "/api/images", host, ""); status != 200 {
			t.Errorf("GET /api/images with Host %s = %d %q, want 200", host, status, body)
		}
	}
	for _, host := range []string{"evil.example", "evil.example:8099", "refit.lan", "refit.lan:8099",
		"localhost.evil.example", "refit.example.com.evil.example"} {
		status, body, h := ta.hostReq(t, "GET", "/api/images", host, "")
		if status != 421 || body != "misdirected request: host not allowed\n" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("GET /api/images with Host %s = %d %q (%s), want 421 plain text", host, status, body, h.Get("Content-Type"))
		}
	}
	// The attack: creating an admin from the attacker's page, same-origin
	// with itself. The same request from refit's own page works.
	addUser := func(host, name string) (int, string) {
		status, body, _ := ta.hostReq(t, "POST", "/api/users", host,
			`{"name":"`+name+`","pass":"correct horse battery staple 9","role":"admin"}`,
			"Content-Type", "application/json", "Origin", "http://"+host)
		return status, body
	}
	if status, body := addUser("evil.example:8099", "mallory"); status != 421 {
		t.Errorf("POST /api/users from a rebound name = %d %q, want 421", status, body)
	}
	if status, body := addUser("localhost:8099", "alice"); status != 201 {
		t.Errorf("POST /api/users from localhost = %d %q, want 201", status, body)
	}
	users, err := au.Users()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Name == "mallory" {
			t.Errorf("the rebound request created a user")
		}
	}
	// Pages get the error page.
	status, body, _ := ta.hostReq(t, "GET", "/", "evil.example", "")
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
	if status != 421 || doc.Find("#"+views.ErrorID).Length() != 1 || !strings.Contains(body, "host not allowed") {
		t.Errorf("GET / with Host evil.example = %d, want 421 and the error page:\n%s", status, body)
	}
	// /health answers whatever the Host: probes use names refit cannot know.
	if status, body, _ := ta.hostReq(t, "GET", "/health", "evil.example", ""); status != 200 || body != "" {
		t.Errorf("GET /health with Host evil.example = %d %q, want 200", status, body)
	}
}

// Behind a trusted proxy X-Forwarded-Host is the name that counts; from
// anyone else it is ignored.
func TestForwardedHostOnlyFromTrustedProxies(t *testing.T) {
	for _, trust := range []bool{false, true} {
		ta := newTestApp(t)
		ta.deps.AllowedHosts = []string{"refit.example.com"}
		if trust {
			ta.deps.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
		}
		ta.app = New(ta.deps)
		for fwd, want := range map[string]int{"refit.example.com": 200, "evil.example": 421} {
			status, _, _ := ta.hostReq(t, "GET", "/api/images", "10.0.0.5:8099", "", "X-Forwarded-Host", fwd)
			if !trust {
				want = 200 // the Host, an IP literal, counts
			}
			if status != want {
				t.Errorf("trust %v: X-Forwarded-Host %s = %d, want %d", trust, fwd, status, want)
			}
		}
	}
}

// rawRequest sends req as is to addr and returns the status line and body.
func rawRequest(t *testing.T, addr, req string) (string, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, resp.Header, string(b)
}

// A browser carrying other apps' cookies for the same host sends more than
// fasthttp's default 4 KiB of headers; past 16 KiB the answer is 431 in
// plain text, as the request was never read far enough to know its path.
func TestLargeHeadersFitAndTooLargeIsPlainText(t *testing.T) {
	ta := newTestApp(t)
	addr := strings.TrimPrefix(benchServe(t, ta), "http://")
	req := func(path string, cookieBytes int) string {
		return "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nCookie: other=" + strings.Repeat("x", cookieBytes) +
			"\r\nConnection: close\r\n\r\n"
	}
	if status, _, body := rawRequest(t, addr, req("/api/images", 12<<10)); status != "200 OK" {
		t.Errorf("GET /api/images with 12 KiB of cookies = %s %q, want 200", status, body)
	}
	for _, path := range []string{"/api/images", "/"} {
		status, h, body := rawRequest(t, addr, req(path, 20<<10))
		if status != "431 Request Header Fields Too Large" || body != "request header fields too large\n" ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("GET %s with 20 KiB of cookies = %s %q (%s), want 431 plain text", path, status, body, h.Get("Content-Type"))
		}
	}
}

// 100 clients asking to update one container, all at once and then spread
// over the update, each hear that it is updating: one starts the job, the
// others find it running, none miss the container while it is being
// stopped and replaced.
func TestConcurrentUpdatesOfOneContainerAllAnswerUpdating(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	ta.engine.SetStopTime(nginxID, 200*time.Millisecond)
	base := benchServe(t, ta)
	for _, spread := range []time.Duration{0, time.Second} {
		got := concurrentPosts(t, base+"/api/images/3d4c5b6a7f8e/update", 100, spread)
		for answer, n := range got {
			if answer != `200 {"status":"updating"}` {
				t.Errorf("spread over %v: %d of 100 answers were %s, want 200 {\"status\":\"updating\"}", spread, n, answer)
			}
		}
	}
}

// concurrentPosts sends n POSTs to url, at once or evenly spread over
// spread, and counts the answers ("status body").
func concurrentPosts(t *testing.T, url string, n int, spread time.Duration) map[string]int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections() // or the server's shutdown waits for them
	var (
		mu    sync.Mutex
		got   = map[string]int{}
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(spread * time.Duration(i) / time.Duration(n))
			answer := "error"
			resp, err := client.Post(url, "application/json", nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answer = resp.Status[:3] + " " + string(b)
			} else {
				answer = "error " + err.Error()
			}
			mu.Lock()
			got[answer]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return got
}

// The same over the real engine, whose stop and recreate take real time.
func TestConcurrentUpdatesOfOneContainerAllAnswerUpdatingRealEngine(t *testing.T) {
	a := newLiveApp(t) // skips without REFIT_TEST_DOCKER_HOST, fails without one under CI=true
	a.push(t, "test/busy:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/busy:1", "busy")
	id := dockertest.Inspect(t, a.cli, name).ID[:12]
	a.push(t, "test/busy:1", ocitest.ImageOpts{Marker: "v2"})
	a.check(t)
	for answer, n := range concurrentPosts(t, a.base+"/api/images/"+id+"/update", 100, 0) {
		if answer != `200 {"status":"updating"}` {
			t.Errorf("at once: %d of 100 answers were %s, want 200 {\"status\":\"updating\"}", n, answer)
		}
	}
	// Then spread over the recreate (the pull of a small image is quick).
	for answer, n := range concurrentPosts(t, a.base+"/api/images/"+id+"/update", 100, 2*time.Second) {
		if answer != `200 {"status":"updating"}` {
			t.Errorf("spread: %d of 100 answers were %s, want 200 {\"status\":\"updating\"}", n, answer)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), updateTimeout)
	defer cancel()
	answers := a.pollProgress(ctx, id)
	if len(answers) == 0 || answers[len(answers)-1].Status != "done" {
		t.Errorf("the update did not end done: %+v", answers)
	}
}
