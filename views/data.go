package views

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"refit/models"
)

// Form fields and headers the components send; handlers read the same names.
const (
	// CSRFField is the hidden form input that carries Viewer.CSRFToken.
	CSRFField = "csrf"
	// CSRFHeader carries Viewer.CSRFToken on htmx requests (hx-headers on <body>).
	CSRFHeader = "X-CSRF-Token"
	// AutoUpdateField is the toggle's checkbox: "on" when checked, absent when
	// not, so a handler can set the wanted state instead of flipping blindly.
	AutoUpdateField = "auto_update"
)

// Viewer is who a page or fragment is rendered for.
type Viewer struct {
	User      string // "" when auth is off
	Role      string
	CanUpdate bool   // the role may update, toggle and check
	Admin     bool   // the role may manage users and read the audit log
	CSRFToken string // "" when none; else forms carry CSRFField and htmx sends CSRFHeader
}

// browses reports whether the viewer may see refit's pages: signed in, or
// auth is off (no user, and everyone may update). The login page renders
// for neither.
func (v Viewer) browses() bool { return v.User != "" || v.CanUpdate }

// csrfHeaders is the hx-headers JSON for <body>, "" without a token.
func (v Viewer) csrfHeaders() string {
	if v.CSRFToken == "" {
		return ""
	}
	b, _ := json.Marshal(map[string]string{CSRFHeader: v.CSRFToken})
	return string(b)
}

// Jobs lets the builders look up update jobs without importing services.
// Handlers fill it from the update service; a nil func means "no jobs".
type Jobs struct {
	// Progress returns the latest update snapshot of the container, running
	// or finished, or nil when it has none.
	Progress func(models.ContainerRef) *models.Progress
	// GroupRunning reports whether a group update of the image (an
	// ImageGroup's Image) is running.
	GroupRunning func(image string) bool
	// Policy returns the container's update policy and whether its snooze
	// runs now, by the policies' own clock; nil means no policies.
	Policy func(models.ContainerRef) (pol models.UpdatePolicy, snoozed bool)
	// HeldUntil is when a container's candidate is old enough for
	// auto-update (zero: it is); nil means no minimum age.
	HeldUntil func(models.ContainerItem, models.Candidate) time.Time
	// SeenFor is when refit first saw a container's candidate (zero: not
	// known); nil means no record of candidates.
	SeenFor func(models.ContainerItem, models.Candidate) time.Time
	// MovedFrom is the image a container ran before refit moved it onto a
	// newer tag ("" when it did not); nil means none is known.
	MovedFrom func(models.ContainerItem) string
	// LabelNotes words what a container's Watchtower labels do to it
	// ("monitor only", "depends on db"); nil means none.
	LabelNotes func(models.ContainerItem) []string
}

func (j Jobs) progress(ref models.ContainerRef) *models.Progress {
	if j.Progress == nil {
		return nil
	}
	return j.Progress(ref)
}

func (j Jobs) groupRunning(image string) bool {
	return j.GroupRunning != nil && j.GroupRunning(image)
}

// DashboardData is what ContainersPage and ImagesTable render.
type DashboardData struct {
	Groups     []GroupData
	RateLimits []models.RateLimit
	LastCheck  time.Time          // zero before the first check
	Checking   bool               // a check is running: the table refreshes sooner
	Engine     models.EngineState // a banner says when refit does not reach the engine
	Records    string             // a banner says why updates are refused: the database takes no writes
	Now        time.Time          // reference for relative times
	// Hosts names every host when refit has several: the page then offers
	// HostFilter. Filter is the host the page shows alone, "" for every one.
	Hosts  []string
	Filter string
	Viewer
	// Stopped, when set, is the "Stopped" section under the table; the
	// table alone (its refresh) goes without it, as StoppedList refreshes
	// itself.
	Stopped *StoppedData
	// Rendered, when set, is shown instead of an ImageGroup per group, and
	// Groups may then be empty: a cached rendering of the same groups for the
	// same Viewer (handlers keep it, see RenderGroups).
	Rendered *RenderedGroups
	// Query narrows and arranges the rows (see Arrange); All counts every
	// row before it did.
	Query Query
	All   Counts
	// Engines says which engines refit watches, with their versions, and
	// NextCheck when the next periodic check is due (zero: none).
	Engines   []models.HostStatus
	NextCheck time.Time
	// Window is the update window as configured ("" for none), and
	// WindowStart and WindowEnd the one open now or the next.
	Window                 string
	WindowStart, WindowEnd time.Time
}

