package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// historyFilter reads the history's filter from the query: container as
// "host/name" (the page's select) or a name with host, and an outcome.
func historyFilter(c *fiber.Ctx) models.HistoryFilter {
	f := models.HistoryFilter{Host: c.Query(views.HostField), Container: c.Query(views.ContainerField),
		Result: c.Query(views.ResultField), Limit: c.QueryInt("limit", 0)}
	if ref, ok := models.ParseContainerRef(f.Container); ok {
		f.Host, f.Container = ref.Host, ref.Name
	}
	return f
}

// handleHistoryPage shows the update history, narrowed as the query says.
func handleHistoryPage(hist *services.History, ctr *services.Containers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f := historyFilter(c)
		recs, err := hist.Find(f)
		if err != nil {
			return err
		}
		refs, err := hist.Containers()
		if err != nil {
			return err
		}
		return page(c, "History", views.HistoryPage(views.HistoryData{Records: recs, Filter: f, Containers: refs,
			Several: ctr.Several(), Now: time.Now(), Viewer: viewer(c)}))
	}
}
