package handlers

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
)

// apiStartUpdate starts updating one container; a second request while it
// runs gets the same answer and starts nothing.
func apiStartUpdate(upd *services.Updates) func(*fiber.Ctx, models.ContainerItem) error {
	return func(c *fiber.Ctx, item models.ContainerItem) error {
		if _, err := upd.StartContainer(item.FullID, actor(c)); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "updating"})
	}
}

// apiProgress answers the container's progress snapshot.
func apiProgress(upd *services.Updates) func(*fiber.Ctx, models.ContainerItem) error {
	return func(c *fiber.Ctx, item models.ContainerItem) error {
		p, err := upd.Progress(item.Ref)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

// apiUpdateGroup starts updating every outdated container of an image, and
// says "uptodate" when there was none. The image is everything between
// /api/groups/ and /update, so references with "/" and ":" work, escaped or
// not.
func apiUpdateGroup(upd *services.Updates) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rest := strings.TrimPrefix(string(c.Request().URI().PathOriginal()), "/api/groups/")
		image, ok := strings.CutSuffix(rest, "/update")
		if !ok || image == "" {
			return fiber.NewError(fiber.StatusBadRequest, "bad path: /api/groups/{image}/update")
		}
		image, err := url.PathUnescape(image)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "bad path: /api/groups/{image}/update")
		}
		updating, err := upd.StartGroup(image, actor(c))
		if err != nil {
			return err
		}
		if !updating {
			return c.JSON(fiber.Map{"status": "uptodate"})
		}
		return c.JSON(fiber.Map{"status": "updating"})
	}
}

// apiHistory answers recent updates, newest first, narrowed as the history
// page's query says (container, host, result, limit).
func apiHistory(hist *services.History) fiber.Handler {
	return func(c *fiber.Ctx) error {
		recs, err := hist.Find(historyFilter(c))
		if err != nil {
			return err
		}
		return c.JSON(recs)
	}
}