// WindowOpen reports whether the update window is open at d.Now.
func (d DashboardData) WindowOpen() bool {
	return d.Window != "" && !d.Now.Before(d.WindowStart) && d.Now.Before(d.WindowEnd)
}

// RenderedGroups is a dashboard's groups rendered once, with what the table
// and its callers ask about them.
type RenderedGroups struct {
	HTML string // a <tbody> per group
	Counts
	JobsRunning bool
	Pending     []Pending
	All         Counts // before the query narrowed the rows
}

// RenderGroups renders what ImagesTable shows for d.Groups, for handlers to
// cache while nothing it shows changes.
func (d DashboardData) RenderGroups(ctx context.Context) (*RenderedGroups, error) {
	var b strings.Builder
	if d.Query.ByCompose {
		for _, p := range d.Projects() {
			if err := ProjectGroup(p).Render(ctx, &b); err != nil {
				return nil, err
			}
		}
	} else {
		for _, g := range d.Groups {
			if err := ImageGroup(g).Render(ctx, &b); err != nil {
				return nil, err
			}
		}
	}
	return &RenderedGroups{HTML: b.String(), Counts: d.Shown(), JobsRunning: d.JobsRunning(),
		Pending: d.Pending(), All: d.All}, nil
}

// Shown counts the rows the dashboard shows.
func (d DashboardData) Shown() Counts {
	if d.Rendered != nil {
		return d.Rendered.Counts
	}
	c := countRows(d.Groups)
	if d.Query.ByCompose {
		c.Groups = len(d.Projects())
	}
	return c
}

// AllCounts counts every row before the query narrowed them.
func (d DashboardData) AllCounts() Counts {
	if d.Rendered != nil {
		return d.Rendered.All
	}
	return d.All
}

// Pending is what "Update all outdated" would update among the shown rows.
func (d DashboardData) Pending() []Pending {
	if d.Rendered != nil {
		return d.Rendered.Pending
	}
	if !d.CanUpdate {
		return nil
	}
	return pendingOf(d.Groups)
}

// GroupCount is how many image groups the dashboard lists.
func (d DashboardData) GroupCount() int {
	if d.Rendered != nil {
		return d.Rendered.Groups
	}
	return len(d.Groups)
}

// GroupData is one image group: a <tbody> of ContainerRows.
type GroupData struct {
	Group    models.ImageGroup
	Key      string // models.GroupKey(Group.Image), the id and URL key
	Rows     []RowData
	GroupJob bool // a group update is running: the tbody polls, its rows don't
	Now      time.Time
	// Filter is the host the rows are narrowed to ("" for every host), and
	// Elsewhere how many of the image's containers that leaves out; Hidden
	// is how many the dashboard's query leaves out.
	Filter    string
	Elsewhere int
	Hidden    int
	Viewer
}

