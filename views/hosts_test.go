package views_test

import (
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// onHost is a container item on host, as Containers builds it with several
// hosts: Host set for display, Ref always.
func onHost(host, name string, s models.Status) models.ContainerItem {
	it := item(name, s)
	it.Host, it.Ref = host, models.Ref(host, name)
	return it
}

func TestHostsPageListsEveryHost(t *testing.T) {
	seen := testNow.Add(-3 * time.Minute)
	d := views.HostsData{Now: testNow, Hosts: []models.HostStatus{
		{Name: "nas", URL: "tcp://nas.lan:2376", Status: models.HostOK, EngineVersion: "29.0.1", APIVersion: "1.52",
			Containers: 12, LastSeen: testNow.Add(-5 * time.Second)},
		{Name: "vps", URL: "ssh://***@vps.example", Status: models.HostUnreachable, Error: "dial tcp: <timeout>",
			EngineVersion: "20.10.24", APIVersion: "1.41", Containers: 3, LastSeen: seen},
		{Name: "pi", URL: "tcp://pi:2375", Status: models.HostUnreachable, Error: "not answered yet"},
	}}
	doc := render(t, views.HostsPage(d))
	root := one(t, doc, "#"+views.HostsID)
	if attr(root, "hx-get") != views.HostsFragmentPath || attr(root, "hx-trigger") != views.HostsRefresh ||
		attr(root, "hx-target") != "this" || attr(root, "hx-swap") != "outerHTML" {
		t.Errorf("hosts page refresh = hx-get %q hx-trigger %q hx-target %q hx-swap %q; want itself from %s %s",
			attr(root, "hx-get"), attr(root, "hx-trigger"), attr(root, "hx-target"), attr(root, "hx-swap"), views.HostsFragmentPath, views.HostsRefresh)
	}
	if got, want := text(root.Find("caption")), "3 Docker hosts, 2 not reachable"; got != want {
		t.Errorf("caption = %q, want %q", got, want)
	}

	nas := one(t, doc, "#"+views.HostRowID("nas"))
	cells := nas.Find("th, td")
	want := []string{"nas", "tcp://nas.lan:2376", "ok", "29.0.1", "1.52", "12 containers on nas", "just now"}
	for i, w := range want {
		if got := text(cells.Eq(i)); got != w {
			t.Errorf("nas cell %d = %q, want %q", i, got, w)
		}
	}
	if nas.Find(".badge-uptodate").Length() != 1 {
		t.Error("nas has no ok badge")
	}
	if got := attr(nas.Find("a"), "href"); got != views.OnHost(views.DashboardPath, "nas") {
		t.Errorf("nas count links to %q, want the dashboard filtered to nas", got)
	}

	vps := one(t, doc, "#"+views.HostRowID("vps"))
	status := text(vps.Find("td").Eq(1))
	if !strings.HasPrefix(status, "unreachable no answer since "+views.ClockMinute(seen, testNow)) ||
		!strings.Contains(status, "dial tcp: <timeout>") {
		t.Errorf("vps status = %q, want unreachable, since when and the escaped error", status)
	}
	if vps.Find(".badge-error").Length() != 1 {
		t.Error("vps has no unreachable badge")
	}
	if got := attr(vps.Find("td").Eq(1).Find("time"), "title"); got != views.ClockTime(seen) {
		t.Errorf("since title = %q, want the exact time %q", got, views.ClockTime(seen))
	}
	last := vps.Find("td").Last().Find("time")
	if text(last) != "3 min ago" || attr(last, "title") != views.ClockTime(seen) || attr(last, "datetime") != views.Timestamp(seen) {
		t.Errorf("vps last seen = %q (title %q), want 3 min ago with the exact time", text(last), attr(last, "title"))
	}

	pi := one(t, doc, "#"+views.HostRowID("pi"))
	if got := text(pi.Find("td").Eq(1)); got != "unreachable not answered yet" {
		t.Errorf("pi status = %q: a host never seen has no since", got)
	}
	if got := text(pi.Find("td").Eq(2)); got != "—" {
		t.Errorf("pi engine version = %q, want a dash", got)
	}
	if got := text(pi.Find("td").Last()); got != "never" {
		t.Errorf("pi last seen = %q, want never", got)
	}
}

// With one host there is no filter to link to, and the URL is DOCKER_HOST's.
func TestHostsPageWithOneHost(t *testing.T) {
	d := views.HostsData{Now: testNow, Hosts: []models.HostStatus{{Name: models.LocalHost, Status: models.HostOK,
		EngineVersion: "29.0.1", APIVersion: "1.52", Containers: 4, LastSeen: testNow}}}
	doc := render(t, views.HostsPage(d))
	row := one(t, doc, "#"+views.HostRowID(models.LocalHost))
	if row.Find("a").Length() != 0 {
		t.Error("the one host's count links to a filter")
	}
	if got := text(row.Find("td").First()); got != "DOCKER_HOST" {
		t.Errorf("URL cell = %q, want DOCKER_HOST", got)
	}
}

func TestHostStatusBadgeCutsLongErrors(t *testing.T) {
	long := strings.Repeat("error during connect: dial tcp 10.0.0.2:2376: i/o timeout ", 5)
	doc := render(t, views.HostStatusBadge(models.HostStatus{Name: "nas", Status: models.HostUnreachable, Error: long, LastSeen: testNow}, testNow))
	p := one(t, doc, "p[title]")
	if attr(p, "title") != long {
		t.Error("the whole error is not the tooltip")
	}
	if n := len([]rune(text(p))); n > views.EngineReasonMax || !strings.HasSuffix(text(p), "…") {
		t.Errorf("error shown is %d runes, want at most %d with an ellipsis", n, views.EngineReasonMax)
	}
	if doc := render(t, views.HostStatusBadge(models.HostStatus{Name: "nas", Status: models.HostOK}, testNow)); text(doc.Selection) != "ok" {
		t.Errorf("ok badge = %q", text(doc.Selection))
	}
}

func TestHostFilterLinksEveryHost(t *testing.T) {
	doc := render(t, views.HostFilter([]string{"a", "b"}, "b"))
	nav := one(t, doc, "nav#"+views.HostFilterID)
	links := nav.Find("a")
	want := []struct{ text, href string }{
		{"every host", views.DashboardPath}, {"a", "/?host=a"}, {"b", "/?host=b"},
	}
	if links.Length() != len(want) {
		t.Fatalf("%d links, want %d", links.Length(), len(want))
	}
	for i, w := range want {
		l := links.Eq(i)
		if text(l) != w.text || attr(l, "href") != w.href {
			t.Errorf("link %d = %q → %q, want %q → %q", i, text(l), attr(l, "href"), w.text, w.href)
		}
		if cur := attr(l, "aria-current") == "page"; cur != (w.text == "b") {
			t.Errorf("link %q aria-current = %v", w.text, cur)
		}
	}
	if got := attr(one(t, render(t, views.HostFilter([]string{"a", "b"}, "")), "[aria-current]"), "href"); got != views.DashboardPath {
		t.Errorf("without a filter the current link is %q, want every host", got)
	}
}

// twoHostGroups: nginx runs on a and b, redis on a only.
func twoHostGroups() []models.ImageGroup {
	return []models.ImageGroup{
		{Image: "nginx:latest", Status: models.StatusPartial, Containers: []models.ContainerItem{
			onHost("a", "web", models.StatusUpToDate), onHost("b", "web", models.StatusOutdated), onHost("b", "web-2", models.StatusOutdated)}},
		{Image: "redis:7", Status: models.StatusOutdated, Containers: []models.ContainerItem{onHost("a", "cache", models.StatusOutdated)}},
	}
}

func TestDashboardOnHostShowsOnlyItsRows(t *testing.T) {
	d := views.NewDashboardData(twoHostGroups(), views.Jobs{}, editor, testNow).OnHost("b")
	d.Hosts = []string{"a", "b"}
	doc := render(t, views.ContainersPage(d))

	one(t, doc, "#"+views.HostFilterID+" a[aria-current=page][href='/?host=b']")
	if doc.Find("#"+views.RowID(models.Ref("a", "web"))+", #"+views.RowID(models.Ref("a", "cache"))).Length() != 0 {
		t.Error("a's rows show with the filter on b")
	}
	one(t, doc, "#"+views.RowID(models.Ref("b", "web")))
	one(t, doc, "#"+views.RowID(models.Ref("b", "web-2")))
	if doc.Find("#"+views.GroupID(models.GroupKey("redis:7"))).Length() != 0 {
		t.Error("the group without a row on b shows")
	}
	table := one(t, doc, "#"+views.TableID)
	if got := attr(table, "hx-get"); got != "/fragments/images?host=b" {
		t.Errorf("table refresh = %q, want it to keep the filter", got)
	}
	if got, want := text(table.Find("caption")), "2 running containers on b in 1 image: 2 outdated, 0 unknown"; got != want {
		t.Errorf("caption = %q, want %q", got, want)
	}
	head := one(t, doc, "#"+views.GroupHeaderID(models.GroupKey("nginx:latest")))
	if !strings.Contains(text(head), "+1 container on other hosts") {
		t.Errorf("group header = %q, want it to say a container is left out", text(head))
	}
	if doc.Find("#"+views.UpdateAllID(models.GroupKey("nginx:latest"))).Length() != 0 {
		t.Error("Update all offered while it would update hosts the page hides")
	}
	form := one(t, doc, "#"+views.UpdateButtonID(models.Ref("b", "web"))).Closest("form")
	if want := views.OnHost(views.UpdatePath(models.Ref("b", "web")), "b"); attr(form, "hx-post") != want || attr(form, "action") != want {
		t.Errorf("update form posts to %q / %q, want %q", attr(form, "hx-post"), attr(form, "action"), want)
	}
	check := one(t, doc, "#"+views.CheckNowID).Closest("form")
	if attr(check, "hx-post") != "/check?host=b" || attr(check, "action") != "/check?host=b" {
		t.Errorf("Check now posts to %q / %q, want the filter kept", attr(check, "hx-post"), attr(check, "action"))
	}
}

// A group wholly on the filter's host still offers Update all, and rows that
// poll ask with the filter, so their group header answers count the same rows.
func TestDashboardOnHostKeepsFilterInPolls(t *testing.T) {
	ref := models.Ref("a", "cache")
	p := running("cache", 40)
	p.Ref = ref
	jobs := views.Jobs{Progress: func(r models.ContainerRef) *models.Progress {
		if r == ref {
			return p
		}
		return nil
	}}
	d := views.NewDashboardData(twoHostGroups(), jobs, editor, testNow).OnHost("a")
	doc := render(t, views.ImagesTable(d))
	row := one(t, doc, "#"+views.RowID(ref))
	if got := attr(row, "hx-get"); got != views.OnHost(views.RowPath(ref), "a") {
		t.Errorf("row polls %q, want its path with the filter", got)
	}
	head := one(t, doc, "#"+views.GroupHeaderID(models.GroupKey("redis:7")))
	if strings.Contains(text(head), "other hosts") {
		t.Errorf("redis header = %q: every redis container is on a", text(head))
	}

	g := views.NewGroupData(twoHostGroups()[0], views.Jobs{GroupRunning: func(string) bool { return true }}, editor, testNow).OnHost("b")
	tbody := one(t, render(t, views.ImageGroup(g)), "tbody")
	if got := attr(tbody, "hx-get"); got != views.OnHost(views.GroupPath(g.Key), "b") {
		t.Errorf("group polls %q, want its path with the filter", got)
	}
}

// One host, or no filter: no filter control, and the table as before.
func TestDashboardWithoutFilter(t *testing.T) {
	d := views.NewDashboardData(twoHostGroups(), views.Jobs{}, editor, testNow)
	if got := d.OnHost(""); len(got.Groups) != 2 || got.Filter != "" {
		t.Errorf("OnHost(\"\") changed the dashboard: %d groups, filter %q", len(got.Groups), got.Filter)
	}
	doc := render(t, views.ContainersPage(d))
	if doc.Find("#"+views.HostFilterID).Length() != 0 {
		t.Error("a host filter without the host names")
	}
	if got := attr(one(t, doc, "#"+views.TableID), "hx-get"); got != views.ImagesFragmentPath {
		t.Errorf("table refresh = %q, want %q", got, views.ImagesFragmentPath)
	}
	one(t, doc, "#"+views.UpdateAllID(models.GroupKey("nginx:latest")))
}

func TestDashboardOnHostWithoutContainersSaysSo(t *testing.T) {
	d := views.NewDashboardData(twoHostGroups(), views.Jobs{}, editor, testNow).OnHost("c")
	got := text(one(t, render(t, views.ImagesTable(d)), "#"+views.EmptyID))
	if !strings.HasPrefix(got, "No running containers on host c.") {
		t.Errorf("empty notice = %q", got)
	}
}

func TestEngineBannerNamesTheHostsDown(t *testing.T) {
	since := time.Date(2026, 1, 2, 21, 4, 0, 0, time.Local)
	for _, tc := range []struct{ hosts, want string }{
		{"nas", "Host nas not reachable since 21:04: nas: dial tcp: timeout"},
		{"nas, vps", "Hosts nas, vps not reachable since 21:04: nas: dial tcp: timeout"},
	} {
		st := models.EngineState{Down: true, Hosts: tc.hosts, Since: since, Reason: "nas: dial tcp: timeout"}
		doc := render(t, views.EngineBanner(st, since.Add(time.Minute)))
		banner := one(t, doc, "#"+views.EngineBannerID)
		if got := text(banner); !strings.HasPrefix(got, tc.want) {
			t.Errorf("banner = %q, want it to start %q", got, tc.want)
		}
		if got := attr(one(t, doc, "a"), "href"); got != views.HostsPath {
			t.Errorf("banner links to %q, want the hosts page", got)
		}
	}
	// One host: the banner as before hosts, without a link.
	doc := render(t, views.EngineBanner(models.EngineState{Down: true, Since: since, Reason: "dial unix: no such file"}, since))
	if got := text(doc.Selection); !strings.HasPrefix(got, "Docker engine not reachable since 21:04: dial unix: no such file") {
		t.Errorf("one-host banner = %q", got)
	}
	if doc.Find("a").Length() != 0 {
		t.Error("the one-host banner links somewhere")
	}
}

// The layout links to the hosts page for whoever may browse, not on the
// login page.
func TestLayoutLinksToHosts(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    views.Viewer
		want bool
	}{
		{"viewer", views.Viewer{User: "bob", Role: "viewer"}, true},
		{"auth off", views.Viewer{CanUpdate: true}, true},
		{"login page", views.Viewer{}, false},
	} {
		doc := render(t, views.Layout("x", tc.v, views.EmptyState()))
		if got := doc.Find("header a[href='" + views.HostsPath + "']").Length(); (got == 1) != tc.want {
			t.Errorf("%s: %d links to the hosts page, want one: %v", tc.name, got, tc.want)
		}
	}
}

func TestHostIDsAndPaths(t *testing.T) {
	seen := map[string]bool{views.HostsID: true, views.HostFilterID: true, views.TableID: true}
	for _, h := range []string{"a", "nas", "nas-2", "filter", "s"} {
		id := views.HostRowID(h)
		if !selectorSafe.MatchString(id) || seen[id] {
			t.Errorf("HostRowID(%q) = %q: not selector safe or not distinct", h, id)
		}
		seen[id] = true
	}
	if got := views.OnHost(views.ImagesFragmentPath, "nas"); got != "/fragments/images?host=nas" {
		t.Errorf("OnHost = %q", got)
	}
	if got := views.OnHost(views.DashboardPath, "a&b=c"); got != "/?host=a%26b%3Dc" {
		t.Errorf("OnHost does not escape: %q", got)
	}
}
