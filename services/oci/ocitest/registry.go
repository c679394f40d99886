// Package ocitest serves an in-process OCI registry on 127.0.0.1 and builds small test images for it.
//
// The registry is go-containerregistry's pkg/registry behind httptest, wrapped with request counters and fault knobs,
// so tests can assert the rate-limit contract (one HEAD, zero GETs for an up-to-date image) and simulate 429s, slow
// registries and slow layer downloads. A Docker engine on the same machine pulls from it over plain HTTP, because
// loopback registries are insecure registries by default.
//
// Every test image runs the testapp binary (see the testapp directory), so containers start, stop, report health and
// write files without any base image.
package ocitest

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Counts is a snapshot of the requests a Registry has answered since it started or since the last Reset, every one of
// them: a client's retries and pings show up here. Requests made by Push, PushImage and PushIndex are not counted. HEAD
// and GET requests for /v2/<name>/manifests/<ref> and /v2/<name>/blobs/<digest> land in the four named buckets, the
// /v2/ ping in Ping, the token service of RequireToken in Token, each page of /v2/<name>/tags/list in TagList, and
// everything else (uploads, manifest PUTs) in Other.
type Counts struct {
	HeadManifest int
	GetManifest  int
	HeadBlob     int
	GetBlob      int
	Ping         int
	Token        int
	TagList      int
	Other        int
}

// Total is the number of requests of every kind.
func (c Counts) Total() int {
	return c.HeadManifest + c.GetManifest + c.HeadBlob + c.GetBlob + c.Ping + c.Token + c.TagList + c.Other
}

// TagPageSize is how many tags a page of /v2/<name>/tags/list holds at most, as Docker Hub answers: a longer list
// comes in pages linked by a Link header, as the distribution spec says.
const TagPageSize = 100

// Target names the requests a Fault answers.
type Target int

const (
	// Manifests are HEAD and GET requests of /v2/<name>/manifests/<ref>.
	Manifests Target = iota
	// Pings are requests of /v2/.
	Pings
	// Tokens are requests to the token service of RequireToken.
	Tokens
	numTargets
)

// Fault is an injected answer: Status, with a Retry-After header when RetryAfter is not empty, for the next Times
// requests of its target, or for every one when Times is 0.
type Fault struct {
	Status     int
	RetryAfter string
	Times      int
}

// Registry is an in-process registry listening on 127.0.0.1. Its knobs are safe to change while it serves.
type Registry struct {
	srv    *httptest.Server
	host   string
	closed chan struct{}

	mu       sync.Mutex
	counts   Counts
	blobGets map[string]int

	latency         time.Duration
	blobRate        int
	faults          [numTargets]Fault
	requireToken    bool
	rateLimit       int
	rateRemaining   int
	rateLimitActive bool
}

// NewRegistry starts a registry on 127.0.0.1:0 and closes it when the test ends.
func NewRegistry(tb testing.TB) *Registry {
	tb.Helper()
	r := &Registry{
		closed:   make(chan struct{}),
		blobGets: make(map[string]int),
	}
	// Bind IPv4 loopback explicitly: httptest may fall back to [::1], and the engine's default insecure-registry
	// range is 127.0.0.0/8.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ocitest: listen on 127.0.0.1: %v", err)
	}
	srv := httptest.NewUnstartedServer(r.wrap(registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	r.srv = srv
	r.host = l.Addr().String()
	tb.Cleanup(func() {
		// Release handlers that are sleeping for latency or throttling, then drop their connections, so Close does
		// not wait for a slow pull the test no longer cares about.
		close(r.closed)
		srv.CloseClientConnections()
		srv.Close()
	})
	return r
}

// Host returns the registry's address as "127.0.0.1:PORT", the registry part of an image reference.
func (r *Registry) Host() string { return r.host }

// Ref returns the full reference of repoTag (for example "test/app:1") in this registry.
func (r *Registry) Ref(repoTag string) string { return r.host + "/" + repoTag }

// Counts returns the request counters.
func (r *Registry) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts
}

// BlobGets returns how many times the blob with this digest ("sha256:…") was fetched with GET.
func (r *Registry) BlobGets(digest string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobGets[digest]
}

// Reset zeroes the counters, typically after the pushes that set up a test.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = Counts{}
	clear(r.blobGets)
}

// SetLatency makes the registry wait d before handling each request (except those of Push and its siblings). Zero
// turns it off.
func (r *Registry) SetLatency(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency = d
}

// SetBlobRate throttles the bodies of blob GETs to about bytesPerSecond, so a pull can be observed while it is in
// flight. Zero or less turns it off. A change applies to downloads already running.
func (r *Registry) SetBlobRate(bytesPerSecond int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blobRate = max(bytesPerSecond, 0)
}

