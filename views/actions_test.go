package views_test

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"refit/models"
	"refit/views"
)

var (
	viewerRole   = views.Viewer{User: "vic", Role: "viewer", CSRFToken: "tok"}
	operatorRole = views.Viewer{User: "olga", Role: "operator", CanUpdate: true, CSRFToken: "tok"}
	adminRole    = views.Viewer{User: "ada", Role: "admin", CanUpdate: true, Admin: true, CSRFToken: "tok"}
)

const remote = "sha256:2222222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

// in1 is the one element under s that sel matches.
func in1(t *testing.T, s *goquery.Selection, sel string) *goquery.Selection {
	t.Helper()
	f := s.Find(sel)
	if f.Length() != 1 {
		t.Fatalf("%q matches %d elements, want 1", sel, f.Length())
	}
	return f
}

// rowWith builds web's row in an outdated group, with pol as its policy.
func rowWith(v views.Viewer, pol models.UpdatePolicy, snoozed bool) views.RowData {
	g := models.ImageGroup{Image: "nginx:latest", RemoteFull: remote, Status: models.StatusOutdated,
		Containers: []models.ContainerItem{item("web", models.StatusOutdated)}}
	jobs := views.Jobs{Policy: func(models.ContainerRef) (models.UpdatePolicy, bool) { return pol, snoozed }}
	return views.NewGroupData(g, jobs, v, testNow).Rows[0]
}

// The menu offers what the role may do: viewers Logs, Preview and Backups, operators the
// policy and the lifecycle, admins Delete too.
func TestRowMenuPerRole(t *testing.T) {
	ref := local("web")
	ids := func(actions ...string) []string {
		var out []string
		for _, a := range actions {
			out = append(out, "#"+views.ActionID(ref, a))
		}
		return out
	}
	all := ids("logs", "preview", "backups", models.PolicySkipCurrent, models.PolicySnooze, models.PolicyClear, "restart", "stop", "delete")
	for _, tc := range []struct {
		name string
		v    views.Viewer
		want []string
	}{
		{"viewer", viewerRole, ids("logs", "preview", "backups")},
		{"operator", operatorRole, ids("logs", "preview", "backups", models.PolicySkipCurrent, models.PolicySnooze, "restart", "stop")},
		{"admin", adminRole, ids("logs", "preview", "backups", models.PolicySkipCurrent, models.PolicySnooze, "restart", "stop", "delete")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			menu := render(t, views.RowMenuItems(rowWith(tc.v, models.UpdatePolicy{}, false))).Selection
			for _, sel := range all {
				want := false
				for _, w := range tc.want {
					want = want || w == sel
				}
				if got := menu.Find(sel).Length() == 1; got != want {
					t.Errorf("%s in the menu = %v, want %v", sel, got, want)
				}
			}
			if tc.v.CanUpdate != (menu.Find("input[name=csrf]").Length() > 0) {
				t.Errorf("CSRF fields = %d, want them only with forms", menu.Find("input[name=csrf]").Length())
			}
		})
	}
}

