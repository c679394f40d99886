package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// routes is the whole URL surface, HTML and API side by side. Registration
// order is the access policy.
func routes(app *fiber.App, d Deps) {
	app.Get("/health", handleHealth())

	api := app.Group("/api")
	api.Get("/images", apiListImages(d.Containers))
	api.All("/images/*", apiImageAction(d.Containers, map[string]imageAction{
		"update":      {fiber.MethodPost, apiStartUpdate(d.Updates)},
		"auto-update": {fiber.MethodPost, apiToggleAutoUpdate(d.Toggles)},
		"progress":    {fiber.MethodGet, apiProgress(d.Updates)},
	}))
	api.Post("/groups/*", apiUpdateGroup(d.Updates))
	api.Post("/check", apiCheck(d.Containers))
	api.Get("/ratelimit", apiRateLimit(d.Containers))
	api.Get("/history", apiHistory(d.History))
}