// FailManifests answers every manifest HEAD and GET with status and, if retryAfter is not empty, a Retry-After
// header. Status 0 turns it off. Push and its siblings are not affected, so a test can publish a new version while
// reads fail.
func (r *Registry) FailManifests(status int, retryAfter string) {
	r.Fail(Manifests, Fault{Status: status, RetryAfter: retryAfter})
}

// Fail answers target's requests with f, replacing its previous fault; a zero Status turns it off. Under RequireToken
// a manifest request without a token gets its 401 first and leaves the fault for the next one.
func (r *Registry) Fail(target Target, f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults[target] = f
}

// RequireToken makes the registry ask for a bearer token the way Docker Hub does: the ping and every manifest or blob
// request without one answer 401 with a challenge whose realm is this registry's /token, which hands out a token to
// anyone. Counts.Token counts the token requests.
func (r *Registry) RequireToken() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requireToken = true
}

// SetRateLimitHeaders adds Docker Hub's headers "ratelimit-limit: <limit>;w=21600" and
// "ratelimit-remaining: <remaining>;w=21600" to manifest answers (failed ones included). 0, 0 turns them off.
func (r *Registry) SetRateLimitHeaders(limit, remaining int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rateLimit = limit
	r.rateRemaining = remaining
	r.rateLimitActive = limit != 0 || remaining != 0
}

// setupHeader marks the requests of Push and its siblings. They prepare a test rather than exercise the code under
// test, so they bypass the counters, the latency and the faults.
const setupHeader = "X-Ocitest-Setup"

// setupTransport adds setupHeader to every request.
type setupTransport struct{ base http.RoundTripper }

func (t setupTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(setupHeader, "1")
	return t.base.RoundTrip(req)
}

// kind classifies a request path for the counters.
type kind int

const (
	kindOther kind = iota
	kindManifest
	kindBlob
	kindPing
	kindToken
	kindTags
)

// tokenPath is where RequireToken's token service answers, and token the one token it hands out.
const (
	tokenPath = "/token"
	token     = "ocitest-token"
)

// classify reports whether path names a manifest (/v2/<name>/manifests/<ref>), a blob (/v2/<name>/blobs/<digest>),
// the ping or the token service, and for the first two returns the repository name and the last element (the
// reference or digest). Upload paths under /blobs/uploads/ are neither.
func classify(path string) (k kind, repo, last string) {
	switch path {
	case "/v2/", "/v2":
		return kindPing, "", ""
	case tokenPath:
		return kindToken, "", ""
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return kindOther, "", ""
	}
	elems := strings.Split(rest, "/")
	// At least one name component, the keyword and the reference.
	if len(elems) < 3 {
		return kindOther, "", ""
	}
	last = elems[len(elems)-1]
	if last == "" {
		return kindOther, "", ""
	}
	repo = strings.Join(elems[:len(elems)-2], "/")
	if elems[len(elems)-2] == "tags" && last == "list" {
		return kindTags, repo, last
	}
	switch elems[len(elems)-2] {
	case "manifests":
		return kindManifest, repo, last
	case "blobs":
		if last == "uploads" {
			return kindOther, "", ""
		}
		return kindBlob, repo, last
	}
	return kindOther, "", ""
}

// takeFault returns target's fault if it answers this request, and counts it against Times. The caller holds r.mu.
func (r *Registry) takeFault(target Target) (Fault, bool) {
	f := r.faults[target]
	if f.Status == 0 {
		return Fault{}, false
	}
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			r.faults[target] = Fault{}
		} else {
			r.faults[target] = f
		}
	}
	return f, true
}

// challenge is the WWW-Authenticate header of a 401 under RequireToken.
func (r *Registry) challenge(repo string) string {
	c := `Bearer realm="http://` + r.host + tokenPath + `",service="ocitest"`
	if repo != "" {
		c += `,scope="repository:` + repo + `:pull"`
	}
	return c
}

