package handlers

import (
	"bytes"
	"net/url"
	"slices"
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
	if pageAlone(c) {
		return render(c, comp)
	}
	return render(c, views.Layout(title, viewer(c), comp))
}

// pageAlone reports whether a page is answered without the layout: to a
// non-boosted htmx request.
func pageAlone(c *fiber.Ctx) bool {
	c.Vary("HX-Request") // same URL, two representations
	return isHTMX(c) && c.Get("HX-Boosted") != "true"
}

func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// backHome answers a plain form post (JavaScript off) by going back to the
// page, with the host filter the form was sent under: OnHost escapes it, so
// whatever it says the redirect stays on the dashboard.
func backHome(c *fiber.Ctx) error {
	return c.Redirect(views.OnHost(views.DashboardPath, c.Query(views.HostField)), fiber.StatusSeeOther)
}

// htmlError renders an error for a browser: a toast for htmx requests, so
// the page stays as it is, else an error page.
func htmlError(c *fiber.Ctx, status int, msg string) error {
	if isHTMX(c) {
		c.Set("HX-Retarget", "#"+views.ToastsID)
		c.Set("HX-Reswap", "beforeend")
		c.Status(status)
		return render(c, views.Toast(toastText(c, msg)))
	}
	c.Status(status)
	return render(c, views.Layout("Error", viewer(c), views.ErrorPage(status, msg, viewer(c))))
}

