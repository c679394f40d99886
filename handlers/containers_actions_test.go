package handlers

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"refit/models"
	"refit/services"
	"refit/views"
)

// post sends a form as a browser does: htmx adds HX-Request (and the
// target's id), a plain form post does not.
func (ta testApp) postForm(t *testing.T, path string, form url.Values, htmx bool) (int, *goquery.Document, http.Header) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	return ta.sendHTML(t, req)
}

func (ta testApp) getHTML(t *testing.T, path string, h ...string) (int, *goquery.Document, http.Header) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	return ta.sendHTML(t, req)
}

func (ta testApp) sendHTML(t *testing.T, req *http.Request) (int, *goquery.Document, http.Header) {
	t.Helper()
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	html := string(b)
	if strings.HasPrefix(strings.TrimSpace(html), "<tr") {
		html = "<table><tbody>" + html + "</tbody></table>"
	}
	return resp.StatusCode, mustDoc(t, html), resp.Header
}

// withSecondNginx runs an up-to-date nginx beside the outdated one: a group
// of one offers no Update all (the row's own Update says the same).
func withSecondNginx(t *testing.T, ta testApp) {
	t.Helper()
	ta.engine.AddImage("sha256:img-new", "nginx@"+dNew)
	ta.engine.Run("9f8e7d6c5b4a", "nginx-new", "nginx", "sha256:img-new")
	if _, err := ta.deps.Containers.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func policyForm(action string) url.Values {
	return url.Values{views.PolicyField: {action}, views.DaysField: {"7"}}
}

// Snooze answers the row with its badge and the group header without
// Update all; skip-current and clear too; the dashboard follows at once
// (the cache key has the policy version).
func TestPolicyAnswersTheRowWithItsBadge(t *testing.T) {
	ta := newTestApp(t)
	withSecondNginx(t, ta)
	nginx := local("nginx")
	_, g, _ := ta.deps.Containers.FindRef(nginx)
	all := "#" + views.UpdateAllID(models.GroupKey(g.Image))
	if _, doc, _ := ta.getHTML(t, "/"); doc.Find(all).Length() != 1 {
		t.Fatal("no Update all for nginx before the snooze")
	}
	status, doc, _ := ta.postForm(t, views.PolicyPath(nginx), policyForm(models.PolicySnooze), true)
	row := doc.Find("#" + views.RowID(nginx))
	if status != 200 || !strings.Contains(row.Find(".badge-held").Text(), "snoozed until") {
		t.Fatalf("snooze = %d, row %q", status, row.Text())
	}
	if doc.Find("#"+views.GroupHeaderID(models.GroupKey(g.Image))).Length() != 1 || doc.Find(all).Length() != 0 {
		t.Error("the answer's group header is missing or still offers Update all")
	}
	if _, page, _ := ta.getHTML(t, "/"); !strings.Contains(page.Find("#"+views.RowID(nginx)).Text(), "snoozed until") || page.Find(all).Length() != 0 {
		t.Error("the dashboard does not show the snooze (a stale cache?)")
	}

	_, doc, _ = ta.postForm(t, views.PolicyPath(nginx), policyForm(models.PolicySkipCurrent), true)
	if got := doc.Find(".badge-held"); got.Length() != 2 || got.First().Text() != "skipped" {
		t.Errorf("after skip-current the badges are %q, want skipped and the snooze", got.Text())
	}
	if pol := ta.deps.Policies.Get(nginx); len(pol.SkipDigests) != 1 || pol.SkipDigests[0] != g.RemoteFull {
		t.Errorf("policy = %+v, want the remote digest skipped", pol)
	}
	_, doc, _ = ta.postForm(t, views.PolicyPath(nginx), policyForm(models.PolicyClear), true)
	if doc.Find(".badge-held").Length() != 0 || !ta.deps.Policies.Get(nginx).Empty() {
		t.Error("clear left a badge or a policy")
	}
}

// Bad policy requests are 400 toasts; a plain form goes back to the page.
func TestPolicyErrorsAndPlainForm(t *testing.T) {
	ta := newTestApp(t)
	for _, tc := range []struct {
		name string
		ref  models.ContainerRef
		form url.Values
		want int
	}{
		{"unknown action", local("nginx"), policyForm("forever"), 400},
		{"nothing to skip", local("app"), policyForm(models.PolicySkipCurrent), 400},
		{"bad days", local("nginx"), url.Values{views.PolicyField: {models.PolicySnooze}, views.DaysField: {"soon"}}, 400},
		{"no days", local("nginx"), url.Values{views.PolicyField: {models.PolicySnooze}, views.DaysField: {"0"}}, 400},
		{"unknown container", local("nope"), policyForm(models.PolicySnooze), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, h := ta.postForm(t, views.PolicyPath(tc.ref), tc.form, true)
			if status != tc.want || h.Get("HX-Retarget") != "#"+views.ToastsID {
				t.Errorf("= %d, HX-Retarget %q; want %d with a toast", status, h.Get("HX-Retarget"), tc.want)
			}
		})
	}
	status, _, h := ta.postForm(t, views.PolicyPath(local("nginx")), policyForm(models.PolicySnooze), false)
	if status != 303 || h.Get("Location") != "/" {
		t.Errorf("plain snooze = %d to %q, want 303 to /", status, h.Get("Location"))
	}
}

