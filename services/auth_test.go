package services_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"refit/models"
	"refit/services"
)

// clock is a settable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type authFixture struct {
	path  string
	db    *gorm.DB
	auth  *services.Auth
	audit *services.Audit
	clock *clock
	logs  *bytes.Buffer
}

var admin = models.Principal{Name: "test", Via: models.ViaCLI, Addr: "local"}

func mustDB(t testing.TB, path string) *gorm.DB {
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

func newAuthFixture(t testing.TB, opts services.AuthOptions) *authFixture {
	t.Helper()
	f := &authFixture{path: filepath.Join(t.TempDir(), "refit.db"), clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	f.reopen(t, opts)
	return f
}

// reopen is a restart: a new database handle and a new Auth over the same file.
func (f *authFixture) reopen(t testing.TB, opts services.AuthOptions) {
	t.Helper()
	f.db = mustDB(t, f.path)
	f.logs = &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	opts.BcryptCost = bcrypt.MinCost
	opts.Now = f.clock.Now
	if opts.Sleep == nil {
		opts.Sleep = func(time.Duration) {} // TestLoginDelay looks at the delay; the rest need not wait
	}
	f.audit = services.NewAudit(f.db, log, f.clock.Now)
	a, err := services.NewAuth(f.db, f.audit, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.auth = a
}

// password is the password addUser gives name.
func password(name string) string {
	return map[string]string{"alice": "tulip-granite-voyage", "bob": "maple-cobalt-whistle",
		"op": "saffron-pebble-rocket", "root": "orchid-basalt-lantern"}[name]
}

func (f *authFixture) addUser(t testing.TB, name string, role models.Role) {
	t.Helper()
	if _, err := f.auth.AddUser(admin, name, password(name), role); err != nil {
		t.Fatal(err)
	}
}

// login returns the session cookie for name.
func (f *authFixture) login(t testing.TB, name, pass string) (*http.Cookie, error) {
	t.Helper()
	return f.loginFrom(t, "192.0.2.1", name, pass)
}

// loginFrom is login from the client address addr.
func (f *authFixture) loginFrom(t testing.TB, addr, name, pass string) (*http.Cookie, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/api/login", nil)
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	if _, err := f.auth.Login(w, r, name, pass); err != nil {
		return nil, err
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == services.CookieName {
			return c, nil
		}
	}
	t.Fatal("login set no session cookie")
	return nil, nil
}

func (f *authFixture) who(c *http.Cookie) (models.Principal, error) {
	r := httptest.NewRequest("GET", "/api/images", nil)
	r.RemoteAddr = "192.0.2.1"
	r.AddCookie(c)
	return f.auth.Authenticate(r)
}

func TestSessionCookieAttributes(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleOperator)
	c, err := f.login(t, "alice", "tulip-granite-voyage")
	if err != nil {
		t.Fatal(err)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
		t.Errorf("cookie = %+v, want HttpOnly, SameSite=Lax, not Secure over plain HTTP, Path /", c)
	}
	if c.MaxAge != int((30 * 24 * time.Hour).Seconds()) {
		t.Errorf("cookie Max-Age = %d, want 30 days", c.MaxAge)
	}
	if strings.Contains(f.logs.String(), c.Value) {
		t.Error("the session cookie was logged")
	}
	// Secure when configured, or when the request came over TLS.
	f2 := newAuthFixture(t, services.AuthOptions{CookieSecure: true})
	f2.addUser(t, "bob", models.RoleViewer)
	if c, _ := f2.login(t, "bob", "maple-cobalt-whistle"); !c.Secure {
		t.Error("REFIT_COOKIE_SECURE did not mark the cookie Secure")
	}
	r := httptest.NewRequest("POST", "https://refit.example/api/login", nil)
	w := httptest.NewRecorder()
	if _, err := f.auth.Login(w, r, "alice", "tulip-granite-voyage"); err != nil {
		t.Fatal(err)
	}
	if !w.Result().Cookies()[0].Secure {
		t.Error("a login over TLS did not get a Secure cookie")
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleOperator)
	c, err := f.login(t, "alice", "tulip-granite-voyage")
	if err != nil {
		t.Fatal(err)
	}
	f.reopen(t, services.AuthOptions{})
	p, err := f.who(c)
	if err != nil || p.Name != "alice" || p.Role != models.RoleOperator || p.Via != models.ViaSession || p.CSRFToken == "" {
		t.Fatalf("after a restart Authenticate = %+v, %v; want alice, operator, by session, with a CSRF token", p, err)
	}
	// Only the hash of the ID is stored.
	var rows []models.Session
	f.db.Find(&rows)
	if len(rows) != 1 || strings.Contains(rows[0].IDHash, c.Value) || len(rows[0].IDHash) != 64 {
		t.Errorf("session rows = %+v", rows)
	}
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{SessionIdle: time.Hour, SessionMax: 3 * time.Hour})
	f.addUser(t, "alice", models.RoleViewer)
	c, err := f.login(t, "alice", "tulip-granite-voyage")
	if err != nil {
		t.Fatal(err)
	}
	// Used every 50 minutes it stays alive until the absolute limit.
	for i := 0; i < 3; i++ {
		f.clock.Add(50 * time.Minute)
		if _, err := f.who(c); err != nil {
			t.Fatalf("after %d×50m of use: %v", i+1, err)
		}
	}
	f.clock.Add(40 * time.Minute) // 3h30 after login, 40m after last use
	if _, err := f.who(c); !errors.Is(err, models.ErrUnauthorized) {
		t.Fatalf("past the absolute limit Authenticate = %v, want ErrUnauthorized", err)
	}

	c, err = f.login(t, "alice", "tulip-granite-voyage")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(61 * time.Minute)
	if _, err := f.who(c); !errors.Is(err, models.ErrUnauthorized) {
		t.Fatalf("idle for 61m Authenticate = %v, want ErrUnauthorized", err)
	}
	// Expired rows are gone.
	var n int64
	f.db.Model(&models.Session{}).Count(&n)
	if n != 0 {
		t.Errorf("%d session rows left after expiry, want 0", n)
	}
}

func TestLoginGivesNewSessionID(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleViewer)
	old, err := f.login(t, "alice", "tulip-granite-voyage")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/login", nil)
	r.AddCookie(old)
	w := httptest.NewRecorder()
	if _, err := f.auth.Login(w, r, "alice", "tulip-granite-voyage"); err != nil {
		t.Fatal(err)
	}
	fresh := w.Result().Cookies()[0]
	if fresh.Value == old.Value {
		t.Fatal("login kept the session ID it was given")
	}
	if _, err := f.who(old); err == nil {
		t.Error("the session from before the login still works")
	}
	if _, err := f.who(fresh); err != nil {
		t.Errorf("the new session does not work: %v", err)
	}
}