// Each control is an htmx request with a plain-form fallback to the same
// URL, answering the row (policy, restart) or the table (stop, delete).
func TestRowMenuControls(t *testing.T) {
	ref := local("web")
	doc := render(t, views.RowMenuItems(rowWith(adminRole, models.UpdatePolicy{SkipDigests: []string{"sha256:old"}}, false)))
	logs := one(t, doc, "#"+views.ActionID(ref, "logs"))
	if attr(logs, "href") != views.LogsPath(ref, 100) || attr(logs, "hx-get") != views.LogsPath(ref, 100) ||
		attr(logs, "hx-target") != "#"+views.PanelSlotID {
		t.Errorf("Logs = href %q hx-get %q hx-target %q", attr(logs, "href"), attr(logs, "hx-get"), attr(logs, "hx-target"))
	}
	form := one(t, doc, "form[action='"+views.PolicyPath(ref)+"']")
	if got := attr(form.Find("input[name="+views.DaysField+"]"), "value"); got != "7" {
		t.Errorf("days = %q, want 7", got)
	}
	for _, tc := range []struct{ action, post, target, value string }{
		{models.PolicySkipCurrent, views.PolicyPath(ref), "#" + views.RowID(ref), models.PolicySkipCurrent},
		{models.PolicySnooze, views.PolicyPath(ref), "#" + views.RowID(ref), models.PolicySnooze},
		{models.PolicyClear, views.PolicyPath(ref), "#" + views.RowID(ref), models.PolicyClear},
		{"restart", views.RestartPath(ref), "#" + views.RowID(ref), ""},
		{"stop", views.StopPath(ref), "#" + views.TableID, ""},
	} {
		b := one(t, doc, "#"+views.ActionID(ref, tc.action))
		fallback := attr(b, "formaction")
		if fallback == "" {
			fallback = attr(form, "action")
		}
		if attr(b, "hx-post") != tc.post || fallback != tc.post || attr(b, "hx-target") != tc.target ||
			attr(b, "type") != "submit" || attr(b, "value") != tc.value {
			t.Errorf("%s: hx-post %q, plain post to %q, hx-target %q, value %q; want %s to %s, value %q",
				tc.action, attr(b, "hx-post"), fallback, attr(b, "hx-target"), attr(b, "value"), tc.post, tc.target, tc.value)
		}
	}
}

// The delete confirmation asks for the name and posts it; the server checks.
func TestDeleteConfirm(t *testing.T) {
	ref := local("web")
	doc := render(t, views.DeleteConfirm(ref, "", adminRole))
	form := one(t, doc, "details#"+views.DeleteID(ref)+" form")
	assertForm(t, form, views.DeletePath(ref), "#"+views.TableID)
	in := in1(t, form, "input#"+views.ConfirmInputID(ref))
	if attr(in, "name") != views.ConfirmField || !hasAttr(in, "required") || attr(in, "autocomplete") != "off" {
		t.Errorf("confirm input = name %q required %v autocomplete %q", attr(in, "name"), hasAttr(in, "required"), attr(in, "autocomplete"))
	}
	if label := text(in1(t, form, "label[for="+views.ConfirmInputID(ref)+"]")); !strings.Contains(label, "Type web to delete it") {
		t.Errorf("label = %q", label)
	}
	if in1(t, form, "input[name="+views.VolumesField+"]").Length() != 1 || in1(t, form, "input[name=csrf]").Length() != 1 {
		t.Error("no volumes checkbox or CSRF field")
	}
}

// The row carries only the menu's disclosure: its items come from MenuPath
// when it is first opened, or, without JavaScript, through its link.
func TestRowMenuLoadsItsItemsWhenOpened(t *testing.T) {
	ref := local("web")
	r := rowWith(adminRole, models.UpdatePolicy{}, false)
	r.Filter = "nas"
	doc := render(t, views.ContainerRow(r))
	menu := one(t, doc, "details#"+views.MenuID(ref))
	sum := in1(t, menu, "summary")
	want := views.OnHost(views.MenuPath(ref), "nas")
	if attr(sum, "hx-get") != want || attr(sum, "hx-trigger") != "click once" || attr(sum, "hx-target") != "next .menu-panel" {
		t.Errorf("summary = hx-get %q hx-trigger %q hx-target %q", attr(sum, "hx-get"), attr(sum, "hx-trigger"), attr(sum, "hx-target"))
	}
	if got := attr(in1(t, menu, ".menu-panel a"), "href"); got != want {
		t.Errorf("fallback link = %q, want %q", got, want)
	}
	if menu.Find("form, button, #"+views.ActionID(ref, "logs")).Length() != 0 {
		t.Error("the row carries the menu's items")
	}
	page := render(t, views.MenuPanel(views.MenuData{Panel: views.Panel{Ref: ref, Standalone: true, Viewer: adminRole}, Row: r}))
	if page.Find("#"+views.ActionID(ref, "stop")).Length() != 1 || page.Find("a[href='"+views.DashboardPath+"']").Length() != 1 {
		t.Error("the menu's page lacks Stop or the way back")
	}
}

