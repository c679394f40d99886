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
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Counts is a snapshot of the requests a Registry has answered since it started or since the last Reset.
// Requests made by Push, PushImage and PushIndex are not counted. Only HEAD and GET requests for /v2/<name>/manifests/<ref> and /v2/<name>/blobs/<digest> land in the four named
// buckets; everything else (the /v2/ ping, uploads, manifest PUTs, tag lists) counts as Other.
type Counts struct {
	HeadManifest int
	GetManifest  int
	HeadBlob     int
	GetBlob      int
	Other        int
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
	failStatus      int
	retryAfter      string
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
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failStatus = status
	r.retryAfter = retryAfter
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
)

// classify reports whether path names a manifest (/v2/<name>/manifests/<ref>) or a blob (/v2/<name>/blobs/<digest>)
// and returns the last element (the reference or digest). Upload paths under /blobs/uploads/ are neither.
func classify(path string) (kind, string) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return kindOther, ""
	}
	elems := strings.Split(rest, "/")
	// At least one name component, the keyword and the reference.
	if len(elems) < 3 {
		return kindOther, ""
	}
	last := elems[len(elems)-1]
	if last == "" {
		return kindOther, ""
	}
	switch elems[len(elems)-2] {
	case "manifests":
		return kindManifest, last
	case "blobs":
		if last == "uploads" {
			return kindOther, ""
		}
		return kindBlob, last
	}
	return kindOther, ""
}

func (r *Registry) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get(setupHeader) != "" {
			next.ServeHTTP(w, req)
			return
		}
		k, last := classify(req.URL.Path)
		read := req.Method == http.MethodHead || req.Method == http.MethodGet

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
		default:
			r.counts.Other++
		}
		latency := r.latency
		failStatus, retryAfter := r.failStatus, r.retryAfter
		rlActive, rlLimit, rlRemaining := r.rateLimitActive, r.rateLimit, r.rateRemaining
		r.mu.Unlock()

		if latency > 0 && !r.sleep(req, latency) {
			return
		}
		if k == kindManifest && read && rlActive {
			w.Header().Set("ratelimit-limit", strconv.Itoa(rlLimit)+";w=21600")
			w.Header().Set("ratelimit-remaining", strconv.Itoa(rlRemaining)+";w=21600")
		}
		if k == kindManifest && read && failStatus != 0 {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(failStatus)
			if req.Method == http.MethodGet {
				io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"ocitest: injected failure"}]}`)
			}
			return
		}
		if k == kindBlob && req.Method == http.MethodGet {
			w = &throttledWriter{ResponseWriter: w, r: r, req: req}
		}
		next.ServeHTTP(w, req)
	})
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
