package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"refit/models"
	"refit/views"
)

// rowNames are the container names of the dashboard's rows, in order.
func rowNames(doc *goquery.Document) []string {
	var out []string
	doc.Find("#" + views.TableID + " tr.ctr-row .ctr-name").Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Text()))
	})
	return out
}

// Outdated groups come first; the search and the status filter narrow the
// rows as query parameters, and the summary says of how many; the filters
// are links that keep the rest of the query.
func TestDashboardSearchStatusAndOrder(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.AddImage("sha256:img-new", "nginx@"+dNew)
	ta.engine.AddImage("sha256:img-redis", "redis@"+dNew)
	ta.engine.Run("1a2b3c4d5e6f", "cache", "redis", "sha256:img-redis")
	ta.reg.Set("docker.io/library/redis:latest", dNew)
	if _, err := ta.deps.Containers.Check(t.Context()); err != nil {
		t.Fatal(err)
	}

	_, doc, _ := ta.getHTML(t, "/")
	names := rowNames(doc)
	if len(names) != 4 || names[len(names)-1] != "cache" {
		t.Errorf("rows = %v, want the up-to-date redis group last", names)
	}
	if got := text(doc.Find("#" + views.SummaryID)); got != "4 running containers in 3 images: 1 outdated, 1 unknown" {
		t.Errorf("summary = %q", got)
	}

	_, doc, _ = ta.getHTML(t, "/?status=outdated")
	if got := rowNames(doc); len(got) != 1 || got[0] != "nginx" {
		t.Errorf("outdated rows = %v, want nginx", got)
	}
	if got := text(doc.Find("#" + views.SummaryID)); !strings.Contains(got, "(showing 1 of 4)") {
		t.Errorf("narrowed summary = %q", got)
	}
	cur := doc.Find("#" + views.StatusFilterID + " a[aria-current=page]")
	if text(cur) != "Outdated" {
		t.Errorf("current status link = %q", text(cur))
	}

	_, doc, _ = ta.getHTML(t, "/?q=APP&status=unknown") // app-2's image has no registry digest
	if got := rowNames(doc); len(got) != 1 || got[0] != "app-2" {
		t.Errorf("q=APP&status=unknown rows = %v, want app-2", got)
	}
	// A group that lost a row to the query offers no Update all: it would update the hidden one too.
	_, g, _ := ta.deps.Containers.FindRef(local("app-2"))
	if doc.Find("#"+views.UpdateAllID(models.GroupKey(g.Image))).Length() != 0 {
		t.Error("a narrowed group offers Update all")
	}
	link, _ := doc.Find("#" + views.GroupToggleID + " a:not([aria-current])").Attr("href")
	if u, err := url.Parse(link); err != nil || u.Query().Get("q") != "APP" || u.Query().Get("status") != "unknown" || u.Query().Get("group") != "compose" {
		t.Errorf("group toggle link = %q, want the query kept", link)
	}
	if v, _ := doc.Find("#" + views.SearchID).Attr("value"); v != "APP" {
		t.Errorf("search box = %q, want APP", v)
	}
	refresh, _ := doc.Find("#" + views.TableID).Attr("hx-get")
	if !strings.Contains(refresh, "q=APP") || !strings.Contains(refresh, "status=unknown") {
		t.Errorf("table refresh %q forgets the query", refresh)
	}
	_, doc, _ = ta.getHTML(t, "/?q=nothing-like-it")
	if !strings.Contains(text(doc.Find("#"+views.EmptyID)), "No container matches") {
		t.Error("an empty search does not say so")
	}

	// The table's answer to a row's request (a Stop) keeps the page's query from HX-Current-URL.
	_, doc, _ = ta.getHTML(t, views.ImagesFragmentPath, "HX-Request", "true", "HX-Current-URL", "http://example.com/?q=cache")
	if got := rowNames(doc); len(got) != 1 || got[0] != "cache" {
		t.Errorf("fragment under ?q=cache = %v", got)
	}
}

