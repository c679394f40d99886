package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// The HTML twins of the container API's actions (api_containers.go): the
// row's menu and the Stopped section. Each makes the same service call as
// its JSON twin and answers what changed on screen: the row when the
// container stays in the table, the table when it leaves or joins it.

// handleSetPolicy runs the update-policy action of the form (skip the
// version found now, snooze, clear) and answers the row, whose badges and
// group header follow.
func handleSetPolicy(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		act := models.PolicyAction{Action: c.FormValue(views.PolicyField)}
		if act.Action == models.PolicySnooze {
			days, err := strconv.ParseFloat(c.FormValue(views.DaysField, strconv.Itoa(views.SnoozeDays)), 64)
			if err != nil {
				return fiber.NewError(fiber.StatusBadRequest, "bad days: want a number")
			}
			act.Days = days
		}
		item, g, err := ctr.FindRef(rowRef(c))
		if err != nil {
			return err
		}
		if _, err := pol.Apply(item.Ref, act, candidateOf(item, g)); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderRow(c, ctr, upd, pol, item.Ref)
	}
}

// candidateOf is what skip-current skips, as apiUpdatePolicy has it: the
// group's remote digest, for an outdated container only, and the newer tag.
func candidateOf(item models.ContainerItem, g models.ImageGroup) models.Candidate {
	c := models.Candidate{Tag: item.NewerTag}
	if item.Status == models.StatusOutdated {
		c.Digest = g.RemoteFull
	}
	return c
}

// handleRestart restarts the container and answers its row: it runs
// before and after.
func handleRestart(ctr *services.Containers, upd *services.Updates, pol *services.Policies, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ref := rowRef(c)
		if _, err := cat.Restart(c.UserContext(), ref.String()); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderRow(c, ctr, upd, pol, ref)
	}
}

// handleMove starts or stops the container (act) and answers the table,
// which it joins or leaves; ContainersChanged has the Stopped list follow.
func handleMove(act func(ctx context.Context, id string) (models.DrydockContainer, error),
	ctr *services.Containers, upd *services.Updates, dc *dashCache) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := act(c.UserContext(), rowRef(c).String()); err != nil {
			return err
		}
		return answerMoved(c, ctr, upd, dc)
	}
}

// handleDelete removes the container once the form names it (ConfirmField;
// a wrong name is 400), with its anonymous volumes when asked, and answers
// the table.
func handleDelete(cat *services.Catalog, ctr *services.Containers, upd *services.Updates, dc *dashCache) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ref := rowRef(c)
		if c.FormValue(views.ConfirmField) != ref.Name {
			return fiber.NewError(fiber.StatusBadRequest, "the name does not match: type "+ref.Name+" to delete it")
		}
		if err := cat.Remove(c.UserContext(), ref.String(), c.FormValue(views.VolumesField) == "on"); err != nil {
			return err
		}
		return answerMoved(c, ctr, upd, dc)
	}
}

// answerMoved answers an action after which a container is in the table or
// the Stopped list where it was not: the table, and ContainersChanged for
// the list; a plain form post goes back to the page.
func answerMoved(c *fiber.Ctx, ctr *services.Containers, upd *services.Updates, dc *dashCache) error {
	if !isHTMX(c) {
		return backHome(c)
	}
	c.Set("HX-Trigger", views.ContainersChanged)
	return sendDashboard(c, ctr, upd, dc, true)
}

// handleStoppedList answers the Stopped list, with the page's host filter.
func handleStoppedList(ctr *services.Containers, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		host, err := hostFilter(c, ctr)
		if err != nil {
			return err
		}
		s, err := stoppedData(c, cat, ctr, viewer(c), host)
		if err != nil {
			return err
		}
		return render(c, views.StoppedFragment(s))
	}
}

// stoppedData is the Stopped section for v on host ("" for every host).
func stoppedData(c *fiber.Ctx, cat *services.Catalog, ctr *services.Containers, v views.Viewer, host string) (views.StoppedData, error) {
	list, err := cat.List(c.UserContext())
	if err != nil {
		return views.StoppedData{}, err
	}
	return views.NewStoppedData(list, ctr.Several(), host, v), nil
}

// handleContainerLogs answers the container's LogPanel with its last tail
// lines (default 100, at most 10000, as the API): alone for htmx, else as
// a page; the panel's LogLines poll it every 2 seconds and get themselves. While the panel polls, a
// container that is gone stops it and another failure shows in it, to
// be tried again, rather than a toast every 2 seconds.
func handleContainerLogs(ctr *services.Containers, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tail := views.DefaultLogTail
		if v := c.Query(views.TailField); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLogTail {
				return fiber.NewError(fiber.StatusBadRequest, "bad tail: want 1 to 10000")
			}
			tail = n
		}
		ref := rowRef(c)
		l := views.LogsData{Ref: ref, Tail: tail, Standalone: !isHTMX(c), Several: ctr.Several()}
		logs, err := cat.Logs(c.UserContext(), ref.String(), models.LogOptions{Tail: tail})
		switch {
		case err == nil:
			l.Logs = logs
		case l.Standalone:
			return err
		case errors.Is(err, models.ErrNotFound):
			l.Gone = true
		default:
			_, l.Problem = classify(err)
		}
		switch {
		case l.Standalone:
			return page(c, "Logs of "+ref.Shown(), views.LogsPage(l))
		case c.Get("HX-Target") == views.LogLinesID: // the lines' own poll
			return render(c, views.LogLines(l))
		}
		return render(c, views.LogPanel(l))
	}
}