// RowData is one container: a <tr>.
type RowData struct {
	Item     models.ContainerItem
	Image    string           // the group's image reference
	Reason   string           // why the status is unknown (the group's Reason)
	Progress *models.Progress // nil when no job; may be finished (done or failed)
	// InGroupJob is set when a running group update covers this row: the
	// tbody polls instead of the row, and the row offers no Update button.
	InGroupJob bool
	Filter     string // the page's host filter, which the row's own requests carry
	// Policy is the container's update policy; Skipped and Snoozed say
	// what of it holds the group's remote digest back now (the badges).
	Policy           models.UpdatePolicy
	Skipped, Snoozed bool
	// Remote and RemoteNote are the group's: what the newer image says of
	// itself, or why refit did not read it.
	Remote     models.ImageFacts
	RemoteNote string
	// TagSkipped: the policy skips the newer tag; TagHeldUntil and
	// HeldUntil: auto-update waits until then to move to it, or to the new
	// digest (the minimum age).
	TagSkipped              bool
	TagHeldUntil, HeldUntil time.Time
	// TagSeen and Seen: when refit first saw those held candidates, for
	// an update by hand, which does not wait.
	TagSeen, Seen time.Time
	// MovedFrom is the image a Compose container ran before refit moved it
	// onto its tag: its compose file still names that one.
	MovedFrom string
	// LabelNotes are what its Watchtower labels do to it (RowLabelNotes).
	LabelNotes []string
	Viewer
}

// NewDashboardData builds the dashboard from the grouped containers, in their
// order. The caller sets RateLimits, LastCheck and Checking, which are plain
// copies of service state.
func NewDashboardData(groups []models.ImageGroup, jobs Jobs, v Viewer, now time.Time) DashboardData {
	d := DashboardData{Now: now, Viewer: v, Groups: make([]GroupData, 0, len(groups))}
	for _, g := range groups {
		d.Groups = append(d.Groups, NewGroupData(g, jobs, v, now))
	}
	return d
}

// NewGroupData builds one group, for the page and for GET/POST /groups/{key}.
func NewGroupData(g models.ImageGroup, jobs Jobs, v Viewer, now time.Time) GroupData {
	gd := GroupData{
		Group:    g,
		Key:      models.GroupKey(g.Image),
		GroupJob: jobs.groupRunning(g.Image),
		Now:      now,
		Viewer:   v,
		Rows:     make([]RowData, 0, len(g.Containers)),
	}
	for _, c := range g.Containers {
		r := NewRowData(g, c, jobs, v)
		r.InGroupJob = gd.GroupJob
		gd.Rows = append(gd.Rows, r)
	}
	return gd
}

// NewRowData builds one container row, for GET /containers/{name}/row and
// POST /containers/{name}/update. A row rendered alone polls itself while
// its update runs.
func NewRowData(g models.ImageGroup, item models.ContainerItem, jobs Jobs, v Viewer) RowData {
	r := RowData{Item: item, Image: g.Image, Progress: jobs.progress(item.Ref), Viewer: v,
		Remote: g.Remote, RemoteNote: g.RemoteNote}
	if jobs.Policy != nil {
		r.Policy, r.Snoozed = jobs.Policy(item.Ref)
		// A skip is of a candidate: only an outdated container has one.
		r.Skipped = item.Status == models.StatusOutdated && r.Policy.Skips(models.Candidate{Digest: g.RemoteFull})
		r.TagSkipped = item.NewerTag != "" && r.Policy.Skips(models.Candidate{Tag: item.NewerTag})
	}
	if jobs.LabelNotes != nil {
		r.LabelNotes = jobs.LabelNotes(item)
	}
	if jobs.MovedFrom != nil && item.NewerTag == "" && item.Labels[models.LabelComposeProject] != "" {
		r.MovedFrom = jobs.MovedFrom(item)
	}
	if jobs.HeldUntil != nil && item.NewerTag != "" {
		r.TagHeldUntil = jobs.HeldUntil(item, models.Candidate{Tag: item.NewerTag})
		if !r.TagHeldUntil.IsZero() && jobs.SeenFor != nil {
			r.TagSeen = jobs.SeenFor(item, models.Candidate{Tag: item.NewerTag})
		}
	}
	if jobs.HeldUntil != nil && item.Status == models.StatusOutdated && g.RemoteFull != "" {
		r.HeldUntil = jobs.HeldUntil(item, models.Candidate{Digest: g.RemoteFull})
		if !r.HeldUntil.IsZero() && jobs.SeenFor != nil {
			r.Seen = jobs.SeenFor(item, models.Candidate{Digest: g.RemoteFull})
		}
	}
	// The group header already says why a whole group is unknown; a row
	// repeats it only when it alone is unknown (a local image in a group,
	// a host out of reach).
	switch {
	case item.Reason != "":
		r.Reason = item.Reason
	case item.Status == models.StatusUnknown && g.Status != models.StatusUnknown:
		r.Reason = "no registry digest for this container's image (built or loaded locally)"
	}
	return r
}

