// Package handlers is refit's HTTP surface: the browser UI (templ + htmx) and
// the JSON API, twin handlers over the same services. routes.go lists every
// URL; errors.go is the one place errors become responses.
package handlers

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"refit/models"
	"refit/services"
)

// Deps are the services the handlers use.
type Deps struct {
	Log        *slog.Logger
	Containers *services.Containers
	Toggles    *services.Toggles
	Updates    *services.Updates
	History    *services.History
	Policies   *services.Policies
	Catalog    *services.Catalog // Drydock's container API
	Notifier   *services.Notifier
	// Schedule says when the next check and update window are; nil: none.
	Schedule *services.Schedule
	// Auth is required; services.AuthOptions{Disabled: true} turns auth off.
	Auth  *services.Auth
	Audit *services.Audit
	// TrustedProxies are the reverse proxies whose forwarding headers
	// (X-Forwarded-For, -Proto, -Host) are believed; from anyone else they
	// are ignored.
	TrustedProxies []netip.Prefix
	// AllowedHosts are the names (or name:port) refit answers to besides
	// localhost, the machine's names and IP literals; see allowedHosts.
	AllowedHosts []string
	// Metrics serves GET /metrics; nil answers 404.
	Metrics http.Handler
	// MetricsToken is a bearer token that may read /metrics and nothing
	// else, for a scraper that should not hold an API token; "" for none.
	MetricsToken string
	// Build is what GET /api/version answers.
	Build models.BuildInfo
	// Watchtower is Watchtower's HTTP API; its zero value serves none of it.
	Watchtower WatchtowerDeps
}

// New builds the Fiber app with every route.
func New(d Deps) *fiber.App {
	app := newApp(d)
	routes(app, d)
	return app
}

// NewWatchtower builds the app for Watchtower's own address (:8080), where
// its users' scripts and scrapers call it: Watchtower's HTTP API alone.
func NewWatchtower(d Deps) *fiber.App {
	app := newApp(d)
	watchtowerRoutes(app, d)
	return app
}

// newApp is the Fiber app with its settings and the middleware every
// request passes, without routes.
func newApp(d Deps) *fiber.App {
	if d.Auth == nil || d.Audit == nil {
		// Fail closed: a missing Auth must never mean "no auth".
		panic("handlers.New: Deps.Auth and Deps.Audit are required")
	}
	app := fiber.New(fiber.Config{
		// Params and headers must outlive the request: jobs keep them.
		Immutable:             true,
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(d.Log, htmlError),
		ReadTimeout:           30 * time.Second,
		// 4 KiB by default: a browser carrying other apps' cookies for the
		// same host got 431.
		ReadBufferSize: 16 << 10,
		WriteTimeout:   2 * time.Minute, // POST /api/check waits for the registries
		IdleTimeout:    2 * time.Minute,
		// Protocol() and Hostname() read X-Forwarded-Proto/-Host only from these.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          prefixStrings(d.TrustedProxies),
	})
	markUnread(app)
	app.Use(securityHeaders())
	app.Use(recover.New())
	app.Use(clientAddr(d.TrustedProxies))
	app.Use(requestLog(d.Log))
	return app
}

// requestLog writes one line per request; polling, scrapes and static files
// go to Debug, or a row polling every second would drown the log.
func requestLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// The error handler has not run yet; let it, then log the status it set.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		level := slog.LevelInfo
		p := c.Path()
		if c.Method() == fiber.MethodGet && (strings.HasPrefix(p, "/static/") || strings.HasSuffix(p, "/progress") ||
			strings.HasSuffix(p, "/row") || (strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/logs")) || strings.HasPrefix(p, "/groups/") || strings.HasPrefix(p, "/fragments/") || p == "/health" || p == "/metrics") {
			level = slog.LevelDebug
		}
		log.Log(c.UserContext(), level, "request", "method", c.Method(), "path", p,
			"status", c.Response().StatusCode(), "duration", time.Since(start))
		return nil
	}
}

// actor names who started something, for history and the audit log.
func actor(c *fiber.Ctx) string {
	if u, ok := c.Locals(localUser).(string); ok && u != "" {
		return u
	}
	return "anonymous"
}

const localUser = "user"
