package handlers

import (
	"sync"
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
	return render(c, views.Layout("Error", viewer(c), views.ErrorPage(status, msg)))
}

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
			p, ok := upd.ProgressOf(name)
			if !ok {
				return nil
			}
			cp := p // escapes; p alone would be on the heap for every row
			return &cp
		},
		GroupRunning: upd.GroupRunning,
	}
}

// dashboard builds the data of the page and of the table fragment. The
// groups (nearly all of the page) come rendered from gc while nothing they
// show has changed; only a miss builds and renders them.
func dashboard(c *fiber.Ctx, ctr *services.Containers, upd *services.Updates, gc *groupsCache) views.DashboardData {
	v := viewer(c)
	// Versions before the data: what is rendered is at least as new as its key.
	key, now := gc.key(v), time.Now()
	key.second = now.Unix()
	var d views.DashboardData
	if r := gc.get(key); r != nil {
		d = views.DashboardData{Now: now, Viewer: v, Rendered: r}
	} else {
		d = views.NewDashboardData(ctr.Groups(), jobsOf(upd), v, now)
		if r, err := d.RenderGroups(c.UserContext()); err == nil { // else ImagesTable renders and reports it
			gc.put(key, r)
			d.Rendered = r
		}
	}
	d.RateLimits = ctr.RateLimits()
	d.LastCheck = ctr.CheckedAt()
	d.Checking = ctr.Checking()
	return d
}

// groupsCache keeps the rendered groups of the dashboard, the bulk of GET /
// and of every table refresh, for the current state only. A rendering is
// reused while the snapshot, the toggles, the update jobs, the viewer and
// the wall-clock second are the same: the second covers the relative times
// ("checked 3 min ago", minute granularity) and finished jobs expiring.
// The viewer is part of the key because the rows' forms carry its CSRF token
// and its permission decides which buttons show.
type groupsCache struct {
	ctr *services.Containers
	upd *services.Updates
	tog *services.Toggles

	mu      sync.Mutex
	state   groupsState                            // of every entry
	entries map[views.Viewer]*views.RenderedGroups // at most maxGroupsEntries
}

const maxGroupsEntries = 8 // concurrent sessions' renderings of one state

type groupsState struct {
	snap, tog, jobs uint64
	second          int64
}

type groupsKey struct {
	groupsState
	viewer views.Viewer
}

func newGroupsCache(ctr *services.Containers, upd *services.Updates, tog *services.Toggles) *groupsCache {
	return &groupsCache{ctr: ctr, upd: upd, tog: tog}
}

func (gc *groupsCache) key(v views.Viewer) groupsKey {
	return groupsKey{groupsState: groupsState{snap: gc.ctr.Version(), tog: gc.tog.Version(), jobs: gc.upd.Version()},
		viewer: v}
}

// get returns the rendering stored under k, or nil.
func (gc *groupsCache) get(k groupsKey) *views.RenderedGroups {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if gc.state != k.groupsState {
		return nil
	}
	return gc.entries[k.viewer]
}

// put stores r under k, dropping every entry of another state.
func (gc *groupsCache) put(k groupsKey, r *views.RenderedGroups) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if gc.state != k.groupsState || len(gc.entries) >= maxGroupsEntries {
		gc.state, gc.entries = k.groupsState, map[views.Viewer]*views.RenderedGroups{}
	}
	gc.entries[k.viewer] = r
}
