package main

// The hostile section of `make bench`: the real binary, auth on, under
// fuzzed requests to every route of handlers/routes.go from a few clients on
// loopback, half of them signed in. Requests are written as raw bytes, so a
// path may hold what net/http refuses to send (NUL, bytes that are not
// UTF-8). No request may get a 5xx, and no connection may break, except
// where refit documents a refusal that closes it: a body past Fiber's
// BodyLimit (413) and headers past ReadBufferSize (431).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/services/benchtest"
	"refit/views"
)

// The refusals that close the connection (handlers/app.go).
const (
	hostileBodyLimit  = 64 << 10
	hostileHeaderSize = 16 << 10
)

// hostileRoute is one route of handlers/routes.go; a path segment written
// as {x} is a parameter the fuzzer fills.
type hostileRoute struct{ method, path string }

var hostileRoutes = []hostileRoute{
	{"GET", "/health"},
	{"GET", views.CSSPath}, {"GET", views.HTMXPath}, {"GET", "/static/{x}"},
	{"GET", views.LoginPath}, {"POST", views.LoginPath},
	{"POST", "/api/login"}, {"GET", "/api/auth/status"}, {"POST", "/api/logout"},
	{"GET", "/metrics"},
	{"GET", "/api/version"}, {"GET", "/api/images"},
	{"POST", "/api/images/{ref}/update"}, {"POST", "/api/images/{ref}/auto-update"}, {"GET", "/api/images/{ref}/progress"},
	{"GET", "/api/images/{ref}/{x}"},
	{"POST", "/api/groups/{ref}/update"},
	{"POST", "/api/check"}, {"GET", "/api/ratelimit"}, {"GET", "/api/history"},
	{"GET", "/api/tokens"}, {"POST", "/api/tokens"}, {"DELETE", "/api/tokens/{id}"},
	{"POST", "/api/account/password"},
	{"GET", "/api/audit"}, {"GET", "/api/users"}, {"POST", "/api/users"},
	{"PATCH", "/api/users/{user}"}, {"DELETE", "/api/users/{user}"},
	{"GET", views.DashboardPath}, {"GET", views.ImagesFragmentPath}, {"POST", views.CheckPath},
	{"GET", "/containers/{name}/row"}, {"POST", "/containers/{name}/update"}, {"POST", "/containers/{name}/auto-update"},
	{"GET", "/groups/{key}"}, {"POST", "/groups/{key}/update"},
	{"POST", views.LogoutPath}, {"GET", views.AccountPath}, {"POST", views.AccountPasswordPath},
	{"GET", views.TokensPath}, {"POST", views.TokensPath}, {"POST", views.TokensPath + "/{id}/revoke"},
	{"GET", views.UsersPath}, {"POST", views.UsersPath},
	{"POST", views.UsersPath + "/{user}/role"}, {"POST", views.UsersPath + "/{user}/password"},
	{"POST", views.UsersPath + "/{user}/remove"},
	{"GET", views.AuditPath},
}

// hostileCreds is what a signed-in fuzzed request may carry.
type hostileCreds struct {
	session, csrf string // benchUser's session cookie and its CSRF token
	token         string // an API token of benchUser
	tokenID       string // never revoked by the fuzzer: the rest of the run uses it
}

// fuzzReq is one request as bytes on the wire.
type fuzzReq struct {
	method, target string
	headers        []string
	body           []byte
	mayRefuse      bool // past a limit whose refusal closes the connection
}

func (r *fuzzReq) wire() []byte {
	var b strings.Builder
	b.WriteString(r.method + " " + r.target + " HTTP/1.1\r\n")
	for _, h := range r.headers {
		b.WriteString(h + "\r\n")
	}
	if len(r.body) > 0 || r.method == "POST" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.body)) + "\r\n")
	}
	b.WriteString("\r\n")
	if b.Len() > hostileHeaderSize-1024 {
		r.mayRefuse = true
	}
	if len(r.body) > hostileBodyLimit {
		r.mayRefuse = true
	}
	return append([]byte(b.String()), r.body...)
}

// summary names a request in a failure message without its megabytes.
func (r *fuzzReq) summary() string {
	t := r.target
	if len(t) > 120 {
		t = t[:120] + "…"
	}
	hdr := 0
	for _, h := range r.headers {
		hdr += len(h) + 2
	}
	return fmt.Sprintf("%s %q (%d header bytes, %d body bytes)", r.method, t, hdr, len(r.body))
}

