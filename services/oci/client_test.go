package oci_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
	if n.Other > 1 {
		t.Errorf("the registry was pinged %d times, want once", n.Other)
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
	if n := reg.Counts(); n.HeadManifest != 4 || n.Other != 1 {
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
	if !rl.Limited || time.Until(rl.RetryAfter) < 100*time.Second {
		t.Errorf("after 429: %+v, want limited for about 120s", rl)
	}
	before := reg.Counts().HeadManifest
	reg.FailManifests(0, "")
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); !errors.Is(err, models.ErrRateLimited) {
		t.Errorf("within Retry-After: %v, want ErrRateLimited without asking", err)
	}
	if after := reg.Counts().HeadManifest; after != before {
		t.Errorf("a check within Retry-After sent %d HEADs", after-before)
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
