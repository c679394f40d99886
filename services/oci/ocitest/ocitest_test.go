package ocitest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"refit/services/oci/ocitest"
)

const (
	manifestTypes = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " +
		"application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
)

func request(t *testing.T, method, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", manifestTypes)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRegistryListensOnIPv4Loopback(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	if !strings.HasPrefix(r.Host(), "127.0.0.1:") {
		t.Errorf("Host() = %q, want 127.0.0.1:PORT", r.Host())
	}
	if got, want := r.Ref("a/b:1"), r.Host()+"/a/b:1"; got != want {
		t.Errorf("Ref() = %q, want %q", got, want)
	}
}

func TestPushedTagAnswersHeadWithItsDigest(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	digest := r.Push(t, "test/app:1", ocitest.ImageOpts{})
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("Push() = %q, want sha256:…", digest)
	}
	r.Reset()

	resp := request(t, http.MethodHead, "http://"+r.Host()+"/v2/test/app/manifests/1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != digest {
		t.Errorf("Docker-Content-Digest = %q, want %q", got, digest)
	}
	if got, want := r.Counts(), (ocitest.Counts{HeadManifest: 1}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
}

func TestSameOptionsGiveSameDigestAndMarkerChangesIt(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	opts := ocitest.ImageOpts{Labels: map[string]string{"a": "b"}, Env: []string{"X=1"}}
	d1 := r.Push(t, "test/app:1", opts)
	d2 := r.Push(t, "test/app:2", opts)
	if d1 != d2 {
		t.Errorf("same options pushed as %s and %s, want equal digests", d1, d2)
	}
	opts.Marker = "v2"
	if d3 := r.Push(t, "test/app:3", opts); d3 == d1 {
		t.Errorf("Marker did not change the digest %s", d1)
	}
}

func TestCountersSeparateManifestsBlobsAndOther(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.Push(t, "test/app:1", ocitest.ImageOpts{})
	if got, want := r.Counts(), (ocitest.Counts{}); got != want {
		t.Fatalf("after a push Counts() = %+v, want zero: pushes are setup, not traffic", got)
	}

	base := "http://" + r.Host() + "/v2/test/app/"
	resp := request(t, http.MethodGet, base+"manifests/1")
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("manifest has %d layers, want 1 (testapp)", len(m.Layers))
	}
	layer := m.Layers[0].Digest
	request(t, http.MethodHead, base+"blobs/"+layer)
	for range 2 {
		io.Copy(io.Discard, request(t, http.MethodGet, base+"blobs/"+layer).Body)
	}
	io.Copy(io.Discard, request(t, http.MethodGet, base+"blobs/"+m.Config.Digest).Body)
	request(t, http.MethodGet, "http://"+r.Host()+"/v2/")

	want := ocitest.Counts{GetManifest: 1, HeadBlob: 1, GetBlob: 3, Ping: 1}
	if got := r.Counts(); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
	if got := r.BlobGets(layer); got != 2 {
		t.Errorf("BlobGets(layer) = %d, want 2", got)
	}
	if got := r.BlobGets(m.Config.Digest); got != 1 {
		t.Errorf("BlobGets(config) = %d, want 1", got)
	}
	r.Reset()
	if got, want := r.Counts(), (ocitest.Counts{}); got != want {
		t.Errorf("after Reset Counts() = %+v, want zero", got)
	}
	if got := r.BlobGets(layer); got != 0 {
		t.Errorf("after Reset BlobGets(layer) = %d, want 0", got)
	}
}

func TestFailManifestsAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.Push(t, "test/app:1", ocitest.ImageOpts{})
	r.SetRateLimitHeaders(100, 0)
	r.FailManifests(http.StatusTooManyRequests, "7")

	url := "http://" + r.Host() + "/v2/test/app/manifests/1"
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		resp := request(t, method, url)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("%s status = %d, want 429", method, resp.StatusCode)
		}
		if got := resp.Header.Get("Retry-After"); got != "7" {
			t.Errorf("%s Retry-After = %q, want 7", method, got)
		}
		if got := resp.Header.Get("ratelimit-remaining"); got != "0;w=21600" {
			t.Errorf("%s ratelimit-remaining = %q, want 0;w=21600", method, got)
		}
	}
	if got, want := r.Counts(), (ocitest.Counts{HeadManifest: 1, GetManifest: 1}); got != want {
		t.Errorf("failed requests counted as %+v, want %+v", got, want)
	}

	// A push still works while reads fail, and turning the fault off restores reads.
	r.Push(t, "test/app:2", ocitest.ImageOpts{Marker: "2"})
	r.FailManifests(0, "")
	r.SetRateLimitHeaders(0, 0)
	resp := request(t, http.MethodHead, url)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after FailManifests(0) status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("ratelimit-limit"); got != "" {
		t.Errorf("after SetRateLimitHeaders(0, 0) ratelimit-limit = %q, want none", got)
	}
}

func TestFailAnswersTheNextRequestsOfItsTarget(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.Push(t, "test/app:1", ocitest.ImageOpts{})
	r.Fail(ocitest.Manifests, ocitest.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	r.Fail(ocitest.Pings, ocitest.Fault{Status: http.StatusBadGateway, Times: 1})

	url := "http://" + r.Host() + "/v2/test/app/manifests/1"
	for i, want := range []int{503, 503, 200} {
		if got := request(t, http.MethodHead, url).StatusCode; got != want {
			t.Errorf("HEAD %d: status %d, want %d", i+1, got, want)
		}
	}
	for i, want := range []int{502, 200} {
		if got := request(t, http.MethodGet, "http://"+r.Host()+"/v2/").StatusCode; got != want {
			t.Errorf("ping %d: status %d, want %d", i+1, got, want)
		}
	}
	got := r.Counts()
	if want := (ocitest.Counts{HeadManifest: 3, Ping: 2}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
	if got.Total() != 5 {
		t.Errorf("Total() = %d, want 5", got.Total())
	}
}

func TestRequireTokenChallengesLikeDockerHub(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.Push(t, "test/app:1", ocitest.ImageOpts{})
	r.RequireToken()

	ping := request(t, http.MethodGet, "http://"+r.Host()+"/v2/")
	wantRealm := `Bearer realm="http://` + r.Host() + `/token",service="ocitest"`
	if ping.StatusCode != http.StatusUnauthorized || ping.Header.Get("WWW-Authenticate") != wantRealm {
		t.Fatalf("ping: %d %q, want 401 %q", ping.StatusCode, ping.Header.Get("WWW-Authenticate"), wantRealm)
	}
	url := "http://" + r.Host() + "/v2/test/app/manifests/1"
	head := request(t, http.MethodHead, url)
	if want := wantRealm + `,scope="repository:test/app:pull"`; head.StatusCode != http.StatusUnauthorized ||
		head.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("HEAD without token: %d %q, want 401 %q", head.StatusCode, head.Header.Get("WWW-Authenticate"), want)
	}
	var tok struct{ Token string }
	if err := json.NewDecoder(request(t, http.MethodGet, "http://"+r.Host()+"/token?scope=x").Body).Decode(&tok); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, url, nil)
	req.Header.Set("Accept", manifestTypes)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD with the token: %d, want 200", resp.StatusCode)
	}
	if got, want := r.Counts(), (ocitest.Counts{HeadManifest: 2, Ping: 1, Token: 1}); got != want {
		t.Errorf("Counts() = %+v, want %+v", got, want)
	}
}