// fuzzer makes requests for one client from its own seeded source.
type fuzzer struct {
	r     *rand.Rand
	host  string // 127.0.0.1:port
	creds hostileCreds
	names []string // real container names and image references
}

func (f *fuzzer) pick(xs ...string) string { return xs[f.r.IntN(len(xs))] }

func (f *fuzzer) str(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~:@"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[f.r.IntN(len(alphabet))]
	}
	return string(b)
}

// segment is a path parameter: real, random, long, %-encoded, traversal,
// NUL, unicode or not UTF-8 at all.
func (f *fuzzer) segment() string {
	switch f.r.IntN(12) {
	case 0, 1:
		return f.names[f.r.IntN(len(f.names))]
	case 2:
		return strings.ReplaceAll(f.names[f.r.IntN(len(f.names))], "/", "%2F")
	case 3:
		return f.str(1 + f.r.IntN(40))
	case 4:
		return f.str(1000 + f.r.IntN(18000)) // past the header buffer, sometimes
	case 5:
		return f.pick("..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2E%2E/%2E%2E", "....//", ".", "%252e%252e")
	case 6:
		return f.pick("%00", "a%00b", "\x00", "x\x00.json", "%0d%0aSet-Cookie:%20x=1")
	case 7:
		return f.pick("日本語", "ünïcödé", "\u202egnp.exe", "😀😀", "%F0%9F%98%80", "Ω≈ç√")
	case 8:
		return f.pick("\xff\xfe", "%ff%fe", "%C0%AF", "%ZZ", "%", "%%41")
	case 9:
		return f.pick("", "/", "//", "*", "?", "#frag", ";jsessionid=1")
	case 10:
		return strconv.Itoa(f.r.IntN(100) - 10)
	}
	return strings.Repeat("%41", 1+f.r.IntN(3000))
}

func (f *fuzzer) path(rt hostileRoute) string {
	parts := strings.Split(rt.path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			s := f.segment()
			// Never the run's own admin or token: a fuzzed DELETE would end the run's credentials.
			if (p == "{user}" && strings.EqualFold(s, benchUser)) || (p == "{id}" && s == f.creds.tokenID) {
				s = "x" + s
			}
			parts[i] = s
		}
	}
	path := strings.Join(parts, "/")
	switch f.r.IntN(10) {
	case 0:
		path += f.pick("/", "/..", "/../..", "/./", "//", "/%2e%2e/", "%00", ".json")
	case 1:
		path = f.pick("//", "/./", "/../", "/%2e/") + strings.TrimPrefix(path, "/")
	case 2:
		path = strings.ToUpper(path)
	case 3:
		path = f.pick("http://"+f.host, "http://evil.example", "https://localhost") + path // absolute form
	}
	return path
}

func (f *fuzzer) query() string {
	if f.r.IntN(2) == 0 {
		return ""
	}
	keys := []string{"limit", "before", "next", "changed", "csrf", "name", "page", "q", f.str(5), "", "a[]"}
	vals := []string{"-1", "0", "99999999999999999999", "1e9", "NaN", "%00", "日本", "\xff", "%ZZ", "a+b", "//evil.example",
		"https://evil.example/", "javascript:alert(1)", f.str(1 + f.r.IntN(200))}
	var q []string
	for range 1 + f.r.IntN(6) {
		q = append(q, f.pick(keys...)+f.pick("=", "", "==")+f.pick(vals...))
	}
	if f.r.IntN(20) == 0 {
		q = append(q, "x="+strings.Repeat("y", 2000+f.r.IntN(14000)))
	}
	return "?" + strings.Join(q, f.pick("&", ";", "&&"))
}

// jsonValue is a JSON value of a random type, sometimes not JSON at all.
func (f *fuzzer) jsonValue(depth int) string {
	switch f.r.IntN(11) {
	case 0:
		return "null"
	case 1:
		return f.pick("true", "false", "0", "-1", "1e999", "18446744073709551616", "0.5", "-0")
	case 2:
		return strconv.Quote(f.str(f.r.IntN(50)))
	case 3:
		return `"` + f.pick("\\ud800", "\xff\xfe", "\\u0000", "日本", "a\\\"b", "\\x41", "\u202e") + `"`
	case 4:
		return strconv.Quote(strings.Repeat("A", f.r.IntN(20000)))
	case 5:
		if depth < 3 {
			return "[" + f.jsonValue(depth+1) + "," + f.jsonValue(depth+1) + "]"
		}
	case 6:
		if depth < 3 {
			return f.jsonObject(depth + 1)
		}
	case 7:
		return strconv.Quote(f.pick("admin", "operator", "viewer", "root", "", "Admin", benchUser, "correct horse battery staple 9"))
	case 8:
		return f.pick("undefined", "NaN", "'single'", "{", "[", `"unterminated`, "0x10", "01")
	}
	return strconv.Quote(f.str(8))
}

