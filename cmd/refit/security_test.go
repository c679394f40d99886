package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseConfigAllowedHosts(t *testing.T) {
	c, err := parseConfig("serve", nil, env(map[string]string{"REFIT_ALLOWED_HOSTS": " refit.example.com, refit.lan:8099,[fd00::1]:8099 ,"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"refit.example.com", "refit.lan:8099", "[fd00::1]:8099"}; !slices.Equal(c.AllowedHosts, want) {
		t.Errorf("AllowedHosts = %q, want %q", c.AllowedHosts, want)
	}
	for _, bad := range []string{"https://refit.example.com", "refit.example.com/", "refit.lan:", "a b", "user@refit.lan"} {
		_, err := parseConfig("serve", []string{"-allowed-hosts", bad}, env(nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), `invalid -allowed-hosts "`+bad+`"`) || strings.Contains(err.Error(), "\n") {
			t.Errorf("-allowed-hosts %q: error %v, want one line naming it", bad, err)
		}
	}
}

// With auth off, a page under a name that resolves to refit (DNS
// rebinding) is same-origin with itself; refit serve answers it 421, and
// answers the names it goes by.
func TestServeAnswersOnlyItsOwnNames(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	db := filepath.Join(t.TempDir(), "refit.db")
	e := env(map[string]string{"REFIT_AUTH": "off", "REFIT_ALLOWED_HOSTS": "refit.example.com"})
	serveFor(t, db, e, func(base string) {
		port := base[strings.LastIndex(base, ":")+1:]
		send := func(method, path, host, body string) (int, string, http.Header) {
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			req.Host = host
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", "http://"+host)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), resp.Header
		}
		for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "refit.example.com:" + port} {
			status, _, h := send("GET", "/api/images", host, "")
			if status != 200 {
				t.Errorf("GET /api/images with Host %s = %d, want 200", host, status)
			}
			if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("GET /api/images: X-Frame-Options %q, CSP %q", h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"))
			}
		}
		evil := "rebound.example:" + port
		status, body, _ := send("POST", "/api/users", evil, `{"name":"mallory","pass":"correct horse battery staple 9","role":"admin"}`)
		if status != 421 || body != "misdirected request: host not allowed\n" {
			t.Errorf("POST /api/users with Host %s = %d %q, want 421", evil, status, body)
		}
		if _, body, _ := send("GET", "/api/users", "localhost:"+port, ""); strings.Contains(body, "mallory") {
			t.Errorf("the rebound request created a user: %s", body)
		}
		if status, _, _ := send("GET", "/health", evil, ""); status != 200 {
			t.Errorf("GET /health with Host %s = %d, want 200", evil, status)
		}
	})
}

// A database an older refit left readable by others is made 0600 at start,
// which the log says once.
func TestServeTightensTheDatabaseModeOnce(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	db := filepath.Join(t.TempDir(), "refit.db")
	e := env(map[string]string{"REFIT_AUTH": "off"})
	serveFor(t, db, e, func(string) {})
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	const said = "database files were readable by others"
	if logs := serveFor(t, db, e, func(string) {}); !strings.Contains(logs, said) {
		t.Errorf("start on a 0644 database did not say it tightened it:\n%s", logs)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode after start = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if logs := serveFor(t, db, e, func(string) {}); strings.Contains(logs, said) {
		t.Errorf("the next start said it again:\n%s", logs)
	}
}