func TestRateLimitHeadersOnManifestAnswers(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.Push(t, "test/app:1", ocitest.ImageOpts{})
	r.SetRateLimitHeaders(100, 42)
	resp := request(t, http.MethodHead, "http://"+r.Host()+"/v2/test/app/manifests/1")
	if got := resp.Header.Get("ratelimit-limit"); got != "100;w=21600" {
		t.Errorf("ratelimit-limit = %q, want 100;w=21600", got)
	}
	if got := resp.Header.Get("ratelimit-remaining"); got != "42;w=21600" {
		t.Errorf("ratelimit-remaining = %q, want 42;w=21600", got)
	}
}

func TestIndexTagAnswersIndexDigest(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	indexDigest := r.PushIndex(t, "test/multi:1", ocitest.ImageOpts{})
	platformDigest := r.Push(t, "test/single:1", ocitest.ImageOpts{})

	resp := request(t, http.MethodGet, "http://"+r.Host()+"/v2/test/multi/manifests/1")
	if got := resp.Header.Get("Docker-Content-Digest"); got != indexDigest {
		t.Errorf("Docker-Content-Digest = %q, want index digest %q", got, indexDigest)
	}
	var idx struct {
		MediaType string
		Manifests []struct {
			Digest   string
			Platform struct{ OS, Architecture string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatalf("decode index: %v", err)
	}
	if idx.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("mediaType = %q, want an OCI index", idx.MediaType)
	}
	var archs []string
	for _, m := range idx.Manifests {
		archs = append(archs, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Digest != platformDigest {
			t.Errorf("entry %s has digest %s, want the single-arch image %s", m.Platform.Architecture, m.Digest, platformDigest)
		}
	}
	if got, want := strings.Join(archs, ","), "linux/amd64,linux/arm64"; got != want {
		t.Errorf("platforms = %s, want %s", got, want)
	}
}

func TestLatencyDelaysRequests(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.SetLatency(200 * time.Millisecond)
	start := time.Now()
	request(t, http.MethodGet, "http://"+r.Host()+"/v2/")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("request took %v, want at least 200ms", d)
	}
}

func TestBlobRateThrottlesBodies(t *testing.T) {
	t.Parallel()
	r := ocitest.NewRegistry(t)
	r.Push(t, "test/big:1", ocitest.ImageOpts{ExtraLayerSize: 64 << 10})
	resp := request(t, http.MethodGet, "http://"+r.Host()+"/v2/test/big/manifests/1")
	var m struct{ Layers []struct{ Digest string } }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	extra := m.Layers[1].Digest

	r.SetBlobRate(256 << 10) // 64 KiB at 256 KiB/s: about 250ms
	start := time.Now()
	n, err := io.Copy(io.Discard, request(t, http.MethodGet, "http://"+r.Host()+"/v2/test/big/blobs/"+extra).Body)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("%d bytes took %v, want about 250ms", n, d)
	}
}

func TestCloseDoesNotWaitForThrottledDownloads(t *testing.T) {
	t.Parallel()
	var host, layer string
	done := make(chan struct{})
	t.Run("registry", func(t *testing.T) {
		r := ocitest.NewRegistry(t)
		r.Push(t, "test/big:1", ocitest.ImageOpts{ExtraLayerSize: 1 << 20})
		resp := request(t, http.MethodGet, "http://"+r.Host()+"/v2/test/big/manifests/1")
		var m struct{ Layers []struct{ Digest string } }
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		host, layer = r.Host(), m.Layers[1].Digest
		r.SetBlobRate(1024) // would take about 17 minutes
		go func() {
			defer close(done)
			resp, err := http.Get("http://" + host + "/v2/test/big/blobs/" + layer)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		time.Sleep(100 * time.Millisecond)
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("download still running 10s after the registry closed")
	}
}

func TestTarballHoldsTheTag(t *testing.T) {
	t.Parallel()
	b := ocitest.Tarball(t, "local/app:1", ocitest.ImageOpts{})
	if !strings.Contains(string(b), `"RepoTags":["local/app:1"]`) {
		t.Errorf("tarball manifest.json does not name local/app:1")
	}
}
