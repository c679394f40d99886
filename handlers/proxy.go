package handlers

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientAddr works out, once per request, the address refit throttles,
// audits and logs: the peer, or behind a trusted reverse proxy the client
// it names in X-Forwarded-For.
func clientAddr(trusted []netip.Prefix) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localClientIP, forwardedFor(c.Context().RemoteIP().String(), c.Get(fiber.HeaderXForwardedFor), trusted))
		return c.Next()
	}
}

const localClientIP = "client-ip"

// clientIP is the request's client address (see clientAddr).
func clientIP(c *fiber.Ctx) string {
	if ip, ok := c.Locals(localClientIP).(string); ok {
		return ip
	}
	return c.Context().RemoteIP().String()
}

// forwardedFor returns the client address of a request from peer carrying
// the X-Forwarded-For header xff. Only a trusted peer's header counts, read
// from the right: each trusted proxy appends who it heard from, so the first
// untrusted address is the client, and what is left of it is whatever the
// client itself sent. Something unreadable there ends the walk.
func forwardedFor(peer, xff string, trusted []netip.Prefix) string {
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if xff == "" || !isTrusted(peer) {
		return peer
	}
	hops := strings.Split(xff, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			return peer
		}
		if !isTrusted(hop) {
			return a.Unmap().String()
		}
		peer = a.Unmap().String() // a trusted proxy further out
	}
	return peer
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