func (f *fuzzer) jsonObject(depth int) string {
	fields := []string{"user", "pass", "name", "role", "enabled", "current", "new", "password", "old", "auto_update", "id", f.str(4)}
	var kv []string
	for range f.r.IntN(5) {
		k := f.pick(fields...)
		if f.r.IntN(8) == 0 {
			k = strings.ToUpper(k)
		}
		kv = append(kv, strconv.Quote(k)+":"+f.jsonValue(depth))
	}
	return "{" + strings.Join(kv, f.pick(",", ", ", ",,")) + "}"
}

// body returns a body and its Content-Type header, either possibly absent.
func (f *fuzzer) body() ([]byte, string) {
	jsonType := f.pick("application/json", "application/json; charset=utf-16", "APPLICATION/JSON", "application/json;;", "text/json")
	switch f.r.IntN(10) {
	case 0:
		return nil, ""
	case 1, 2:
		return []byte(f.jsonObject(0)), jsonType
	case 3:
		return []byte(f.pick("{", "[]", "null", `"str"`, "{}{}", `{"user":}`, "\ufeff{}", `{"user":"a","user":"b"}`,
			strings.Repeat("[", 4000)+strings.Repeat("]", 4000), strings.Repeat(`{"a":`, 1500)+"1"+strings.Repeat("}", 1500))), jsonType
	case 4:
		v := []string{"csrf=" + f.creds.csrf, "user=" + f.str(8), "pass=" + f.str(12), "role=" + f.pick("admin", "viewer", "x"),
			"name=%00", "enabled=on", "next=//evil.example", "a=%ZZ", strings.Repeat("k", 300) + "=v"}
		slices.Reverse(v[:f.r.IntN(len(v))])
		return []byte(strings.Join(v[:1+f.r.IntN(len(v)-1)], "&")), f.pick("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin1")
	case 5:
		bd := f.str(10)
		body := "--" + bd + "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + f.creds.csrf + "\r\n--" + bd
		if f.r.IntN(2) == 0 {
			body += "--\r\n"
		}
		return []byte(body), f.pick("multipart/form-data; boundary="+bd, "multipart/form-data", "multipart/form-data; boundary=")
	case 6:
		b := make([]byte, f.r.IntN(100<<10)) // up to 100 KiB: past BodyLimit sometimes
		for i := range b {
			b[i] = byte(f.r.IntN(256))
		}
		return b, f.pick("", "application/octet-stream", jsonType, "image/png")
	case 7:
		return []byte(`{"name":` + strconv.Quote(strings.Repeat("n", 7<<10+f.r.IntN(2<<10))) + `}`), jsonType // around the 8 KiB route limit
	case 8:
		return []byte(f.jsonObject(0)), f.pick("", "text/plain", "\x01\x02", "application/json, text/html", strings.Repeat("x/", 500))
	}
	return []byte(strconv.Quote(f.str(f.r.IntN(100)))), jsonType
}

