package handlers

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// handleHostsPage shows every host's state, the twin of GET /api/hosts.
func handleHostsPage(ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return page(c, "Hosts", views.HostsPage(hostsData(ctr)))
	}
}

// handleHostsFragment answers the hosts page alone, for its calm refresh.
func handleHostsFragment(ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return render(c, views.HostsPage(hostsData(ctr)))
	}
}

func hostsData(ctr *services.Containers) views.HostsData {
	return views.HostsData{Hosts: ctr.Hosts(), Now: time.Now()}
}

// errHostNotFound answers a host filter that names no host: a stale link
// to a host taken out of -hosts should say so, not show every host.
var errHostNotFound = models.NewKind("host not found", models.ErrNotFound)

// hostFilter is the request's host filter (views.HostField), "" for every
// host.
func hostFilter(c *fiber.Ctx, ctr *services.Containers) (string, error) {
	host := c.Query(views.HostField)
	if host != "" && !slices.Contains(ctr.HostNames(), host) {
		return "", errHostNotFound
	}
	return host, nil
}