func TestLogoutEndsSessionServerSide(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleViewer)
	c, _ := f.login(t, "alice", "tulip-granite-voyage")
	r := httptest.NewRequest("POST", "/api/logout", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	p, _ := f.who(c)
	if err := f.auth.Logout(w, r, p); err != nil {
		t.Fatal(err)
	}
	if got := w.Result().Cookies(); len(got) != 1 || got[0].MaxAge >= 0 {
		t.Errorf("logout cookies = %+v, want one expired cookie", got)
	}
	if _, err := f.who(c); !errors.Is(err, models.ErrUnauthorized) {
		t.Errorf("old cookie after logout: %v, want ErrUnauthorized", err)
	}
}

func TestLoginThrottle(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleViewer)
	for i := 0; i < 5; i++ {
		if _, err := f.login(t, "alice", "wrong-password"); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v, want ErrInvalidCredentials", i+1, err)
		}
	}
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); !errors.Is(err, models.ErrTooManyAttempts) {
		t.Fatalf("6th attempt, right password: %v, want ErrTooManyAttempts", err)
	}
	// It says when: once the failures leave the 15-minute window.
	f.clock.Add(5 * time.Minute)
	var later *models.RetryLater
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); !errors.As(err, &later) || later.After != 10*time.Minute {
		t.Fatalf("5 minutes later: %v, want to retry in 10 minutes", err)
	}
	f.clock.Add(10 * time.Minute)
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// A success resets the user's count: four more failures do not block.
	for i := 0; i < 4; i++ {
		f.login(t, "alice", "wrong-password")
	}
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); err != nil {
		t.Fatalf("after a success and 4 failures: %v", err)
	}
}