// toastText names the container a row's request was about: toasts pile up
// at the foot of the page, far from the row.
func toastText(c *fiber.Ctx, msg string) string {
	name := c.Params("name")
	if name == "" || strings.Contains(msg, name) {
		return msg
	}
	return name + ": " + msg
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

// jobsOf adapts the update service, and the update policies when pol is
// set, for the view builders.
func jobsOf(upd *services.Updates, pol *services.Policies) views.Jobs {
	j := views.Jobs{
		Progress: func(ref models.ContainerRef) *models.Progress {
			p, ok := upd.ProgressOf(ref)
			if !ok {
				return nil
			}
			cp := p // escapes; p alone would be on the heap for every row
			return &cp
		},
		GroupRunning: upd.GroupRunning,
		HeldUntil:    upd.HeldUntil,
		SeenFor:      upd.SeenFor,
		MovedFrom:    upd.MovedFrom,
		LabelNotes:   upd.LabelNotes,
	}
	if pol != nil {
		j.Policy = func(ref models.ContainerRef) (models.UpdatePolicy, bool) {
			return pol.Get(ref), pol.Holds(ref, models.Candidate{}) // no candidate: only a snooze holds
		}
	}
	return j
}

// sendDashboard answers the dashboard page (whole, or alone for htmx) or its
// table, narrowed to the host filter when the request has one. Both are
// nearly all groups: the response is rendered once per state, viewer and
// filter and kept with its gzip encoding (see dashCache), so a page left
// open on many screens costs little more than one.
func sendDashboard(c *fiber.Ctx, ctr *services.Containers, upd *services.Updates, dc *dashCache, table bool) error {
	v := viewer(c)
	host, err := hostFilter(c, ctr)
	if err != nil {
		return err
	}
	// Versions before the data: what is rendered is at least as new as its key.
	key, now := dc.key(v), time.Now()
	key.second, key.host, key.query = now.Unix(), host, dashQuery(c)
	head := pageHead{limits: ctr.RateLimits(), lastCheck: ctr.CheckedAt(), checking: ctr.Checking(),
		engine: ctr.EngineState(), records: upd.RecordsProblem(), engines: ctr.Hosts(), nextCheck: dc.sched.NextCheck(),
		window: dc.sched.WindowText()}
	head.windowStart, head.windowEnd, _ = dc.sched.NextWindow()
	view := dashTable
	if !table {
		view = dashDocument
		if pageAlone(c) {
			view = dashPage
		}
	}
	groups, body := dc.get(key, view, head)
	if body == nil {
		d := views.DashboardData{Now: now, Viewer: v, Rendered: groups,
			RateLimits: head.limits, LastCheck: head.lastCheck, Checking: head.checking, Engine: head.engine,
			Records: head.records, Filter: host, Query: key.query, Engines: head.engines, NextCheck: head.nextCheck,
			Window: head.window, WindowStart: head.windowStart, WindowEnd: head.windowEnd}
		if ctr.Several() {
			d.Hosts = ctr.HostNames()
		}
		if groups == nil {
			all := views.NewDashboardData(ctr.Groups(), jobsOf(upd, dc.pol), v, now).OnHost(host).Arrange(key.query)
			d.Groups, d.All = all.Groups, all.All
			r, err := d.RenderGroups(c.UserContext())
			if err != nil {
				return err
			}
			d.Rendered = r
		}
		if view != dashTable {
			if d.Stopped, err = dc.stopped(c, v, host); err != nil {
				return err
			}
		}
		var comp templ.Component
		switch view {
		case dashDocument:
			comp = views.Layout("Containers", v, views.ContainersPage(d))
		case dashPage:
			comp = views.ContainersPage(d)
		default:
			comp = views.ImagesTable(d)
		}
		var b bytes.Buffer
		if err := comp.Render(c.UserContext(), &b); err != nil {
			return err
		}
		body = newEncoded(b.Bytes(), fiber.MIMETextHTMLCharsetUTF8, false)
		dc.put(key, view, head, d.Rendered, body)
	}
	return body.send(c)
}

// dashCache keeps the dashboard's rendered groups, and its responses built
// around them, for the current state only. An entry is reused while the
// snapshot, the toggles, the update jobs, the update policies (the rows'
// badges; the version changes when a snooze ends), the viewer and the
// wall-clock second are the same: the second covers the relative times ("checked 3 min
// ago", minute granularity) and finished jobs expiring. The viewer is part
// of the key because the rows' forms carry its CSRF token and its permission
// decides which buttons show; the host filter because it decides which rows
// there are. A response also keeps the page head it was rendered with (rate
// limits, last check, a check running), which have no version of their own.
type dashCache struct {
	ctr *services.Containers
	upd *services.Updates
	tog *services.Toggles
	pol *services.Policies // nil: no policies
	// cat lists the pages' Stopped section (nil: none), which has no
	// version: it is as old as the second of the key at most, and lists
	// itself again as StoppedList refreshes.
	cat *services.Catalog
	// sched says when the next check is, for the page head (nil: none).
	sched *services.Schedule

	mu      sync.Mutex
	state   dashState              // of every entry
	entries map[dashWho]*dashEntry // at most maxDashEntries
}

const maxDashEntries = 8 // concurrent sessions' (and filters') renderings of one state

type dashState struct {
	snap, tog, jobs, pol, desc uint64
	second                     int64
}

type dashKey struct {
	dashState
	dashWho
}

// dashWho is whom an entry was rendered for, and which host it shows ("" for
// every host).
type dashWho struct {
	viewer views.Viewer
	host   string
	query  views.Query
}

// dashView is one of the dashboard's responses.
type dashView int

const (
	dashDocument dashView = iota // GET /: the page in the layout
	dashPage                     // GET / from htmx: the page alone
	dashTable                    // GET /fragments/images and POST /check
	dashViews
)

type dashEntry struct {
	groups *views.RenderedGroups
	bodies [dashViews]*dashBody
}

type dashBody struct {
	head pageHead
	*encoded
}

// pageHead is what the table shows besides the groups.
type pageHead struct {
	limits    []models.RateLimit
	lastCheck time.Time
	checking  bool
	engine    models.EngineState // the banner, when the engine is out of reach
	records   string             // the banner, when updates are refused for want of a writable database
	engines   []models.HostStatus
	nextCheck time.Time
	// window is the update window, and the one open now or next
	window                 string
	windowStart, windowEnd time.Time
}

func (h pageHead) equal(o pageHead) bool {
	return h.checking == o.checking && h.lastCheck.Equal(o.lastCheck) && slices.Equal(h.limits, o.limits) &&
		h.engine.Down == o.engine.Down && h.engine.Since.Equal(o.engine.Since) && h.engine.Reason == o.engine.Reason &&
		h.engine.Hosts == o.engine.Hosts && h.records == o.records && h.nextCheck.Equal(o.nextCheck) &&
		h.window == o.window && h.windowStart.Equal(o.windowStart) &&
		slices.EqualFunc(h.engines, o.engines, func(a, b models.HostStatus) bool {
			return a.Name == b.Name && a.EngineVersion == b.EngineVersion && a.APIVersion == b.APIVersion && a.Status == b.Status
		})
}

func newDashCache(ctr *services.Containers, upd *services.Updates, tog *services.Toggles,
	pol *services.Policies, cat *services.Catalog, sched *services.Schedule) *dashCache {
	return &dashCache{ctr: ctr, upd: upd, tog: tog, pol: pol, cat: cat, sched: sched}
}

// dashQuery is the dashboard's query (search, status, grouping): the
// request's own, or for an htmx request without one (a row's Stop answers
// the table) the page's, which htmx sends as HX-Current-URL.
func dashQuery(c *fiber.Ctx) views.Query {
	args := c.Request().URI().QueryArgs()
	if isHTMX(c) && !args.Has(views.SearchField) && !args.Has(views.StatusField) && !args.Has(views.GroupField) {
		if u, err := url.Parse(c.Get("HX-Current-URL")); err == nil {
			return views.ParseQuery(u.Query())
		}
	}
	v := url.Values{}
	args.VisitAll(func(k, val []byte) { v.Add(string(k), string(val)) })
	return views.ParseQuery(v)
}

// key is the current state's key for v, showing every host.
func (dc *dashCache) key(v views.Viewer) dashKey {
	k := dashKey{dashState: dashState{snap: dc.ctr.Version(), tog: dc.tog.Version(), jobs: dc.upd.Version(), desc: dc.ctr.DescribedVersion()},
		dashWho: dashWho{viewer: v}}
	if dc.pol != nil {
		k.pol = dc.pol.Version()
	}
	return k
}

// stopped is the page's Stopped section for v on host ("" for every
// host), or nil without a catalog.
func (dc *dashCache) stopped(c *fiber.Ctx, v views.Viewer, host string) (*views.StoppedData, error) {
	if dc.cat == nil {
		return nil, nil
	}
	s, err := stoppedData(c, dc.cat, dc.ctr, v, host)
	return &s, err
}

// get returns the groups rendered under k, or nil, and view's response if it
// was rendered with head, or nil.
func (dc *dashCache) get(k dashKey, view dashView, head pageHead) (*views.RenderedGroups, *encoded) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	e := dc.entries[k.dashWho]
	if dc.state != k.dashState || e == nil {
		return nil, nil
	}
	if b := e.bodies[view]; b != nil && b.head.equal(head) {
		return e.groups, b.encoded
	}
	return e.groups, nil
}

// put stores groups and view's response under k, dropping every entry of
// another state.
func (dc *dashCache) put(k dashKey, view dashView, head pageHead, groups *views.RenderedGroups, body *encoded) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.state != k.dashState {
		dc.state, dc.entries = k.dashState, map[dashWho]*dashEntry{}
	}
	if len(dc.entries) >= maxDashEntries && dc.entries[k.dashWho] == nil {
		for w := range dc.entries { // one session out, not all: more sessions than slots degrade gently
			delete(dc.entries, w)
			break
		}
	}
	e := dc.entries[k.dashWho]
	if e == nil {
		e = &dashEntry{groups: groups}
		dc.entries[k.dashWho] = e
	}
	e.bodies[view] = &dashBody{head: head, encoded: body}
}
