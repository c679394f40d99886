package views_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"refit/models"
	"refit/views"
)

// job is a running update of name in phase ph with status.
func job(name string, ph models.Phase, status string) *models.Progress {
	return &models.Progress{Container: name, Phase: ph, Status: status, Overall: 100, BytesDone: 8388608, BytesTotal: 8388608,
		StartedAt: testNow.Add(-time.Minute)}
}

// While an update runs the row's badge says what it does, never the status
// the container may not keep: during the recreate the new container already
// runs the new image, and the update can still roll back.
func TestContainerRowBadgeFollowsTheJob(t *testing.T) {
	const name = "web"
	rolledBack := finished(name, models.PhaseFailed, "error: new container exited with code 3 (rolled back)")
	rolledBack.RolledBack = true
	tests := []struct {
		name       string
		row        views.RowData
		badge      string // the badge's text
		badgeClass string
		polls      bool
		texts      []string
		notTexts   []string
	}{
		{"pulling", views.RowData{Item: item(name, models.StatusOutdated), Progress: running(name, 30)},
			"pulling", "badge-updating", true, []string{"Downloading", "30%"}, nil},
		{"recreating", views.RowData{Item: item(name, models.StatusUpToDate), Progress: job(name, models.PhaseRecreating, "recreating")},
			"recreating", "badge-updating", true, []string{"100%"}, []string{"up to date"}},
		{"settling", views.RowData{Item: item(name, models.StatusUpToDate), Progress: job(name, models.PhaseRecreating, "settling 10s")},
			"settling 10s", "badge-updating", true, nil, []string{"up to date"}},
		{"health check", views.RowData{Item: item(name, models.StatusUpToDate), Progress: job(name, models.PhaseRecreating, "waiting for health check")},
			"waiting for health check", "badge-updating", true, nil, []string{"up to date"}},
		{"rolling back", views.RowData{Item: item(name, models.StatusUpToDate), Progress: job(name, models.PhaseRecreating, "rolling back")},
			"rolling back", "badge-updating", true, nil, []string{"up to date"}},
		{"recovering", views.RowData{Item: item(name, models.StatusUnknown), Progress: job(name, models.PhaseRecovering, "recovering")},
			"recovering", "badge-updating", true, []string{"recovering"}, []string{"unknown"}},
		{"queued in a group", views.RowData{Item: item(name, models.StatusOutdated), Progress: job(name, models.PhaseQueued, "queued"), InGroupJob: true},
			"queued", "badge-updating", false, []string{"queued"}, []string{"Pull complete", "outdated"}},
		{"queued before its job", views.RowData{Item: item(name, models.StatusOutdated), InGroupJob: true},
			"queued", "badge-updating", false, nil, []string{"outdated"}},
		{"done", views.RowData{Item: item(name, models.StatusUpToDate), Progress: finished(name, models.PhaseDone, "done")},
			"up to date", "badge-uptodate", false, []string{"updated"}, nil},
		{"rolled back", views.RowData{Item: item(name, models.StatusOutdated), Progress: rolledBack},
			"outdated", "badge-outdated", false, []string{"Update rolled back: new container exited with code 3", "rolled back"},
			[]string{"(rolled back)", "Update failed"}},
		{"failed", views.RowData{Item: item(name, models.StatusOutdated), Progress: finished(name, models.PhaseFailed, "error: pull: manifest unknown")},
			"outdated", "badge-outdated", false, []string{"Update failed: pull: manifest unknown"}, []string{"rolled back"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.row.Viewer = editor
			doc := render(t, views.ContainerRow(tc.row))
			badge := one(t, doc, ".badge")
			if got := text(badge); got != tc.badge {
				t.Errorf("badge = %q, want %q", got, tc.badge)
			}
			if !badge.HasClass(tc.badgeClass) {
				t.Errorf("badge class = %q, want %s", attr(badge, "class"), tc.badgeClass)
			}
			tr := one(t, doc, "tr")
			if got := hasAttr(tr, "hx-trigger"); got != tc.polls {
				t.Errorf("row polls = %v, want %v", got, tc.polls)
			}
			got := text(tr)
			for _, want := range tc.texts {
				if !strings.Contains(got, want) {
					t.Errorf("row text %q does not contain %q", got, want)
				}
			}
			for _, bad := range tc.notTexts {
				if strings.Contains(got, bad) {
					t.Errorf("row text %q contains %q", got, bad)
				}
			}
		})
	}
}

