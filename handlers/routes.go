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

	app.Get("/", handleContainersPage(d.Containers, d.Updates))
	app.Get("/fragments/images", handleImagesTable(d.Containers, d.Updates))
	app.Post("/check", handleCheck(d.Containers, d.Updates))
	app.Get("/containers/:name/row", handleContainerRow(d.Containers, d.Updates))
	app.Post("/containers/:name/update", handleUpdateContainer(d.Containers, d.Updates))
	app.Post("/containers/:name/auto-update", handleToggleAutoUpdate(d.Containers, d.Toggles))
	app.Get("/groups/:key", handleGroup(d.Containers, d.Updates))
	app.Post("/groups/:key/update", handleUpdateGroup(d.Containers, d.Updates))
}
