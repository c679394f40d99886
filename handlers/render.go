package handlers

import (
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// render writes comp as the HTML response.
func render(c *fiber.Ctx, comp templ.Component) error {
	c.Type("html", "utf-8")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// page renders comp in the layout, or alone for a non-boosted htmx request.
func page(c *fiber.Ctx, title string, comp templ.Component) error {
	c.Vary("HX-Request") // same URL, two representations
	if isHTMX(c) && c.Get("HX-Boosted") != "true" {
		return render(c, comp)
	}
	return render(c, views.Layout(title, viewer(c), comp))
}

func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// backHome answers a plain form post (JavaScript off) by going back to the page.
func backHome(c *fiber.Ctx) error { return c.Redirect(views.DashboardPath, fiber.StatusSeeOther) }

// htmlError renders an error for a browser: a toast for htmx requests, so
// the page stays as it is, else an error page.
func htmlError(c *fiber.Ctx, status int, msg string) error {
	if isHTMX(c) {
		c.Set("HX-Retarget", "#"+views.ToastsID)
		c.Set("HX-Reswap", "beforeend")
		c.Status(status)
		return render(c, views.Toast(msg))
	}
	c.Status(status)
	return render(c, views.Layout(statusTitle(status), viewer(c), views.ErrorPage(status, msg)))
}

func statusTitle(status int) string { return "Error" }

// viewer is who the request renders for. The auth middleware stores it;
// without auth everyone may do everything.
func viewer(c *fiber.Ctx) views.Viewer {
	if v, ok := c.Locals(localViewer).(views.Viewer); ok {
		return v
	}
	return views.Viewer{CanUpdate: true}
}

const localViewer = "viewer"

// jobsOf adapts the update service for the view builders.
func jobsOf(upd *services.Updates) views.Jobs {
	return views.Jobs{
		Progress: func(name string) *models.Progress {
			p, err := upd.Progress(name)
			if err != nil {
				return nil
			}
			return &p
		},
		GroupRunning: upd.GroupRunning,
	}
}

// dashboard builds the data of the page and of the table fragment.
func dashboard(c *fiber.Ctx, ctr *services.Containers, upd *services.Updates) views.DashboardData {
	d := views.NewDashboardData(ctr.Groups(), jobsOf(upd), viewer(c), time.Now())
	d.RateLimits = ctr.RateLimits()
	d.LastCheck = ctr.CheckedAt()
	d.Checking = ctr.Checking()
	return d
}