// Guesses from one address do not lock the user out elsewhere: the
// throttle refuses the pair, and the right password from another address
// gets in; the attacker's address stays refused, right password or not.
func TestLoginThrottleDoesNotLockOutTheOwner(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleViewer)
	for i := 0; i < 30; i++ {
		f.loginFrom(t, "203.0.113.9", "alice", "wrong-password")
	}
	if _, err := f.loginFrom(t, "203.0.113.9", "alice", "tulip-granite-voyage"); !errors.Is(err, models.ErrTooManyAttempts) {
		t.Errorf("the attacker's address with the right password: %v, want ErrTooManyAttempts", err)
	}
	if _, err := f.loginFrom(t, "198.51.100.7", "alice", "tulip-granite-voyage"); err != nil {
		t.Errorf("the owner from another address: %v, want in", err)
	}
	if _, err := f.loginFrom(t, "203.0.113.9", "alice", "tulip-granite-voyage"); !errors.Is(err, models.ErrTooManyAttempts) {
		t.Errorf("the owner's login freed the attacker's address: %v", err)
	}
	// 25 refusals, one line in the audit log.
	es, _ := f.audit.Recent(100)
	refused := 0
	for _, e := range es {
		if e.Result == "too many attempts" {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d audit entries say too many attempts, want 1", refused)
	}
}

// Failures for a user from anywhere slow down every login of that user, a
// step per failure up to the cap, before the password is checked.
func TestLoginDelay(t *testing.T) {
	const step, limit = 250 * time.Millisecond, 3 * time.Second
	var waits []time.Duration // what Login slept, one per attempt
	f := newAuthFixture(t, services.AuthOptions{FailureDelay: step, MaxFailureDelay: limit,
		Sleep: func(d time.Duration) { waits = append(waits, d) }})
	f.addUser(t, "alice", models.RoleViewer)
	f.addUser(t, "bob", models.RoleViewer)
	waited := func(addr, name, pass string) time.Duration {
		t.Helper()
		waits = nil
		f.loginFrom(t, addr, name, pass)
		if len(waits) != 1 {
			t.Fatalf("a login slept %d times, want once", len(waits))
		}
		return waits[0]
	}
	if d := waited("192.0.2.1", "alice", "tulip-granite-voyage"); d != 0 {
		t.Errorf("a first login waited %v, want 0", d)
	}
	f.loginFrom(t, "192.0.2.2", "alice", "wrong-password")
	if d := waited("192.0.2.3", "alice", "tulip-granite-voyage"); d != step {
		t.Errorf("after one failure a login waited %v, want %v", d, step)
	}
	for i := 0; i < 20; i++ {
		f.loginFrom(t, fmt.Sprintf("198.51.100.%d", i), "alice", "wrong-password")
	}
	if d := waited("192.0.2.4", "alice", "tulip-granite-voyage"); d != limit {
		t.Errorf("after 21 failures from 21 addresses a login waited %v, want the cap %v", d, limit)
	}
	if d := waited("192.0.2.4", "bob", "maple-cobalt-whistle"); d != 0 {
		t.Errorf("another user's login waited %v, want 0", d)
	}
	f.clock.Add(15 * time.Minute)
	if d := waited("192.0.2.4", "alice", "tulip-granite-voyage"); d != 0 {
		t.Errorf("a login after the window waited %v, want 0", d)
	}
}

func TestLoginThrottlePerAddress(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{MaxAddrFailures: 3})
	f.addUser(t, "alice", models.RoleViewer)
	for _, n := range []string{"x1", "x2", "x3"} {
		f.login(t, n, "whatever-password")
	}
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); !errors.Is(err, models.ErrTooManyAttempts) {
		t.Fatalf("after 3 failures from one address: %v, want ErrTooManyAttempts", err)
	}
}

func TestUnknownUserIsInvalidCredentials(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	if _, err := f.login(t, "nobody", "some-password"); !errors.Is(err, models.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestBootstrapGeneratedPasswordLoggedOnce(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	if err := f.auth.Bootstrap("", ""); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`password=(\S+)`).FindStringSubmatch(f.logs.String())
	if m == nil || !strings.Contains(f.logs.String(), "shown only this once") || !strings.Contains(f.logs.String(), "user=admin") {
		t.Fatalf("log does not show the generated admin password clearly:\n%s", f.logs.String())
	}
	if len(m[1]) < 20 {
		t.Errorf("generated password %d characters, want at least 20", len(m[1]))
	}
	if _, err := f.login(t, "admin", m[1]); err != nil {
		t.Fatalf("logging in with the logged password: %v", err)
	}
	f.reopen(t, services.AuthOptions{})
	if err := f.auth.Bootstrap("", ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.logs.String(), "password=") {
		t.Errorf("second start logged a password again:\n%s", f.logs.String())
	}
}

func TestBootstrapFromEnv(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	if err := f.auth.Bootstrap("Root", "a-long-enough-password"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.logs.String(), "a-long-enough-password") {
		t.Error("the configured password was logged")
	}
	if _, err := f.login(t, "root", "a-long-enough-password"); err != nil {
		t.Fatal(err)
	}
	f2 := newAuthFixture(t, services.AuthOptions{})
	if err := f2.auth.Bootstrap("", "short"); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("a too short REFIT_ADMIN_PASSWORD: %v, want ErrInvalid", err)
	}
}