// OnHost narrows the dashboard to the containers on host, leaving out the
// groups with none there; "" leaves it as it is. Build it before
// RenderGroups: Rendered holds what was rendered, filtered or not.
func (d DashboardData) OnHost(host string) DashboardData {
	if host == "" {
		return d
	}
	d.Filter = host
	groups := make([]GroupData, 0, len(d.Groups))
	for _, g := range d.Groups {
		if g = g.OnHost(host); len(g.Rows) > 0 {
			groups = append(groups, g)
		}
	}
	d.Groups = groups
	return d
}

// OnHost narrows the group to its rows on host; "" leaves it as it is. The
// group keeps the image's status over every host, and Elsewhere says how
// many containers it does not show.
func (g GroupData) OnHost(host string) GroupData {
	if host == "" {
		return g
	}
	rows := make([]RowData, 0, len(g.Rows))
	items := make([]models.ContainerItem, 0, len(g.Rows))
	for _, r := range g.Rows {
		if r.Item.Ref.Host == host {
			r.Filter = host
			rows = append(rows, r)
			items = append(items, r.Item)
		}
	}
	g.Elsewhere += len(g.Rows) - len(rows)
	g.Rows, g.Group.Containers, g.Filter = rows, items, host
	return g
}

// Updating reports whether the row's update job is running.
func (r RowData) Updating() bool { return r.Progress != nil && r.Progress.Running() }

// Polling reports whether the <tr> polls itself: its job runs and no group
// poll covers it.
func (r RowData) Polling() bool { return r.Updating() && !r.InGroupJob }

// Done reports whether the row's last update finished well.
func (r RowData) Done() bool { return r.Progress != nil && r.Progress.Phase == models.PhaseDone }

// Failed reports whether the row's last update failed.
func (r RowData) Failed() bool { return r.Progress != nil && r.Progress.Phase == models.PhaseFailed }

// Queued reports whether a running group update will still reach this row.
func (r RowData) Queued() bool {
	return r.InGroupJob && r.Progress == nil && r.Item.Status == models.StatusOutdated
}

// RolledBack reports whether the row's last update failed and the old
// container runs again.
func (r RowData) RolledBack() bool { return r.Failed() && r.Progress.RolledBack }

// JobWord is what the row's badge says instead of its status while an
// update runs or waits for it, or "" when none does.
func (r RowData) JobWord() string {
	switch {
	case r.Updating():
		return JobWord(*r.Progress)
	case r.Queued():
		return string(models.PhaseQueued)
	}
	return ""
}

// ShowUpdate reports whether the row offers its Update button.
func (r RowData) ShowUpdate() bool {
	return r.CanUpdate && r.Item.Status == models.StatusOutdated && !r.Updating() && !r.InGroupJob
}

// Outdated is how many containers of the group are behind the remote digest.
func (g GroupData) Outdated() int { return g.Group.OutdatedCount() }

// Polling reports whether the <tbody> polls itself.
func (g GroupData) Polling() bool { return g.GroupJob }

