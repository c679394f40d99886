package handlers

import (
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
)

var (
	errBadPath       = fiber.NewError(fiber.StatusBadRequest, "bad path: /api/images/{id}/{action}")
	errUnknownAction = fiber.NewError(fiber.StatusBadRequest, "unknown action")
	errMethod        = fiber.ErrMethodNotAllowed
)

// apiListImages answers the current snapshot; it never calls a registry.
// The JSON is encoded once per snapshot and toggles version and served with
// an ETag, so a poller that sends If-None-Match gets a 304.
func apiListImages(ctr *services.Containers, tog *services.Toggles) fiber.Handler {
	var cache atomic.Pointer[encodedImages]
	return func(c *fiber.Ctx) error {
		// Versions first: the groups read after them are at least that new,
		// so an entry is never older than its key.
		snap, tv := ctr.Version(), tog.Version()
		e := cache.Load()
		if e == nil || e.snap != snap || e.tog != tv {
			body, err := c.App().Config().JSONEncoder(ctr.Groups())
			if err != nil {
				return err
			}
			e = &encodedImages{snap: snap, tog: tv, encoded: newEncoded(body, fiber.MIMEApplicationJSON, true)}
			cache.Store(e)
		}
		return e.send(c)
	}
}

// encodedImages is GET /api/images' body for one snapshot and toggles version.
type encodedImages struct {
	snap, tog uint64
	*encoded
}

// apiCheck checks now and answers like apiListImages.
func apiCheck(ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		groups, err := ctr.Check(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(groups)
	}
}

// apiRateLimit answers the pull budgets registries last reported.
func apiRateLimit(ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rls := ctr.RateLimits()
		limited := false
		for _, rl := range rls {
			limited = limited || rl.Limited
		}
		return c.JSON(fiber.Map{"rate_limited": limited, "registries": rls})
	}
}

// apiHosts answers every host's state, credentials in URLs masked.
func apiHosts(ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return c.JSON(ctr.Hosts())
	}
}

// imageAction is one {action} of /api/images/{id}/{action}.
type imageAction struct {
	method string
	handle func(c *fiber.Ctx, item models.ContainerItem) error
}

// apiImageAction routes /api/images/{id}/{action} the way the contract's
// error table says: bad path, unknown action, wrong method, unknown container.
func apiImageAction(ctr *services.Containers, actions map[string]imageAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Path() == "/api/images" { // the wildcard also matches the list itself
			return errMethod
		}
		parts := strings.Split(c.Params("*"), "/")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return errBadPath
		}
		act, ok := actions[parts[1]]
		if !ok {
			return errUnknownAction
		}
		if c.Method() != act.method {
			return errMethod
		}
		// The split is on the raw path, so host/name arrives as host%2Fname.
		id, err := url.PathUnescape(parts[0])
		if err != nil {
			return errBadPath
		}
		item, _, err := ctr.Find(id)
		if err != nil {
			return err
		}
		return act.handle(c, item)
	}
}

// apiToggleAutoUpdate flips the container's auto-update flag.
func apiToggleAutoUpdate(tog *services.Toggles) func(*fiber.Ctx, models.ContainerItem) error {
	return func(c *fiber.Ctx, item models.ContainerItem) error {
		on, err := tog.Flip(item.Ref)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"auto_update": on})
	}
}

// handleHealth answers 200 with an empty body.
func handleHealth() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Status(fiber.StatusOK) // not SendStatus: it would write "OK"
		return nil
	}
}
