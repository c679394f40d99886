package handlers

import (
	"crypto/subtle"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"refit/models"
	"refit/services"
)

// handleMetrics serves the Prometheus registry; 404 without one.
func handleMetrics(h http.Handler) fiber.Handler {
	if h == nil {
		h = http.NotFoundHandler()
	}
	return adaptor.HTTPHandler(h)
}

// requireMetrics lets in the metrics token, else whoever requireAPI lets in
// with the view permission: a session or an API token. 401 otherwise.
func requireMetrics(auth *services.Auth, token string) fiber.Handler {
	api := requireAPI(auth, models.PermView)
	return func(c *fiber.Ctx) error {
		if tok, ok := services.BearerToken(c.Get(fiber.HeaderAuthorization)); ok && token != "" &&
			subtle.ConstantTimeCompare([]byte(tok), []byte(token)) == 1 {
			return c.Next()
		}
		return api(c)
	}
}