// No menu while the row's update runs: the row polls every second; a menu
// opened just before offers only the history.
// A Swarm service has no logs, lifecycle or delete: its tasks are the engine's.
func TestRowMenuWhileUpdatingAndForServices(t *testing.T) {
	r := rowWith(adminRole, models.UpdatePolicy{}, false)
	r.Progress = running("web", 40)
	if doc := render(t, views.ContainerRow(r)); doc.Find(".row-menu").Length() != 0 {
		t.Error("a row being updated shows its menu")
	}
	if doc := render(t, views.RowMenuItems(r)); doc.Find("a, button").Length() != 1 || doc.Find("#"+views.ActionID(local("web"), "history")).Length() != 1 {
		t.Errorf("the menu of a row being updated offers %q, want only History", text(doc.Selection))
	}
	r = rowWith(adminRole, models.UpdatePolicy{}, false)
	r.Item.Service = &models.Service{}
	doc := render(t, views.RowMenuItems(r))
	for _, a := range []string{"logs", "restart", "stop", "delete"} {
		if doc.Find("#"+views.ActionID(local("web"), a)).Length() != 0 {
			t.Errorf("a service's menu offers %s", a)
		}
	}
	if doc.Find("#"+views.ActionID(local("web"), models.PolicySnooze)).Length() != 1 {
		t.Error("a service's menu has no snooze")
	}
}

// Badges say what the policy holds back; held rows leave "Update all".
func TestHoldBadgesAndUpdateAll(t *testing.T) {
	until := testNow.Add(7 * 24 * time.Hour)
	for _, tc := range []struct {
		name      string
		pol       models.UpdatePolicy
		snoozed   bool
		badges    []string
		updatable int
	}{
		{"none", models.UpdatePolicy{}, false, nil, 1},
		{"skipped", models.UpdatePolicy{SkipDigests: []string{remote}}, false, []string{"skipped"}, 0},
		{"skip of another digest", models.UpdatePolicy{SkipDigests: []string{"sha256:other"}}, false, nil, 1},
		{"snoozed", models.UpdatePolicy{SnoozeUntil: &until}, true, []string{"snoozed until " + views.SnoozeDate(until)}, 0},
		{"snooze over", models.UpdatePolicy{SnoozeUntil: &until}, false, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rowWith(operatorRole, tc.pol, tc.snoozed)
			var got []string
			render(t, views.ContainerRow(r)).Find(".badge-held").Each(func(_ int, s *goquery.Selection) { got = append(got, text(s)) })
			if strings.Join(got, "|") != strings.Join(tc.badges, "|") {
				t.Errorf("badges = %q, want %q", got, tc.badges)
			}
			g := views.GroupData{Rows: []views.RowData{r}}
			if n := g.Updatable(); n != tc.updatable {
				t.Errorf("Updatable() = %d, want %d", n, tc.updatable)
			}
			if r.Held() && !render(t, views.ContainerRow(r)).Find("#"+views.UpdateButtonID(local("web"))).Is("button") {
				t.Error("a held row lost its own Update button (an update by hand goes ahead)")
			}
		})
	}
}

// The menu offers Skip only for a version to skip, Snooze only when not
// snoozed, Clear only when there is a policy.
func TestRowMenuPolicyChoices(t *testing.T) {
	until := testNow.Add(time.Hour)
	ref := local("web")
	r := rowWith(operatorRole, models.UpdatePolicy{SkipDigests: []string{remote}, SnoozeUntil: &until}, true)
	doc := render(t, views.RowMenuItems(r))
	for action, want := range map[string]bool{models.PolicySkipCurrent: false, models.PolicySnooze: false, models.PolicyClear: true} {
		if got := doc.Find("#"+views.ActionID(ref, action)).Length() == 1; got != want {
			t.Errorf("%s offered = %v, want %v", action, got, want)
		}
	}
	up := rowWith(operatorRole, models.UpdatePolicy{}, false)
	up.Item.Status = models.StatusUpToDate
	if render(t, views.RowMenuItems(up)).Find("#"+views.ActionID(ref, models.PolicySkipCurrent)).Length() != 0 {
		t.Error("Skip offered for an up-to-date container")
	}
}