func TestBootstrapAuthOff(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{Disabled: true})
	if err := f.auth.Bootstrap("", ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.logs.String(), "level=WARN") || !strings.Contains(f.logs.String(), "auth is off") {
		t.Errorf("no warning with auth off:\n%s", f.logs.String())
	}
	p, err := f.auth.Authenticate(httptest.NewRequest("POST", "/api/check", nil))
	if err != nil || p.Name != "anonymous" || !p.Can(models.PermAdmin) {
		t.Errorf("auth off Authenticate = %+v, %v; want anonymous admin", p, err)
	}
	if users, _ := f.auth.Users(); len(users) != 0 {
		t.Errorf("auth off created users: %+v", users)
	}
}

func TestLastAdminIsKept(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "root", models.RoleAdmin)
	f.addUser(t, "op", models.RoleOperator)
	if err := f.auth.RemoveUser(admin, "root"); !errors.Is(err, models.ErrLastAdmin) {
		t.Errorf("removing the last admin: %v, want ErrLastAdmin", err)
	}
	if err := f.auth.SetRole(admin, "root", models.RoleViewer); !errors.Is(err, models.ErrLastAdmin) {
		t.Errorf("demoting the last admin: %v, want ErrLastAdmin", err)
	}
	if err := f.auth.SetRole(admin, "op", models.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.SetRole(admin, "root", models.RoleViewer); err != nil {
		t.Errorf("demoting one of two admins: %v", err)
	}
	if err := f.auth.RemoveUser(admin, "op"); !errors.Is(err, models.ErrLastAdmin) {
		t.Errorf("removing the new last admin: %v, want ErrLastAdmin", err)
	}
}

func TestUserRules(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	tests := []struct {
		name, pass string
		role       models.Role
		want       error
	}{
		{"alice", "123456789", models.RoleViewer, models.ErrInvalid},
		{"alice", "tulip-granite-voyage", models.RoleViewer, nil},
		{"ALICE", "tulip-granite-voyage", models.RoleViewer, models.ErrUserExists},
		{"bad name", "tulip-granite-voyage", models.RoleViewer, models.ErrInvalid},
		{"bob", "tulip-granite-voyage", "root", models.ErrInvalid},
	}
	for _, tc := range tests {
		_, err := f.auth.AddUser(admin, tc.name, tc.pass, tc.role)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("AddUser(%q, %q, %q) = %v, want %v", tc.name, tc.pass, tc.role, err, tc.want)
		}
	}
	if err := f.auth.SetPassword(admin, "nobody", "a-decent-passphrase"); !errors.Is(err, models.ErrUserNotFound) {
		t.Errorf("SetPassword of nobody = %v", err)
	}
}