func (f *fuzzer) request(signedIn bool) *fuzzReq {
	rt := hostileRoutes[f.r.IntN(len(hostileRoutes))]
	req := &fuzzReq{method: rt.method}
	if f.r.IntN(10) < 3 {
		req.method = f.pick("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "get", "BREW")
	}
	req.target = f.path(rt) + f.query()
	switch f.r.IntN(20) {
	case 0:
	case 1:
		req.headers = append(req.headers, "Host: "+f.pick("", "evil.example", "127.0.0.1", "[::1]"+f.host[strings.LastIndex(f.host, ":"):],
			f.host+".", "LOCALHOST"+f.host[strings.LastIndex(f.host, ":"):], f.host+"@evil.example", strings.Repeat("h", 1000), "\xff"))
	case 2:
		req.headers = append(req.headers, "Host: "+f.host, "Host: evil.example")
	default:
		req.headers = append(req.headers, "Host: "+f.pick(f.host, f.host, f.host, "localhost"+f.host[strings.LastIndex(f.host, ":"):]))
	}
	var cookies []string
	logout := rt.path == "/api/logout" || rt.path == views.LogoutPath
	if signedIn && !logout && f.r.IntN(2) == 0 {
		cookies = append(cookies, "refit_session="+f.creds.session)
		if f.r.IntN(10) < 8 {
			req.headers = append(req.headers, views.CSRFHeader+": "+f.creds.csrf)
		}
	} else if signedIn {
		// A logout with the run's session would end it: logouts carry the token.
		req.headers = append(req.headers, "Authorization: "+f.pick("Bearer ", "bearer ", "Bearer  ")+f.creds.token)
	} else if f.r.IntN(3) == 0 {
		req.headers = append(req.headers, "Authorization: "+f.pick("Bearer ", "Basic ", "Bearer", "")+f.pick(f.str(40), "", "%00", strings.Repeat("t", 5000)))
	}
	switch f.r.IntN(6) {
	case 0:
		cookies = append(cookies, "refit_session="+f.pick("", f.str(40), "%00", strings.Repeat("s", 4000), "a=b=c", `"quoted"`))
	case 1: // other apps' cookies on the same host, up to ~20 KiB in all
		for n := f.r.IntN(20 << 10); n > 0; n -= 500 {
			cookies = append(cookies, f.str(8)+"="+f.str(490))
		}
	}
	if len(cookies) > 0 {
		f.r.Shuffle(len(cookies), func(i, j int) { cookies[i], cookies[j] = cookies[j], cookies[i] })
		req.headers = append(req.headers, "Cookie: "+strings.Join(cookies, f.pick("; ", ";", "; ; ")))
	}
	if f.r.IntN(3) == 0 {
		req.headers = append(req.headers, "X-Forwarded-For: "+f.pick("10.0.0.1", "1.2.3.4, 127.0.0.1", "garbage", "", "::1",
			strings.Repeat("9.9.9.9, ", 300), "999.999.999.999", "127.0.0.1\x00"),
			"X-Forwarded-Proto: "+f.pick("https", "gopher", ""), "X-Forwarded-Host: "+f.pick("evil.example", f.host))
	}
	if f.r.IntN(3) == 0 {
		req.headers = append(req.headers, "Origin: "+f.pick("http://"+f.host, "null", "http://evil.example", "://", f.str(20)))
	}
	if f.r.IntN(4) == 0 {
		req.headers = append(req.headers, "HX-Request: true")
	}
	if f.r.IntN(2) == 0 {
		req.headers = append(req.headers, "Accept-Encoding: "+f.pick("gzip", "br, gzip", "*", "identity;q=0", "gzip;q=x"))
	}
	if f.r.IntN(8) == 0 {
		req.headers = append(req.headers, f.pick("Range: bytes=0-1,5-", "If-None-Match: *", "Accept: */*;q=nope", "X-"+f.str(10)+": "+f.str(100)))
	}
	if req.method != "GET" && req.method != "HEAD" || f.r.IntN(10) == 0 {
		var ct string
		req.body, ct = f.body()
		if ct != "" {
			req.headers = append(req.headers, "Content-Type: "+ct)
		}
	}
	return req
}

// rawClient sends requests as bytes over one keep-alive connection, and
// dials again after a close.
type rawClient struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *rawClient) do(req *fuzzReq) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	c.conn.SetDeadline(time.Now().Add(15 * time.Second))
	_, werr := c.conn.Write(req.wire())
	resp, err := http.ReadResponse(c.br, &http.Request{Method: req.method})
	if err != nil {
		c.close()
		if werr != nil {
			return 0, fmt.Errorf("%w (after a write error: %v)", err, werr)
		}
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close || werr != nil {
		c.close()
	}
	return resp.StatusCode, err
}

// hostileResult is what one hostile run measured.
type hostileResult struct {
	sent, signedIn      int
	byClass             [6]int // by status/100; [0] is no answer
	refusedResets       int    // no answer to a request past a limit that closes the connection
	bigLogins           map[int]int
	latencies           []time.Duration
	rssBefore, rssAfter int64
	peakRSS             int64
	dbBefore, dbAfter   int64
	elapsed             time.Duration
	failures            []string
}

