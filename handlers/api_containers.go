package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
)

// The container API in Drydock's shapes (seed 002), served under /api and
// /api/v1, so scripts written for Drydock work against refit unchanged.

// containerID is the {id} of /api/containers/{id}/…: a full or 12-character
// ID, a name, or host/name (its "/" escaped as %2F).
func containerID(c *fiber.Ctx) string {
	id, err := url.PathUnescape(c.Params("id"))
	if err != nil {
		return c.Params("id")
	}
	return id
}

// apiContainers answers every container refit knows, running or not.
func apiContainers(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := cat.List(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(list)
	}
}

// apiContainer answers one container.
func apiContainer(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		return c.JSON(item)
	}
}

// apiWatchAll checks every image now and answers the list.
func apiWatchAll(ctr *services.Containers, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := ctr.Check(c.UserContext()); err != nil {
			return err
		}
		return apiContainers(cat)(c)
	}
}

// apiWatchOne checks the container's image (one HEAD) and answers the item.
func apiWatchOne(ctr *services.Containers, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		found, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		item, _, err := ctr.FindRef(cat.Ref(found))
		if err != nil {
			return models.ErrNotRunning // the catalog knows it; the check does not: it is stopped
		}
		if _, err := ctr.CheckImage(c.UserContext(), item.Configured); err != nil {
			return err
		}
		return apiContainer(cat)(c)
	}
}

// apiUpdatePolicy runs one policy action and answers the item. A stopped
// container has a policy too (snoozed, cleared); it has no candidate to
// skip.
func apiUpdatePolicy(pol *services.Policies, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var act models.PolicyAction
		if err := c.BodyParser(&act); err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "bad body: want {\"action\": …}")
		}
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		cand := models.Candidate{}
		if item.CheckStatus == models.StatusOutdated && item.Result != nil {
			cand.Digest = item.Result.Digest
		}
		if item.Result != nil && item.Result.Tag != item.Image.Tag.Value {
			cand.Tag = item.Result.Tag // the newer tag found now; result.tag is the current one without
		}
		if _, err := pol.Apply(cat.Ref(item), act, cand); err != nil {
			return err
		}
		return apiContainer(cat)(c)
	}
}

// apiContainerAct answers a lifecycle action (start, stop, restart) with
// the item as it is afterwards.
func apiContainerAct(act func(ctx context.Context, id string) (models.DrydockContainer, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := act(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		return c.JSON(item)
	}
}

// apiContainerPreview answers the dry run of an update: nothing is pulled
// or changed, so viewers may ask for it although it is a POST.
func apiContainerPreview(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := cat.Preview(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

// maxLogTail bounds ?tail: a log can be gigabytes.
const maxLogTail = 10000

// apiContainerLogs answers {"logs": …}: tail (1–10000, default 100), since
// (Unix seconds, default 0: all) and timestamps (default true), as Drydock.
func apiContainerLogs(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		o := models.LogOptions{Tail: 100, Timestamps: true}
		if v := c.Query("tail"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLogTail {
				return fiber.NewError(fiber.StatusBadRequest, "bad tail: want 1 to 10000")
			}
			o.Tail = n
		}
		if v := c.Query("since"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return fiber.NewError(fiber.StatusBadRequest, "bad since: want Unix seconds")
			}
			if n > 0 {
				o.Since = time.Unix(n, 0)
			}
		}
		if v := c.Query("timestamps"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fiber.NewError(fiber.StatusBadRequest, "bad timestamps: want true or false")
			}
			o.Timestamps = b
		}
		logs, err := cat.Logs(c.UserContext(), containerID(c), o)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"logs": logs})
	}
}

// apiContainerDelete removes the container: 204; its anonymous volumes only
// with ?volumes=true.
func apiContainerDelete(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		volumes, err := strconv.ParseBool(c.Query("volumes", "false"))
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "bad volumes: want true or false")
		}
		if err := cat.Remove(c.UserContext(), containerID(c), volumes); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// syncUpdateWait bounds how long the synchronous update answers after; the