// Passwords a guesser tries first are refused, with the rule they break,
// wherever a password is set; a few unrelated words pass.
func TestPasswordRules(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	refused := []struct{ pass, want string }{
		{"short", "password must be at least 10 characters"},
		{strings.Repeat("ab", 37), "password must be at most 72 bytes"},
		{"carol-in-the-garden", "password must not contain the user name"}, // the user is carol
		{"xxCAROLxxyyzz", "password must not contain the user name"},
		{"          ", "password must not be one character repeated"},
		{"ééééééééééé", "password must not be one character repeated"},
		{"1234567890", "password is too easy to guess"},
		{"password123", "password is too easy to guess"},
		{"qwertyuiop[]", "password is too easy to guess"},
		{"Password1!", "password is too easy to guess"},
		{"letmein12345", "password is too easy to guess"},
	}
	check := func(call, pass, want string, err error) {
		t.Helper()
		if !errors.Is(err, models.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s(%q) = %v, want %q", call, pass, err, want)
		}
	}
	for _, tc := range refused {
		_, err := f.auth.AddUser(admin, "carol", tc.pass, models.RoleViewer)
		check("AddUser", tc.pass, tc.want, err)
	}
	current := "velvet anchor sprout"
	if _, err := f.auth.AddUser(admin, "carol", current, models.RoleViewer); err != nil {
		t.Fatal(err)
	}
	c, _ := f.login(t, "carol", current)
	carol, err := f.who(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range refused {
		check("SetPassword", tc.pass, tc.want, f.auth.SetPassword(admin, "carol", tc.pass))
		check("UpdateUser", tc.pass, tc.want, f.auth.UpdateUser(admin, "carol", models.RoleAdmin, tc.pass))
		check("ChangePassword", tc.pass, tc.want, f.auth.ChangePassword(carol, current, tc.pass))
	}
	if u, _ := f.auth.Users(); u[len(u)-1].Role != models.RoleViewer {
		t.Errorf("UpdateUser with a refused password changed the role to %s", u[len(u)-1].Role)
	}
	for _, pass := range []string{"Tr0ub4dor&3-and-more", "quiet falcon marble"} {
		if err := f.auth.SetPassword(admin, "carol", pass); err != nil {
			t.Errorf("SetPassword(%q) = %v, want it accepted", pass, err)
		}
		if err := f.auth.ChangePassword(carol, pass, current); err != nil {
			t.Errorf("ChangePassword to %q = %v, want it accepted", current, err)
		}
	}
}

func TestPasswordResetEndsSessions(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleViewer)
	c, _ := f.login(t, "alice", "tulip-granite-voyage")
	if err := f.auth.SetPassword(admin, "alice", "another-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.who(c); err == nil {
		t.Error("a session survived a password reset by an admin")
	}
	if _, err := f.login(t, "alice", "another-password"); err != nil {
		t.Error(err)
	}
}

func TestTokens(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleOperator)
	f.addUser(t, "bob", models.RoleViewer)
	c, _ := f.login(t, "alice", "tulip-granite-voyage")
	alice, _ := f.who(c)
	secret, tok, err := f.auth.CreateToken(alice, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "refit_") || len(secret) < 40 || !strings.HasPrefix(secret, tok.Prefix) {
		t.Errorf("token %q (prefix %q)", secret, tok.Prefix)
	}
	bearer := func(s string) (models.Principal, error) {
		r := httptest.NewRequest("GET", "/api/images", nil)
		r.Header.Set("Authorization", "Bearer "+s)
		return f.auth.Authenticate(r)
	}
	f.clock.Add(time.Hour)
	p, err := bearer(secret)
	if err != nil || p.Name != "alice" || p.Role != models.RoleOperator || p.Via != models.ViaToken || p.CSRFToken != "" {
		t.Fatalf("Authenticate with the token = %+v, %v", p, err)
	}
	list, _ := f.auth.Tokens(alice)
	if len(list) != 1 || !list[0].LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("tokens = %+v, want one used at %v", list, f.clock.Now())
	}
	var row models.APIToken
	f.db.First(&row)
	if strings.Contains(row.Hash, secret) || row.Hash == "" {
		t.Error("the token secret is stored")
	}
	// The token follows its owner's role.
	if err := f.auth.SetRole(admin, "alice", models.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if p, _ := bearer(secret); p.Role != models.RoleViewer {
		t.Errorf("token role after demotion = %s", p.Role)
	}
	// Bob cannot revoke Alice's token.
	bc, _ := f.login(t, "bob", "maple-cobalt-whistle")
	bob, _ := f.who(bc)
	if err := f.auth.RevokeToken(bob, "1"); !errors.Is(err, models.ErrTokenNotFound) {
		t.Errorf("revoking someone else's token = %v", err)
	}
	if err := f.auth.RevokeToken(alice, "1"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, "refit_nope", "nope"} {
		if _, err := bearer(s); !errors.Is(err, models.ErrUnauthorized) {
			t.Errorf("bearer %q after revoke = %v, want ErrUnauthorized", s, err)
		}
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Error("the token was logged")
	}
}

func TestAuditEntries(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleAdmin)
	f.login(t, "alice", "wrong-password")
	c, _ := f.login(t, "alice", "tulip-granite-voyage")
	p, _ := f.who(c)
	f.auth.CreateToken(p, "ci")
	f.auth.RemoveUser(p, "alice")
	assertAudit(t, f.audit,
		"alice user_remove alice the last admin cannot be removed or demoted 192.0.2.1",
		"alice token_create ci ok 192.0.2.1",
		"alice login  ok 192.0.2.1",
		"alice login_failed  invalid credentials 192.0.2.1",
		"test user_add alice (admin) ok local",
	)
}

