package handlers

import (
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// contentSecurityPolicy allows the pages nothing but refit's own files: no
// inline script or style, no eval, no framing. The templates carry no
// inline code, htmx is told not to inject its indicator style nor to eval
// (views/layout.templ), and what the pages need beyond htmx is in
// static/js/refit.js.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'"

// securityHeaders sets the headers every answer carries, errors included.
// HSTS only over TLS, as a browser would ignore it otherwise: the request
// itself, or the X-Forwarded-Proto of a trusted proxy (Protocol reads it
// only from those).
func securityHeaders() fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
		h.Set(fiber.HeaderXFrameOptions, "DENY")
		h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		h.Set(fiber.HeaderReferrerPolicy, "same-origin")
		if c.Protocol() == "https" {
			h.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000")
		}
		return c.Next()
	}
}

// errMisdirected answers a request for a Host refit does not go by.
var errMisdirected = fiber.NewError(fiber.StatusMisdirectedRequest, "misdirected request: host not allowed")

// allowedHosts answers 421 to a request whose Host (behind a trusted proxy:
// X-Forwarded-Host) is not one of refit's. Against DNS rebinding: a page
// under an attacker's name that resolves to refit is same-origin with
// itself, so the Origin check passes; only the Host tells it apart.
//
// Allowed are localhost, this machine's names, every IP literal, and extra
// (host or host:port). An IP literal cannot be rebound: a browser sends one
// only to the address it names, so it covers the loopback and interface
// addresses and also the Docker host's address a published port answers
// on, which is no interface of refit's container.
func allowedHosts(extra []string) fiber.Handler {
	names := map[string]bool{"localhost": true}
	if h, err := os.Hostname(); err == nil && h != "" {
		h = strings.ToLower(h)
		names[h] = true
		short, _, _ := strings.Cut(h, ".")
		names[short] = true
	}
	withPort := map[string]bool{}
	for _, e := range extra {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if h, p, err := net.SplitHostPort(e); err == nil {
			if h != "" && p != "" {
				withPort[net.JoinHostPort(strings.TrimSuffix(h, "."), p)] = true
			}
			continue
		}
		names[strings.TrimSuffix(strings.Trim(e, "[]"), ".")] = true
	}
	return func(c *fiber.Ctx) error {
		if hostAllowed(c.Hostname(), names, withPort) {
			return c.Next()
		}
		return errMisdirected
	}
}

// hostAllowed reports whether the Host header value hostport is one of
// names (any port), one of withPort, or an IP literal.
func hostAllowed(hostport string, names, withPort map[string]bool) bool {
	hostport = strings.ToLower(hostport)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return names[host] || (port != "" && withPort[net.JoinHostPort(host, port)])
}
