package oci_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

func newClient(t *testing.T) *oci.Client {
	t.Helper()
	c, err := oci.New(oci.Options{Timeout: 5 * time.Second, Backoff: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDigestIsOneHeadAndNoGet(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	want := reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v1"})
	c := newClient(t)
	for i := 0; i < 3; i++ {
		got, err := c.Digest(context.Background(), reg.Ref("test/app:1"))
		if err != nil || got != want {
			t.Fatalf("Digest() = %q, %v; want %q", got, err, want)
		}
	}
	n := reg.Counts()
	if n.HeadManifest != 3 || n.GetManifest != 0 || n.GetBlob != 0 || n.HeadBlob != 0 {
		t.Errorf("three checks cost %+v, want 3 manifest HEADs and nothing else of manifests or blobs", n)
	}
	if n.Ping != 1 || n.Total() != 4 {
		t.Errorf("three checks cost %+v, want one ping and 4 requests in all", n)
	}
}

func TestOnePingPerRegistryAcrossRepositories(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	for _, r := range []string{"a", "b", "c", "d"} {
		reg.Push(t, "test/"+r+":1", ocitest.ImageOpts{Marker: r})
	}
	c := newClient(t)
	errs := make(chan error, 4)
	for _, r := range []string{"a", "b", "c", "d"} {
		go func() {
			_, err := c.Digest(context.Background(), reg.Ref("test/"+r+":1"))
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := reg.Counts(); n.HeadManifest != 4 || n.Ping != 1 || n.Total() != 5 {
		t.Errorf("four repositories cost %+v, want 4 HEADs and one ping", n)
	}
}

func TestDigestOfIndexIsTheIndexDigest(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	want := reg.PushIndex(t, "test/multi:1", ocitest.ImageOpts{Marker: "m"})
	got, err := newClient(t).Digest(context.Background(), reg.Ref("test/multi:1"))
	if err != nil || got != want {
		t.Errorf("Digest() = %q, %v; want the index digest %q", got, err, want)
	}
}

func TestDigestErrors(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	reg.Push(t, "test/app:1", ocitest.ImageOpts{})
	c := newClient(t)
	if _, err := c.Digest(context.Background(), reg.Ref("test/none:1")); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("missing tag: %v, want ErrNotFound", err)
	}
	if _, err := c.Digest(context.Background(), "Not A Reference"); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("bad reference: %v, want ErrInvalid", err)
	}
	reg.FailManifests(500, "")
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("500: %v, want ErrUnavailable", err)
	}
	reg.FailManifests(403, "")
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); !errors.Is(err, models.ErrUnauthorized) {
		t.Errorf("403: %v, want ErrUnauthorized", err)
	}
}

func TestRateLimitHeadersAndBackoff(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	reg.Push(t, "test/app:1", ocitest.ImageOpts{})
	reg.SetRateLimitHeaders(100, 76)
	c := newClient(t)
	clk := &clock{t: time.Now()}
	oci.SetClock(c, clk.now)
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); err != nil {
		t.Fatal(err)
	}
	rls := c.RateLimits()
	if len(rls) != 1 || rls[0].Registry != reg.Host() || rls[0].Limit != 100 || rls[0].Remaining != 76 || rls[0].Window != 21600 || rls[0].Limited {
		t.Fatalf("RateLimits() = %+v", rls)
	}

	reg.FailManifests(429, "120")
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("429: %v, want ErrRateLimited", err)
	}
	rl := c.RateLimits()[0]
	if !rl.Limited || rl.RetryAfter != clk.now().Add(120*time.Second) {
		t.Errorf("after 429: %+v, want limited for 120s", rl)
	}
	reg.FailManifests(0, "")
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); !errors.Is(err, models.ErrRateLimited) {
		t.Errorf("within Retry-After: %v, want ErrRateLimited without asking", err)
	}
	// Counted from the start: one ping, the HEAD that succeeded, the one that
	// got the 429, and nothing for the check within Retry-After.
	if got, want := reg.Counts(), (ocitest.Counts{Ping: 1, HeadManifest: 2}); got != want {
		t.Errorf("the registry saw %+v, want %+v", got, want)
	}
	clk.advance(120 * time.Second)
	if rl := c.RateLimits()[0]; rl.Limited {
		t.Errorf("after Retry-After: %+v, want no longer limited", rl)
	}
}

