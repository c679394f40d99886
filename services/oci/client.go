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
	"slices"
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
	// Sent, when set, is told of every request that reaches the network
	// (HEADs, pings, token exchanges, retries) with the registry it is for
	// and the answer's status, 0 when none came.
	Sent func(registry, method string, status int)
}

// Client resolves tags to digests. One Client keeps one HTTP transport and
// one go-containerregistry puller, so connections and bearer tokens are
// reused per registry and repository across checks.
type Client struct {
	puller   *remote.Puller
	keychain authn.Keychain
	timeout  time.Duration
	policy   *policy
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
	base := opts.Transport
	if opts.Sent != nil {
		base = sentTo(base, opts.Sent)
	}
	pol := newPolicy(newPings(base), opts.Backoff)
	p, err := remote.NewPuller(slices.Concat(noRetry, []remote.Option{
		remote.WithAuthFromKeychain(opts.Keychain), remote.WithTransport(pol)})...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return &Client{puller: p, keychain: opts.Keychain, timeout: opts.Timeout, policy: pol}, nil
}

// Digest returns the digest ref's tag points to, from exactly one HEAD of its
// manifest (an index digest for multi-arch tags, which is what a pull records
// in RepoDigests), plus the registry's ping and token exchange when this
// client has none for it yet. A 408 or 5xx is asked once more after a short
// pause; nothing else is (see noRetry).
//
// Errors wrap models.ErrRateLimited on 429, as a *models.RetryLater that says
// when to retry; until then Digest fails at once for that registry without a
// request. They wrap models.ErrUnauthorized on 401/403, models.ErrNotFound on
// 404, and models.ErrUnavailable otherwise.
func (c *Client) Digest(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("reference %q: %w", ref, models.ErrInvalid)
	}
	host := r.Context().RegistryStr()
	if until, ok := c.policy.blocked(host); ok {
		return "", c.classify(&rateLimited{registry: host, until: until})
	}
	ctx, cancel := context.WithTimeout(withRegistry(ctx, host), c.timeout)
	defer cancel()
	desc, err := c.puller.Head(ctx, r)
	if err != nil {
		return "", c.classify(err)
	}
	return desc.Digest.String(), nil
}

// listTimeout bounds one tag list, every page of it: Docker Hub answers
// 100 tags a page, and a repository can have thousands.
const listTimeout = 2 * time.Minute

// Tags lists the tags of repo ("ghcr.io/org/app", "nginx"), following the
// registry's pagination (a Link header per page). A tag list is no pull: it
// reads no manifest and no blob. Errors are classified as Digest's, 429
// included, and a registry backing off fails at once.
func (c *Client) Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repo, models.ErrInvalid)
	}
	host := r.RegistryStr()
	if until, ok := c.policy.blocked(host); ok {
		return nil, c.classify(&rateLimited{registry: host, until: until})
	}
	ctx, cancel := context.WithTimeout(withRegistry(ctx, host), listTimeout)
	defer cancel()
	tags, err := c.puller.List(ctx, r)
	if err != nil {
		return nil, c.classify(err)
	}
	return tags, nil
}

// RateLimits returns what registries last said about their pull budget,
// sorted by registry.
func (c *Client) RateLimits() []models.RateLimit { return c.policy.list() }

func (c *Client) classify(err error) error {
	var rl *rateLimited
	if errors.As(err, &rl) {
		// At least a second: a Retry-After of 0 would invite a busy loop.
		after := max(rl.until.Sub(c.policy.now()), time.Second)
		return &models.RetryLater{Err: fmt.Errorf("%w: %w", rl, models.ErrRateLimited), After: after}
	}
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
