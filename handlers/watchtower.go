package handlers

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
)

// WatchtowerDeps are Watchtower's HTTP API (/v1/update, /v1/metrics), for
// its users' scripts: each nil or empty is not served (404), as in
// Watchtower without --http-api-update or --http-api-metrics.
type WatchtowerDeps struct {
	Update  *services.WatchtowerAPI
	Metrics http.Handler
	// Token is WATCHTOWER_HTTP_API_TOKEN; refit API tokens with the
	// operator role (view for /v1/metrics) are taken as well.
	Token string
}

// requireWatchtowerToken lets in Watchtower's token, or a refit API token
// whose role grants perm, and nothing else: no session, and no way in
// with auth off. Scripts call these routes by the names containers have on
// a Docker network (http://watchtower:8080), so they come before the host
// check; a bearer token is what a rebinding page cannot send. 401 with an
// empty body, as Watchtower answers.
func requireWatchtowerToken(auth *services.Auth, token string, perm models.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, ok := services.BearerToken(c.Get(fiber.HeaderAuthorization))
		if !ok || tok == "" {
			c.Status(fiber.StatusUnauthorized)
			return nil
		}
		if token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(token)) == 1 {
			c.Locals(localUser, services.ByWatchtowerAPI)
			return c.Next()
		}
		p, err := auth.Authenticate(stdRequest(c))
		if err != nil || p.Via != models.ViaToken {
			c.Status(fiber.StatusUnauthorized)
			return nil
		}
		if !p.Can(perm) {
			return models.ErrForbidden
		}
		c.Locals(localPrincipal, p)
		c.Locals(localUser, p.Name)
		return c.Next()
	}
}

// apiWatchtowerUpdate is Watchtower's GET or POST /v1/update: without
// ?image= every container auto-update takes, with ?image=a,b (repeatable)
// those images' containers; 200 once those updates have ended, with what
// they did.
func apiWatchtowerUpdate(w *services.WatchtowerAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var images []string
		for _, v := range c.Context().QueryArgs().PeekMulti("image") {
			for _, s := range strings.Split(string(v), ",") {
				if s = strings.TrimSpace(s); s != "" {
					images = append(images, s)
				}
			}
		}
		res, err := w.Update(c.UserContext(), images)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}