func (r *Registry) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get(setupHeader) != "" {
			next.ServeHTTP(w, req)
			return
		}
		k, repo, last := classify(req.URL.Path)
		read := req.Method == http.MethodHead || req.Method == http.MethodGet
		hasToken := req.Header.Get("Authorization") == "Bearer "+token

		r.mu.Lock()
		switch {
		case k == kindManifest && req.Method == http.MethodHead:
			r.counts.HeadManifest++
		case k == kindManifest && req.Method == http.MethodGet:
			r.counts.GetManifest++
		case k == kindBlob && req.Method == http.MethodHead:
			r.counts.HeadBlob++
		case k == kindBlob && req.Method == http.MethodGet:
			r.counts.GetBlob++
			r.blobGets[last]++
		case k == kindPing:
			r.counts.Ping++
		case k == kindToken:
			r.counts.Token++
		case k == kindTags:
			r.counts.TagList++
		default:
			r.counts.Other++
		}
		latency := r.latency
		needToken := r.requireToken && !hasToken && (k == kindPing || k == kindManifest || k == kindBlob || k == kindTags)
		var fault Fault
		var failed bool
		switch {
		case k == kindPing:
			fault, failed = r.takeFault(Pings)
		case k == kindToken && r.requireToken:
			fault, failed = r.takeFault(Tokens)
		case (k == kindManifest || k == kindTags) && read && !needToken:
			fault, failed = r.takeFault(Manifests)
		}
		rlActive, rlLimit, rlRemaining := r.rateLimitActive, r.rateLimit, r.rateRemaining
		requireToken := r.requireToken
		r.mu.Unlock()

		if latency > 0 && !r.sleep(req, latency) {
			return
		}
		if k == kindManifest && read && rlActive {
			w.Header().Set("ratelimit-limit", strconv.Itoa(rlLimit)+";w=21600")
			w.Header().Set("ratelimit-remaining", strconv.Itoa(rlRemaining)+";w=21600")
		}
		if failed {
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.Status)
			if req.Method != http.MethodHead {
				io.WriteString(w, `{"errors":[{"code":"`+errorCode(fault.Status)+`","message":"ocitest: injected failure"}]}`)
			}
			return
		}
		if k == kindToken && requireToken {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"token":"`+token+`","access_token":"`+token+`","expires_in":300}`)
			return
		}
		if needToken {
			w.Header().Set("WWW-Authenticate", r.challenge(repo))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			if req.Method != http.MethodHead {
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"ocitest: token required"}]}`)
			}
			return
		}
		if k == kindBlob && req.Method == http.MethodGet {
			w = &throttledWriter{ResponseWriter: w, r: r, req: req}
		}
		if k == kindTags && req.Method == http.MethodGet {
			servePage(w, req, repo, next)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// errorCode is the distribution-spec error code a registry would send with status.
func errorCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "DENIED"
	case http.StatusNotFound:
		return "MANIFEST_UNKNOWN"
	}
	return "UNKNOWN"
}

// sleep waits d, or less if the client goes away or the registry closes; it reports whether the request should go on.
func (r *Registry) sleep(req *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-req.Context().Done():
		return false
	case <-r.closed:
		return false
	}
}

// throttledWriter paces a blob body to the registry's current blob rate.
type throttledWriter struct {
	http.ResponseWriter
	r   *Registry
	req *http.Request
}

// errAborted ends a throttled body whose client left or whose registry closed.
var errAborted = errors.New("ocitest: blob download aborted")

// tick is how often a throttled body sends a slice of data: often enough that progress looks continuous.
const tick = 50 * time.Millisecond

func (tw *throttledWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		tw.r.mu.Lock()
		rate := tw.r.blobRate
		tw.r.mu.Unlock()
		if rate <= 0 {
			n, err := tw.ResponseWriter.Write(p)
			return written + n, err
		}
		chunk := max(rate*int(tick)/int(time.Second), 1)
		chunk = min(chunk, len(p))
		n, err := tw.ResponseWriter.Write(p[:chunk])
		written += n
		if err != nil {
			return written, err
		}
		// Flush so the client sees each slice as it is sent, not when a buffer fills.
		if f, ok := tw.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[chunk:]
		if !tw.r.sleep(tw.req, time.Duration(chunk)*time.Second/time.Duration(rate)) {
			return written, errAborted
		}
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (tw *throttledWriter) Unwrap() http.ResponseWriter { return tw.ResponseWriter }

// servePage answers a tag list a page at a time: at most TagPageSize tags (fewer when n asks), and a Link to the next
// page, which starts after the page's last tag. pkg/registry understands n and last but sends no Link.
func servePage(w http.ResponseWriter, req *http.Request, repo string, next http.Handler) {
	q := req.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n <= 0 || n > TagPageSize {
		n = TagPageSize
	}
	q.Set("n", strconv.Itoa(n))
	req = req.Clone(req.Context())
	req.URL.RawQuery = q.Encode()
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, req)
	var page struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	// pkg/registry answers the first page again for a last past the end.
	if last := q.Get("last"); last != "" && len(page.Tags) > 0 && page.Tags[0] <= last {
		page.Tags = []string{}
	}
	if len(page.Tags) == n {
		link := url.Values{"n": {strconv.Itoa(n)}, "last": {page.Tags[n-1]}}
		w.Header().Set("Link", "</v2/"+repo+"/tags/list?"+link.Encode()+`>; rel="next"`)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}