func dbSize(db string) int64 {
	var n int64
	for _, p := range []string{db, db + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// runHostile fuzzes a signed-in refit at s with requests requests from
// clients clients, plus bigLogins logins with a 3 MB user name.
func runHostile(t *testing.T, s *benchServe, names []string, clients, requests, bigLogins int, seed uint64) hostileResult {
	t.Helper()
	creds := hostileSignIn(t, s)
	res := hostileResult{bigLogins: map[int]int{}}
	res.rssBefore, _, _, _ = procStatus(t, s.pid)
	res.dbBefore = dbSize(s.db)
	host := strings.TrimPrefix(s.base, "http://")

	var mu sync.Mutex
	record := func(req *fuzzReq, status int, err error, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		res.sent++
		res.byClass[min(status/100, 5)]++
		res.latencies = append(res.latencies, d)
		switch {
		case err != nil && req.mayRefuse:
			res.refusedResets++
		case err != nil:
			res.failures = append(res.failures, fmt.Sprintf("%s: no answer: %v", req.summary(), err))
		case status >= 500:
			res.failures = append(res.failures, fmt.Sprintf("%s: %d", req.summary(), status))
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			f := &fuzzer{r: rand.New(rand.NewPCG(seed, uint64(w))), host: host, creds: creds, names: names}
			c := &rawClient{addr: host}
			defer c.close()
			for i := range requests / clients {
				signed := i%2 == 0
				req := f.request(signed)
				t0 := time.Now()
				status, err := c.do(req)
				record(req, status, err, time.Since(t0))
				if signed {
					mu.Lock()
					res.signedIn++
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		c := &rawClient{addr: host}
		defer c.close()
		user := strings.Repeat("u", 3<<20)
		for range bigLogins {
			req := &fuzzReq{method: "POST", target: "/api/login", headers: []string{"Host: " + host, "Content-Type: application/json"},
				body: []byte(`{"user":"` + user + `","pass":"x"}`)}
			t0 := time.Now()
			status, err := c.do(req)
			record(req, status, err, time.Since(t0))
			mu.Lock()
			res.bigLogins[status]++
			mu.Unlock()
			c.close()
		}
	})
	wg.Wait()
	res.elapsed = time.Since(start)
	res.rssAfter, res.peakRSS, _, _ = procStatus(t, s.pid)
	res.dbAfter = dbSize(s.db)

	// The run's credentials still work: nothing the fuzzer sent took them away.
	for _, h := range [][2]string{{"Cookie", "refit_session=" + creds.session}, {"Authorization", "Bearer " + creds.token}} {
		req, _ := http.NewRequest("GET", s.base+"/api/images", nil)
		req.Header.Set(h[0], h[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("after the fuzz, GET /api/images with the run's %s = %d, want 200", h[0], resp.StatusCode)
		}
	}
	return res
}

// hostileSignIn logs benchUser in and makes it an API token.
func hostileSignIn(t *testing.T, s *benchServe) hostileCreds {
	t.Helper()
	var c hostileCreds
	resp, err := http.Post(s.base+"/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"user":%q,"pass":%q}`, benchUser, benchPass)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "refit_session" {
			c.session = ck.Value
		}
	}
	c.csrf = resp.Header.Get(views.CSRFHeader)
	if resp.StatusCode != 200 || c.session == "" || c.csrf == "" {
		t.Fatalf("login: %d, session %t, CSRF token %t", resp.StatusCode, c.session != "", c.csrf != "")
	}
	req, _ := http.NewRequest("POST", s.base+"/api/tokens", strings.NewReader(`{"name":"hostile"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "refit_session="+c.session)
	req.Header.Set(views.CSRFHeader, c.csrf)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		ID    uint   `json:"id"`
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST /api/tokens: %d %v", resp.StatusCode, err)
	}
	c.token, c.tokenID = tok.Token, strconv.FormatUint(uint64(tok.ID), 10)
	return c
}

// hostileNames are the container names and image references of a
// footprintEngine, for path parameters that reach past the lookups.
func hostileNames(groups, perGroup int, reg interface{ Ref(string) string }) []string {
	var names []string
	for g := range groups {
		names = append(names, reg.Ref(fmt.Sprintf("bench/app-%03d:1", g)), fmt.Sprintf("app-%03d-%d", g, perGroup-1))
	}
	return names
}

// checkHostile fails the test on any 5xx or broken connection that is not
// a documented refusal.
func checkHostile(t *testing.T, res hostileResult, seed uint64) {
	t.Helper()
	if len(res.failures) > 0 {
		show := res.failures[:min(len(res.failures), 20)]
		t.Errorf("hostile run (seed %d): %d requests without a good answer:\n%s", seed, len(res.failures), strings.Join(show, "\n"))
	}
}

func hostileSeed() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("REFIT_BENCH_SEED"), 10, 64); err == nil {
		return s
	}
	return uint64(time.Now().UnixNano())
}

// TestHostileBenchHarness runs the hostile section small.
func TestHostileBenchHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	api, reg := footprintEngine(t, 2, 2)
	bin, _ := buildBench(t, true)
	s := serveBench(t, bin, api.Serve(t))
	s.waitChecked(t, s.signIn(t), 4)
	seed := hostileSeed()
	res := runHostile(t, s, hostileNames(2, 2, reg), 2, 80, 2, seed)
	if res.sent != 82 {
		t.Errorf("sent %d requests, want 82", res.sent)
	}
	checkHostile(t, res, seed)
}

// benchHostile is the hostile section of TestBenchReport.
func benchHostile(t *testing.T) {
	const groups, perGroup, clients, requests, bigLogins = 100, 5, 4, 4400, 40
	api, reg := footprintEngine(t, groups, perGroup)
	bin, _ := buildBench(t, false)
	s := serveBench(t, bin, api.Serve(t))
	s.waitChecked(t, s.signIn(t), groups*perGroup)
	time.Sleep(2 * time.Second)
	seed := hostileSeed()
	res := runHostile(t, s, hostileNames(groups, perGroup, reg), clients, requests, bigLogins, seed)
	time.Sleep(2 * time.Second)
	restRSS, _, _, _ := procStatus(t, s.pid)

	slices.Sort(res.latencies)
	pct := func(p float64) time.Duration {
		return res.latencies[min(len(res.latencies)-1, int(p*float64(len(res.latencies))))]
	}
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	var big []string
	for _, st := range slices.Sorted(maps.Keys(res.bigLogins)) {
		label := strconv.Itoa(st)
		if st == 0 {
			label = "connection closed before an answer"
		}
		big = append(big, fmt.Sprintf("%d × %s", res.bigLogins[st], label))
	}
	w := &strings.Builder{}
	fmt.Fprintf(w, "## Hostile requests\n\n")
	fmt.Fprintf(w, "The same binary and engine (%d containers), auth on, admin from REFIT_ADMIN_PASSWORD. %d clients on "+
		"loopback send %d fuzzed requests to every route of `handlers/routes.go` (random methods; paths long, "+
		"%%-encoded, with `..`, NUL, unicode and bytes that are not UTF-8; random query strings; JSON wrong in many "+
		"ways, forms, multipart, binary, bodies up to 100 KiB; cookies up to ~20 KiB, odd Content-Type, Host and "+
		"X-Forwarded-For), half of them with a valid session (with or without its CSRF token) or API token, written "+
		"as raw bytes; one more client sends %d logins with a 3 MB user name. Seed %d (REFIT_BENCH_SEED repeats "+
		"it). The test fails on any 5xx, and on any connection that breaks without an answer except past the two "+
		"limits whose refusal closes it (a body past the routes' limit: 413; headers past 16 KiB: 431).\n\n",
		groups*perGroup, clients, requests, bigLogins, seed)
	fmt.Fprintf(w, "| what | value |\n|---|---:|\n")
	fmt.Fprintf(w, "| requests sent (of them signed in) | %d (%d) in %s |\n", res.sent, res.signedIn, res.elapsed.Round(time.Millisecond))
	for c := 1; c <= 5; c++ {
		if c == 5 {
			fmt.Fprintf(w, "| **5xx answers** | **%d** |\n", res.byClass[5])
			continue
		}
		fmt.Fprintf(w, "| %dxx answers | %d |\n", c, res.byClass[c])
	}
	fmt.Fprintf(w, "| closed without an answer, past a 413/431 limit | %d |\n", res.refusedResets)
	fmt.Fprintf(w, "| closed without an answer, otherwise | %d |\n", res.byClass[0]-res.refusedResets)
	fmt.Fprintf(w, "| logins with a 3 MB user name | %s |\n", strings.Join(big, ", "))
	fmt.Fprintf(w, "| latency p50 / p99 / max | %s / %s / %s |\n", pct(0.50).Round(10*time.Microsecond),
		pct(0.99).Round(10*time.Microsecond), res.latencies[len(res.latencies)-1].Round(time.Millisecond))
	fmt.Fprintf(w, "| resident memory before / right after / 2 s after (VmRSS) | %s / %s / %s |\n", mb(res.rssBefore), mb(res.rssAfter), mb(restRSS))
	fmt.Fprintf(w, "| peak resident memory (VmHWM) | %s |\n", mb(res.peakRSS))
	fmt.Fprintf(w, "| database before / after (file + WAL) | %s / %s |\n\n", mb(res.dbBefore), mb(res.dbAfter))
	benchtest.Write(t, w.String())
	checkHostile(t, res, seed)
}
