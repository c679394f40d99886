package handlers

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// handleNotificationsPage shows the targets, the add form and the outbox.
func handleNotificationsPage(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return renderNotifications(c, ntf, views.NotificationsData{}, nil)
	}
}

// handleAddTarget keeps a target from the form (name, url, events…): 303
// back to the page, or the page with the error and without the URL.
func handleAddTarget(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		add := models.TargetAdd{Name: c.FormValue("name"), URL: c.FormValue("url")}
		for _, e := range c.Request().PostArgs().PeekMulti("events") {
			add.Events = append(add.Events, string(e))
		}
		if len(add.Events) == 0 {
			return renderNotifications(c, ntf, views.NotificationsData{}, errNoEvents)
		}
		if _, err := ntf.AddTarget(actor(c), add); err != nil {
			return renderNotifications(c, ntf, views.NotificationsData{}, err)
		}
		return c.Redirect(views.NotificationsPath, fiber.StatusSeeOther)
	}
}

var errNoEvents = models.NewKind("choose at least one event", models.ErrInvalid)

// handleTestTargets sends a test message to every target and shows how
// each went; the same call as POST /api/notifications/test.
func handleTestTargets(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		res, err := ntf.Test(c.UserContext())
		if err != nil {
			return err
		}
		return renderNotifications(c, ntf, views.NotificationsData{Test: &res}, nil)
	}
}

// handleRemoveTarget removes an admin's target: 303 back, or the page with
// the error.
func handleRemoveTarget(ntf *services.Notifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := ntf.RemoveTarget(c.Params("name")); err != nil {
			return renderNotifications(c, ntf, views.NotificationsData{}, err)
		}
		return c.Redirect(views.NotificationsPath, fiber.StatusSeeOther)
	}
}

func renderNotifications(c *fiber.Ctx, ntf *services.Notifier, d views.NotificationsData, formErr error) error {
	if formErr != nil {
		msg, err := refused(c, formErr)
		if err != nil {
			return err
		}
		d.Error = msg
	}
	ts, err := ntf.Targets()
	if err != nil {
		return err
	}
	out, err := ntf.Outbox(50)
	if err != nil {
		return err
	}
	d.Targets, d.Outbox, d.Now, d.Viewer = ts, out, time.Now(), viewer(c)
	return page(c, "Notifications", views.NotificationsPage(d))
}

// auditTarget records action on the target the route names: its name from
// the path, the form or the JSON body; never its URL.
func auditTarget(action string) auditWhat {
	return func(c *fiber.Ctx) (string, string) {
		if n := c.Params("name"); n != "" {
			return action, n
		}
		if n := c.FormValue("name"); n != "" {
			return action, n
		}
		var in struct{ Name string }
		_ = json.Unmarshal(c.Body(), &in)
		return action, in.Name
	}
}

// auditTrigger records a trigger run: the container and the trigger.
func auditTrigger(c *fiber.Ctx) (string, string) {
	return models.AuditTrigger, containerID(c) + " " + c.Params("type") + "." + c.Params("name")
}