func stoppedList() []models.DrydockContainer {
	img := models.DrydockImage{Registry: models.DrydockRegistry{URL: "docker.io"}, Name: "library/nginx", Tag: models.DrydockTag{Value: "1.27"}}
	return []models.DrydockContainer{
		{Name: "web", Watcher: "nas", Status: "running", Image: img},
		{Name: "old", Watcher: "nas", Status: "exited", Image: img},
		{Name: "new", Watcher: "vps", Status: "created", Image: models.DrydockImage{Registry: models.DrydockRegistry{URL: "ghcr.io"}, Name: "org/app", Tag: models.DrydockTag{Value: "1.2"}}},
		{Name: "paused", Watcher: "vps", Status: "paused", Image: img},
	}
}

// The Stopped section lists what does not run, with a host badge when
// there are several hosts, Start for operators and Delete for admins.
func TestStoppedSection(t *testing.T) {
	s := views.NewStoppedData(stoppedList(), true, "", adminRole)
	if len(s.Items) != 2 || s.Items[0].Name != "old" || s.Items[1].Name != "new" {
		t.Fatalf("stopped = %+v, want old and new", s.Items)
	}
	doc := render(t, views.StoppedSection(s))
	details := one(t, doc, "details#"+views.StoppedID)
	if hasAttr(details, "open") {
		t.Error("the Stopped section renders open")
	}
	if got := text(one(t, doc, "summary#"+views.StoppedSummaryID)); got != "Stopped (2)" {
		t.Errorf("summary = %q", got)
	}
	list := one(t, doc, "#"+views.StoppedListID)
	if attr(list, "hx-get") != views.StoppedFragmentPath || !strings.Contains(attr(list, "hx-trigger"), views.ContainersChanged+" from:body") ||
		attr(list, "data-hold-while") != "details[open]" {
		t.Errorf("list polls %q on %q, holds while %q", attr(list, "hx-get"), attr(list, "hx-trigger"), attr(list, "data-hold-while"))
	}
	old, nw := models.Ref("nas", "old"), models.Ref("vps", "new")
	row := one(t, doc, "#"+views.StoppedRowID(old))
	if got := text(row); !strings.Contains(got, "old on host nas") || !strings.Contains(got, "nginx:1.27") || !strings.Contains(got, "exited") {
		t.Errorf("old's row = %q", got)
	}
	if got := text(one(t, doc, "#"+views.StoppedRowID(nw))); !strings.Contains(got, "ghcr.io/org/app:1.2") || !strings.Contains(got, "created") {
		t.Errorf("new's row = %q", got)
	}
	assertForm(t, in1(t, row, "form[action='"+views.StartPath(old)+"']"), views.StartPath(old), "#"+views.TableID)
	in1(t, row, "#"+views.DeleteID(old))

	op := render(t, views.StoppedSection(views.NewStoppedData(stoppedList(), false, "", operatorRole)))
	if op.Find("#"+views.ActionID(old, "start")).Length() != 1 || op.Find(".delete-confirm").Length() != 0 || op.Find(".host-badge").Length() != 0 {
		t.Error("operator with one host: want Start, no Delete, no host badges")
	}
	vw := render(t, views.StoppedSection(views.NewStoppedData(stoppedList(), true, "vps", viewerRole)))
	if vw.Find("form").Length() != 0 || vw.Find("tbody tr").Length() != 1 {
		t.Errorf("viewer on vps: %d forms, %d rows; want none and new only", vw.Find("form").Length(), vw.Find("tbody tr").Length())
	}
	frag := render(t, views.StoppedFragment(views.NewStoppedData(nil, false, "", viewerRole)))
	if got := attr(one(t, frag, "#"+views.StoppedSummaryID), "hx-swap-oob"); got != "true" {
		t.Errorf("the fragment's summary hx-swap-oob = %q, want true", got)
	}
	if !strings.Contains(text(one(t, frag, "#"+views.StoppedListID)), "No stopped containers") {
		t.Error("an empty list does not say so")
	}
}

