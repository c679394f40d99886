package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// serveFor runs `refit serve` on a free loopback port until f returns, and
// returns the log.
func serveFor(t *testing.T, db string, getenv func(string) string, f func(base string)) string {
	t.Helper()
	bcryptCost = bcrypt.MinCost
	t.Cleanup(func() { bcryptCost = 0 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve", "-addr", addr, "-db", db, "-check-interval", "0"}, getenv, io.Discard, logs)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("refit did not come up: %v\n%s", <-errc, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	f(base)
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve: %v", err)
	}
	return logs.String()
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeCreatesFirstAdminOnce starts refit twice on one database: the
// first start creates "admin" and logs its generated password, once.
func TestServeCreatesFirstAdminOnce(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock")) // never a real engine
	db := filepath.Join(t.TempDir(), "refit.db")
	var pass string
	logs := serveFor(t, db, env(nil), func(base string) {
		if status, body := get(t, base+"/api/images"); status != 401 || body != "unauthorized\n" {
			t.Errorf("GET /api/images without a session = %d %q", status, body)
		}
	})
	m := regexp.MustCompile(`level=WARN msg="FIRST START[^"]*shown only this once[^"]*" user=admin password=(\S+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("first start did not log the generated admin password:\n%s", logs)
	}
	pass = m[1]
	logs = serveFor(t, db, env(nil), func(base string) {
		if status := post(t, base+"/api/login", `{"user":"admin","pass":"`+pass+`"}`); status != 200 {
			t.Errorf("login with the logged password = %d", status)
		}
	})
	if strings.Contains(logs, "password=") || strings.Contains(logs, pass) {
		t.Errorf("second start logged a password:\n%s", logs)
	}
}

func TestServeAdminFromEnv(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	db := filepath.Join(t.TempDir(), "refit.db")
	e := env(map[string]string{"REFIT_ADMIN_USER": "root", "REFIT_ADMIN_PASSWORD": "ember-willow-compass"})
	logs := serveFor(t, db, e, func(base string) {
		if status := post(t, base+"/api/login", `{"user":"root","pass":"ember-willow-compass"}`); status != 200 {
			t.Errorf("login as the admin from the environment = %d", status)
		}
	})
	if strings.Contains(logs, "ember-willow-compass") || !strings.Contains(logs, "user=root") {
		t.Errorf("log:\n%s", logs)
	}
}

// A first admin's password from the environment follows the same rules as
// any other: refit serve refuses to start with a guessable one, and says why.
func TestServeRefusesAWeakAdminPassword(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	bcryptCost = bcrypt.MinCost
	t.Cleanup(func() { bcryptCost = 0 })
	for pass, want := range map[string]string{
		"root-1234567890": "password must not contain the user name",
		"          ":      "password must not be one character repeated",
		"1234567890":      "password is too easy to guess",
	} {
		db := filepath.Join(t.TempDir(), "refit.db")
		e := env(map[string]string{"REFIT_ADMIN_USER": "root", "REFIT_ADMIN_PASSWORD": pass})
		err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-db", db, "-check-interval", "0"}, e, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("REFIT_ADMIN_PASSWORD=%q: serve = %v, want an error saying %q", pass, err, want)
		}
	}
}

func TestServeAuthOff(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	db := filepath.Join(t.TempDir(), "refit.db")
	logs := serveFor(t, db, env(map[string]string{"REFIT_AUTH": "off"}), func(base string) {
		if _, body := get(t, base+"/api/auth/status"); body != `{"enabled":false}` {
			t.Errorf("GET /api/auth/status = %s", body)
		}
		if status, _ := get(t, base+"/api/images"); status != 200 {
			t.Errorf("GET /api/images with auth off = %d", status)
		}
	})
	if !regexp.MustCompile(`level=WARN msg="auth is off`).MatchString(logs) || strings.Contains(logs, "password=") {
		t.Errorf("auth off start log:\n%s", logs)
	}
}

// refit serve refuses a login body past a few KB with a one-line 413,
// whatever the name in it: nothing of it reaches the database.
func TestServeRefusesAHugeLogin(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	db := filepath.Join(t.TempDir(), "refit.db")
	e := env(map[string]string{"REFIT_ADMIN_PASSWORD": "ember-willow-compass"})
	serveFor(t, db, e, func(base string) {
		resp, err := http.Post(base+"/api/login", "application/json",
			strings.NewReader(`{"user":"`+strings.Repeat("x", 3<<20)+`","pass":"whatever"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || string(body) != "request body too large\n" {
			t.Errorf("a 3 MB login = %d %q, want 413 request body too large", resp.StatusCode, body)
		}
	})
	if st, err := os.Stat(db); err != nil || st.Size() > 1<<20 {
		t.Errorf("database after a 3 MB login: %v, %v", st.Size(), err)
	}
}