// Stop answers the table without the row and tells the Stopped list,
// which then lists it; Start brings it back. Restart answers the row.
func TestStopStartRestart(t *testing.T) {
	ta := newTestApp(t)
	nginx := local("nginx")
	status, doc, h := ta.postForm(t, views.StopPath(nginx), nil, true)
	if status != 200 || doc.Find("#"+views.TableID).Length() != 1 || doc.Find("#"+views.RowID(nginx)).Length() != 0 {
		t.Fatalf("stop = %d; table %d, row %d", status, doc.Find("#"+views.TableID).Length(), doc.Find("#"+views.RowID(nginx)).Length())
	}
	if h.Get("HX-Trigger") != views.ContainersChanged {
		t.Errorf("HX-Trigger = %q, want %s", h.Get("HX-Trigger"), views.ContainersChanged)
	}
	_, list, _ := ta.getHTML(t, views.StoppedFragmentPath, "HX-Request", "true")
	row := list.Find("#" + views.StoppedRowID(nginx))
	if !strings.Contains(row.Text(), "exited") || row.Find("#"+views.ActionID(nginx, "start")).Length() != 1 {
		t.Errorf("Stopped lists %q, want nginx exited with Start", row.Text())
	}
	if logs := row.Find("#" + views.ActionID(nginx, "logs")); logs.Length() != 1 || logs.AttrOr("hx-target", "") != "#"+views.PanelSlotID {
		t.Error("the stopped row offers no Logs into the panel slot")
	}
	ta.engine.SetLogs("nginx", "exiting on signal 15")
	if status, doc, _ := ta.getHTML(t, views.LogsPath(nginx, 100), "HX-Request", "true"); status != 200 || !strings.Contains(doc.Text(), "exiting on signal 15") {
		t.Errorf("logs of the stopped nginx = %d %q", status, doc.Text())
	}
	if got := strings.Join(strings.Fields(list.Find("#"+views.StoppedSummaryID).Text()), " "); got != "Stopped (1)" {
		t.Errorf("summary = %q", got)
	}
	if _, page, _ := ta.getHTML(t, "/"); page.Find("#"+views.StoppedID+" #"+views.StoppedRowID(nginx)).Length() != 1 {
		t.Error("the page's Stopped section does not list nginx")
	}

	if status, _, h := ta.postForm(t, views.StartPath(nginx), nil, false); status != 303 || h.Get("Location") != "/" {
		t.Errorf("plain start = %d to %q", status, h.Get("Location"))
	}
	if _, page, _ := ta.getHTML(t, "/"); page.Find("#"+views.RowID(nginx)).Length() != 1 || page.Find("#"+views.StoppedRowID(nginx)).Length() != 0 {
		t.Error("after start nginx is not back in the table")
	}
	status, doc, _ = ta.postForm(t, views.RestartPath(nginx), nil, true)
	if status != 200 || doc.Find("tr#"+views.RowID(nginx)).Length() != 1 {
		t.Errorf("restart = %d, want the row", status)
	}
	if status, _, _ := ta.postForm(t, views.StopPath(local("nope")), nil, true); status != 404 {
		t.Errorf("stop of an unknown container = %d, want 404", status)
	}
}