// The log panel's lines poll every 2s and stop once the container is gone;
// the panel itself never polls, so its controls are never swapped.
func TestLogPanel(t *testing.T) {
	ref := local("web")
	l := views.LogsData{Ref: ref, Tail: 500, Logs: "a\nb\n"}
	doc := render(t, views.LogPanel(l))
	panel := one(t, doc, "section#"+views.LogPanelID)
	if hasAttr(panel, "hx-trigger") {
		t.Error("the panel itself polls")
	}
	lines := one(t, doc, "#"+views.LogLinesID)
	if attr(lines, "hx-get") != views.LogsPath(ref, 500) || attr(lines, "hx-trigger") != "every 2s" ||
		!strings.Contains(attr(lines, "hx-swap"), "scroll:#"+views.LogLinesID+":bottom") {
		t.Errorf("lines poll %q on %q swap %q", attr(lines, "hx-get"), attr(lines, "hx-trigger"), attr(lines, "hx-swap"))
	}
	if got := lines.Find("pre").Text(); got != "a\nb\n" {
		t.Errorf("lines = %q", got)
	}
	if attr(one(t, doc, "option[selected]"), "value") != "500" {
		t.Error("the tail select does not show 500")
	}
	cl := one(t, doc, "#"+views.LogCloseID)
	if attr(cl, "hx-swap") != "delete" || attr(cl, "hx-target") != "#"+views.LogPanelID {
		t.Errorf("Close swaps %q into %q", attr(cl, "hx-swap"), attr(cl, "hx-target"))
	}
	gone := render(t, views.LogLines(views.LogsData{Ref: ref, Tail: 100, Gone: true}))
	if g := one(t, gone, "#"+views.LogLinesID); hasAttr(g, "hx-trigger") || !strings.Contains(text(g), "gone") {
		t.Errorf("gone lines = trigger %q, %q", attr(g, "hx-trigger"), text(g))
	}
	page := render(t, views.LogsPage(views.LogsData{Ref: ref, Tail: 100, Standalone: true}))
	if page.Find("#"+views.LogCloseID).Length() != 0 || page.Find("a[href='/']").Length() != 1 ||
		attr(page.Find("form[method=get]"), "action") != views.LogsPath(ref, 0) {
		t.Error("the logs page has a Close, no way back, or no plain tail form")
	}
}

// The preview says what changes and what stays, and ends with Update for
// those who may update, posting to the row and closing the panel.
func TestPreviewPanel(t *testing.T) {
	ref := local("web")
	pv := models.Preview{Name: "web", Watcher: "local", UpdateAvailable: true,
		Current:   models.PreviewCurrent{Digest: "sha256:1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Tag: "latest", ImageID: "sha256:3333333333cc"},
		Candidate: models.PreviewCandidate{Digest: remote, Tag: "latest"},
		Keeps: models.PreviewKeeps{Env: []string{"DB_PASSWORD", "TZ"}, Ports: []models.PreviewPort{{Port: "80/tcp", HostIP: "0.0.0.0", HostPort: "8080"}},
			RestartPolicy: "unless-stopped"},
		FromImage:  models.PreviewFromImage{Config: []string{"cmd", "healthcheck"}},
		Volumes:    []models.PreviewVolume{{Type: "volume", Name: "webdata", Destination: "/data"}, {Type: "bind", Source: "/srv/conf", Destination: "/etc/web", ReadOnly: true}},
		Dependents: []models.PreviewDependent{{Name: "sidecar", NetworkMode: "container:web"}}}
	for _, tc := range []struct {
		name   string
		v      views.Viewer
		update bool
	}{{"viewer", viewerRole, false}, {"operator", operatorRole, true}} {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(t, views.PreviewPanel(views.PreviewData{Panel: views.Panel{Ref: ref, Viewer: tc.v}, Preview: pv, Shown: "local/web="}))
			panel := one(t, doc, "section#"+views.PreviewPanelID)
			text := strings.Join(strings.Fields(panel.Text()), " ")
			for _, want := range []string{"Update preview of web", "latest " + models.ShortDigest(pv.Current.Digest), models.ShortDigest(remote),
				"environment: DB_PASSWORD, TZ", "published ports: 0.0.0.0:8080->80/tcp", "restart policy: unless-stopped",
				"settings: cmd, healthcheck", "webdata → /data", "/srv/conf → /etc/web (read-only)", "sidecar"} {
				if !strings.Contains(text, want) {
					t.Errorf("preview lacks %q:\n%s", want, text)
				}
			}
			close := one(t, doc, "#"+views.PreviewCloseID)
			if attr(close, "hx-get") != views.PreviewPath(ref) || attr(close, "hx-swap") != "delete" {
				t.Errorf("Close = hx-get %q hx-swap %q", attr(close, "hx-get"), attr(close, "hx-swap"))
			}
			upd := doc.Find("#" + views.PreviewUpdateID)
			if (upd.Length() == 1) != tc.update {
				t.Fatalf("Update in the preview = %d, want %v", upd.Length(), tc.update)
			}
			if tc.update {
				form := upd.Closest("form")
				assertForm(t, form, views.UpdatePath(ref), "#"+views.RowID(ref))
				if attr(form.Find("input[name="+views.PanelField+"]"), "value") != "close" ||
					attr(form.Find("input[name="+views.ShownField+"]"), "value") != "local/web=" {
					t.Errorf("the preview's Update form does not close the panel or post what the row shows")
				}
			}
		})
	}
	doc := render(t, views.PreviewPanel(views.PreviewData{Panel: views.Panel{Ref: ref, Viewer: operatorRole}, Preview: models.Preview{Current: pv.Current}}))
	if !strings.Contains(doc.Text(), "not known yet") || doc.Find("#"+views.PreviewUpdateID).Length() != 0 {
		t.Errorf("a preview before any check offers an update or does not say so:\n%s", doc.Text())
	}
}

