package oci

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"refit/models"
)

// Refit's request policy, in one place: the policy transport below sees every
// request the puller sends (pings, token exchanges, HEADs), and nothing else
// retries. go-containerregistry's own retry is off because it wraps this
// transport: it would resend a 429 twice over four seconds, ignoring
// Retry-After, and spend the pull budget exactly when it is gone.
//
//   - 429: never resent. The registry is not asked again before its
//     Retry-After (Options.Backoff without one); until then requests fail at
//     once without being sent.
//   - 408 and 5xx (but 501): resent once after retryPause, unless the answer's
//     own Retry-After asks for longer.
//   - Network errors: not resent. net/http already resends a HEAD or GET whose
//     reused connection broke before an answer; what is left (refused, DNS,
//     TLS, timeouts, the HTTPS half of the ping race against a plain-HTTP
//     registry) does not heal in a second, and the next check comes anyway.
//   - Everything else is the answer.
var noRetry = []remote.Option{
	remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	remote.WithRetryPredicate(func(error) bool { return false }),
	remote.WithRetryStatusCodes(),
}

const (
	// retryPause is the wait before resending a 408 or 5xx: long enough for a
	// load balancer to pick another backend, short next to the check timeout.
	retryPause = time.Second
	// maxRetryAfter bounds what a registry may ask for: Docker Hub's window
	// is six hours, and a garbled header must not silence a registry for good.
	maxRetryAfter = 6 * time.Hour
)

// registryKey carries the registry a request is for, so an answer of its
// token service (auth.docker.io for Docker Hub) counts against the registry.
type registryKey struct{}

func withRegistry(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, registryKey{}, host)
}

func registryOf(req *http.Request) string {
	if h, ok := req.Context().Value(registryKey{}).(string); ok {
		return h
	}
	return req.URL.Host
}

// rateLimited is the policy's error for a request to a registry that
// answered 429: the request that got the answer, and every request until.
type rateLimited struct {
	registry string
	until    time.Time
	asked    bool // whether this request was sent
}

func (e *rateLimited) Error() string {
	at := e.until.UTC().Format(time.RFC3339)
	if e.asked {
		return fmt.Sprintf("%s answered 429, retry after %s", displayRegistry(e.registry), at)
	}
	return fmt.Sprintf("%s is rate limited, not asked before %s", displayRegistry(e.registry), at)
}

// policy is the RoundTripper that applies the request policy and records
// Docker Hub's rate-limit headers and Retry-After from every answer, since
// the puller does not expose them.
type policy struct {
	base    http.RoundTripper
	backoff time.Duration // left alone after a 429 without Retry-After
	pause   time.Duration // before resending a 408 or 5xx
	now     func() time.Time

	mu   sync.Mutex
	seen map[string]*models.RateLimit // by registry host
}

func newPolicy(base http.RoundTripper, backoff time.Duration) *policy {
	return &policy{base: base, backoff: backoff, pause: retryPause, now: time.Now, seen: map[string]*models.RateLimit{}}
}

func (p *policy) RoundTrip(req *http.Request) (*http.Response, error) {
	reg := registryOf(req)
	for attempt := 1; ; attempt++ {
		if until, ok := p.blocked(reg); ok {
			return nil, &rateLimited{registry: reg, until: until}
		}
		resp, err := p.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if until, limited := p.record(reg, resp); limited {
			discard(resp)
			return nil, &rateLimited{registry: reg, until: until, asked: true}
		}
		if attempt > 1 || !p.retryable(resp) || !rewindable(req) {
			return resp, nil
		}
		discard(resp)
		t := time.NewTimer(p.pause)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// retryable reports whether resp is worth one more try after the pause.
func (p *policy) retryable(resp *http.Response) bool {
	c := resp.StatusCode
	if c != http.StatusRequestTimeout && (c < 500 || c > 599 || c == http.StatusNotImplemented) {
		return false
	}
	if v := resp.Header.Get("Retry-After"); v != "" && retryAfter(v, p.now(), 0) > p.pause {
		return false
	}
	return true
}

func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// discard drains a little of a body we will not return, so the connection
// can be reused, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// record notes the rate-limit headers of resp and, for a 429, until when reg
// is left alone.
func (p *policy) record(reg string, resp *http.Response) (until time.Time, limited bool) {
	limit, lw, okL := parseLimit(resp.Header.Get("ratelimit-limit"))
	remaining, _, okR := parseLimit(resp.Header.Get("ratelimit-remaining"))
	limited = resp.StatusCode == http.StatusTooManyRequests
	if !okL && !okR && !limited {
		return time.Time{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rl := p.seen[reg]
	if rl == nil {
		rl = &models.RateLimit{Registry: displayRegistry(reg)}
		p.seen[reg] = rl
	}
	now := p.now()
	rl.SeenAt = now
	if okL {
		rl.Limit, rl.Window = limit, lw
	}
	if okR {
		rl.Remaining = remaining
	}
	if limited {
		rl.Limited = true
		rl.RetryAfter = now.Add(retryAfter(resp.Header.Get("Retry-After"), now, p.backoff))
	}
	return rl.RetryAfter, limited
}

// blocked reports whether reg is rate limited, and until when.
func (p *policy) blocked(reg string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rl := p.seen[reg]
	if rl == nil || !rl.Limited {
		return time.Time{}, false
	}
	if p.now().Before(rl.RetryAfter) {
		return rl.RetryAfter, true
	}
	rl.Limited = false
	return time.Time{}, false
}

func (p *policy) list() []models.RateLimit {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	out := make([]models.RateLimit, 0, len(p.seen))
	for _, rl := range p.seen {
		if rl.Limited && !now.Before(rl.RetryAfter) {
			rl.Limited = false
		}
		out = append(out, *rl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Registry < out[j].Registry })
	return out
}

// parseLimit reads "100;w=21600" (Docker Hub) or a bare number.
func parseLimit(v string) (n, window int, ok bool) {
	if v == "" {
		return 0, 0, false
	}
	parts := strings.Split(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil {
		return 0, 0, false
	}
	for _, p := range parts[1:] {
		if w, found := strings.CutPrefix(strings.TrimSpace(p), "w="); found {
			window, _ = strconv.Atoi(w)
		}
	}
	return n, window, true
}

// retryAfter reads Retry-After as seconds or an HTTP date, at most
// maxRetryAfter. A date in the past is more likely a skewed clock than an
// invitation, so it gets the fallback.
func retryAfter(v string, now time.Time, fallback time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return fallback
}