// Activity is the running update the group header tells of instead of the
// group's status: the one furthest along, or nil when none runs.
func (g GroupData) Activity() *models.Progress {
	var best *models.Progress
	for _, r := range g.Rows {
		if r.Updating() && (best == nil || phaseRank(r.Progress.Phase) > phaseRank(best.Phase)) {
			best = r.Progress
		}
	}
	return best
}

// phaseRank orders running phases by how far along they are; recovery
// undoes or finishes a recreate, so it outranks one.
func phaseRank(ph models.Phase) int {
	switch ph {
	case models.PhaseQueued:
		return 1
	case models.PhaseConnecting:
		return 2
	case models.PhasePulling:
		return 3
	case models.PhaseRecreating:
		return 4
	case models.PhaseRecovering:
		return 5
	}
	return 0
}

// JobWord is what the group header's badge says instead of the group's
// status while an update in it runs, or "" when none does.
func (g GroupData) JobWord() string {
	if p := g.Activity(); p != nil {
		return JobWord(*p)
	}
	return ""
}

// Updatable is how many of the group's containers "Update all" would
// update: the outdated ones without an update of their own running, and
// whose policy does not hold the update back (the group update leaves
// those alone).
func (g GroupData) Updatable() int {
	n := 0
	for _, r := range g.Rows {
		if r.Item.Status == models.StatusOutdated && !r.Updating() && !r.Held() {
			n++
		}
	}
	return n
}

// ShowUpdateAll reports whether the group header offers "Update all". Not
// while the host filter hides some of the group: a group update takes
// every host's outdated containers, more than the page shows.
func (g GroupData) ShowUpdateAll() bool {
	// One row: its own Update says the same.
	return g.CanUpdate && !g.GroupJob && g.Updatable() > 0 && g.Elsewhere == 0 && g.Hidden == 0 && len(g.Rows) > 1
}

// JobsRunning reports whether any update shown on the dashboard is running.
func (d DashboardData) JobsRunning() bool {
	if d.Rendered != nil {
		return d.Rendered.JobsRunning
	}
	for _, g := range d.Groups {
		if g.GroupJob {
			return true
		}
		for _, r := range g.Rows {
			if r.Updating() {
				return true
			}
		}
	}
	return false
}

// Containers is how many containers the dashboard lists.
func (d DashboardData) Containers() int {
	if d.Rendered != nil {
		return d.Rendered.Containers
	}
	n := 0
	for _, g := range d.Groups {
		n += len(g.Rows)
	}
	return n
}

// Outdated is how many listed containers are behind their remote digest.
func (d DashboardData) Outdated() int {
	if d.Rendered != nil {
		return d.Rendered.Outdated
	}
	n := 0
	for _, g := range d.Groups {
		n += g.Outdated()
	}
	return n
}

// The table's auto refresh. It pauses while anything inside polls: a refresh
// would replace rows mid-update, and htmx evaluates the filter on every tick,
// so the refresh resumes by itself once the last update has finished.
const (
	// The table holds its refresh while anything in it polls: see
	// HoldWhilePolling.
	refreshCalm       = "every 30s"
	refreshChecking   = "every 2s"
	refreshEngineDown = "every 5s"
)

// HoldWhilePolling is the table's data-hold-while: static/js/refit.js skips
// its refresh while a row or group inside polls, which the swap would cut
// short, and while a row's menu is open, which the swap would close under
// the user's hands (a menu is closed again in a moment; its own actions
// answer fresh rows).
const HoldWhilePolling = "[data-polling], " + MenuOpen

// RefreshTrigger is the hx-trigger of the table: calm normally, quicker while
// a check runs so its result shows up soon, and while the engine is out of
// reach so the banner goes once it is back.
func (d DashboardData) RefreshTrigger() string {
	switch {
	case d.Checking:
		return refreshChecking
	case d.Engine.Down:
		return refreshEngineDown
	}
	return refreshCalm
}

// EngineReasonMax bounds the engine error the banner shows; the full text
// is its tooltip.
const EngineReasonMax = 160
