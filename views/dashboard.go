package views

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"refit/models"
)

// The dashboard's query parameters besides HostField: they make every
// filter a link (/?q=web&status=outdated&group=compose).
const (
	SearchField = "q"
	StatusField = "status"
	GroupField  = "group"
	// GroupCompose groups the rows by Compose project instead of image.
	GroupCompose = "compose"
	// UpdateOutdatedPath updates the outdated containers a form lists as
	// RefField values (POST) and answers ImagesTable.
	UpdateOutdatedPath = "/update-outdated"
	// RefField is one container, "host/name".
	RefField = "ref"
	// UpdateOutdatedID is the "Update all outdated" disclosure.
	UpdateOutdatedID = "update-outdated"
	// UpdateOutdatedGoID is its confirming button.
	UpdateOutdatedGoID = "update-outdated-go"
	// SearchID is the search box; StatusFilterID the status links;
	// GroupToggleID the grouping links; SummaryID the summary line.
	SearchID       = "search"
	StatusFilterID = "statusfilter"
	GroupToggleID  = "grouping"
	SummaryID      = "summary"
	// PageHeadID is the line with the engines, the last and the next check.
	PageHeadID = "pagehead"
)

// The status filter's values; "" shows every status.
const (
	ShowOutdated = "outdated"
	ShowUnknown  = "unknown"
)

// Query is how the dashboard narrows and arranges its rows. It is
// comparable: the dashboard cache keys its renderings by it.
type Query struct {
	Search    string // part of a container's name or image, any case
	Status    string // "", ShowOutdated or ShowUnknown
	ByCompose bool   // group by Compose project instead of image
}

// ParseQuery reads a Query from URL values; unknown statuses show all.
func ParseQuery(v url.Values) Query {
	q := Query{Search: strings.TrimSpace(v.Get(SearchField)), ByCompose: v.Get(GroupField) == GroupCompose}
	if len(q.Search) > 100 {
		q.Search = q.Search[:100]
	}
	switch s := v.Get(StatusField); s {
	case ShowOutdated, ShowUnknown:
		q.Status = s
	}
	return q
}

// Narrowed reports whether the query hides any row.
func (q Query) Narrowed() bool { return q.Search != "" || q.Status != "" }

// values are q's query parameters and the host filter's.
func (q Query) values(host string) url.Values {
	v := url.Values{}
	if host != "" {
		v.Set(HostField, host)
	}
	if q.Search != "" {
		v.Set(SearchField, q.Search)
	}
	if q.Status != "" {
		v.Set(StatusField, q.Status)
	}
	if q.ByCompose {
		v.Set(GroupField, GroupCompose)
	}
	return v
}

// Here is path with the page's host filter and query, so that an answer
// shows what the page shows.
func (d DashboardData) Here(path string) string { return withValues(path, d.Query.values(d.Filter)) }

// WithStatus is the dashboard link that shows status ("" for all), keeping
// the rest of the query.
func (d DashboardData) WithStatus(status string) string {
	q := d.Query
	q.Status = status
	return withValues(DashboardPath, q.values(d.Filter))
}

// WithCompose is the dashboard link grouped by Compose project (on) or by
// image, keeping the rest of the query.
func (d DashboardData) WithCompose(on bool) string {
	q := d.Query
	q.ByCompose = on
	return withValues(DashboardPath, q.values(d.Filter))
}