// Delete needs the typed name, checked here: wrong is 400 (a toast for
// htmx, an error page without), right removes it and answers the table.
func TestDeleteNeedsTheTypedName(t *testing.T) {
	ta := newTestApp(t)
	ref := local("app-2")
	for _, typed := range []string{"", "app", "APP-2", "app-2 "} {
		status, doc, h := ta.postForm(t, views.DeletePath(ref), url.Values{views.ConfirmField: {typed}}, true)
		if status != 400 || h.Get("HX-Retarget") != "#"+views.ToastsID || !strings.Contains(doc.Text(), "type app-2 to delete it") {
			t.Errorf("delete typing %q = %d, HX-Retarget %q, %q", typed, status, h.Get("HX-Retarget"), doc.Text())
		}
	}
	if status, doc, _ := ta.postForm(t, views.DeletePath(ref), url.Values{views.ConfirmField: {"app"}}, false); status != 400 || doc.Find("#"+views.ErrorID).Length() != 1 {
		t.Errorf("plain delete with a wrong name = %d, want the 400 page", status)
	}
	if _, ok := ta.engine.Container("app-2"); !ok {
		t.Fatal("a wrong name deleted the container")
	}
	status, doc, h := ta.postForm(t, views.DeletePath(ref), url.Values{views.ConfirmField: {"app-2"}}, true)
	if status != 200 || doc.Find("#"+views.RowID(ref)).Length() != 0 || h.Get("HX-Trigger") != views.ContainersChanged {
		t.Errorf("delete = %d, row %d, HX-Trigger %q", status, doc.Find("#"+views.RowID(ref)).Length(), h.Get("HX-Trigger"))
	}
	if _, ok := ta.engine.Container("app-2"); ok {
		t.Error("app-2 still exists")
	}
	if status, _, h := ta.postForm(t, views.DeletePath(local("app")), url.Values{views.ConfirmField: {"app"}}, false); status != 303 || h.Get("Location") != "/" {
		t.Errorf("plain delete = %d to %q, want 303 to /", status, h.Get("Location"))
	}
}

