package handlers

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
)

// apiNotificationTargets lists every target, URLs masked.
func apiNotificationTargets(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ts, err := ntf.Targets()
		if err != nil {
			return err
		}
		return c.JSON(ts)
	}
}

var errTargetBody = fmt.Errorf(`%w: body must be {"name":"…","url":"…","events":["available","updated","failed"]}`, models.ErrInvalid)

// apiAddNotificationTarget keeps a target from {"name","url","events"}: 201
// with the target, its URL masked.
func apiAddNotificationTarget(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in models.TargetAdd
		if err := json.Unmarshal(c.Body(), &in); err != nil {
			return errTargetBody
		}
		ti, err := ntf.AddTarget(actor(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(ti)
	}
}

// apiRemoveNotificationTarget removes an admin's target: 204.
func apiRemoveNotificationTarget(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := ntf.RemoveTarget(c.Params("name")); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// apiTestNotifications sends a test message to every target now:
// {"sent":N,"failed":[{"target","error"}]}.
func apiTestNotifications(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		res, err := ntf.Test(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

// apiOutbox answers the last messages, newest first (?limit=, at most 500).
func apiOutbox(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		limit := 50
		if v := c.Query("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				return fmt.Errorf("%w: limit must be 1 to 500", models.ErrInvalid)
			}
			limit = n
		}
		out, err := ntf.Outbox(limit)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// apiContainerTriggers is Drydock's list of the triggers that apply to a
// container: every target, configuration masked.
func apiContainerTriggers(cat *services.Catalog, ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		ts, err := ntf.Triggers(item)
		if err != nil {
			return err
		}
		return c.JSON(ts)
	}
}

// apiRunTrigger sends the container's current state through one target
// now: 200 {} as Drydock answers, 404 trigger not found, 502 when the
// service did not take it.
func apiRunTrigger(cat *services.Catalog, ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		if err := ntf.RunTrigger(c.UserContext(), item, c.Params("type"), c.Params("name")); err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
}