func withValues(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// matches reports whether the row is one the query shows.
func (q Query) matches(r RowData) bool {
	switch q.Status {
	case ShowOutdated:
		if r.Item.Status != models.StatusOutdated {
			return false
		}
	case ShowUnknown:
		if r.Item.Status != models.StatusUnknown {
			return false
		}
	}
	if q.Search == "" {
		return true
	}
	s := strings.ToLower(q.Search)
	return strings.Contains(strings.ToLower(r.Item.ContainerName), s) || strings.Contains(strings.ToLower(r.Image), s) ||
		strings.Contains(strings.ToLower(Project(r.Item)), s)
}

// Counts are how many containers a dashboard has, by status.
type Counts struct {
	Containers, Outdated, Unknown, Groups int
}

func countRows(groups []GroupData) Counts {
	c := Counts{Groups: len(groups)}
	for _, g := range groups {
		for _, r := range g.Rows {
			c.Containers++
			switch r.Item.Status {
			case models.StatusOutdated:
				c.Outdated++
			case models.StatusUnknown:
				c.Unknown++
			}
		}
	}
	return c
}

// Arrange narrows the dashboard to the rows q shows, keeps the counts of
// all of them in All, and puts the groups with outdated containers first.
// A group that lost rows to the query offers no Update all: it would update
// the hidden ones too. Build it after OnHost and before RenderGroups.
func (d DashboardData) Arrange(q Query) DashboardData {
	d.Query, d.All = q, countRows(d.Groups)
	groups := make([]GroupData, 0, len(d.Groups))
	for _, g := range d.Groups {
		rows := make([]RowData, 0, len(g.Rows))
		for _, r := range g.Rows {
			if q.matches(r) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		g.Hidden += len(g.Rows) - len(rows)
		g.Rows = rows
		groups = append(groups, g)
	}
	slices.SortStableFunc(groups, func(a, b GroupData) int {
		return boolRank(b.Outdated() > 0) - boolRank(a.Outdated() > 0)
	})
	d.Groups = groups
	return d
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Project is the Compose project a container belongs to, "" for none.
func Project(it models.ContainerItem) string { return it.Labels[models.LabelComposeProject] }

// ProjectData is one Compose project's <tbody>: its containers, whatever
// their images.
type ProjectData struct {
	Name string // "" for the containers of no project
	Rows []RowData
}

// Key is the project's id key.
func (p ProjectData) Key() string { return "project-" + p.Name }

// Outdated is how many of the project's containers are behind.
func (p ProjectData) Outdated() int {
	n := 0
	for _, r := range p.Rows {
		if r.Item.Status == models.StatusOutdated {
			n++
		}
	}
	return n
}

// Projects regroups the dashboard's rows by Compose project: projects
// with outdated containers first, then by name, the containers of no
// project last.
func (d DashboardData) Projects() []ProjectData {
	byName := map[string]*ProjectData{}
	var out []*ProjectData
	for _, g := range d.Groups {
		for _, r := range g.Rows {
			name := Project(r.Item)
			p := byName[name]
			if p == nil {
				p = &ProjectData{Name: name}
				byName[name] = p
				out = append(out, p)
			}
			p.Rows = append(p.Rows, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *ProjectData) int {
		switch {
		case (a.Name == "") != (b.Name == ""):
			return boolRank(a.Name == "") - boolRank(b.Name == "")
		case (a.Outdated() > 0) != (b.Outdated() > 0):
			return boolRank(b.Outdated() > 0) - boolRank(a.Outdated() > 0)
		}
		return strings.Compare(a.Name, b.Name)
	})
	res := make([]ProjectData, len(out))
	for i, p := range out {
		res[i] = *p
	}
	return res
}

// Pending is one container "Update all outdated" would update.
type Pending struct {
	Ref   models.ContainerRef
	Who   string // Who(item)
	Image string
}

// pendingOf is what "Update all outdated" would update among the shown
// rows: the outdated ones not updating, whose policy does not hold them
// (the service leaves those out as a group update does).
func pendingOf(groups []GroupData) []Pending {
	var out []Pending
	for _, g := range groups {
		for _, r := range g.Rows {
			if r.Item.Status == models.StatusOutdated && !r.Updating() && !r.Held() && !r.InGroupJob {
				out = append(out, Pending{Ref: r.Item.Ref, Who: Who(r.Item), Image: r.Image})
			}
		}
	}
	return out
}

// PendingText says what "Update all outdated" does: "This updates 3
// containers:".
func PendingText(n int) string { return "This updates " + plural(n, "container") }

// EnginesText names the engines refit watches with their versions: "Docker
// 27.5.1 (API 1.47)" for one; "3 engines: nas 27.5.1, vps 20.10.24…" for
// several; "" before any answered.
func EnginesText(hs []models.HostStatus) string {
	if len(hs) == 1 {
		h := hs[0]
		if h.EngineVersion == "" {
			return ""
		}
		s := "Docker " + h.EngineVersion
		if h.APIVersion != "" {
			s += " (API " + h.APIVersion + ")"
		}
		return s
	}
	parts := make([]string, 0, len(hs))
	for _, h := range hs {
		v := h.EngineVersion
		if v == "" {
			v = h.Status
		}
		parts = append(parts, h.Name+" "+v)
	}
	if len(parts) == 0 {
		return ""
	}
	return strconv.Itoa(len(hs)) + " engines: " + strings.Join(parts, ", ")
}

// SummaryText is the table's caption: what it shows, by status, and of how
// many when the query narrows it.
func SummaryText(d DashboardData) string {
	c := d.Shown()
	s := plural(c.Containers, "running container")
	if d.Filter != "" {
		s += " on " + d.Filter
	}
	if d.Query.ByCompose {
		s += " in " + plural(c.Groups, "project")
	} else {
		s += " in " + plural(c.Groups, "image")
	}
	s += ": " + strconv.Itoa(c.Outdated) + " outdated, " + strconv.Itoa(c.Unknown) + " unknown"
	if d.Query.Narrowed() && d.AllCounts().Containers > c.Containers {
		s += " (showing " + strconv.Itoa(c.Containers) + " of " + strconv.Itoa(d.AllCounts().Containers) + ")"
	}
	return s
}

// CountText is the project's header count: "3 containers, 1 outdated".
func (p ProjectData) CountText() string {
	s := plural(len(p.Rows), "container")
	if n := p.Outdated(); n > 0 {
		s += ", " + strconv.Itoa(n) + " outdated"
	}
	return s
}