// The bar shows the whole pull's share, never the moving layer's percent.
func TestUpdateProgressShowsTheOverallPercent(t *testing.T) {
	p := running("web", 0)
	p.Percent, p.Overall = 90, 17 // the last layer is nearly there, the pull is not
	doc := render(t, views.UpdateProgress(*p))
	if got := attr(one(t, doc, "progress"), "value"); got != "17" {
		t.Errorf("progress value = %q, want 17", got)
	}
	got := text(one(t, doc, "#"+views.ProgressID(local("web"))))
	if !strings.Contains(got, "17%") || strings.Contains(got, "90%") {
		t.Errorf("progress text = %q, want 17%% and not the layer's 90%%", got)
	}
	if !strings.Contains(got, "3.1 MB / 8.4 MB") {
		t.Errorf("progress text = %q, want the bytes of all layers", got)
	}
}

func TestGroupHeaderFollowsTheJob(t *testing.T) {
	g := models.ImageGroup{Image: "nginx:latest", Status: models.StatusUpToDate,
		Containers: []models.ContainerItem{item("a", models.StatusUpToDate), item("b", models.StatusOutdated), item("c", models.StatusUpToDate)}}
	headerBadge := func(t *testing.T, jobs views.Jobs) string {
		t.Helper()
		doc := render(t, views.ImageGroup(views.NewGroupData(g, jobs, editor, testNow)))
		return text(one(t, doc, "#"+views.GroupHeaderID(models.GroupKey(g.Image))+" .badge"))
	}
	progress := func(m map[string]*models.Progress) func(models.ContainerRef) *models.Progress {
		return func(ref models.ContainerRef) *models.Progress { name := ref.Name; return m[name] }
	}
	if got := headerBadge(t, views.Jobs{}); got != "up to date" {
		t.Errorf("idle header badge = %q, want up to date", got)
	}
	single := views.Jobs{Progress: progress(map[string]*models.Progress{"a": job("a", models.PhaseRecreating, "settling 10s")})}
	if got := headerBadge(t, single); got != "settling 10s" {
		t.Errorf("header badge while a settles = %q, want settling 10s", got)
	}
	group := views.Jobs{GroupRunning: func(string) bool { return true }, Progress: progress(map[string]*models.Progress{
		"a": finished("a", models.PhaseDone, "done"),
		"b": job("b", models.PhaseRecreating, "waiting for health check"),
		"c": job("c", models.PhaseQueued, "queued"),
	})}
	if got := headerBadge(t, group); got != "waiting for health check" {
		t.Errorf("header badge during a group update = %q, want the recreating container's status", got)
	}
	// b's own update runs: "Update all" has nothing left to do.
	own := views.Jobs{Progress: progress(map[string]*models.Progress{"b": job("b", models.PhaseRecreating, "settling 10s")})}
	if doc := render(t, views.ImageGroup(views.NewGroupData(g, own, editor, testNow))); doc.Find("#"+views.UpdateAllID(models.GroupKey(g.Image))).Length() != 0 {
		t.Error(`"Update all" offered while the group's only outdated container updates`)
	}
	oob := render(t, views.GroupHeaderOOB(views.NewGroupData(g, single, editor, testNow)))
	if got := text(one(t, oob, "#"+views.GroupHeaderID(models.GroupKey(g.Image))+"[hx-swap-oob=true] .badge")); got != "settling 10s" {
		t.Errorf("out-of-band header badge = %q, want settling 10s", got)
	}
}

