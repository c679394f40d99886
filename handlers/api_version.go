package handlers

import (
	"github.com/gofiber/fiber/v2"

	"refit/models"
)

// apiVersion answers which refit this is.
func apiVersion(b models.BuildInfo) fiber.Handler {
	return func(c *fiber.Ctx) error { return c.JSON(b) }
}
