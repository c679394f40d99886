package handlers

import (
	"context"
	"strings"
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
// groups' HTML (nearly all of the page) comes from gc while nothing it shows
// has changed.
func dashboard(c *fiber.Ctx, ctr *services.Containers, upd *services.Updates, gc *groupsCache) views.DashboardData {
	// Versions before the data: what is rendered is at least as new as its key.
	key := gc.key(viewer(c))
	d := views.NewDashboardData(ctr.Groups(), jobsOf(upd), viewer(c), time.Now())
	d.RateLimits = ctr.RateLimits()
	d.LastCheck = ctr.CheckedAt()
	d.Checking = ctr.Checking()
	key.second = d.Now.Unix()
	d.GroupsHTML = gc.groups(c.UserContext(), key, d)
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
	state   groupsState             // of every entry
	entries map[views.Viewer]string // at most maxGroupsEntries
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

// groups returns d's groups rendered, from the cache when k matches.
func (gc *groupsCache) groups(ctx context.Context, k groupsKey, d views.DashboardData) templ.Component {
	gc.mu.Lock()
	html, ok := gc.entries[k.viewer]
	ok = ok && gc.state == k.groupsState
	gc.mu.Unlock()
	if !ok {
		var b strings.Builder
		if err := d.RenderGroups(ctx, &b); err != nil {
			return nil // ImagesTable renders the groups itself and reports the error
		}
		html = b.String()
		gc.mu.Lock()
		if gc.state != k.groupsState || len(gc.entries) >= maxGroupsEntries {
			gc.state, gc.entries = k.groupsState, map[views.Viewer]string{}
		}
		gc.entries[k.viewer] = html
		gc.mu.Unlock()
	}
	return templ.Raw(html)
}
