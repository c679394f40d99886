// Package oci asks registries what a tag points to, through
// go-containerregistry. It is the only package that imports its remote
// client, and it only ever sends HEAD requests for manifests: on Docker Hub a
// GET of a manifest counts as a pull.
package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"refit/models"
)

// Options configure a Client.
type Options struct {
	// Keychain resolves registry credentials; authn.DefaultKeychain (the
	// Docker config and its credential helpers) when nil.
	Keychain authn.Keychain
	// Timeout bounds one HEAD, token exchange included. Default 15s.
	Timeout time.Duration
	// Transport is the base HTTP transport; remote.DefaultTransport when nil.
	Transport http.RoundTripper
	// Backoff is how long a registry that answered 429 without Retry-After
	// is left alone. Default one minute.
	Backoff time.Duration
}

// Client resolves tags to digests. One Client keeps one HTTP transport and
// one go-containerregistry puller, so connections and bearer tokens are
// reused per registry and repository across checks.
type Client struct {
	puller   *remote.Puller
	keychain authn.Keychain
	timeout  time.Duration
	limits   *limits
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = remote.DefaultTransport
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Minute
	}
	l := &limits{base: newPings(opts.Transport), backoff: opts.Backoff, seen: map[string]*models.RateLimit{}, now: time.Now}
	p, err := remote.NewPuller(remote.WithAuthFromKeychain(opts.Keychain), remote.WithTransport(l))
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return &Client{puller: p, keychain: opts.Keychain, timeout: opts.Timeout, limits: l}, nil
}

// Digest returns the digest ref's tag points to, from exactly one HEAD of its
// manifest (an index digest for multi-arch tags, which is what a pull records
// in RepoDigests). Errors wrap models.ErrRateLimited on 429,
// models.ErrUnauthorized on 401/403, models.ErrNotFound on 404, and
// models.ErrUnavailable otherwise.
func (c *Client) Digest(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("reference %q: %w", ref, models.ErrInvalid)
	}
	host := r.Context().RegistryStr()
	if until, ok := c.limits.blocked(host); ok {
		return "", fmt.Errorf("%s: retry after %s: %w", displayRegistry(host), until.UTC().Format(time.RFC3339), models.ErrRateLimited)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	desc, err := c.puller.Head(ctx, r)
	if err != nil {
		return "", classify(err)
	}
	return desc.Digest.String(), nil
}

// RateLimits returns what registries last said about their pull budget,
// sorted by registry.
func (c *Client) RateLimits() []models.RateLimit { return c.limits.list() }

func classify(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusTooManyRequests:
			return fmt.Errorf("registry answered 429: %w", models.ErrRateLimited)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("registry answered %d: %w", te.StatusCode, models.ErrUnauthorized)
		case http.StatusNotFound:
			return fmt.Errorf("registry answered 404: %w", models.ErrNotFound)
		default:
			return fmt.Errorf("registry answered %d: %w", te.StatusCode, models.ErrUnavailable)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("registry timed out: %w", models.ErrUnavailable)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		// The full text repeats every URL tried; people need the gist.
		return fmt.Errorf("registry unreachable: %w", models.ErrUnavailable)
	}
	return fmt.Errorf("%v: %w", err, models.ErrUnavailable)
}

// limits is the RoundTripper that reads Docker Hub's rate-limit headers and
// Retry-After from every answer, since the puller does not expose them.
type limits struct {
	base    http.RoundTripper
	backoff time.Duration
	now     func() time.Time

	mu   sync.Mutex
	seen map[string]*models.RateLimit // by registry host
}

func (l *limits) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	limit, lw, okL := parseLimit(resp.Header.Get("ratelimit-limit"))
	remaining, _, okR := parseLimit(resp.Header.Get("ratelimit-remaining"))
	if !okL && !okR && resp.StatusCode != http.StatusTooManyRequests {
		return resp, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	host := req.URL.Host
	rl := l.seen[host]
	if rl == nil {
		rl = &models.RateLimit{Registry: displayRegistry(host)}
		l.seen[host] = rl
	}
	now := l.now()
	rl.SeenAt = now
	if okL {
		rl.Limit, rl.Window = limit, lw
	}
	if okR {
		rl.Remaining = remaining
	}
	rl.Limited = resp.StatusCode == http.StatusTooManyRequests
	if rl.Limited {
		rl.RetryAfter = now.Add(retryAfter(resp.Header.Get("Retry-After"), now, l.backoff))
	}
	return resp, nil
}

func (l *limits) blocked(host string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rl := l.seen[host]
	if rl == nil || !rl.Limited {
		return time.Time{}, false
	}
	if l.now().Before(rl.RetryAfter) {
		return rl.RetryAfter, true
	}
	rl.Limited = false
	return time.Time{}, false
}

func (l *limits) list() []models.RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]models.RateLimit, 0, len(l.seen))
	for _, rl := range l.seen {
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

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time, fallback time.Duration) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return fallback
}

// displayRegistry names Docker Hub the way users write it.
func displayRegistry(host string) string {
	switch host {
	case name.DefaultRegistry, "registry-1.docker.io", "docker.io":
		return "docker.io"
	}
	return host
}

// Auth resolves the credentials a pull of ref needs from the same keychain
// the checks use, so both agree on one source of truth.
func (c *Client) Auth(ctx context.Context, ref string) (models.RegistryAuth, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return models.RegistryAuth{}, fmt.Errorf("reference %q: %w", ref, models.ErrInvalid)
	}
	a, err := authn.Resolve(ctx, c.keychain, r.Context())
	if err != nil {
		return models.RegistryAuth{}, fmt.Errorf("credentials for %s: %w", r.Context().RegistryStr(), err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		return models.RegistryAuth{}, fmt.Errorf("credentials for %s: %w", r.Context().RegistryStr(), err)
	}
	return models.RegistryAuth{Username: cfg.Username, Password: cfg.Password, IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken, ServerAddress: r.Context().RegistryStr()}, nil
}
