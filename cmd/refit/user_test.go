package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"refit/models"
	"refit/services"
)

// user runs `refit user args…` with stdin and returns its output.
func user(t *testing.T, stdin string, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := userCommand(args, getenv, strings.NewReader(stdin), &out, &errOut)
	if pass := strings.TrimSpace(stdin); len(pass) >= 10 && strings.Contains(out.String()+errOut.String(), pass) {
		t.Errorf("refit user %v printed a password: %s%s", args, out.String(), errOut.String())
	}
	return out.String(), err
}

func TestUserCommand(t *testing.T) {
	bcryptCost = bcrypt.MinCost
	t.Cleanup(func() { bcryptCost = 0 })
	db := filepath.Join(t.TempDir(), "refit.db")
	noEnv := env(nil)
	steps := []struct {
		stdin string
		args  []string
		want  string // in stdout, or the error
	}{
		{"orchid-basalt-lantern\n", []string{"add", "root", "-role", "admin", "-db", db}, "added user root (admin)"},
		{"saffron-pebble-rocket", []string{"add", "-db", db, "-password-stdin", "Op", "-role=operator"}, "added user op (operator)"},
		{"short\n", []string{"add", "eve", "-db", db}, "invalid input: password must be at least 10 characters"},
		{"eve-in-the-garden\n", []string{"add", "eve", "-db", db}, "invalid input: password must not contain the user name"},
		{"          \n", []string{"add", "eve", "-db", db}, "invalid input: password must not be one character repeated"},
		{"1234567890\n", []string{"add", "eve", "-db", db}, "invalid input: password is too easy to guess"},
		{"1234567890\n", []string{"passwd", "op", "-db", db}, "invalid input: password is too easy to guess"},
		{"saffron-pebble-rocket\n", []string{"add", "op", "-db", db}, "user already exists"},
		{"hazel-trumpet-glacier\n", []string{"add", "x", "-role", "root", "-db", db}, "invalid input: role must be admin, operator or viewer"},
		{"", []string{"add", "viewer1", "-db", db}, "no password on standard input"},
		{"", []string{"list", "-db", db}, "op    operator"},
		{"walnut-ember-signal\r\n", []string{"passwd", "op", "-db", db}, "password of op set"},
		{"quiet-falcon-marble\n", []string{"passwd", "nobody", "-db", db}, "user not found"},
		{"", []string{"remove", "root", "-db", db}, "the last admin cannot be removed or demoted"},
		{"", []string{"role", "root", "viewer", "-db", db}, "the last admin cannot be removed or demoted"},
		{"", []string{"role", "op", "admin", "-db", db}, "op is now admin"},
		{"", []string{"remove", "root", "-db", db}, "removed user root"},
		{"", []string{"remove", "op", "-db", db}, "the last admin cannot be removed or demoted"},
		{"", []string{"remove", "-db", db}, "want 1 argument(s), got 0"},
		{"", []string{"explode"}, `unknown command "explode"`},
	}
	for _, s := range steps {
		out, err := user(t, s.stdin, noEnv, s.args...)
		got := out
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, s.want) {
			t.Errorf("refit user %v = %q, want %q", s.args, got, s.want)
		}
	}
	// REFIT_DB works like -db, and the new password works.
	out, err := user(t, "", env(map[string]string{"REFIT_DB": db}), "list")
	if err != nil || !strings.Contains(out, "NAME") || !strings.Contains(out, "op    admin") || strings.Contains(out, "root") {
		t.Errorf("refit user list = %q, %v", out, err)
	}
	a := openAuth(t, db)
	r := httptest.NewRequest("POST", "/api/login", nil)
	if _, err := a.Login(httptest.NewRecorder(), r, "op", "walnut-ember-signal"); err != nil {
		t.Errorf("login with the password set by refit user passwd: %v", err)
	}
	es, _ := services.NewAudit(mustOpen(t, db), slog.New(slog.NewTextHandler(io.Discard, nil)), nil).Recent(100)
	if len(es) < 5 || es[len(es)-1].Actor != "cli" || es[len(es)-1].Action != models.AuditUserAdd {
		t.Errorf("audit log of the CLI = %+v", es)
	}
}

func TestUserCommandThroughRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "refit.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "list", "-db", db}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "NAME") {
		t.Errorf("refit user list = %q", out.String())
	}
	if err := run(context.Background(), []string{"user", "-h"}, env(nil), &out, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("refit user -h = %v", err)
	}
}

func mustOpen(t *testing.T, path string) *gorm.DB {
	t.Helper()
	db, err := services.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	return db
}

func openAuth(t *testing.T, path string) *services.Auth {
	t.Helper()
	db := mustOpen(t, path)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := services.NewAuth(db, services.NewAudit(db, log, nil), log, services.AuthOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseConfigAuth(t *testing.T) {
	c, err := parseConfig("serve", nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth || c.CookieSecure || c.SessionIdle != 24*time.Hour || c.SessionMax != 30*24*time.Hour || c.TrustedOrigins != nil {
		t.Errorf("auth defaults = %+v", c)
	}
	if o := authOptions(c); o.Disabled {
		t.Error("auth is off by default")
	}
	c, err = parseConfig("serve", []string{"-auth", "off", "-cookie-secure", "-session-idle", "1h", "-session-max", "2h"},
		env(map[string]string{"REFIT_TRUSTED_ORIGINS": "https://refit.example.com/, http://10.0.0.2:8099",
			"REFIT_TRUSTED_PROXIES": "10.0.0.2, 172.16.0.0/12,fd00::/8",
			"REFIT_ADMIN_USER":      "root", "REFIT_ADMIN_PASSWORD": "root-password"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth || !c.CookieSecure || c.SessionIdle != time.Hour || c.SessionMax != 2*time.Hour ||
		strings.Join(c.TrustedOrigins, " ") != "https://refit.example.com http://10.0.0.2:8099" ||
		fmt.Sprint(c.TrustedProxies) != "[10.0.0.2/32 172.16.0.0/12 fd00::/8]" ||
		c.AdminUser != "root" || c.AdminPassword != "root-password" {
		t.Errorf("auth options = %+v", c)
	}
	if o := authOptions(c); !o.Disabled || !o.CookieSecure {
		t.Errorf("authOptions = %+v", o)
	}
	c, _ = parseConfig("serve", nil, env(map[string]string{"REFIT_AUTH": "OFF", "REFIT_COOKIE_SECURE": "true"}), &bytes.Buffer{})
	if c.Auth || !c.CookieSecure {
		t.Errorf("REFIT_AUTH=OFF REFIT_COOKIE_SECURE=true = %+v", c)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-auth", "maybe"}, nil, `invalid -auth "maybe": want on or off`},
		{nil, map[string]string{"REFIT_COOKIE_SECURE": "sometimes"}, `invalid -cookie-secure "sometimes"`},
		{[]string{"-session-idle", "0"}, nil, `invalid -session-idle "0"`},
		{[]string{"-session-max", "1h"}, nil, `invalid -session-max "1h": shorter than -session-idle "24h"`},
		{nil, map[string]string{"REFIT_TRUSTED_ORIGINS": "refit.example.com"}, `invalid -trusted-origins "refit.example.com"`},
		{nil, map[string]string{"REFIT_TRUSTED_ORIGINS": "https://refit.example.com/app"}, `invalid -trusted-origins`},
		{nil, map[string]string{"REFIT_TRUSTED_PROXIES": "proxy.lan"}, `invalid -trusted-proxies "proxy.lan"`},
	} {
		_, err := parseConfig("serve", tc.args, env(tc.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseConfig(%v, %v) = %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}
