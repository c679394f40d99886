package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                        false,
		"gzip":                    true,
		"gzip, deflate, br, zstd": true,
		"br;q=1.0, GZIP;q=0.5":    true,
		"x-gzip":                  true,
		"*":                       true,
		"identity":                false,
		"br":                      false,
		"gzip;q=0":                false,
		"gzip; q=0.000":           false,
		"*;q=0, gzip":             true,
		"gzip;q=0, *":             false,
		"deflate, *;q=0.1":        true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// get sends a GET with the given request headers (name, value pairs).
func (ta testApp) get(t *testing.T, target string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("bad gzip: %v", err)
	}
	return out
}

// Every cached response (the dashboard, its table, /api/images, the static
// files) goes gzip-encoded to a client that takes it, decodes to the plain
// body, varies on Accept-Encoding, and stays plain for everyone else.
func TestCachedResponsesAreGzipped(t *testing.T) {
	ta := newBenchApp(t, 4, 3) // big enough to be worth compressing
	for _, p := range []string{"/", "/fragments/images", "/api/images", views.CSSPath, views.HTMXPath} {
		plain, body := ta.get(t, p)
		if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" {
			t.Fatalf("GET %s without Accept-Encoding: %d, Content-Encoding %q", p, plain.StatusCode, plain.Header.Get("Content-Encoding"))
		}
		for _, ae := range []string{"gzip", "gzip, deflate, br, zstd"} {
			resp, gz := ta.get(t, p, "Accept-Encoding", ae)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("GET %s, Accept-Encoding %s: %d, Content-Encoding %q", p, ae, resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			if got := gunzip(t, gz); !bytes.Equal(got, body) {
				t.Errorf("GET %s: the gzip body does not decode to the plain one", p)
			}
			if len(gz) >= len(body) {
				t.Errorf("GET %s: gzip %d bytes, plain %d", p, len(gz), len(body))
			}
			if resp.Header.Get("Content-Type") != plain.Header.Get("Content-Type") {
				t.Errorf("GET %s: Content-Type %q gzipped, %q plain", p, resp.Header.Get("Content-Type"), plain.Header.Get("Content-Type"))
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") || !strings.Contains(plain.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s: Vary %q / %q lacks Accept-Encoding", p, resp.Header.Get("Vary"), plain.Header.Get("Vary"))
			}
		}
		if resp, _ := ta.get(t, p, "Accept-Encoding", "gzip;q=0, br"); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s: gzip refused with q=0 but sent", p)
		}
	}
}

// The two encodings of one body are two representations with their own
// strong ETag: If-None-Match matches only the one that would be sent.
func TestGzipHasItsOwnETag(t *testing.T) {
	ta := newBenchApp(t, 4, 3)
	for _, p := range []string{"/api/images", views.HTMXPath} {
		plain, _ := ta.get(t, p)
		gz, _ := ta.get(t, p, "Accept-Encoding", "gzip")
		pt, gt := plain.Header.Get("ETag"), gz.Header.Get("ETag")
		if pt == "" || gt == "" || pt == gt {
			t.Fatalf("GET %s: ETag %q plain, %q gzip; want two different tags", p, pt, gt)
		}
		if resp, _ := ta.get(t, p, "Accept-Encoding", "gzip", "If-None-Match", gt); resp.StatusCode != 304 ||
			resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s with the gzip tag: %d, Content-Encoding %q; want a bare 304", p, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if resp, _ := ta.get(t, p, "Accept-Encoding", "gzip", "If-None-Match", pt); resp.StatusCode != 200 {
			t.Errorf("GET %s, gzip accepted, with the plain tag: %d; want 200", p, resp.StatusCode)
		}
		if resp, _ := ta.get(t, p, "If-None-Match", pt); resp.StatusCode != 304 {
			t.Errorf("GET %s with the plain tag: %d; want 304", p, resp.StatusCode)
		}
	}
	if resp, _ := ta.get(t, "/static/nope.js"); resp.StatusCode != 404 {
		t.Errorf("GET /static/nope.js = %d, want 404", resp.StatusCode)
	}
}

// A cached dashboard follows what the table shows beside the groups and
// has no version of its own: the registries' rate limits.
func TestDashboardCacheFollowsRateLimits(t *testing.T) {
	ta := newTestApp(t)
	_, before := ta.get(t, "/fragments/images")
	ta.reg.SetRateLimits(models.RateLimit{Registry: "docker.io", Limit: 100, Remaining: 42, Window: 21600, SeenAt: time.Now()})
	_, after := ta.get(t, "/fragments/images")
	if bytes.Equal(before, after) || !strings.Contains(string(after), "42") {
		t.Fatalf("the table did not follow new rate limits:\n%s", after)
	}
}
