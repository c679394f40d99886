package views_test

import (
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// rowOf is a row of image in a group of its own, with the group's status
// and remote facts.
func rowOf(it models.ContainerItem, image string, remote models.ImageFacts, note string) views.RowData {
	g := models.ImageGroup{Image: image, Status: it.Status, Remote: remote, RemoteNote: note,
		Containers: []models.ContainerItem{it}}
	return views.NewRowData(g, it, views.Jobs{}, views.Viewer{CanUpdate: true})
}

// An outdated row says what it is behind by: the local and the new version
// with their build dates, and a link to the new image's source.
func TestRowVersionOfAnOutdatedRow(t *testing.T) {
	built := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	it := models.ContainerItem{ContainerName: "web", Status: models.StatusOutdated, Ref: models.Ref(models.LocalHost, "web"),
		Local: models.ImageFacts{Version: "1.2.0", Created: built, Source: "https://example.test/old"}}
	r := rowOf(it, "ghcr.io/org/web:1", models.ImageFacts{Version: "1.3.0", Created: built.AddDate(0, 1, 0),
		Source: "https://example.test/releases"}, "")
	doc := render(t, views.ContainerRow(r))
	line := one(t, doc, "#"+views.RowVersionID(it.Ref))
	for _, want := range []string{"1.2.0 (2025-03-04)", "1.3.0 (2025-04-04)", "source"} {
		if !strings.Contains(text(line), want) {
			t.Errorf("version line %q does not say %q", text(line), want)
		}
	}
	a := one(t, doc, "#"+views.RowVersionID(it.Ref)+" a")
	if attr(a, "href") != "https://example.test/releases" || attr(a, "rel") != "noopener noreferrer" {
		t.Errorf("source link = %q rel %q, want the new image's source, noopener", attr(a, "href"), attr(a, "rel"))
	}
	if got := attr(line.Find("time").First(), "datetime"); got != "2025-03-04T05:06:07Z" {
		t.Errorf("build date datetime = %q", got)
	}
}

// Without labels the versions are the tag; where refit did not read the new
// image the row says why.
func TestRowVersionFallsBackToTheTagAndSaysWhy(t *testing.T) {
	it := models.ContainerItem{ContainerName: "db", Status: models.StatusOutdated, Ref: models.Ref(models.LocalHost, "db")}
	r := rowOf(it, "docker.io/library/postgres:16", models.ImageFacts{}, models.NoteDockerHub)
	got := text(render(t, views.ContainerRow(r)).Find("#" + views.RowVersionID(it.Ref)))
	for _, want := range []string{"16", "newer 16", models.NoteDockerHub} {
		if !strings.Contains(got, want) {
			t.Errorf("version line %q does not say %q", got, want)
		}
	}
}

// A digest-pinned container shows a badge and a short reference, the full
// one in the tooltip; an up-to-date row shows only its version, without link
// when the label is no http(s) URL.
func TestRowVersionPinnedAndUpToDate(t *testing.T) {
	full := "ghcr.io/org/app@sha256:" + strings.Repeat("ab", 32)
	it := models.ContainerItem{ContainerName: "app", Status: models.StatusUnknown, Configured: full, Ref: models.Ref(models.LocalHost, "app")}
	doc := render(t, views.ContainerRow(rowOf(it, "ghcr.io/org/app", models.ImageFacts{}, "")))
	line := one(t, doc, "#"+views.RowVersionID(it.Ref))
	if !strings.Contains(text(line), "pinned") || !strings.Contains(text(line), "ghcr.io/org/app@sha256:abababab") ||
		strings.Contains(text(line), strings.Repeat("ab", 32)) || attr(line.Find("[title]"), "title") != full {
		t.Errorf("pinned line = %q (title %q)", text(line), attr(line.Find("[title]"), "title"))
	}

	labels := map[string]string{models.LabelVersion: "2.0", models.LabelSource: "javascript:alert(1)"}
	it = models.ContainerItem{ContainerName: "ok", Status: models.StatusUpToDate, Ref: models.Ref(models.LocalHost, "ok"), Local: models.FactsFromLabels(labels, time.Time{})}
	doc = render(t, views.ContainerRow(rowOf(it, "ghcr.io/org/ok:2", models.ImageFacts{}, "")))
	line = one(t, doc, "#"+views.RowVersionID(it.Ref))
	if text(line) != "2.0" || line.Find("a").Length() != 0 {
		t.Errorf("up-to-date line = %q with %d links, want the version alone", text(line), line.Find("a").Length())
	}
	it = models.ContainerItem{ContainerName: "bare", Status: models.StatusUpToDate}
	if n := render(t, views.ContainerRow(rowOf(it, "nginx:1", models.ImageFacts{}, ""))).Find(".row-version").Length(); n != 0 {
		t.Errorf("an up-to-date row without a version label has %d version lines", n)
	}
}

// The row's state line: uptime, health and ports; the engine's state only
// when it is not plainly running.
func TestRowStateLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		it   models.ContainerItem
		want []string
		not  []string
	}{
		{"healthy with ports", models.ContainerItem{State: "running", StatusText: "Up 3 hours (healthy)", Health: models.HealthHealthy,
			Ports: []models.Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Proto: "udp"}}},
			[]string{"up 3 hours", "healthy", "8080→80", "127.0.0.1:5353→53/udp"}, []string{"running", "(healthy)"}},
		{"unhealthy", models.ContainerItem{State: "running", StatusText: "Up 2 minutes (unhealthy)", Health: models.HealthUnhealthy},
			[]string{"up 2 minutes", "unhealthy"}, nil},
		{"restarting", models.ContainerItem{State: "restarting", StatusText: "Restarting (1) 5 seconds ago"},
			[]string{"restarting", "restarting (1) 5 seconds ago"}, nil},
		{"many ports", models.ContainerItem{State: "running", StatusText: "Up 1 second", Ports: []models.Port{
			{HostPort: 1, ContainerPort: 1}, {HostPort: 2, ContainerPort: 2}, {HostPort: 3, ContainerPort: 3}, {HostPort: 4, ContainerPort: 4}, {HostPort: 5, ContainerPort: 5}}},
			[]string{"1→1 2→2 3→3 +2"}, []string{"4→4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.it.ContainerName, tc.it.Status = "web", models.StatusUpToDate
			got := text(render(t, views.ContainerRow(rowOf(tc.it, "nginx:1", models.ImageFacts{}, ""))).Find(".row-state"))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("state line %q does not say %q", got, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("state line %q says %q", got, w)
				}
			}
		})
	}
}