// Grouped by Compose project, each project is a tbody with its rows, the
// projects with outdated containers first and those of none last.
func TestDashboardGroupsByComposeProject(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.SetLabels(appID, map[string]string{models.LabelComposeProject: "shop"})
	ta.engine.SetLabels(app2ID, map[string]string{models.LabelComposeProject: "shop"})
	ta.engine.SetLabels(nginxID, map[string]string{models.LabelComposeProject: "edge"})
	if err := ta.deps.Containers.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, doc, _ := ta.getHTML(t, "/?group=compose")
	bodies := doc.Find("#" + views.TableID + " tbody")
	if bodies.Length() != 2 {
		t.Fatalf("%d project groups, want 2", bodies.Length())
	}
	if h := text(bodies.Eq(0).Find("th[scope=rowgroup]")); !strings.Contains(h, "edge") || !strings.Contains(h, "1 container, 1 outdated") {
		t.Errorf("first project header = %q", h)
	}
	if h := text(bodies.Eq(1).Find("th[scope=rowgroup]")); !strings.Contains(h, "shop") || bodies.Eq(1).Find("tr.ctr-row").Length() != 2 {
		t.Errorf("second project = %q", h)
	}
	if got := text(doc.Find("#" + views.SummaryID)); !strings.Contains(got, "in 2 projects") {
		t.Errorf("summary = %q", got)
	}
}

// "Update all outdated" lists what it will do and starts exactly that; a
// held container is not listed (services' own test: nor updated).
func TestUpdateAllOutdatedListsAndStarts(t *testing.T) {
	ta := newTestApp(t)
	if _, err := ta.deps.Policies.Apply(local("app-2"), models.PolicyAction{Action: models.PolicySnooze, Days: 1}, models.Candidate{}); err != nil {
		t.Fatal(err)
	}
	_, doc, _ := ta.getHTML(t, "/")
	panel := doc.Find("#" + views.UpdateOutdatedID)
	if !strings.Contains(text(panel), "This updates 1 container") || !strings.Contains(text(panel.Find("li")), "nginx") ||
		strings.Contains(text(panel), "app-2") {
		t.Fatalf("Update all outdated = %q, want nginx alone", text(panel))
	}
	if a, _ := panel.Find("form").Attr("hx-post"); a != views.UpdateOutdatedPath {
		t.Errorf("form posts to %q", a)
	}
	status, doc, _ := ta.postForm(t, views.UpdateOutdatedPath, url.Values{views.RefField: {"local/nginx"}}, true)
	if status != 200 || doc.Find("#"+views.TableID).Length() != 1 {
		t.Fatalf("POST %s = %d", views.UpdateOutdatedPath, status)
	}
	if _, ok := ta.deps.Updates.ProgressOf(local("nginx")); !ok {
		t.Error("nginx is not updating")
	}
	if _, ok := ta.deps.Updates.ProgressOf(local("app")); ok {
		t.Error("app, not listed, is updating")
	}
	// Without JavaScript: back to the page with its query.
	status, _, h := ta.postForm(t, views.UpdateOutdatedPath+"?q=x", url.Values{}, false)
	if status != 303 || h.Get("Location") != "/?q=x" {
		t.Errorf("plain post = %d to %q", status, h.Get("Location"))
	}
}

// A toast names the container its row's request was about.
func TestToastNamesTheContainer(t *testing.T) {
	ta := newTestApp(t)
	status, doc, h := ta.postForm(t, views.PolicyPath(local("nginx")), policyForm("forever"), true)
	if got := text(doc.Find(".toast")); status != 400 || h.Get("HX-Retarget") != "#"+views.ToastsID || !strings.HasPrefix(got, "nginx: ") {
		t.Errorf("toast = %d %q, want it to name nginx", status, got)
	}
}

// Every page links the favicon, which /static serves as SVG.
func TestFaviconIsLinkedAndServed(t *testing.T) {
	ta := newTestApp(t)
	_, doc, _ := ta.getHTML(t, "/")
	if href, _ := doc.Find("link[rel=icon]").Attr("href"); href != views.FaviconPath {
		t.Errorf("icon link = %q, want %q", href, views.FaviconPath)
	}
	status, body, h := ta.do(t, http.MethodGet, views.FaviconPath, nil)
	if status != 200 || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Errorf("GET %s = %d %s", views.FaviconPath, status, h.Get("Content-Type"))
	}
}