func TestAnnouncements(t *testing.T) {
	start := testNow.Add(-time.Minute)
	at := func(p *models.Progress, when time.Time) *models.Progress { p.StartedAt = when; return p }
	rolledBack := at(finished("web", models.PhaseFailed, "error: new container exited with code 3 (rolled back)"), start)
	rolledBack.RolledBack = true
	row := func(p *models.Progress) views.RowData {
		return views.RowData{Item: item("web", models.StatusOutdated), Progress: p}
	}
	idle := row(nil)
	updating := row(at(running("web", 40), start))
	recreating := row(job("web", models.PhaseRecreating, "settling 10s"))
	updated := row(at(finished("web", models.PhaseDone, "done"), start))
	failed := row(at(finished("web", models.PhaseFailed, "error: pull: manifest unknown"), start))
	retry := row(at(running("web", 5), start.Add(30*time.Second)))
	again := row(at(finished("web", models.PhaseDone, "done"), start.Add(30*time.Second)))

	tests := []struct {
		name  string
		shown string // as the asking element rendered it
		now   views.RowData
		want  []string
	}{
		{"start", views.ShownValue(idle), updating, []string{"Updating web"}},
		{"a poll that changes nothing", views.ShownValue(updating), updating, nil},
		{"pull to recreate is no news", views.ShownValue(updating), recreating, nil},
		{"done", views.ShownValue(recreating), updated, []string{"web updated"}},
		{"rolled back", views.ShownValue(updating), row(rolledBack), []string{"web rolled back: new container exited with code 3"}},
		{"failed", views.ShownValue(updating), failed, []string{"web update failed: pull: manifest unknown"}},
		{"over before the first answer", views.ShownValue(idle), updated, []string{"Updating web", "web updated"}},
		{"a second update after a failed one", views.ShownValue(failed), retry, []string{"Updating web"}},
		{"a second update that ended as the first", views.ShownValue(updated), again, []string{"Updating web", "web updated"}},
		{"the final answer polled twice", views.ShownValue(updated), updated, nil},
		{"no shown value", "", updating, nil},
		{"another container's value", "db=-", updating, nil},
		{"job expired", views.ShownValue(updated), idle, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := views.Announcements([]views.RowData{tc.now}, tc.shown)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Announcements(%q) (-want +got):\n%s", tc.shown, diff)
			}
		})
	}

	// A group's tbody says what it shows of each row.
	rows := []views.RowData{
		{Item: item("a", models.StatusOutdated), Progress: at(running("a", 10), start)},
		{Item: item("b.1", models.StatusOutdated), Progress: at(job("b.1", models.PhaseQueued, "queued"), start)},
		{Item: item("c_2", models.StatusUpToDate)},
	}
	shown := views.ShownValue(rows...)
	rows[0].Progress = at(finished("a", models.PhaseDone, "done"), start)
	rows[1].Progress = at(job("b.1", models.PhaseRecreating, "recreating"), start)
	if diff := cmp.Diff([]string{"a updated"}, views.Announcements(rows, shown)); diff != "" {
		t.Errorf("group announcements for %q (-want +got):\n%s", shown, diff)
	}
}

