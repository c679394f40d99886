package handlers

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
)

// auditWhat names the action a request takes and its target; an empty
// action records nothing.
type auditWhat func(c *fiber.Ctx) (action, target string)

// audited records the route's action in the audit log after the handler
// has run, with how it ended, so the handlers stay one service call long.
func audited(aud *services.Audit, what auditWhat) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		action, target := what(c)
		if action == "" {
			return err
		}
		result := "ok"
		if action == models.AuditUpdate || action == models.AuditGroupUpdate {
			result = "started" // each container's outcome follows as update_result
		}
		if err != nil {
			_, result = classify(err)
		} else if s := c.Response().StatusCode(); s >= 400 {
			result = strconv.Itoa(s)
		}
		aud.Record(models.AuditEntry{Actor: actor(c), Action: action, Target: target, Result: result, Addr: clientIP(c)})
		return err
	}
}

// auditAs records action with the route parameter param as the target
// ("" for none).
func auditAs(action, param string) auditWhat {
	return func(c *fiber.Ctx) (string, string) {
		if param == "" {
			return action, ""
		}
		return action, c.Params(param)
	}
}

// auditedContainer records action on the container the {id} of a Drydock
// route names, as auditContainer names it (name, or host/name with several
// hosts) whatever form the id took. It is resolved before the handler runs:
// after an update or a delete the id finds nothing. An id that finds
// nothing is recorded as written. A policy change adds its action, a
// rollback the backup it went to.
func auditedContainer(aud *services.Audit, cat *services.Catalog, ctr *services.Containers, action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		target := containerID(c)
		// The snapshot knows running containers without asking the engine;
		// the catalog, which lists every host, finds stopped ones too.
		var ref models.ContainerRef
		if it, _, err := ctr.Find(target); err == nil {
			ref = it.Ref
		} else if item, err := cat.Get(c.UserContext(), target); err == nil {
			ref = cat.Ref(item)
		}
		switch {
		case ref == models.ContainerRef{}:
		case ctr.Several():
			target = ref.String()
		default:
			target = ref.Name
		}
		switch action {
		case models.AuditPolicy:
			var body models.PolicyAction
			if json.Unmarshal(c.Body(), &body) == nil && body.Action != "" {
				target += " " + body.Action
			}
		case models.AuditRollback:
			var body struct {
				BackupID string `json:"backupId"`
			}
			if json.Unmarshal(c.Body(), &body) == nil && body.BackupID != "" {
				target += " to " + body.BackupID
			} else {
				target += " to the newest backup"
			}
		}
		return audited(aud, func(*fiber.Ctx) (string, string) { return action, target })(c)
	}
}

// auditContainer records action on the container of a /containers/{host}/{name}
// route: by name with one host, as host/name with several.
func auditContainer(ctr *services.Containers, action string) auditWhat {
	return func(c *fiber.Ctx) (string, string) {
		ref := rowRef(c)
		if ctr.Several() {
			return action, ref.String()
		}
		return action, ref.Name
	}
}

// auditRefs records action on the containers a form lists as RefField
// values, comma-separated.
func auditRefs(action string) auditWhat {
	return func(c *fiber.Ctx) (string, string) {
		var refs []string
		for _, r := range formRefs(c) {
			refs = append(refs, r.String())
		}
		return action, strings.Join(refs, ",")
	}
}

// auditImageAction records POST /api/images/{id}/update and /auto-update;
// progress is a read.
func auditImageAction(c *fiber.Ctx) (string, string) {
	id, act, _ := strings.Cut(c.Params("*"), "/")
	if c.Method() != fiber.MethodPost {
		return "", ""
	}
	if u, err := url.PathUnescape(id); err == nil {
		id = u // host%2Fname is recorded as host/name
	}
	switch act {
	case "update":
		return models.AuditUpdate, id
	case "auto-update":
		return models.AuditToggle, id
	}
	return "", ""
}

// auditGroupUpdate records POST /api/groups/{image}/update with the image.
func auditGroupUpdate(c *fiber.Ctx) (string, string) {
	rest := strings.TrimPrefix(string(c.Request().URI().PathOriginal()), "/api/groups/")
	image, _ := url.PathUnescape(strings.TrimSuffix(rest, "/update"))
	return models.AuditGroupUpdate, image
}

// auditGroupKey records a browser group update with the image its key
// stands for.
func auditGroupKey(ctr *services.Containers) auditWhat {
	return func(c *fiber.Ctx) (string, string) {
		key := c.Params("key")
		for _, g := range ctr.Groups() {
			if models.GroupKey(g.Image) == key {
				return models.AuditGroupUpdate, g.Image
			}
		}
		return models.AuditGroupUpdate, key
	}
}