// Backups are listed newest first, each with Roll back for those who may
// update; a rollback answers the row and closes the panel.
func TestBackupsPanel(t *testing.T) {
	ref := local("web")
	bks := []models.Backup{
		{ID: "b2", ImageName: "library/nginx", ImageTag: "1.27", ImageDigest: remote, Timestamp: testNow},
		{ID: "b1", ImageName: "ghcr.io/org/app", ImageTag: "1.2", ImageID: "sha256:4444444444dd", Timestamp: testNow.Add(-time.Hour)},
	}
	doc := render(t, views.BackupsPanel(views.BackupsData{Panel: views.Panel{Ref: ref, Viewer: operatorRole}, Backups: bks}))
	rows := doc.Find("tbody tr")
	if rows.Length() != 2 || attr(rows.First(), "id") != views.BackupRowID("b2") {
		t.Fatalf("backup rows = %d, first %q", rows.Length(), attr(rows.First(), "id"))
	}
	if got := strings.Join(strings.Fields(rows.First().Text()), " "); !strings.Contains(got, "nginx:1.27") || !strings.Contains(got, models.ShortDigest(remote)) {
		t.Errorf("first backup = %q", got)
	}
	if got := strings.Join(strings.Fields(rows.Last().Text()), " "); !strings.Contains(got, "ghcr.io/org/app:1.2") || !strings.Contains(got, "4444444444dd") {
		t.Errorf("second backup = %q", got)
	}
	rb := one(t, doc, "#"+views.ActionID(ref, "rollback-b1"))
	form := rb.Closest("form")
	assertForm(t, form, views.RollbackPath(ref), "#"+views.RowID(ref))
	if attr(form.Find("input[name="+views.BackupField+"]"), "value") != "b1" || attr(form.Find("input[name="+views.PanelField+"]"), "value") != "close" {
		t.Error("the Roll back form does not name its backup or close the panel")
	}
	if n := render(t, views.BackupsPanel(views.BackupsData{Panel: views.Panel{Ref: ref, Viewer: viewerRole}, Backups: bks})).Find("form").Length(); n != 0 {
		t.Errorf("a viewer gets %d rollback forms", n)
	}
	if got := render(t, views.BackupsPanel(views.BackupsData{Panel: views.Panel{Ref: ref, Viewer: viewerRole}})).Text(); !strings.Contains(got, "No backups yet") {
		t.Errorf("no backups = %q", got)
	}
}