func TestAnnouncementSwapsIntoTheLiveRegion(t *testing.T) {
	doc := render(t, views.Announcement([]string{"Updating web", `db rolled back: <exit 3>`}))
	region := one(t, doc, "template #"+views.AnnouncerID)
	if got := attr(region, "hx-swap-oob"); got != "innerHTML" {
		t.Errorf("hx-swap-oob = %q, want innerHTML: the region itself must stay, or screen readers miss the words", got)
	}
	var got []string
	region.Find("p").Each(func(_ int, p *goquery.Selection) { got = append(got, text(p)) })
	if diff := cmp.Diff([]string{"Updating web", "db rolled back: <exit 3>"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if doc.Find("exit").Length() != 0 {
		t.Error("message is not escaped")
	}
	if empty := render(t, views.Announcement(nil)); empty.Find("template, #"+views.AnnouncerID).Length() != 0 {
		t.Error("no messages still swap the region")
	}

	layout := render(t, views.Layout("Containers", editor, views.ErrorPage(404, "x", editor)))
	live := one(t, layout, "#"+views.AnnouncerID)
	if attr(live, "aria-live") != "polite" || attr(live, "role") != "status" || !live.HasClass("sr-only") {
		t.Errorf("live region = %s, want a visually hidden polite status", attr(live, "class"))
	}
}

// Polling elements drop a poll while one is in flight (a second answer
// with the same ShownField would announce twice) and say what they show;
// the Update forms too, so their answer announces the start.
func TestPollingElementsSayWhatTheyShow(t *testing.T) {
	shownOf := func(t *testing.T, s *goquery.Selection) string {
		t.Helper()
		var vals map[string]string
		if err := json.Unmarshal([]byte(attr(s, "hx-vals")), &vals); err != nil {
			t.Fatalf("hx-vals %q: %v", attr(s, "hx-vals"), err)
		}
		return vals[views.ShownField]
	}
	r := views.RowData{Item: item("web", models.StatusOutdated), Progress: running("web", 20), Viewer: editor}
	tr := one(t, render(t, views.ContainerRow(r)), "tr")
	if got := attr(tr, "hx-sync"); got != "this:drop" {
		t.Errorf("row hx-sync = %q, want this:drop", got)
	}
	if got, want := shownOf(t, tr), views.ShownValue(r); got != want {
		t.Errorf("row shows %q, want %q", got, want)
	}
	// A toggle inside must not sync with the polls (htmx resolves an
	// inherited "this:drop" to the row) nor carry their values.
	if got := attr(tr, "hx-disinherit"); got != "hx-sync hx-vals" {
		t.Errorf("row hx-disinherit = %q, want hx-sync hx-vals", got)
	}

	g := models.ImageGroup{Image: "nginx:latest", Status: models.StatusOutdated, Containers: []models.ContainerItem{item("a", models.StatusOutdated), item("b", models.StatusOutdated)}}
	gd := views.NewGroupData(g, views.Jobs{GroupRunning: func(string) bool { return true }}, editor, testNow)
	tbody := one(t, render(t, views.ImageGroup(gd)), "tbody")
	if got := attr(tbody, "hx-sync"); got != "this:drop" {
		t.Errorf("tbody hx-sync = %q, want this:drop", got)
	}
	if got := attr(tbody, "hx-disinherit"); got != "hx-sync hx-vals" {
		t.Errorf("tbody hx-disinherit = %q, want hx-sync hx-vals", got)
	}
	if got, want := shownOf(t, tbody), views.ShownValue(gd.Rows...); got != want || !strings.Contains(got, "a=-") {
		t.Errorf("tbody shows %q, want %q", got, want)
	}

	idle := views.NewGroupData(g, views.Jobs{}, editor, testNow)
	doc := render(t, views.ImageGroup(idle))
	for _, form := range []string{views.UpdatePath(local("a")), views.GroupUpdatePath(idle.Key)} {
		in := one(t, doc, "form[action='"+form+"'] input[name="+views.ShownField+"]")
		if attr(in, "type") != "hidden" || attr(in, "value") == "" {
			t.Errorf("form %s carries %s = %q, want a hidden value", form, views.ShownField, attr(in, "value"))
		}
	}
}

func TestEngineBanner(t *testing.T) {
	since := time.Date(2026, 1, 2, 21, 4, 0, 0, time.Local)
	reason := `Cannot connect to the Docker daemon at unix:///var/run/docker.sock. <b>Is the docker daemon running?</b> ` +
		strings.Repeat("error during connect: dial unix: connect: no such file or directory ", 4)
	d := views.NewDashboardData([]models.ImageGroup{{Image: "nginx:latest", Status: models.StatusUpToDate,
		Containers: []models.ContainerItem{item("web", models.StatusUpToDate)}}}, views.Jobs{}, editor, since.Add(10*time.Minute))
	d.Engine = models.EngineState{Down: true, Since: since, Reason: reason}

	doc := render(t, views.ImagesTable(d))
	banner := one(t, doc, "#"+views.TableID+" #"+views.EngineBannerID)
	got := text(banner)
	if want := "Docker engine not reachable since 21:04: Cannot connect to the Docker daemon"; !strings.HasPrefix(got, want) {
		t.Errorf("banner = %q, want it to start %q", got, want)
	}
	if banner.Find("b").Length() != 0 || !strings.Contains(got, "<b>Is the docker") {
		t.Errorf("banner reason is not escaped: %q", got)
	}
	shown := text(banner.Find("[title]").Last())
	if n := len([]rune(shown)); n > views.EngineReasonMax || !strings.HasSuffix(shown, "…") {
		t.Errorf("reason shown is %d runes %q, want it cut to %d with an ellipsis", n, shown, views.EngineReasonMax)
	}
	if attr(banner.Find("[title]").Last(), "title") != reason {
		t.Error("the full reason is not the tooltip")
	}
	if got := attr(one(t, doc, "time[datetime='"+views.Timestamp(since)+"']"), "title"); got != views.ClockTime(since) {
		t.Errorf("time title = %q, want %q", got, views.ClockTime(since))
	}
	if banner.Find("[role=alert], [aria-live]").Length() != 0 || hasAttr(banner, "role") {
		t.Error("the banner is a live region; the table refresh would read it out every few seconds")
	}
	if got := attr(one(t, doc, "#"+views.TableID), "hx-trigger"); !strings.HasPrefix(got, "every 5s") {
		t.Errorf("table hx-trigger = %q, want a quicker refresh while the engine is out of reach", got)
	}
	one(t, doc, "#"+views.RowID(local("web"))) // the last seen rows stay

	d.Engine = models.EngineState{}
	if render(t, views.ImagesTable(d)).Find("#"+views.EngineBannerID).Length() != 0 {
		t.Error("banner shown while the engine answers")
	}
	// An outage since yesterday says the day.
	if got := views.ClockMinute(since, since.Add(5*time.Hour)); got != "2026-01-02 21:04" {
		t.Errorf("ClockMinute across midnight = %q, want the date too", got)
	}
}

func TestRecordsBanner(t *testing.T) {
	d := views.NewDashboardData(nil, views.Jobs{}, editor, time.Now())
	if doc := render(t, views.ImagesTable(d)); doc.Find("#"+views.RecordsBannerID).Length() != 0 {
		t.Fatal("a records banner without a problem")
	}
	d.Records = "database not writable: disk is full; updates are refused until it is"
	banner := one(t, render(t, views.ImagesTable(d)), "#"+views.TableID+" #"+views.RecordsBannerID)
	if got := text(banner); !strings.HasPrefix(got, d.Records) {
		t.Errorf("banner says %q", got)
	}
}
