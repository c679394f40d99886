package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// healthServer answers /health with status on 127.0.0.1 and returns its port.
func healthServer(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func TestHealthcheckExitsByTheHealthAnswer(t *testing.T) {
	ok, failing := healthServer(t, http.StatusOK), healthServer(t, http.StatusServiceUnavailable)
	closed := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		return port
	}()
	// REFIT_DB points into a directory that does not exist: opening the
	// database would fail, so passing shows the probe never opens it.
	db := filepath.Join(t.TempDir(), "missing", "refit.db")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		ok   bool
	}{
		{"flag, 200", []string{"-addr", "127.0.0.1:" + ok}, nil, true},
		{"env, :port means loopback", nil, map[string]string{"REFIT_ADDR": ":" + ok}, true},
		{"env, 0.0.0.0", nil, map[string]string{"REFIT_ADDR": "0.0.0.0:" + ok}, true},
		{"503", []string{"-addr", "127.0.0.1:" + failing}, nil, false},
		{"nobody listening", []string{"-addr", "127.0.0.1:" + closed}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REFIT_DB": db}
			for k, v := range tc.env {
				env[k] = v
			}
			err := run(t.Context(), append([]string{"healthcheck"}, tc.args...),
				func(k string) string { return env[k] }, io.Discard, io.Discard)
			if (err == nil) != tc.ok {
				t.Fatalf("healthcheck: err = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Errorf("healthcheck created the database directory: %v", err)
	}
}

func TestHealthcheckGivesUpAfterItsTimeout(t *testing.T) {
	// Accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	start := time.Now()
	err = run(t.Context(), []string{"healthcheck", "-addr", l.Addr().String()}, func(string) string { return "" },
		io.Discard, io.Discard)
	if err == nil {
		t.Fatal("healthcheck passed against a server that never answers")
	}
	if d := time.Since(start); d > healthcheckTimeout+time.Second {
		t.Errorf("healthcheck took %s, want about %s", d, healthcheckTimeout)
	}
}

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{
		":8099":          "127.0.0.1:8099",
		"0.0.0.0:8099":   "127.0.0.1:8099",
		"[::]:8099":      "[::1]:8099",
		"127.0.0.1:9000": "127.0.0.1:9000",
		"refit.lan:8099": "refit.lan:8099",
	} {
		if got := probeAddr(in); got != want {
			t.Errorf("probeAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