// A row with a newer tag offers it beside the digest status: the badge,
// "Update to 1.3.0" for those who may update, what holds it back, and the
// compose note; the menu links the tags panel.
func TestTagOfferOnTheRow(t *testing.T) {
	ref := local("web")
	g := models.ImageGroup{Image: "org/web:1.2.3", RemoteFull: remote, Status: models.StatusUpToDate,
		Containers: []models.ContainerItem{item("web", models.StatusUpToDate)}}
	g.Containers[0].NewerTag = "1.3.0"
	g.Containers[0].AutoUpdate = true
	g.Containers[0].Labels = map[string]string{"com.docker.compose.project": "shop"}
	held := testNow.Add(48 * time.Hour)
	jobs := views.Jobs{HeldUntil: func(models.ContainerItem, models.Candidate) time.Time { return held }}
	row := views.NewGroupData(g, jobs, operatorRole, testNow).Rows[0]
	doc := render(t, views.ContainerRow(row))
	offer := one(t, doc, "#"+views.TagOfferID(ref))
	text := strings.Join(strings.Fields(offer.Text()), " ")
	for _, want := range []string{"1.3.0 available", "held until", "Update to 1.3.0", "compose file of shop still names 1.2.3"} {
		if !strings.Contains(text, want) {
			t.Errorf("tag offer lacks %q: %s", want, text)
		}
	}
	assertForm(t, one(t, doc, "#"+views.ActionID(ref, "update-tag")).Closest("form"), views.UpdateTagPath(ref), "#"+views.RowID(ref))
	if menu := render(t, views.RowMenuItems(row)); menu.Find("#"+views.ActionID(ref, models.PolicySkipCurrent)).Length() != 1 || menu.Find("#"+views.ActionID(ref, "tags")).Length() != 1 {
		t.Error("the menu offers no skip of the tag, or no Version tags…")
	}
	doc = render(t, views.ContainerRow(views.NewGroupData(g, jobs, viewerRole, testNow).Rows[0]))
	if doc.Find("#"+views.ActionID(ref, "update-tag")).Length() != 0 || !strings.Contains(doc.Text(), "1.3.0 available") {
		t.Error("a viewer gets the tag's Update, or not its badge")
	}
}

// The tags panel says where the rule comes from, and its form posts it.
func TestTagsPanel(t *testing.T) {
	ref := local("web")
	td := views.TagsData{Panel: views.Panel{Ref: ref, Viewer: operatorRole}, Rule: models.TagRule{Include: `^1\.`, Bump: "minor", Source: "refit"}}
	td.Item.NewerTag = "1.3.0"
	doc := render(t, views.TagsPanel(td))
	text := strings.Join(strings.Fields(doc.Text()), " ")
	if !strings.Contains(text, `Follows tags matching ^1\.`) || !strings.Contains(text, "minor bump, set in refit") || !strings.Contains(text, "Newest allowed: 1.3.0") {
		t.Errorf("panel = %s", text)
	}
	form := one(t, doc, "form")
	assertForm(t, form, views.TagRulePath(ref), "#"+views.RowID(ref))
	if attr(form.Find("#"+views.TagIncludeID), "value") != `^1\.` || form.Find("#"+views.TagClearID).Length() != 1 {
		t.Error("the form does not carry the rule, or offers no way back to the labels")
	}
	td.Rule = models.TagRule{Source: "labels"}
	doc = render(t, views.TagsPanel(td))
	if doc.Find("#"+views.TagClearID).Length() != 0 || !strings.Contains(doc.Text(), "only its tag's digest") {
		t.Errorf("a container without a rule: %s", doc.Text())
	}
}