// The logs route answers the panel for htmx, the lines alone for the
// lines' own poll, a page without htmx; a gone container stops the poll.
func TestLogsPanelLinesAndPage(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.SetLogs("app", "one", "two", "three")
	app := local("app")
	status, doc, _ := ta.getHTML(t, views.LogsPath(app, 2), "HX-Request", "true")
	pre := doc.Find("#" + views.LogLinesID + " pre")
	if status != 200 || pre.Text() != "two\nthree\n" || doc.Find("section#"+views.LogPanelID).Length() != 1 || doc.Find("html > head > title").Length() != 0 {
		t.Errorf("panel = %d %q", status, pre.Text())
	}
	if got, _ := doc.Find("#" + views.LogLinesID).Attr("hx-trigger"); got != "every 2s" {
		t.Errorf("lines trigger = %q", got)
	}
	_, doc, _ = ta.getHTML(t, views.LogsPath(app, 500), "HX-Request", "true", "HX-Target", views.LogLinesID)
	if doc.Find("section").Length() != 0 || doc.Find("#"+views.LogLinesID+" pre").Text() != "one\ntwo\nthree\n" {
		t.Errorf("the lines' poll got %q", doc.Text())
	}
	status, doc, _ = ta.getHTML(t, views.LogsPath(app, 0))
	if status != 200 || doc.Find("title").Length() != 1 || doc.Find("#"+views.LogPanelID).Length() != 1 || doc.Find("#"+views.LogCloseID).Length() != 0 {
		t.Errorf("the logs page = %d", status)
	}
	for _, bad := range []string{"0", "10001", "x"} {
		if status, _, _ := ta.getHTML(t, views.LogsPath(app, 0)+"?tail="+bad, "HX-Request", "true"); status != 400 {
			t.Errorf("tail=%s = %d, want 400", bad, status)
		}
	}
	_, doc, _ = ta.getHTML(t, views.LogsPath(local("nope"), 100), "HX-Request", "true", "HX-Target", views.LogLinesID)
	if l := doc.Find("#" + views.LogLinesID); l.Length() != 1 || l.AttrOr("hx-trigger", "") != "" || !strings.Contains(l.Text(), "gone") {
		t.Errorf("lines of a gone container = %q, trigger %q", l.Text(), l.AttrOr("hx-trigger", ""))
	}
	if status, _, _ := ta.getHTML(t, views.LogsPath(local("nope"), 100)); status != 404 {
		t.Errorf("the logs page of an unknown container = %d, want 404", status)
	}
}

// Roles: viewers read logs and the Stopped list and see Logs alone;
// operators act but cannot delete; admins delete. The route table test
// walks every route; this one goes through the real forms' URLs.
func TestContainerActionsByRole(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	nginx := local("nginx")
	for _, tc := range []struct {
		role              string
		policy, del, logs int
	}{
		{"viewer", 403, 403, 200},
		{"operator", 200, 403, 200},
		{"admin", 200, 400, 200}, // 400: no name typed, so nothing is deleted
	} {
		s := a.login(t, tc.role)
		h := append(s.headers(), "HX-Request", "true", "Content-Type", "application/x-www-form-urlencoded")
		if status, _, _ := a.call(t, "POST", views.PolicyPath(nginx), policyForm(models.PolicySnooze).Encode(), h...); status != tc.policy {
			t.Errorf("%s: policy = %d, want %d", tc.role, status, tc.policy)
		}
		if status, _, _ := a.call(t, "POST", views.DeletePath(nginx), "", h...); status != tc.del {
			t.Errorf("%s: delete = %d, want %d", tc.role, status, tc.del)
		}
		if status, _, _ := a.call(t, "GET", views.LogsPath(nginx, 100), "", h...); status != tc.logs {
			t.Errorf("%s: logs = %d, want %d", tc.role, status, tc.logs)
		}
		_, body, _ := a.call(t, "GET", views.MenuPath(nginx), "", h...)
		menu := mustDoc(t, body).Find("body")
		hasStop, hasDelete := menu.Find("#"+views.ActionID(nginx, "stop")).Length() == 1, menu.Find("#"+views.DeleteID(nginx)).Length() == 1
		if menu.Find("#"+views.ActionID(nginx, "logs")).Length() != 1 || hasStop != (tc.role != "viewer") || hasDelete != (tc.role == "admin") {
			t.Errorf("%s's menu: stop %v, delete %v", tc.role, hasStop, hasDelete)
		}
	}
}

