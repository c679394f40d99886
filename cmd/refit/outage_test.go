package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Without a reachable engine refit still serves at once, answers the API
// with its (empty) snapshot, and says so in one log line, not two a second.
func TestServeWithoutAnEngineIsCalm(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-engine.sock"))
	env := map[string]string{"REFIT_AUTH": "off"}
	logs := serveFor(t, filepath.Join(t.TempDir(), "refit.db"), func(k string) string { return env[k] }, func(base string) {
		start := time.Now()
		resp, err := http.Get(base + "/api/images")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var groups []any
		if resp.StatusCode != 200 || json.Unmarshal(body, &groups) != nil {
			t.Errorf("GET /api/images without an engine = %d %s", resp.StatusCode, body)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("GET /api/images took %v without an engine", d)
		}
		time.Sleep(4 * time.Second) // retries at 1 s, 2 s, 4 s
	})
	if n := strings.Count(logs, "docker engine not reachable"); n != 1 {
		t.Errorf("%d 'not reachable' lines in 4 s, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs, "level=WARN") - strings.Count(logs, "auth is off"); n != 1 {
		t.Errorf("%d warnings in 4 s without an engine, want the one outage line:\n%s", n, logs)
	}
}
