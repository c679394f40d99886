package handlers

import (
	"net/url"

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
		id := containerID(c)
		item, _, err := ctr.Find(id)
		if err != nil {
			return err
		}
		if _, err := ctr.CheckImage(c.UserContext(), item.Configured); err != nil {
			return err
		}
		return apiContainer(cat)(c)
	}
}

// apiUpdatePolicy runs one policy action and answers the item.
func apiUpdatePolicy(ctr *services.Containers, pol *services.Policies, cat *services.Catalog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var act models.PolicyAction
		if err := c.BodyParser(&act); err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "bad body: want {\"action\": …}")
		}
		item, g, err := ctr.Find(containerID(c))
		if err != nil {
			return err
		}
		cand := models.Candidate{}
		if item.Status == models.StatusOutdated {
			cand.Digest = g.RemoteFull
		}
		if _, err := pol.Apply(item.Ref, act, cand); err != nil {
			return err
		}
		return apiContainer(cat)(c)
	}
}