// A row's menu comes when it is first opened: the dashboard carries only
// its ⋯ and a link; htmx gets the items alone, a browser without
// JavaScript a page of them whose forms post as the row's did.
func TestRowMenuLoadsOnOpen(t *testing.T) {
	ta := newTestApp(t)
	nginx := local("nginx")
	_, dash, _ := ta.getHTML(t, "/")
	menu := dash.Find("#" + views.MenuID(nginx))
	if menu.Find("#"+views.ActionID(nginx, "history")).Length() != 0 {
		t.Error("the dashboard still carries the menu's items")
	}
	if got := menu.Find("summary").AttrOr("hx-get", ""); got != views.MenuPath(nginx) {
		t.Errorf("the menu loads %q, want %q", got, views.MenuPath(nginx))
	}
	if got := menu.Find(".menu-panel a").AttrOr("href", ""); got != views.MenuPath(nginx) {
		t.Errorf("the menu's link without JavaScript = %q, want %q", got, views.MenuPath(nginx))
	}

	status, items, _ := ta.getHTML(t, views.MenuPath(nginx), "HX-Request", "true")
	if status != 200 || items.Find("#"+views.ActionID(nginx, "history")).Length() != 1 || items.Find("#"+views.ActionID(nginx, "stop")).Length() != 1 {
		t.Fatalf("the menu's items = %d %q", status, text(items.Selection))
	}
	if items.Find("nav, h1, #"+views.TableID).Length() != 0 {
		t.Error("the menu's items came with the page around them")
	}

	status, page, _ := ta.getHTML(t, views.MenuPath(nginx))
	if status != 200 || !strings.Contains(text(page.Selection), "Actions for nginx") || page.Find("#"+views.ActionID(nginx, models.PolicySnooze)).Length() != 1 {
		t.Fatalf("the menu as a page = %d %q", status, text(page.Selection))
	}
	if page.Find(".row-menu-page[hx-disable]").Length() != 1 {
		t.Error("the menu's page leaves htmx on for items whose targets are not on it")
	}
	form := page.Find("#" + views.ActionID(nginx, models.PolicySnooze)).Closest("form")
	post := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, in *goquery.Selection) { post.Set(in.AttrOr("name", ""), in.AttrOr("value", "")) })
	post.Set(views.PolicyField, models.PolicySnooze)
	if status, _, _ := ta.postForm(t, form.AttrOr("action", ""), post, false); status >= 400 {
		t.Fatalf("Snooze from the menu's page = %d", status)
	}
	if pol := ta.deps.Policies.Get(nginx); pol.SnoozeUntil == nil {
		t.Errorf("policy after Snooze from the menu's page = %+v", pol)
	}

	if status, _, _ := ta.getHTML(t, views.MenuPath(local("nope")), "HX-Request", "true"); status != 404 {
		t.Errorf("the menu of an unknown container = %d, want 404", status)
	}
}

// A snooze ends by itself at its time: the cached dashboard and the Drydock
// item offer the update again once the clock passes it, with no request,
// check or policy change in between.
func TestSnoozeEndsByItselfThroughTheCachedDashboard(t *testing.T) {
	ta := newTestApp(t)
	clk := &testClock{t: time.Now()}
	pol, err := services.NewPolicies(ta.db, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	d := ta.deps
	d.Policies, d.Catalog = pol, services.NewCatalog(d.Containers, pol, d.Toggles, d.Updates)
	ta.app, ta.deps = New(d), d
	nginx := local("nginx")
	if status, _, _ := ta.postForm(t, views.PolicyPath(nginx), policyForm(models.PolicySnooze), true); status != 200 {
		t.Fatalf("snooze = %d", status)
	}
	row := func() string {
		t.Helper()
		_, page, _ := ta.getHTML(t, "/")
		return page.Find("#" + views.RowID(nginx)).Text()
	}
	offered := func() bool {
		t.Helper()
		status, body, _ := ta.do(t, "GET", "/api/containers/nginx", nil)
		if status != 200 {
			t.Fatalf("GET /api/containers/nginx = %d %s", status, body)
		}
		return strings.Contains(body, `"updateAvailable":true`)
	}
	if !strings.Contains(row(), "snoozed until") || offered() {
		t.Fatal("the snooze is not shown, or the update is still offered")
	}
	row() // the cached rendering is what the next request would get
	clk.Add(7*24*time.Hour + time.Second)
	if got := row(); strings.Contains(got, "snoozed until") {
		t.Errorf("after the snooze's end the dashboard still shows it (a stale cache): %q", got)
	}
	if !offered() {
		t.Error("after the snooze's end the Drydock item offers no update")
	}
}