// Names wrap at their separators: a <wbr> after each, the text unchanged.
func TestRowNameWrapsAtSeparators(t *testing.T) {
	it := models.ContainerItem{ContainerName: "my-very_long.name", Status: models.StatusUpToDate}
	name := one(t, render(t, views.ContainerRow(rowOf(it, "nginx:1", models.ImageFacts{}, ""))), ".ctr-name")
	if name.Find("wbr").Length() != 3 || text(name) != "my-very_long.name" {
		t.Errorf("name %q with %d <wbr>, want 3", text(name), name.Find("wbr").Length())
	}
}

// A finished update says when it ended.
func TestRowUpdatedSaysWhen(t *testing.T) {
	it := models.ContainerItem{ContainerName: "web", Status: models.StatusUpToDate, Ref: models.Ref(models.LocalHost, "web")}
	ended := time.Now().Add(-time.Minute)
	r := rowOf(it, "nginx:1", models.ImageFacts{}, "")
	r.Progress = &models.Progress{Phase: models.PhaseDone, Ref: it.Ref, EndedAt: ended}
	p := one(t, render(t, views.ContainerRow(r)), "td p:contains('updated')")
	if tm := p.Find("time"); attr(tm, "datetime") != views.Timestamp(ended) || !strings.Contains(text(p), views.ClockMinute(ended, time.Now())) {
		t.Errorf("updated line %q, time %q", text(p), attr(tm, "datetime"))
	}
}

// The auto-update control is its label, which says on or off at every
// width (the 44 px target is the label's class).
func TestAutoUpdateToggleHasAVisibleLabel(t *testing.T) {
	it := models.ContainerItem{ContainerName: "web", Ref: models.Ref(models.LocalHost, "web")}
	doc := render(t, views.AutoUpdateToggle(it, true, views.Viewer{CanUpdate: true}))
	label := one(t, doc, "label.toggle-label")
	if label.Find("input#"+views.ToggleInputID(it.Ref)).Length() != 1 || !strings.Contains(text(label.Find("[aria-hidden]")), "on") {
		t.Errorf("toggle label %q does not hold the checkbox and a visible on", text(label))
	}
	if label.Find(".hidden").Length() != 0 {
		t.Error("the on/off word is hidden at some width")
	}
}