// panelOf is what a row's panel is about: the running container, with the
// page's host filter and the viewer.
func panelOf(c *fiber.Ctx, ctr *services.Containers) (views.Panel, models.ContainerItem, models.ImageGroup, error) {
	host, err := hostFilter(c, ctr)
	if err != nil {
		return views.Panel{}, models.ContainerItem{}, models.ImageGroup{}, err
	}
	ref := rowRef(c)
	item, g, err := ctr.FindRef(ref)
	if err != nil {
		return views.Panel{}, models.ContainerItem{}, models.ImageGroup{}, err
	}
	return views.Panel{Ref: ref, Filter: host, Standalone: !isHTMX(c), Several: ctr.Several(), Viewer: viewer(c)}, item, g, nil
}

// answerPanel answers a panel alone for htmx, else as a page of its own
// titled title and the container's name.
func answerPanel(c *fiber.Ctx, p views.Panel, title string, panel templ.Component) error {
	if p.Standalone {
		return page(c, title+" "+p.Ref.Shown(), views.PanelPage(panel))
	}
	return render(c, panel)
}

// handleContainerPreview answers the container's PreviewPanel: the same
// dry run as POST /api/containers/{id}/preview. Its Update form posts what
// the row shows, as the row's own does.
func handleContainerPreview(ctr *services.Containers, upd *services.Updates, pol *services.Policies, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, item, g, err := panelOf(c, ctr)
		if err != nil {
			return err
		}
		pv, err := cat.Preview(c.UserContext(), p.Ref.String())
		if err != nil {
			return err
		}
		d := views.PreviewData{Panel: p, Preview: pv, Shown: views.ShownValue(views.NewRowData(g, item, jobsOf(upd, pol), p.Viewer))}
		return answerPanel(c, p, "Update preview of", views.PreviewPanel(d))
	}
}

// handleContainerBackups answers the container's BackupsPanel.
func handleContainerBackups(ctr *services.Containers, upd *services.Updates) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _, _, err := panelOf(c, ctr)
		if err != nil {
			return err
		}
		bks, err := upd.Backups(p.Ref)
		if err != nil {
			return err
		}
		return answerPanel(c, p, "Backups of", views.BackupsPanel(views.BackupsData{Panel: p, Backups: bks}))
	}
}

// handleRollback starts recreating the container onto the backup the form
// names, as POST /api/containers/{id}/rollback does, and answers the row,
// which follows the job as an update's does.
func handleRollback(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.FormValue(views.BackupField)
		if id == "" {
			return fiber.NewError(fiber.StatusBadRequest, "bad backup: say which one")
		}
		ref := rowRef(c)
		if _, err := upd.Rollback(ref, id, actor(c)); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderRow(c, ctr, upd, pol, ref)
	}
}

// handleUpdateTag moves the container onto its newer tag, as the Drydock
// update does when it offers one, and answers the row.
func handleUpdateTag(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ref := rowRef(c)
		if _, err := upd.StartTag(ref.String(), actor(c)); err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderRow(c, ctr, upd, pol, ref)
	}
}

// handleTagsPanel answers the container's TagsPanel.
func handleTagsPanel(ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, item, _, err := panelOf(c, ctr)
		if err != nil {
			return err
		}
		return answerPanel(c, p, "Version tags of", views.TagsPanel(views.TagsData{Panel: p, Item: item, Rule: ctr.TagRule(item)}))
	}
}

// handleSetTagRule saves the form's tag rule (or, with action=clear, gives
// the labels back) through the same catalog call as PUT and DELETE
// /api/containers/{id}/tag-rule, and answers the row.
func handleSetTagRule(ctr *services.Containers, upd *services.Updates, pol *services.Policies, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ref := rowRef(c)
		var err error
		if c.FormValue(views.PolicyField) == "clear" {
			_, err = cat.ClearTagRule(c.UserContext(), ref.String())
		} else {
			_, err = cat.SetTagRule(c.UserContext(), ref.String(), models.TagRule{Include: c.FormValue(views.IncludeField),
				Exclude: c.FormValue(views.ExcludeField), Bump: c.FormValue(views.BumpField)})
		}
		if err != nil {
			return err
		}
		if !isHTMX(c) {
			return backHome(c)
		}
		return renderRow(c, ctr, upd, pol, ref)
	}
}

// handleCrashLogs answers the lines the new container of a container's
// failed update wrote before the rollback removed it: a panel for htmx,
// else a page.
func handleCrashLogs(ctr *services.Containers, hist *services.History) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ref := rowRef(c)
		rec, ok, err := hist.CrashLogs(ref)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("logs of a failed update of %s: %w", ref, models.ErrNotFound)
		}
		d := views.CrashLogsData{Ref: ref, Record: rec, Several: ctr.Several(), Standalone: !isHTMX(c)}
		if d.Standalone {
			return page(c, "Logs of the failed update of "+ref.Shown(), views.CrashLogsPage(d))
		}
		return render(c, views.CrashLogsPanel(d))
	}
}

// handleRowMenu answers a row's menu items, which the menu loads when it is
// first opened; without JavaScript, the menu as a page of its own.
func handleRowMenu(ctr *services.Containers, upd *services.Updates, pol *services.Policies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, item, g, err := panelOf(c, ctr)
		if err != nil {
			return err
		}
		row := views.NewRowData(g, item, jobsOf(upd, pol), p.Viewer)
		row.Filter = p.Filter
		if !p.Standalone {
			return render(c, views.RowMenuItems(row))
		}
		return answerPanel(c, p, "Actions for", views.MenuPanel(views.MenuData{Panel: p, Row: row}))
	}
}