// job goes on past it, and its progress tells.
const syncUpdateWait = 30 * time.Minute

// apiContainerUpdate updates the container and answers when the job ended,
// as Drydock does: 200 with the item (its new id), 400 when no update is
// available (none, or held back by its policy), 409 while one runs, and on
// failure 500 with the reason and whether the old container runs again.
func apiContainerUpdate(upd *services.Updates, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		ref := cat.Ref(item)
		if p, ok := upd.ProgressOf(ref); ok && p.Running() {
			return models.ErrBeingUpdated
		}
		if !item.UpdateAvailable {
			return models.ErrNoUpdateAvailable
		}
		start := upd.StartContainer
		if item.TagAvailable { // the newer tag, rather than the current tag's new digest
			start = upd.StartTag
		}
		if _, err := start(ref.String(), actor(c)); err != nil {
			return err
		}
		p, err := upd.Wait(c.UserContext(), ref, syncUpdateWait)
		if err != nil {
			return err
		}
		if p.Phase == models.PhaseFailed {
			return c.Status(fiber.StatusInternalServerError).JSON(fiber.Map{"error": strings.TrimPrefix(p.Status, "error: "),
				"rolledBack": p.RolledBack, "container": item})
		}
		now, err := cat.Get(c.UserContext(), ref.String())
		if err != nil {
			return err
		}
		return c.JSON(now)
	}
}

// apiContainerBackups answers the container's image backups, newest first.
func apiContainerBackups(upd *services.Updates, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		bks, err := upd.Backups(cat.Ref(item))
		if err != nil {
			return err
		}
		return c.JSON(bks)
	}
}

// apiContainerRollback recreates the container onto a backup's image
// ({"backupId"}, or {} for the newest) and answers as the synchronous
// update does: the item once done, 500 with the reason on failure.
func apiContainerRollback(upd *services.Updates, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var body struct {
			BackupID string `json:"backupId"`
		}
		if len(c.Body()) > 0 { // JSON whatever the Content-Type says: curl -d sends a form type
			if err := json.Unmarshal(c.Body(), &body); err != nil {
				return fiber.NewError(fiber.StatusBadRequest, "bad body: want {\"backupId\": …} or {}")
			}
		}
		item, err := cat.Get(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		ref := cat.Ref(item)
		if p, ok := upd.ProgressOf(ref); ok && p.Running() { // before the backup's lookup: the update may be taking it
			return models.ErrBeingUpdated
		}
		if _, err := upd.Rollback(ref, body.BackupID, actor(c)); errors.Is(err, models.ErrContainerNotFound) {
			return models.ErrNotRunning // found above: it is stopped, and a rollback recreates a running container
		} else if err != nil {
			return err
		}
		p, err := upd.Wait(c.UserContext(), ref, syncUpdateWait)
		if err != nil {
			return err
		}
		if p.Phase == models.PhaseFailed {
			return c.Status(fiber.StatusInternalServerError).JSON(fiber.Map{"error": strings.TrimPrefix(p.Status, "error: "),
				"rolledBack": p.RolledBack, "container": item})
		}
		now, err := cat.Get(c.UserContext(), ref.String()) // by name: the ID changed
		if err != nil {
			return err
		}
		return c.JSON(now)
	}
}

// apiSetTagRule keeps the body's tag rule ({"include","exclude","bump"})
// for the container, over its labels, and answers the item with its tags
// followed again; an empty include stops following them.
func apiSetTagRule(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var r models.TagRule
		if err := json.Unmarshal(c.Body(), &r); err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "bad body: want {\"include\": …, \"exclude\": …, \"bump\": …}")
		}
		item, err := cat.SetTagRule(c.UserContext(), containerID(c), r)
		if err != nil {
			return err
		}
		return c.JSON(item)
	}
}

// apiClearTagRule forgets the tag rule set in refit: the labels decide again.
func apiClearTagRule(cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		item, err := cat.ClearTagRule(c.UserContext(), containerID(c))
		if err != nil {
			return err
		}
		return c.JSON(item)
	}
}
