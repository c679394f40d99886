package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// handleContainersPage shows every image group with its containers.
func handleContainersPage(ctr *services.Containers, upd *services.Updates, dc *dashCache) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return sendDashboard(c, ctr, upd, dc, false)
	}
}

// handleImagesTable answers the table alone, for the calm auto refresh.
func handleImagesTable(ctr *services.Containers, upd *services.Updates, dc *dashCache) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return sendDashboard(c, ctr, upd, dc, true)
	}
}

// handleCheck checks every image now and answers the refreshed table.
func handleCheck(ctr *services.Containers, upd *services.Updates, dc *dashCache) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := hostFilter(c, ctr); err != nil { // before the check, which a bad link should not cost
			return err
		}
		if _, err := ctr.Check(c.UserContext()); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return sendDashboard(c, ctr, upd, dc, true)
	}
}

// handleContainerRow answers one row; rows poll it while they update.
func handleContainerRow(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return renderRow(c, ctr, upd, pol, rowRef(c))
	}
}

// rowRef is the container of /containers/{host}/{name}/….
func rowRef(c *fiber.Ctx) models.ContainerRef { return models.Ref(c.Params("host"), c.Params("name")) }

// handleUpdateContainer starts updating one container and answers its row,
// which polls itself until the job ends.
func handleUpdateContainer(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ref := rowRef(c)
		if _, err := upd.StartContainer(ref.String(), actor(c)); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderRow(c, ctr, upd, pol, ref)
	}
}

// renderRow answers a container's row, its group header out of band (the
// group's status follows the row's), and what changed for the live region
// since the row was rendered as the request's ShownField says; a form in a
// panel (PanelField) has the panel close. Both keep
// the page's host filter: the header counts the rows the page shows. The
// row shows pol's badges (nil: none).
func renderRow(c *fiber.Ctx, ctr *services.Containers, upd *services.Updates, pol *services.Policies, ref models.ContainerRef) error {
	host, err := hostFilter(c, ctr)
	if err != nil {
		return err
	}
	item, g, err := ctr.FindRef(ref)
	if err != nil {
		// Gone (removed outside refit): a row without a trigger stops the polling.
		return render(c, views.MissingRow(ref))
	}
	jobs, v := jobsOf(upd, pol), viewer(c)
	row := views.NewRowData(g, item, jobs, v)
	row.Filter = host
	if err := render(c, views.ContainerRow(row)); err != nil {
		return err
	}
	if err := render(c, views.GroupHeaderOOB(views.NewGroupData(g, jobs, v, time.Now()).OnHost(host))); err != nil {
		return err
	}
	if c.FormValue(views.PanelField) == "close" { // asked from a panel, whose work is now the row's
		if err := render(c, views.ClosedPanel()); err != nil {
			return err
		}
	}
	return render(c, views.Announcement(views.Announcements([]views.RowData{row}, c.FormValue(views.ShownField))))
}

// renderGroup answers a group's tbody, with the rows on host alone when the
// page filters ("" for every host), and, as renderRow, what changed for the
// live region.
func renderGroup(c *fiber.Ctx, upd *services.Updates, pol *services.Policies, g models.ImageGroup, host string) error {
	gd := views.NewGroupData(g, jobsOf(upd, pol), viewer(c), time.Now()).OnHost(host)
	if err := render(c, views.ImageGroup(gd)); err != nil {
		return err
	}
	return render(c, views.Announcement(views.Announcements(gd.Rows, c.FormValue(views.ShownField))))
}

// handleToggleAutoUpdate sets a container's auto-update flag to what the
// checkbox says and answers the toggle.
func handleToggleAutoUpdate(ctr *services.Containers, tog *services.Toggles) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, _, err := ctr.FindRef(rowRef(c))
		if err != nil {
			return err
		}
		on := c.FormValue(views.AutoUpdateField) == "on"
		if err := tog.Set(item.Ref, on); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return render(c, views.AutoUpdateToggle(item, on, viewer(c)))
	}
}

// handleGroup answers one group; a group polls it while it updates.
func handleGroup(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		host, err := hostFilter(c, ctr)
		if err != nil {
			return err
		}
		g, err := ctr.Group(c.Params("key"))
		if err != nil {
			return err
		}
		return renderGroup(c, upd, pol, g, host)
	}
}

// handleUpdateGroup updates every outdated container of a group with one
// pull and answers the group, which polls itself until the job ends.
func handleUpdateGroup(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		g, err := ctr.Group(c.Params("key"))
		if err != nil {
			return err
		}
		if _, err := upd.StartGroup(g.Image, actor(c)); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderGroup(c, upd, pol, g, "") // Update all is offered only where every row shows
	}
}

// formRefs are the containers a form lists as RefField values ("host/name");
// malformed ones are left out.
func formRefs(c *fiber.Ctx) []models.ContainerRef {
	var out []models.ContainerRef
	for _, v := range c.Request().PostArgs().PeekMulti(views.RefField) {
		if ref, ok := models.ParseContainerRef(string(v)); ok {
			out = append(out, ref)
		}
	}
	return out
}

// handleUpdateOutdated updates the outdated containers the confirmation
// listed (the service leaves out those held back or no longer outdated)
// and answers the table as the page shows it.
func handleUpdateOutdated(ctr *services.Containers, upd *services.Updates, dc *dashCache) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := upd.StartOutdated(formRefs(c), actor(c)); err != nil {
			return err
		}
		if !isHTMX(c) {
			return c.Redirect(views.DashboardData{Filter: c.Query(views.HostField), Query: dashQuery(c)}.Here(views.DashboardPath), fiber.StatusSeeOther)
		}
		return sendDashboard(c, ctr, upd, dc, true)
	}
}