// An outdated row whose new digest is younger than its minimum age says
// until when auto-update waits; its Update button stays.
func TestRowSaysWhenAutoUpdateMayTakeANewDigest(t *testing.T) {
	g := models.ImageGroup{Image: "nginx:latest", RemoteFull: remote, Status: models.StatusOutdated,
		Containers: []models.ContainerItem{item("web", models.StatusOutdated)}}
	g.Containers[0].AutoUpdate = true
	held := testNow.Add(72 * time.Hour)
	seen := testNow.Add(-24 * time.Hour)
	jobs := views.Jobs{HeldUntil: func(_ models.ContainerItem, c models.Candidate) time.Time {
		if c.Digest != remote {
			t.Errorf("held asked of %+v, want the remote digest", c)
		}
		return held
	}, SeenFor: func(models.ContainerItem, models.Candidate) time.Time { return seen }}
	doc := render(t, views.ContainerRow(views.NewGroupData(g, jobs, operatorRole, testNow).Rows[0]))
	if got := doc.Find("time[datetime='" + views.Timestamp(held) + "']").Length(); got != 1 || !strings.Contains(doc.Text(), "held until") {
		t.Errorf("the row does not say when auto-update may take the digest:\n%s", doc.Text())
	}
	if got := doc.Find("time[datetime='" + views.Timestamp(seen) + "']").Length(); got != 1 || !strings.Contains(doc.Text(), "found") {
		t.Errorf("the row does not say the candidate's age:\n%s", doc.Text())
	}
	if doc.Find("#"+views.UpdateButtonID(local("web"))).Length() != 1 {
		t.Error("a held row lost its Update button")
	}
	// Auto-update off: nothing is held, but an update by hand sees the age.
	g.Containers[0].AutoUpdate = false
	doc = render(t, views.ContainerRow(views.NewGroupData(g, jobs, operatorRole, testNow).Rows[0]))
	if strings.Contains(doc.Text(), "held until") || doc.Find("time[datetime='"+views.Timestamp(seen)+"']").Length() != 1 {
		t.Errorf("with auto-update off the row should say only when the digest was found:\n%s", doc.Text())
	}
}

// The page head says when auto-updates may run: from the window's next
// opening, or until it closes while it is open.
func TestPageHeadSaysTheUpdateWindow(t *testing.T) {
	now := testNow
	d := views.DashboardData{Now: now, LastCheck: now.Add(-time.Minute), Window: "Sat,Sun 02:00-05:00",
		WindowStart: now.Add(3 * time.Hour), WindowEnd: now.Add(6 * time.Hour)}
	if got := strings.Join(strings.Fields(render(t, views.PageHead(d)).Text()), " "); !strings.Contains(got, "update window opens in 3 h") {
		t.Errorf("closed window: %q", got)
	}
	d.WindowStart = now.Add(-time.Hour)
	if got := strings.Join(strings.Fields(render(t, views.PageHead(d)).Text()), " "); !strings.Contains(got, "update window open, closes in 6 h") {
		t.Errorf("open window: %q", got)
	}
	d.Window = ""
	if got := render(t, views.PageHead(d)).Text(); strings.Contains(got, "update window") {
		t.Errorf("no window: %q", got)
	}
}

// After refit moved a Compose container onto a newer tag, its row says the
// compose file still names the old one.
func TestComposeNoteAfterATagMove(t *testing.T) {
	ref := local("web")
	g := models.ImageGroup{Image: "org/web:1.3.0", RemoteFull: remote, Status: models.StatusUpToDate,
		Containers: []models.ContainerItem{item("web", models.StatusUpToDate)}}
	g.Containers[0].Labels = map[string]string{models.LabelComposeProject: "shop"}
	jobs := views.Jobs{MovedFrom: func(models.ContainerItem) string { return "org/web:1.2.3" }}
	doc := render(t, views.ContainerRow(views.NewGroupData(g, jobs, operatorRole, testNow).Rows[0]))
	note := strings.Join(strings.Fields(one(t, doc, "#"+views.TagOfferID(ref)).Text()), " ")
	if !strings.Contains(note, "compose file of shop still names 1.2.3: change it to 1.3.0") {
		t.Errorf("note = %q", note)
	}
	g.Containers[0].Labels = nil // not Compose's: nothing to say
	doc = render(t, views.ContainerRow(views.NewGroupData(g, jobs, operatorRole, testNow).Rows[0]))
	if doc.Find("#"+views.TagOfferID(ref)).Length() != 0 {
		t.Error("a container Compose does not manage got a compose note")
	}
}