// clock is a settable time for the client's rate-limit bookkeeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRegistryAnswersCostExactRequests counts, from the first request, what
// each kind of registry answer costs, call by call.
func TestRegistryAnswersCostExactRequests(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	type call struct {
		advance   time.Duration  // on the client's clock, before the call
		err       error          // the sentinel the call wraps; nil for success
		after     time.Duration  // for ErrRateLimited: the RetryLater's After
		cost      ocitest.Counts // the requests the call sent
		wantAfter bool
	}
	ok := func(cost ocitest.Counts) call { return call{cost: cost} }
	limited := func(after time.Duration, cost ocitest.Counts) call {
		return call{err: models.ErrRateLimited, after: after, cost: cost, wantAfter: true}
	}
	fails := func(err error, cost ocitest.Counts) call { return call{err: err, cost: cost} }
	first := ocitest.Counts{Ping: 1, HeadManifest: 1}
	tokenFirst := ocitest.Counts{Ping: 1, Token: 1, HeadManifest: 1}
	head := ocitest.Counts{HeadManifest: 1}
	none := ocitest.Counts{}
	for _, tc := range []struct {
		name   string
		token  bool // the registry wants a bearer token, as Docker Hub does
		target ocitest.Target
		fault  ocitest.Fault
		calls  []call
	}{
		{name: "429 with Retry-After in seconds", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 429, RetryAfter: "120", Times: 1},
			calls: []call{
				limited(120*time.Second, first),
				{advance: 119 * time.Second, err: models.ErrRateLimited, after: time.Second, cost: none, wantAfter: true},
				{advance: time.Second, cost: head},
			}},
		{name: "429 with Retry-After as a date", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 429, RetryAfter: start.Add(90 * time.Second).Format(http.TimeFormat), Times: 1},
			calls: []call{
				limited(90*time.Second, first),
				limited(90*time.Second, none),
				{advance: 90 * time.Second, cost: head},
			}},
		{name: "429 without Retry-After backs off a minute", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 429, Times: 1},
			calls: []call{
				limited(time.Minute, first),
				{advance: 59 * time.Second, err: models.ErrRateLimited, after: time.Second, cost: none, wantAfter: true},
				{advance: time.Second, cost: head},
			}},
		{name: "503 then 200 is asked twice", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 503, Times: 1},
			calls: []call{ok(ocitest.Counts{Ping: 1, HeadManifest: 2}), ok(head)}},
		{name: "503 twice gives up after two", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 503, Times: 2},
			calls: []call{fails(models.ErrUnavailable, ocitest.Counts{Ping: 1, HeadManifest: 2}), ok(head)}},
		{name: "500 then 200", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 500, Times: 1},
			calls: []call{ok(ocitest.Counts{Ping: 1, HeadManifest: 2})}},
		{name: "408 twice gives up after two", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 408, Times: 2},
			calls: []call{fails(models.ErrUnavailable, ocitest.Counts{Ping: 1, HeadManifest: 2})}},
		{name: "503 asking for a long Retry-After is not resent", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 503, RetryAfter: "30", Times: 1},
			calls: []call{fails(models.ErrUnavailable, first), ok(head)}},
		{name: "501 is not resent", target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 501, Times: 1},
			calls: []call{fails(models.ErrUnavailable, first)}},
		{name: "404", target: ocitest.Manifests, fault: ocitest.Fault{Status: 404},
			calls: []call{fails(models.ErrNotFound, first), fails(models.ErrNotFound, head)}},
		{name: "401", target: ocitest.Manifests, fault: ocitest.Fault{Status: 401},
			calls: []call{fails(models.ErrUnauthorized, first)}},
		{name: "403", target: ocitest.Manifests, fault: ocitest.Fault{Status: 403},
			calls: []call{fails(models.ErrUnauthorized, first)}},
		{name: "ping 503 then 200", target: ocitest.Pings, fault: ocitest.Fault{Status: 503, Times: 1},
			calls: []call{ok(ocitest.Counts{Ping: 2, HeadManifest: 1}), ok(head)}},
		{name: "ping 429", target: ocitest.Pings, fault: ocitest.Fault{Status: 429, RetryAfter: "30", Times: 1},
			calls: []call{
				limited(30*time.Second, ocitest.Counts{Ping: 1}),
				limited(30*time.Second, none),
				{advance: 30 * time.Second, cost: first},
			}},
		{name: "token", token: true, calls: []call{ok(tokenFirst), ok(head)}},
		{name: "token 429", token: true, target: ocitest.Tokens,
			fault: ocitest.Fault{Status: 429, RetryAfter: "60", Times: 1},
			calls: []call{
				limited(time.Minute, ocitest.Counts{Ping: 1, Token: 1}),
				limited(time.Minute, none),
				// The ping's 401 challenge is kept; only the token is asked again.
				{advance: time.Minute, cost: ocitest.Counts{Token: 1, HeadManifest: 1}},
			}},
		{name: "token 503 then 200", token: true, target: ocitest.Tokens, fault: ocitest.Fault{Status: 503, Times: 1},
			calls: []call{ok(ocitest.Counts{Ping: 1, Token: 2, HeadManifest: 1})}},
		{name: "token 401", token: true, target: ocitest.Tokens, fault: ocitest.Fault{Status: 401, Times: 1},
			calls: []call{fails(models.ErrUnauthorized, ocitest.Counts{Ping: 1, Token: 1}), ok(ocitest.Counts{Token: 1, HeadManifest: 1})}},
		{name: "403 with a token", token: true, target: ocitest.Manifests, fault: ocitest.Fault{Status: 403},
			calls: []call{fails(models.ErrUnauthorized, tokenFirst), fails(models.ErrUnauthorized, head)}},
		{name: "429 with a token", token: true, target: ocitest.Manifests,
			fault: ocitest.Fault{Status: 429, RetryAfter: "5", Times: 1},
			calls: []call{
				limited(5*time.Second, tokenFirst),
				limited(5*time.Second, none),
				{advance: 5 * time.Second, cost: head},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := ocitest.NewRegistry(t)
			reg.Push(t, "test/app:1", ocitest.ImageOpts{})
			if tc.token {
				reg.RequireToken()
			}
			if tc.fault.Status != 0 {
				reg.Fail(tc.target, tc.fault)
			}
			c := newClient(t)
			clk := &clock{t: start}
			oci.SetClock(c, clk.now)
			oci.SetRetryPause(c, 10*time.Millisecond)
			var total ocitest.Counts
			for i, call := range tc.calls {
				clk.advance(call.advance)
				_, err := c.Digest(context.Background(), reg.Ref("test/app:1"))
				switch {
				case call.err == nil && err != nil:
					t.Errorf("call %d: %v, want success", i+1, err)
				case call.err != nil && !errors.Is(err, call.err):
					t.Errorf("call %d: %v, want %v", i+1, err, call.err)
				}
				var later *models.RetryLater
				if got := errors.As(err, &later); got != call.wantAfter {
					t.Errorf("call %d: %v is a RetryLater: %v, want %v", i+1, err, got, call.wantAfter)
				} else if got && later.After != call.after {
					t.Errorf("call %d: retry after %v, want %v", i+1, later.After, call.after)
				}
				now := reg.Counts()
				cost := ocitest.Counts{HeadManifest: now.HeadManifest - total.HeadManifest,
					GetManifest: now.GetManifest - total.GetManifest, HeadBlob: now.HeadBlob - total.HeadBlob,
					GetBlob: now.GetBlob - total.GetBlob, Ping: now.Ping - total.Ping, Token: now.Token - total.Token,
					Other: now.Other - total.Other}
				if cost != call.cost {
					t.Errorf("call %d cost %+v, want %+v", i+1, cost, call.cost)
				}
				total = now
			}
		})
	}
}

