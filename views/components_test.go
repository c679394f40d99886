package views_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"refit/models"
	"refit/views"
)

// render renders c into a parsed document. Table parts are wrapped in a
// <table>: the HTML parser drops a bare <tr> or <tbody>.
func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	html := buf.String()
	if s := strings.TrimSpace(html); strings.HasPrefix(s, "<tr") {
		html = "<table><tbody>" + html + "</tbody></table>"
	} else if strings.HasPrefix(s, "<tbody") {
		html = "<table>" + html + "</table>"
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// one returns the single element matching sel, failing otherwise.
func one(t *testing.T, doc *goquery.Document, sel string) *goquery.Selection {
	t.Helper()
	s := doc.Find(sel)
	if s.Length() != 1 {
		t.Fatalf("%q matches %d elements, want 1", sel, s.Length())
	}
	return s
}

func attr(s *goquery.Selection, name string) string {
	v, _ := s.Attr(name)
	return v
}

func hasAttr(s *goquery.Selection, name string) bool {
	_, ok := s.Attr(name)
	return ok
}

func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// assertForm checks that the form posts to action without JavaScript, and
// that its htmx request goes to the same URL and swaps target itself.
func assertForm(t *testing.T, form *goquery.Selection, action, target string) {
	t.Helper()
	if got := attr(form, "method"); got != "post" {
		t.Errorf("form method = %q, want post", got)
	}
	if got := attr(form, "action"); got != action {
		t.Errorf("form action = %q, want %q", got, action)
	}
	if got := attr(form, "hx-post"); got != action {
		t.Errorf("form hx-post = %q, want %q", got, action)
	}
	if got := attr(form, "hx-target"); got != target {
		t.Errorf("form hx-target = %q, want %q", got, target)
	}
	if got := attr(form, "hx-swap"); got != "outerHTML" {
		t.Errorf("form hx-swap = %q, want outerHTML", got)
	}
	if form.Find("button[type=submit]").Length() == 0 && form.Find("noscript").Length() == 0 {
		t.Error("form has no submit button")
	}
}

var editor = views.Viewer{User: "admin", Role: "admin", CanUpdate: true}

func TestContainerRowStates(t *testing.T) {
	const name = "web.1"
	rowSel := "#" + views.RowID(local(name))
	tests := []struct {
		name         string
		row          views.RowData
		polls        bool
		updateButton bool
		progress     bool
		texts        []string
	}{
		{
			name:  "idle uptodate",
			row:   views.RowData{Item: item(name, models.StatusUpToDate)},
			texts: []string{"web.1", "3d4c5b6a7f8e", "sha256:1111111111", "up to date"},
		},
		{
			name:         "outdated",
			row:          views.RowData{Item: item(name, models.StatusOutdated)},
			updateButton: true,
			texts:        []string{"outdated"},
		},
		{
			name:     "updating",
			row:      views.RowData{Item: item(name, models.StatusOutdated), Progress: running(name, 42)},
			polls:    true,
			progress: true,
			texts:    []string{"Downloading", "42%", "a3ed95caeb02", "3.1 MB / 8.4 MB"},
		},
		{
			name:  "done",
			row:   views.RowData{Item: item(name, models.StatusUpToDate), Progress: finished(name, models.PhaseDone, "done")},
			texts: []string{"up to date", "updated"},
		},
		{
			name:         "failed",
			row:          views.RowData{Item: item(name, models.StatusOutdated), Progress: finished(name, models.PhaseFailed, "error: start new container: port is already allocated (rolled back)")},
			updateButton: true,
			texts:        []string{"Update failed", "port is already allocated", "(rolled back)"},
		},
		{
			name:  "unknown",
			row:   views.RowData{Item: item(name, models.StatusUnknown), Reason: "registry rate limit reached"},
			texts: []string{"unknown", "registry rate limit reached"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.row.Viewer = editor
			doc := render(t, views.ContainerRow(tc.row))
			tr := one(t, doc, "tr")
			if got, want := attr(tr, "id"), views.RowID(local(name)); got != want {
				t.Errorf("tr id = %q, want %q", got, want)
			}
			if tc.polls {
				for a, want := range map[string]string{"hx-get": views.RowPath(local(name)), "hx-trigger": "every 1s", "hx-swap": "outerHTML", "hx-target": "this"} {
					if got := attr(tr, a); got != want {
						t.Errorf("tr %s = %q, want %q", a, got, want)
					}
				}
				if !hasAttr(tr, "data-polling") {
					t.Error("polling tr has no data-polling marker")
				}
			} else {
				for _, a := range []string{"hx-get", "hx-trigger", "data-polling"} {
					if hasAttr(tr, a) {
						t.Errorf("tr has %s=%q, want none: the row must not poll", a, attr(tr, a))
					}
				}
			}
			if got := doc.Find("#" + views.UpdateButtonID(local(name))).Length(); (got == 1) != tc.updateButton {
				t.Errorf("update buttons = %d, want present=%v", got, tc.updateButton)
			}
			if tc.updateButton {
				form := one(t, doc, "form[action='"+views.UpdatePath(local(name))+"']")
				assertForm(t, form, views.UpdatePath(local(name)), rowSel)
			}
			prog := doc.Find("progress")
			if (prog.Length() == 1) != tc.progress {
				t.Errorf("progress elements = %d, want present=%v", prog.Length(), tc.progress)
			}
			if tc.progress {
				if got := attr(prog, "value"); got != "42" {
					t.Errorf("progress value = %q, want 42", got)
				}
				if got := attr(prog, "max"); got != "100" {
					t.Errorf("progress max = %q, want 100", got)
				}
				if attr(prog, "aria-label") == "" {
					t.Error("progress has no aria-label")
				}
				one(t, doc, "#"+views.ProgressID(local(name)))
			}
			got := text(tr)
			for _, want := range tc.texts {
				if !strings.Contains(got, want) {
					t.Errorf("row text %q does not contain %q", got, want)
				}
			}
			// The toggle is there in every state and works without JavaScript.
			toggle := one(t, doc, "#"+views.ToggleID(local(name)))
			assertForm(t, toggle, views.AutoUpdatePath(local(name)), "this")
		})
	}
}

func TestContainerRowForReadOnlyViewer(t *testing.T) {
	doc := render(t, views.ContainerRow(views.RowData{Item: item("web", models.StatusOutdated), Viewer: views.Viewer{User: "bob", Role: "viewer"}}))
	if n := doc.Find("form").Length(); n != 0 {
		t.Errorf("forms = %d, want 0 for a viewer who may not update", n)
	}
	box := one(t, doc, "#"+views.ToggleInputID(local("web")))
	if !hasAttr(box, "disabled") {
		t.Error("toggle checkbox is not disabled")
	}
}

func TestAutoUpdateToggle(t *testing.T) {
	const name = "db_1"
	for _, on := range []bool{true, false} {
		doc := render(t, views.AutoUpdateToggle(item(name, models.StatusOutdated), on, views.Viewer{CanUpdate: true, CSRFToken: "tok"}))
		form := one(t, doc, "form")
		if got, want := attr(form, "id"), views.ToggleID(local(name)); got != want {
			t.Errorf("root id = %q, want %q", got, want)
		}
		assertForm(t, form, views.AutoUpdatePath(local(name)), "this")
		if got := attr(form, "hx-trigger"); got != "change" {
			t.Errorf("hx-trigger = %q, want change", got)
		}
		box := one(t, doc, "input[type=checkbox]")
		if got := hasAttr(box, "checked"); got != on {
			t.Errorf("checked = %v, want %v", got, on)
		}
		if got := attr(box, "name"); got != views.AutoUpdateField {
			t.Errorf("checkbox name = %q, want %q", got, views.AutoUpdateField)
		}
		label := one(t, doc, "label[for='"+views.ToggleInputID(local(name))+"']")
		if !strings.Contains(text(label), "Auto-update "+name) {
			t.Errorf("label = %q, want it to name the container", text(label))
		}
		// The parser reads <noscript> as text, as a browser with scripting does.
		if ns := doc.Find("noscript").Text(); !strings.Contains(ns, `<button type="submit"`) {
			t.Errorf("noscript = %q, want a submit button for browsers without JavaScript", ns)
		}
		if got := attr(one(t, doc, "input[name="+views.CSRFField+"]"), "value"); got != "tok" {
			t.Errorf("csrf input = %q, want tok", got)
		}
	}
}

func TestImageGroupPolling(t *testing.T) {
	g := models.ImageGroup{
		Image: "nginx:latest", RemoteDigest: "sha256:2222222222", Status: models.StatusOutdated, CheckedAt: testNow.Add(-2 * time.Minute),
		Containers: []models.ContainerItem{item("a", models.StatusOutdated), item("b", models.StatusOutdated)},
	}
	key := models.GroupKey(g.Image)
	progress := func(ref models.ContainerRef) *models.Progress {
		name := ref.Name
		return map[string]*models.Progress{"a": running("a", 30)}[name]
	}

	t.Run("idle", func(t *testing.T) {
		doc := render(t, views.ImageGroup(views.NewGroupData(g, views.Jobs{}, editor, testNow)))
		tbody := one(t, doc, "tbody")
		if got, want := attr(tbody, "id"), views.GroupID(key); got != want {
			t.Errorf("tbody id = %q, want %q", got, want)
		}
		if hasAttr(tbody, "hx-trigger") || hasAttr(tbody, "data-polling") {
			t.Errorf("idle tbody polls: hx-trigger=%q", attr(tbody, "hx-trigger"))
		}
		header := text(one(t, doc, "th[scope=rowgroup]"))
		for _, want := range []string{"nginx:latest", "sha256:2222222222", "outdated", "Update all"} {
			if !strings.Contains(header, want) {
				t.Errorf("group header %q does not contain %q", header, want)
			}
		}
		if strings.Contains(header, "ago") { // the page says when it checked, once
			t.Errorf("group header %q says when it was checked", header)
		}
		form := one(t, doc, "form[action='"+views.GroupUpdatePath(key)+"']")
		assertForm(t, form, views.GroupUpdatePath(key), "#"+views.GroupID(key))
		if got := text(one(t, doc, "#"+views.UpdateAllID(key))); !strings.Contains(got, "2") {
			t.Errorf("Update all = %q, want the count 2", got)
		}
		if got := doc.Find("tr[id^=row-]").Length(); got != 2 {
			t.Errorf("rows = %d, want 2", got)
		}
	})

	t.Run("group job", func(t *testing.T) {
		jobs := views.Jobs{Progress: progress, GroupRunning: func(string) bool { return true }}
		doc := render(t, views.ImageGroup(views.NewGroupData(g, jobs, editor, testNow)))
		tbody := one(t, doc, "tbody")
		for a, want := range map[string]string{"hx-get": views.GroupPath(key), "hx-trigger": "every 1s", "hx-swap": "outerHTML", "hx-target": "this"} {
			if got := attr(tbody, a); got != want {
				t.Errorf("tbody %s = %q, want %q", a, got, want)
			}
		}
		if n := doc.Find("tr[hx-trigger]").Length(); n != 0 {
			t.Errorf("%d rows poll inside a polling group, want 0", n)
		}
		if doc.Find("progress").Length() != 1 {
			t.Error("the running container shows no progress")
		}
		if doc.Find("form[action='"+views.GroupUpdatePath(key)+"']").Length() != 0 || doc.Find("#"+views.UpdateButtonID(local("b"))).Length() != 0 {
			t.Error("update buttons offered while the group updates")
		}
		if !strings.Contains(text(one(t, doc, "#"+views.RowID(local("b")))), "queued") {
			t.Error("the waiting container does not say queued")
		}
	})

	t.Run("group job finished", func(t *testing.T) {
		done := g
		done.Status = models.StatusUpToDate
		done.Containers = []models.ContainerItem{item("a", models.StatusUpToDate), item("b", models.StatusUpToDate)}
		jobs := views.Jobs{Progress: func(ref models.ContainerRef) *models.Progress {
			name := ref.Name
			return finished(name, models.PhaseDone, "done")
		}}
		doc := render(t, views.ImageGroup(views.NewGroupData(done, jobs, editor, testNow)))
		if n := doc.Find("[hx-trigger*=every]").Length(); n != 0 {
			t.Errorf("%d elements still poll after the group job", n)
		}
		if got := doc.Find("tr[id^=row-]:contains('updated')").Length(); got != 2 {
			t.Errorf("rows saying updated = %d, want 2", got)
		}
	})
}

func TestImagesTable(t *testing.T) {
	groups := []models.ImageGroup{
		{Image: "nginx:latest", Status: models.StatusOutdated, Containers: []models.ContainerItem{item("web", models.StatusOutdated)}},
		{Image: "redis:7", Status: models.StatusUpToDate, Containers: []models.ContainerItem{item("cache", models.StatusUpToDate)}},
	}
	d := views.NewDashboardData(groups, views.Jobs{}, editor, testNow)
	d.LastCheck = testNow.Add(-5 * time.Minute)
	d.RateLimits = []models.RateLimit{{Registry: "docker.io", Limit: 100, Remaining: 87}}

	doc := render(t, views.ImagesTable(d))
	root := one(t, doc, "#"+views.TableID)
	for a, want := range map[string]string{"hx-get": views.ImagesFragmentPath, "hx-trigger": d.RefreshTrigger(), "hx-target": "this", "hx-swap": "outerHTML"} {
		if got := attr(root, a); got != want {
			t.Errorf("table %s = %q, want %q", a, got, want)
		}
	}
	if !strings.HasPrefix(attr(root, "hx-trigger"), "every 30s") {
		t.Errorf("refresh is not calm: %q", attr(root, "hx-trigger"))
	}
	one(t, doc, "table caption")
	if n := doc.Find("thead th[scope=col]").Length(); n != 5 {
		t.Errorf("column headers = %d, want 5", n)
	}
	if n := doc.Find("tbody").Length(); n != 2 {
		t.Errorf("tbodies = %d, want 2", n)
	}
	assertForm(t, one(t, doc, "form[action='"+views.CheckPath+"']"), views.CheckPath, "#"+views.TableID)
	all := text(root)
	for _, want := range []string{"5 min ago", "docker.io: 87/100 pulls left", "Check now", "2 running containers in 2 images"} {
		if !strings.Contains(all, want) {
			t.Errorf("table text does not contain %q", want)
		}
	}
	if doc.Find("#"+views.EmptyID).Length() != 0 {
		t.Error("empty state shown with containers")
	}
}

func TestImagesTableWhileChecking(t *testing.T) {
	d := views.NewDashboardData(nil, views.Jobs{}, editor, testNow)
	d.Checking = true
	doc := render(t, views.ImagesTable(d))
	if got := attr(one(t, doc, "#"+views.TableID), "hx-trigger"); !strings.HasPrefix(got, "every 2s") {
		t.Errorf("hx-trigger = %q, want a quicker refresh while checking", got)
	}
	if !hasAttr(one(t, doc, "#"+views.CheckNowID), "disabled") {
		t.Error("Check now is enabled while a check runs")
	}
}

func TestEmptyState(t *testing.T) {
	doc := render(t, views.ImagesTable(views.NewDashboardData(nil, views.Jobs{}, editor, testNow)))
	empty := one(t, doc, "#"+views.EmptyID)
	if got := text(empty); !strings.Contains(got, "No running containers") || !strings.Contains(got, "docker run") {
		t.Errorf("empty state = %q, want it to say what to do", got)
	}
	if doc.Find("table").Length() != 0 {
		t.Error("empty dashboard renders a table")
	}
	if got := attr(one(t, doc, "#"+views.TableID), "hx-trigger"); got == "" {
		t.Error("empty dashboard does not refresh itself")
	}
}

func TestReadOnlyViewerGetsNoActions(t *testing.T) {
	groups := []models.ImageGroup{{Image: "nginx:latest", Status: models.StatusOutdated, Containers: []models.ContainerItem{item("web", models.StatusOutdated)}}}
	doc := render(t, views.ImagesTable(views.NewDashboardData(groups, views.Jobs{}, views.Viewer{User: "bob", Role: "viewer"}, testNow)))
	if n := doc.Find("form, button").Length(); n != 0 {
		t.Errorf("forms and buttons = %d, want 0", n)
	}
}

func TestLayout(t *testing.T) {
	v := views.Viewer{User: "admin", Role: "admin", CanUpdate: true, CSRFToken: `t"ok`}
	d := views.NewDashboardData([]models.ImageGroup{{Image: "nginx:latest", Status: models.StatusOutdated, Containers: []models.ContainerItem{item("web", models.StatusOutdated)}}}, views.Jobs{}, v, testNow)
	doc := render(t, views.Layout("Containers", v, views.ContainersPage(d)))

	if got := text(one(t, doc, "title")); got != "Containers · refit" {
		t.Errorf("title = %q", got)
	}
	var cfg struct {
		ResponseHandling []struct {
			Code  string `json:"code"`
			Swap  bool   `json:"swap"`
			Error bool   `json:"error"`
		} `json:"responseHandling"`
	}
	if err := json.Unmarshal([]byte(attr(one(t, doc, "meta[name=htmx-config]"), "content")), &cfg); err != nil {
		t.Fatalf("htmx-config: %v", err)
	}
	swapsErrors := false
	for _, rh := range cfg.ResponseHandling {
		if rh.Code == "[45].." && rh.Swap && rh.Error {
			swapsErrors = true
		}
	}
	if !swapsErrors {
		t.Errorf("htmx-config %+v does not swap 4xx/5xx answers", cfg)
	}
	one(t, doc, "link[rel=stylesheet][href='"+views.CSSPath+"']")
	one(t, doc, "script[src='"+views.HTMXPath+"']")
	toasts := one(t, doc, "#"+views.ToastsID)
	if got := attr(toasts, "aria-live"); got != "polite" {
		t.Errorf("toasts aria-live = %q, want polite", got)
	}
	var headers map[string]string
	if err := json.Unmarshal([]byte(attr(one(t, doc, "body"), "hx-headers")), &headers); err != nil {
		t.Fatalf("hx-headers: %v", err)
	}
	if got := headers[views.CSRFHeader]; got != v.CSRFToken {
		t.Errorf("hx-headers %s = %q, want %q", views.CSRFHeader, got, v.CSRFToken)
	}
	doc.Find("form[method=post]").Each(func(_ int, f *goquery.Selection) { // a GET form must not put it in a URL
		if got := attr(f.Find("input[name="+views.CSRFField+"]"), "value"); got != v.CSRFToken {
			t.Errorf("form %s carries csrf %q, want %q", attr(f, "action"), got, v.CSRFToken)
		}
	})
	logout := one(t, doc, "header form")
	if attr(logout, "action") != views.LogoutPath || attr(logout, "method") != "post" {
		t.Errorf("logout form action=%q method=%q", attr(logout, "action"), attr(logout, "method"))
	}
	if !strings.Contains(text(one(t, doc, "header")), "admin") {
		t.Error("header does not name the user")
	}
	one(t, doc, "main#"+views.ContentID+" #"+views.TableID)
}

func TestLayoutWithoutAuth(t *testing.T) {
	doc := render(t, views.Layout("", views.Viewer{CanUpdate: true}, views.ErrorPage(404, "container not found", views.Viewer{CanUpdate: true})))
	if doc.Find("header form").Length() != 0 {
		t.Error("logout offered with auth off")
	}
	if hasAttr(one(t, doc, "body"), "hx-headers") {
		t.Error("hx-headers set without a CSRF token")
	}
	if doc.Find("input[name="+views.CSRFField+"]").Length() != 0 {
		t.Error("csrf input rendered without a token")
	}
	if got := text(one(t, doc, "title")); got != "refit" {
		t.Errorf("title = %q, want refit", got)
	}
}

// Every id on the page is unique, and every hx-target points at one of them.
func TestPageIDsAreUnique(t *testing.T) {
	groups := []models.ImageGroup{
		{Image: "nginx:latest", Status: models.StatusPartial, Containers: []models.ContainerItem{item("web", models.StatusOutdated), item("web.1", models.StatusUpToDate), item("web_1", models.StatusOutdated)}},
		{Image: "ghcr.io/org/app:1", Status: models.StatusOutdated, Containers: []models.ContainerItem{item("app", models.StatusOutdated)}},
	}
	jobs := views.Jobs{Progress: func(ref models.ContainerRef) *models.Progress {
		name := ref.Name
		if name == "web_1" {
			return running(name, 50)
		}
		return nil
	}}
	d := views.NewDashboardData(groups, jobs, editor, testNow)
	doc := render(t, views.Layout("Containers", editor, views.ContainersPage(d)))
	seen := map[string]bool{}
	doc.Find("[id]").Each(func(_ int, s *goquery.Selection) {
		id := attr(s, "id")
		if seen[id] {
			t.Errorf("id %q used twice", id)
		}
		seen[id] = true
	})
	for _, want := range []string{views.RowID(local("web")), views.RowID(local("web.1")), views.RowID(local("web_1")), views.GroupID(models.GroupKey("nginx:latest")), views.ProgressID(local("web_1"))} {
		if !seen[want] {
			t.Errorf("id %q missing", want)
		}
	}
	doc.Find("[hx-target]").Each(func(_ int, s *goquery.Selection) {
		target := attr(s, "hx-target")
		if target == "this" {
			return
		}
		if sel, ok := strings.CutPrefix(target, "next "); ok {
			if s.NextAllFiltered(sel).Length() == 0 {
				t.Errorf("hx-target %q: no such element after <%s>", target, goquery.NodeName(s))
			}
			return
		}
		if n := doc.Find(target).Length(); n != 1 {
			t.Errorf("hx-target %q matches %d elements, want 1", target, n)
		}
	})
	// htmx attributes sit on the requesting element: nothing relies on inheritance.
	doc.Find("[hx-target], [hx-swap]").Each(func(_ int, s *goquery.Selection) {
		if !hasAttr(s, "hx-get") && !hasAttr(s, "hx-post") {
			t.Errorf("<%s id=%q> has hx-target/hx-swap but issues no request", goquery.NodeName(s), attr(s, "id"))
		}
	})
}

func TestToast(t *testing.T) {
	doc := render(t, views.Toast(`container "web" <not> found`))
	if got := text(doc.Selection); !strings.Contains(got, `container "web" <not> found`) {
		t.Errorf("toast text = %q", got)
	}
	if doc.Find("not").Length() != 0 {
		t.Error("toast message is not escaped")
	}
	if doc.Find("[id]").Length() != 0 {
		t.Error("a toast has an id, but several can be on the page")
	}
}

func TestErrorPage(t *testing.T) {
	doc := render(t, views.ErrorPage(409, "web is being updated", views.Viewer{}))
	got := text(one(t, doc, "#"+views.ErrorID))
	for _, want := range []string{"409", "Conflict", "clashes", "Web is being updated."} {
		if !strings.Contains(got, want) {
			t.Errorf("error page %q does not contain %q", got, want)
		}
	}
	one(t, doc, "a[href='"+views.DashboardPath+"']")
}

// A 403 says what happened and where to go, never a bare "Forbidden /
// forbidden".
func TestErrorPageForbiddenSaysWhyAndWhere(t *testing.T) {
	v := views.Viewer{User: "vera", Role: "viewer"}
	got := text(one(t, render(t, views.ErrorPage(403, "forbidden", v)), "#"+views.ErrorID))
	for _, want := range []string{"Your role may not do this", "signed in as vera, a viewer", "Users page", "Back to the containers"} {
		if !strings.Contains(got, want) {
			t.Errorf("403 page %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "forbidden.") || strings.Count(strings.ToLower(got), "forbidden") > 1 {
		t.Errorf("403 page %q repeats the status", got)
	}
	doc := render(t, views.ErrorPage(401, "unauthorized", views.Viewer{}))
	one(t, doc, "a[href='"+views.LoginPath+"']")
}

func TestMissingRowStopsPolling(t *testing.T) {
	doc := render(t, views.MissingRow(local("web")))
	tr := one(t, doc, "#"+views.RowID(local("web")))
	if hasAttr(tr, "hx-trigger") {
		t.Error("missing row polls")
	}
}

func TestServiceRowSaysSwarmServiceWithItsTasks(t *testing.T) {
	it := item("api", models.StatusOutdated)
	it.Ref, it.Kind, it.Service = models.ServiceRef(models.LocalHost, "api"), models.KindService, &models.Service{Running: 1, Desired: 2}
	g := models.ImageGroup{Image: "registry.test/app:1", Status: models.StatusOutdated, Containers: []models.ContainerItem{it}}
	doc := render(t, views.ContainerRow(views.NewRowData(g, it, views.Jobs{}, views.Viewer{CanUpdate: true})))
	if got := text(one(t, doc, "tr")); !strings.Contains(got, "Swarm service · 1/2 tasks") {
		t.Errorf("service row says %q", got)
	}
	if form := doc.Find("form[action='" + views.UpdatePath(it.Ref) + "']"); form.Length() != 1 {
		t.Errorf("no update form for the service at %s", views.UpdatePath(it.Ref))
	}
}
