package handlers

import (
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"

	"refit/services"
)

func TestForwardedFor(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.0.0.2", "", "10.0.0.2"},                         // the proxy's own request
		{"10.0.0.2", "203.0.113.9", "203.0.113.9"},           // one proxy
		{"10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"},  // the client's own claim is ignored
		{"10.0.0.2", "203.0.113.9, 10.0.0.3", "203.0.113.9"}, // two trusted proxies
		{"10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"},       // all trusted: the farthest
		{"10.0.0.2", "203.0.113.9, bogus", "10.0.0.2"},       // unreadable: stop at the proxy
		{"10.0.0.2", "bogus, 203.0.113.9", "203.0.113.9"},    // garbage left of the client is the client's
		{"10.0.0.2", "::ffff:203.0.113.9", "203.0.113.9"},    // IPv4-mapped
		{"fd00::1", "2001:db8::7", "2001:db8::7"},            // IPv6 proxy
		{"198.51.100.1", "203.0.113.9", "198.51.100.1"},      // untrusted peer: header ignored
		{"198.51.100.1", "", "198.51.100.1"},
	} {
		if got := forwardedFor(tc.peer, tc.xff, trusted); got != tc.want {
			t.Errorf("forwardedFor(%s, %q) = %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	if got := forwardedFor("10.0.0.2", "203.0.113.9", nil); got != "10.0.0.2" {
		t.Errorf("no trusted proxies: %s, want the peer", got)
	}
}

// Behind a trusted proxy the login throttle counts each client on its own;
// without trusting it, everyone behind it is one address, and a client's
// own X-Forwarded-For changes nothing.
func TestLoginThrottlePerClientBehindProxy(t *testing.T) {
	for _, trust := range []bool{false, true} {
		a := newAuthApp(t, services.AuthOptions{MaxAddrFailures: 3})
		if trust {
			// Requests through app.Test come from 0.0.0.0.
			a.deps.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
			a.restart(t)
		}
		for _, name := range []string{"x1", "x2", "x3"} {
			a.call(t, "POST", "/api/login", `{"user":"`+name+`","pass":"whatever-password"}`,
				"Content-Type", fiber.MIMEApplicationJSON, fiber.HeaderXForwardedFor, "203.0.113.9")
		}
		status, _, _ := a.call(t, "POST", "/api/login", `{"user":"admin","pass":"plum-quartz-harbour"}`,
			"Content-Type", fiber.MIMEApplicationJSON, fiber.HeaderXForwardedFor, "198.51.100.7")
		if trust && status != 200 {
			t.Errorf("trusted proxy: another client's login = %d, want 200", status)
		}
		if !trust && status != 429 {
			t.Errorf("untrusted proxy: login from the same peer = %d, want 429", status)
		}
		entries, err := a.audit.Recent(10) // newest first
		if err != nil {
			t.Fatal(err)
		}
		// Newest first: the last login, then x3's failure.
		wantLast, wantFailed := "0.0.0.0", "0.0.0.0"
		if trust {
			wantLast, wantFailed = "198.51.100.7", "203.0.113.9"
		}
		if len(entries) < 2 || entries[0].Addr != wantLast || entries[1].Addr != wantFailed {
			t.Errorf("trust %v: audit addresses %+v, want %s then %s", trust, entries, wantLast, wantFailed)
		}
	}
}

// X-Forwarded-Proto makes the session cookie Secure only when a trusted
// proxy says the client came over TLS.
func TestForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	for _, trust := range []bool{false, true} {
		a := newAuthApp(t, services.AuthOptions{})
		if trust {
			a.deps.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
			a.restart(t)
		}
		_, _, h := a.call(t, "POST", "/api/login", `{"user":"admin","pass":"plum-quartz-harbour"}`,
			"Content-Type", fiber.MIMEApplicationJSON, fiber.HeaderXForwardedProto, "https")
		if c := sessionCookie(h); c == nil || c.Secure != trust {
			t.Errorf("trust %v: session cookie %+v, want Secure %v", trust, c, trust)
		}
	}
}