func TestRetryPauseEndsWithTheCheckTimeout(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	reg.Push(t, "test/app:1", ocitest.ImageOpts{})
	reg.FailManifests(503, "")
	c, err := oci.New(oci.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	oci.SetRetryPause(c, time.Minute)
	start := time.Now()
	_, err = c.Digest(context.Background(), reg.Ref("test/app:1"))
	if !errors.Is(err, models.ErrUnavailable) || time.Since(start) > 2*time.Second {
		t.Errorf("Digest() = %v after %v, want ErrUnavailable within the 200ms timeout", err, time.Since(start))
	}
	if got, want := reg.Counts(), (ocitest.Counts{Ping: 1, HeadManifest: 1}); got != want {
		t.Errorf("the registry saw %+v, want %+v: no resend once the time is up", got, want)
	}
}

func TestAuthIsAnonymousWithoutConfig(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	a, err := newClient(t).Auth(context.Background(), "127.0.0.1:5000/x:1")
	if err != nil || a.Username != "" || a.Password != "" {
		t.Errorf("Auth() = %+v, %v; want anonymous", a, err)
	}
}

func TestAuthReadsTheDockerConfig(t *testing.T) {
	dir := t.TempDir()
	// "user:secret" in base64, as `docker login` writes it.
	cfg := `{"auths":{"registry.example.test":{"auth":"dXNlcjpzZWNyZXQ="}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	a, err := newClient(t).Auth(context.Background(), "registry.example.test/team/app:1")
	if err != nil || a.Username != "user" || a.Password != "secret" || a.ServerAddress != "registry.example.test" {
		t.Errorf("Auth() = %+v, %v; want user/secret for registry.example.test", a, err)
	}
}

// A tag list follows the registry's pages (1,500 tags, 100 a page) and
// reads no manifest and no blob.
func TestTagsFollowsPagesAndReadsNoManifest(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	reg.Push(t, "org/app:0.9.0", ocitest.ImageOpts{})
	var tags []string
	for i := range 1500 {
		tags = append(tags, fmt.Sprintf("1.%d.%d", i/100, i%100))
	}
	reg.Tag(t, "org/app:0.9.0", tags...)
	reg.Reset()
	c, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Tags(t.Context(), reg.Host()+"/org/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1501 || !slices.Contains(got, "1.14.99") || !slices.Contains(got, "0.9.0") {
		t.Errorf("tags = %d, want 1501 with 1.14.99", len(got))
	}
	n := reg.Counts()
	if n.TagList != 16 || n.GetManifest != 0 || n.HeadManifest != 0 || n.GetBlob != 0 {
		t.Errorf("requests = %+v, want 16 pages of tags and no manifest or blob", n)
	}
	reg.Fail(ocitest.Manifests, ocitest.Fault{Status: 429, RetryAfter: "60"})
	if _, err := c.Tags(t.Context(), reg.Host()+"/org/app"); !errors.Is(err, models.ErrRateLimited) {
		t.Errorf("a 429 on the tag list = %v, want rate limited", err)
	}
	before := reg.Counts().Total()
	if _, err := c.Tags(t.Context(), reg.Host()+"/org/app"); !errors.Is(err, models.ErrRateLimited) || reg.Counts().Total() != before {
		t.Errorf("while backing off: %v after %d requests, want none", err, reg.Counts().Total()-before)
	}
	if _, err := c.Tags(t.Context(), "UPPER/case"); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("a bad repository = %v, want invalid", err)
	}
}