func TestChangePassword(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleViewer)
	f.addUser(t, "bob", models.RoleViewer)
	c, _ := f.login(t, "alice", "tulip-granite-voyage")
	other, _ := f.login(t, "alice", "tulip-granite-voyage") // another browser
	bobs, _ := f.login(t, "bob", "maple-cobalt-whistle")
	alice, err := f.who(c)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := f.auth.CreateToken(alice, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.auth.ChangePassword(alice, "tulip-granite-voyage", "a-brand-new-password"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*http.Cookie{c, other} {
		if _, err := f.who(s); !errors.Is(err, models.ErrUnauthorized) {
			t.Errorf("a session of alice after her password change: %v, want ErrUnauthorized", err)
		}
	}
	if _, err := f.who(bobs); err != nil {
		t.Errorf("bob's session after alice's password change: %v", err)
	}
	r := httptest.NewRequest("GET", "/api/images", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	if p, err := f.auth.Authenticate(r); err != nil || p.Name != "alice" {
		t.Errorf("alice's token after her password change = %+v, %v; want it valid", p, err)
	}
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); !errors.Is(err, models.ErrInvalidCredentials) {
		t.Errorf("login with the old password: %v, want ErrInvalidCredentials", err)
	}
	if _, err := f.login(t, "alice", "a-brand-new-password"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	f := newAuthFixture(t, services.AuthOptions{})
	f.addUser(t, "alice", models.RoleOperator)
	c, _ := f.login(t, "alice", "tulip-granite-voyage")
	alice, _ := f.who(c)

	err := f.auth.ChangePassword(alice, "tulip-granite-voyage", "short")
	if !errors.Is(err, models.ErrInvalid) || err.Error() != "invalid input: password must be at least 10 characters" {
		t.Errorf("a too short new password: %v", err)
	}
	for _, p := range []models.Principal{{Name: services.AnonymousName, Role: models.RoleAdmin, Via: models.ViaOff}, admin} {
		if err := f.auth.ChangePassword(p, "tulip-granite-voyage", "a-brand-new-password"); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("ChangePassword as %s (no user): %v, want ErrForbidden", p.Name, err)
		}
	}
	// A wrong current password is a failed login: five block the sixth
	// attempt, even with the right one, and the login form too.
	for i := 0; i < 5; i++ {
		if err := f.auth.ChangePassword(alice, "wrong-password", "a-brand-new-password"); err != models.ErrInvalidCredentials {
			t.Fatalf("wrong current password %d: %v, want ErrInvalidCredentials", i+1, err)
		}
	}
	var later *models.RetryLater
	err = f.auth.ChangePassword(alice, "tulip-granite-voyage", "a-brand-new-password")
	if !errors.As(err, &later) || !errors.Is(err, models.ErrTooManyAttempts) || later.After != 15*time.Minute {
		t.Fatalf("6th attempt: %v, want to retry in 15 minutes", err)
	}
	if _, err := f.login(t, "alice", "tulip-granite-voyage"); !errors.Is(err, models.ErrTooManyAttempts) {
		t.Errorf("login after 5 wrong current passwords: %v, want ErrTooManyAttempts", err)
	}
	if _, err := f.who(c); err != nil {
		t.Errorf("the session after refused changes: %v", err)
	}
	f.clock.Add(15 * time.Minute)
	if err := f.auth.ChangePassword(alice, "tulip-granite-voyage", "a-brand-new-password"); err != nil {
		t.Errorf("after the window: %v", err)
	}

	assertAudit(t, f.audit,
		"alice user_password alice ok 192.0.2.1",
		"alice login_failed  too many attempts 192.0.2.1",
		"alice user_password alice too many attempts 192.0.2.1",
		"alice user_password alice invalid credentials 192.0.2.1",
		"alice user_password alice invalid credentials 192.0.2.1",
		"alice user_password alice invalid credentials 192.0.2.1",
		"alice user_password alice invalid credentials 192.0.2.1",
		"alice user_password alice invalid credentials 192.0.2.1",
		"test user_password test forbidden: only a signed-in user has a password to change local",
		"anonymous user_password anonymous forbidden: only a signed-in user has a password to change ",
	)
	if strings.Contains(f.logs.String(), "a-brand-new-password") {
		t.Error("a password was logged")
	}
}

// assertAudit checks the audit log's last entries, newest first, each as
// "actor action target result addr".
func assertAudit(t *testing.T, aud *services.Audit, want ...string) {
	t.Helper()
	es, err := aud.Recent(len(want))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target+" "+e.Result+" "+e.Addr)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