// A group of one container offers no Update all: the row's Update says it.
func TestOneContainerGroupHasNoUpdateAll(t *testing.T) {
	one := models.ContainerItem{ContainerName: "web", Status: models.StatusOutdated, Ref: models.Ref(models.LocalHost, "web")}
	g := models.ImageGroup{Image: "nginx:1", Status: models.StatusOutdated, Containers: []models.ContainerItem{one}}
	v := views.Viewer{CanUpdate: true}
	if views.NewGroupData(g, views.Jobs{}, v, time.Now()).ShowUpdateAll() {
		t.Error("a group of one offers Update all")
	}
	two := one
	two.ContainerName, two.Ref = "web-2", models.Ref(models.LocalHost, "web-2")
	g.Containers = append(g.Containers, two)
	if !views.NewGroupData(g, views.Jobs{}, v, time.Now()).ShowUpdateAll() {
		t.Error("a group of two outdated offers no Update all")
	}
}

// A group narrowed by the query offers no Update all: it would update the
// rows the page hides; outdated groups come first.
func TestArrangeHidesUpdateAllOfNarrowedGroupsAndSortsOutdatedFirst(t *testing.T) {
	item := func(name string, st models.Status) models.ContainerItem {
		return models.ContainerItem{ContainerName: name, Status: st, Ref: models.Ref(models.LocalHost, name)}
	}
	ok := models.ImageGroup{Image: "a:1", Status: models.StatusUpToDate, Containers: []models.ContainerItem{item("calm", models.StatusUpToDate)}}
	web := models.ImageGroup{Image: "z:1", Status: models.StatusOutdated, Containers: []models.ContainerItem{
		item("web-1", models.StatusOutdated), item("web-2", models.StatusOutdated)}}
	d := views.NewDashboardData([]models.ImageGroup{ok, web}, views.Jobs{}, views.Viewer{CanUpdate: true}, time.Now())
	all := d.Arrange(views.Query{})
	if all.Groups[0].Group.Image != "z:1" || !all.Groups[0].ShowUpdateAll() {
		t.Errorf("first group %s (Update all %v), want the outdated z:1 with Update all", all.Groups[0].Group.Image, all.Groups[0].ShowUpdateAll())
	}
	narrow := d.Arrange(views.Query{Search: "web-2"})
	if len(narrow.Groups) != 1 || len(narrow.Groups[0].Rows) != 1 || narrow.Groups[0].ShowUpdateAll() {
		t.Errorf("narrowed to web-2: %d groups, Update all %v", len(narrow.Groups), narrow.Groups[0].ShowUpdateAll())
	}
	if p := narrow.Pending(); len(p) != 1 || p[0].Who != "web-2" {
		t.Errorf("Update all outdated of the narrowed page = %+v, want web-2 alone", p)
	}
}

// The page head names the engine and its versions, when the last check
// ran and when the next one is.
func TestPageHeadSaysEnginesAndChecks(t *testing.T) {
	now := time.Now()
	d := views.DashboardData{Now: now, LastCheck: now.Add(-3 * time.Minute), NextCheck: now.Add(57 * time.Minute),
		Engines: []models.HostStatus{{Name: "local", EngineVersion: "27.5.1", APIVersion: "1.47"}}}
	got := text(render(t, views.PageHead(d)).Selection)
	for _, want := range []string{"Docker 27.5.1 (API 1.47)", "checked 3 min ago", "next in 57 min"} {
		if !strings.Contains(got, want) {
			t.Errorf("page head %q does not say %q", got, want)
		}
	}
	d.Engines = append(d.Engines, models.HostStatus{Name: "nas", Status: models.HostUnreachable})
	if got := text(render(t, views.PageHead(d)).Selection); !strings.Contains(got, "2 engines: local 27.5.1, nas unreachable") {
		t.Errorf("page head with two hosts = %q", got)
	}
}
