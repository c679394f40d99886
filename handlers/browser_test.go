package handlers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
	"refit/views"
)

// The browser tests need Chromium (REFIT_TEST_CHROMIUM or chromium on PATH)
// and a Docker engine (REFIT_TEST_DOCKER_HOST); see browser_helpers_test.go.

// updateTimeout bounds one update seen from the browser: a throttled pull
// of a few MiB, a recreate that settles for 500ms, and a poll a second.
const updateTimeout = 60 * time.Second

func TestBrowserDashboardListsGroupsWithStatusBadges(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	a.push(t, "test/fresh:1", ocitest.ImageOpts{Marker: "v1"})
	fresh := a.run(t, "test/fresh:1", "fresh")
	a.push(t, "test/stale:1", ocitest.ImageOpts{Marker: "v1"})
	stale := a.run(t, "test/stale:1", "stale")
	a.push(t, "test/stale:1", ocitest.ImageOpts{Marker: "v2"})
	a.push(t, "test/mixed:1", ocitest.ImageOpts{Marker: "v1"})
	mixedOld := a.run(t, "test/mixed:1", "mixed-old")
	a.push(t, "test/mixed:1", ocitest.ImageOpts{Marker: "v2"})
	mixedNew := a.run(t, "test/mixed:1", "mixed-new")
	a.check(t)

	b := newBrowser(t, a.base)
	b.open(views.DashboardPath)

	// The page came gzip-encoded, as the dashboard keeps it for browsers.
	nav := eval[struct {
		Encoded int `json:"encoded"`
		Decoded int `json:"decoded"`
	}](b, `(() => {
		const n = performance.getEntriesByType('navigation')[0];
		return {encoded: n.encodedBodySize, decoded: n.decodedBodySize};
	})()`)
	if nav.Encoded <= 0 || nav.Encoded >= nav.Decoded {
		t.Errorf("the page came %d bytes on the wire for %d decoded; want it compressed", nav.Encoded, nav.Decoded)
	}

	groups := []struct {
		repoTag   string
		badge     models.Status
		updateAll bool
	}{
		{"test/fresh:1", models.StatusUpToDate, false},
		{"test/stale:1", models.StatusOutdated, false}, // one container: its row's Update is enough
		{"test/mixed:1", models.StatusPartial, true},
	}
	for _, g := range groups {
		id := a.groupID(g.repoTag)
		got := eval[struct {
			Exists    bool   `json:"exists"`
			Badge     string `json:"badge"`
			Image     string `json:"image"`
			UpdateAll bool   `json:"updateAll"`
		}](b, fmt.Sprintf(`(() => {
			const g = document.getElementById(%q);
			if (!g) return {exists: false};
			const badge = g.querySelector('tr:first-child .badge');
			return {
				exists: true,
				badge: [...badge.classList].find(c => c.startsWith('badge-')).slice(6),
				image: g.querySelector('tr:first-child').innerText,
				updateAll: !!document.getElementById(%q),
			};
		})()`, id, views.UpdateAllID(models.GroupKey(a.reg.Ref(g.repoTag)))))
		if !got.Exists {
			t.Errorf("group %s: no <tbody id=%s>", g.repoTag, id)
			continue
		}
		if got.Badge != string(g.badge) || got.UpdateAll != g.updateAll {
			t.Errorf("group %s shows badge %q and Update all %v, want %q and %v", g.repoTag, got.Badge, got.UpdateAll, g.badge, g.updateAll)
		}
	}

	rows := []struct {
		name   string
		badge  models.Status
		update bool
	}{
		{fresh, models.StatusUpToDate, false},
		{stale, models.StatusOutdated, true},
		{mixedOld, models.StatusOutdated, true},
		{mixedNew, models.StatusUpToDate, false},
	}
	for _, r := range rows {
		got := b.row(r.name)
		if !got.Exists {
			t.Errorf("row %s is missing", r.name)
			continue
		}
		if got.Badge != string(r.badge) || got.Update != r.update || got.Trigger != "" {
			t.Errorf("row %s shows %q, Update button %v, hx-trigger %q; want %q, %v, none (%s)",
				r.name, got.Badge, got.Update, got.Trigger, r.badge, r.update, got.Text)
		}
	}
	// The rows sit in their groups.
	if !eval[bool](b, fmt.Sprintf(`!!document.querySelector('#%s > #%s') && !!document.querySelector('#%s > #%s')`,
		a.groupID("test/mixed:1"), views.RowID(local(mixedOld)), a.groupID("test/mixed:1"), views.RowID(local(mixedNew)))) {
		t.Errorf("rows of test/mixed:1 are not inside its tbody")
	}
}

func TestBrowserUpdateShowsProgressAndEndsUpToDateWithoutReload(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	a.push(t, "test/app:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/app:1", "app")
	oldID := dockertest.Inspect(t, a.cli, name).ID
	a.push(t, "test/app:1", ocitest.ImageOpts{Marker: "v2", ExtraLayerSize: 3 << 20})
	a.check(t)

	b := newBrowser(t, a.base)
	b.viewport(1280, 800)
	b.open(views.DashboardPath)
	if got := b.row(name); got.Badge != string(models.StatusOutdated) || !got.Update {
		t.Fatalf("before: row shows %q with Update button %v, want outdated with one (%s)", got.Badge, got.Update, got.Text)
	}
	b.markPage()
	// Record every value the <progress> takes, between Go's polls too.
	eval[chromedp.Void](b, fmt.Sprintf(`(() => {
		window.__values = [];
		setInterval(() => {
			const p = document.querySelector('#%s progress');
			if (!p) return;
			const v = Math.round(p.value);
			if (window.__values[window.__values.length - 1] !== v) window.__values.push(v);
		}, 20);
	})()`, views.ProgressID(local(name))))

	// About 2 s for the 3 MiB layer: the row's first poll, a second after
	// the click, lands mid-pull even when the server is slow to answer.
	a.reg.SetBlobRate(3 << 19)
	b.click(views.UpdateButtonID(local(name)))

	b.waitFor("a <progress> between 0 and 100 in row "+name,
		fmt.Sprintf(`(() => { const s = %s; return s.progress && s.value > 0 && s.value < 100 })()`, rowCall(name)),
		20*time.Second, "#"+views.RowID(local(name)))
	saveScreenshot(t, "updating.png", b.screenshot(a.groupID("test/app:1")))
	mid := b.row(name)
	if mid.Trigger == "" || !mid.Polling {
		t.Errorf("mid-update the row does not poll: hx-trigger %q, data-polling %v", mid.Trigger, mid.Polling)
	}
	if mid.Percent == "" || mid.Percent == "0%" || mid.Percent == "100%" {
		t.Errorf("mid-update percent text = %q, want between 0%% and 100%%", mid.Percent)
	}

	end := b.waitRowSettled(name, models.StatusUpToDate, updateTimeout)
	if end.Update {
		t.Errorf("after the update the row still offers Update: %s", end.Text)
	}
	if !b.pageMarked() {
		t.Error("the page was reloaded during the update; want htmx swaps only")
	}
	values := eval[[]int](b, `window.__values`)
	var between bool
	for _, v := range values {
		between = between || (v > 0 && v < 100)
	}
	if len(values) < 2 || !between {
		t.Errorf("<progress> values seen: %v; want it to move, through a value between 0 and 100", values)
	}
	t.Logf("progress values seen: %v; row at the end: %s", values, end.Text)
	// Only the row polls; its answers carry the group header out of band, so
	// the group's status follows without waiting for the table's refresh.
	header := eval[string](b, fmt.Sprintf(`document.querySelector('#%s tr').innerText.replace(/\s+/g, ' ')`, a.groupID("test/app:1")))
	if !strings.Contains(header, "up to date") && !strings.Contains(strings.ToLower(header), "uptodate") {
		t.Errorf("group header at the end = %q, want it up to date", header)
	}
	if strings.Contains(header, "Update all") {
		t.Errorf("group header at the end still offers Update all: %q", header)
	}
	if ins := dockertest.Inspect(t, a.cli, name); ins.ID == oldID || !ins.State.Running {
		t.Errorf("container %s is %s running=%v, want a new running container (old %s)", name, ins.ID, ins.State.Running, oldID)
	}
}

func TestBrowserUpdateAllUpdatesTheGroup(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	a.push(t, "test/pair:1", ocitest.ImageOpts{Marker: "v1"})
	first := a.run(t, "test/pair:1", "pair")
	second := a.run(t, "test/pair:1", "pair")
	a.push(t, "test/pair:1", ocitest.ImageOpts{Marker: "v2"})
	a.check(t)

	b := newBrowser(t, a.base)
	b.open(views.DashboardPath)
	b.markPage()
	b.recordRow(first) // and the live region
	key := models.GroupKey(a.reg.Ref("test/pair:1"))
	b.click(views.UpdateAllID(key))

	group := "#" + a.groupID("test/pair:1")
	// The answer is the tbody, polling while the job runs (not its rows).
	b.waitFor("the group's tbody to poll", fmt.Sprintf(`(() => {
		const g = document.querySelector(%q);
		return !!g && g.getAttribute('data-polling') === 'group' && !!g.getAttribute('hx-trigger') &&
			!g.querySelector('tr[hx-trigger]');
	})()`, group), 10*time.Second, group)
	b.waitFor("the group to finish updating", fmt.Sprintf(`(() => {
		const g = document.querySelector(%q);
		return !!g && !g.hasAttribute('hx-trigger') && !g.querySelector('progress') &&
			[%q, %q].every(id => { const r = document.getElementById(id); return r && r.querySelector('.badge-uptodate') });
	})()`, group, views.RowID(local(first)), views.RowID(local(second))), updateTimeout, group)
	for _, n := range []string{first, second} {
		if got := b.row(n); got.Badge != string(models.StatusUpToDate) || got.Update || got.Trigger != "" {
			t.Errorf("row %s after Update all: %q, Update button %v, hx-trigger %q (%s)", n, got.Badge, got.Update, got.Trigger, got.Text)
		}
	}
	if eval[bool](b, fmt.Sprintf(`!!document.getElementById(%q)`, views.UpdateAllID(key))) {
		t.Error(`"Update all" is still offered after the group is up to date`)
	}
	if !b.pageMarked() {
		t.Error("the page was reloaded during the group update")
	}
	if g := a.group(t, "test/pair:1"); g.Status != models.StatusUpToDate {
		t.Errorf("service snapshot says %s, want uptodate", g.Status)
	}
	// The tbody's polls announce each container's start and end once.
	said := b.announced()
	t.Logf("the live region heard: %q", said)
	for _, n := range []string{first, second} {
		assertSaidOnce(t, said, []string{"Updating " + n, n + " updated"}, n+" rolled back")
	}
}

func TestBrowserAutoUpdateToggleSurvivesReload(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	a.push(t, "test/tog:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/tog:1", "tog")
	a.check(t)

	b := newBrowser(t, a.base)
	b.open(views.DashboardPath)
	if got := b.row(name); got.AutoCheck || got.AutoOff {
		t.Fatalf("before: auto-update checked %v, disabled %v; want an enabled, unchecked box", got.AutoCheck, got.AutoOff)
	}
	b.click(views.ToggleInputID(local(name)))
	// The checkbox flips at once in the browser; wait until the server has it.
	deadline := time.Now().Add(10 * time.Second)
	for !a.deps.Toggles.AutoUpdate(local(name)) {
		if time.Now().After(deadline) {
			t.Fatal("the toggle never reached the server")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.waitFor("the toggle's answer to be swapped in", fmt.Sprintf(`(() => {
		const f = document.getElementById(%q); return !!f && !f.classList.contains('htmx-request') && %s.autocheck })()`,
		views.ToggleID(local(name)), rowCall(name)), 10*time.Second, "#"+views.RowID(local(name)))

	b.do(chromedp.Reload(), chromedp.WaitReady(chromedp.ID(views.TableID)))
	if got := b.row(name); !got.AutoCheck {
		t.Errorf("after a reload the auto-update box is unchecked (%s)", got.Text)
	}
	var found bool
	for _, g := range a.apiImages(t) {
		for _, c := range g.Containers {
			if c.ContainerName == name {
				found = true
				if !c.AutoUpdate {
					t.Errorf("GET /api/images shows auto_update false for %s", name)
				}
			}
		}
	}
	if !found {
		t.Errorf("GET /api/images does not list %s", name)
	}
}

func TestBrowserCheckNowFindsNewVersion(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	a.push(t, "test/chk:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/chk:1", "chk")
	a.check(t)

	b := newBrowser(t, a.base)
	b.open(views.DashboardPath)
	if got := b.row(name); got.Badge != string(models.StatusUpToDate) {
		t.Fatalf("before: row shows %q, want uptodate", got.Badge)
	}
	b.markPage()
	a.push(t, "test/chk:1", ocitest.ImageOpts{Marker: "v2"})
	b.click(views.CheckNowID)
	b.waitFor("the row to show outdated", fmt.Sprintf(`%s.badge === "outdated"`, rowCall(name)),
		30*time.Second, "#"+views.TableID)
	if got := b.row(name); !got.Update {
		t.Errorf("the outdated row offers no Update button (%s)", got.Text)
	}
	if !b.pageMarked() {
		t.Error("Check now reloaded the page; want the table swapped")
	}
}

// TestBrowserDashboardScreenshots renders a dashboard with every kind of
// group at desktop and phone widths. With REFIT_WRITE_SCREENSHOTS=1 they are
// written to docs/ for a person to look at.
func TestBrowserDashboardScreenshots(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	a.push(t, "demo/web:1.27", ocitest.ImageOpts{Marker: "web"})
	a.run(t, "demo/web:1.27", "web")
	a.run(t, "demo/web:1.27", "web")
	a.push(t, "demo/api:2", ocitest.ImageOpts{Marker: "api-1"})
	api := a.run(t, "demo/api:2", "api")
	a.push(t, "demo/api:2", ocitest.ImageOpts{Marker: "api-2"})
	a.push(t, "demo/worker:latest", ocitest.ImageOpts{Marker: "worker-1"})
	a.run(t, "demo/worker:latest", "worker")
	a.push(t, "demo/worker:latest", ocitest.ImageOpts{Marker: "worker-2"})
	a.run(t, "demo/worker:latest", "worker")
	a.push(t, "demo/jobs:3", ocitest.ImageOpts{Marker: "jobs-1"})
	jobs := a.run(t, "demo/jobs:3", "jobs")
	a.push(t, "demo/jobs:3", ocitest.ImageOpts{Marker: "jobs-2", Env: []string{"TESTAPP_EXIT=3"}})
	// Built here, never pushed: the registry has no such tag.
	dockertest.Load(t, a.cli, ocitest.Tarball(t, a.reg.Ref("demo/tools:dev"), ocitest.ImageOpts{Marker: "tools"}))
	tools := dockertest.UniqueName(t, "tools")
	dockertest.Run(t, a.cli, dockertest.RunOpts{Name: tools, Image: a.reg.Ref("demo/tools:dev")})
	dockertest.RemoveAtCleanup(t, a.cli, tools)
	if err := a.deps.Toggles.Set(local(api), true); err != nil {
		t.Fatal(err)
	}
	a.check(t) // auto-update is on for api, and starts it: let it finish before the picture
	// A failed update (the new version exits at once and is rolled back).
	if _, err := a.deps.Updates.StartContainer(jobs, "test"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{api, jobs} {
		deadline := time.Now().Add(updateTimeout)
		for {
			p, err := a.deps.Updates.Progress(local(n))
			if err == nil && !p.Running() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("update of %s did not end: %+v, %v", n, p, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	b := newBrowser(t, a.base)
	b.viewport(1280, 800)
	b.open(views.DashboardPath)
	if got := b.row(jobs); !got.Exists {
		t.Fatalf("row %s is missing", jobs)
	}
	saveScreenshot(t, "dashboard.png", b.fullScreenshot())

	b.viewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	b.open(views.DashboardPath)
	saveScreenshot(t, "dashboard-phone.png", b.fullScreenshot())
	overflow := eval[struct {
		Page  int `json:"page"`
		View  int `json:"view"`
		Table int `json:"table"`
		Box   int `json:"box"`
	}](b, `(() => {
		const t = document.querySelector('#images table');
		return {page: document.documentElement.scrollWidth, view: window.innerWidth,
			table: t ? t.scrollWidth : 0, box: t ? t.parentElement.clientWidth : 0};
	})()`)
	if overflow.Page > overflow.View {
		t.Errorf("at 390px the page is %dpx wide: it scrolls sideways", overflow.Page)
	}
	if overflow.Table > overflow.Box {
		t.Errorf("at 390px the table is %dpx wide in a %dpx box: it scrolls inside its box", overflow.Table, overflow.Box)
	}
}

// submitLogin fills in and submits the /login form, as a person would.
func (b *browser) submitLogin(user, password string) {
	b.t.Helper()
	form := "#" + views.LoginFormID
	b.do(
		chromedp.Navigate(b.base+views.LoginPath),
		chromedp.WaitVisible(chromedp.CSS(form+` input[type=password]`)),
		chromedp.SendKeys(chromedp.CSS(form+` input[autocomplete=username]`), user),
		chromedp.SendKeys(chromedp.CSS(form+` input[type=password]`), password),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
	)
}

// login signs in and waits for the dashboard.
func (b *browser) login(user, password string) {
	b.t.Helper()
	b.submitLogin(user, password)
	b.waitFor("the dashboard after signing in", fmt.Sprintf(`location.pathname === %q && !!document.getElementById(%q)`,
		views.DashboardPath, views.TableID), 10*time.Second, "body")
}

func TestBrowserLoginThroughTheForm(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t, testUser{Name: "ada", Password: "correct horse battery", Role: models.RoleOperator})
	a.push(t, "test/login:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/login:1", "login")
	a.check(t)

	b := newBrowser(t, a.base)
	b.do(chromedp.Navigate(b.base + views.DashboardPath))
	b.waitFor("a redirect to the login page", fmt.Sprintf(`location.pathname === %q && !!document.getElementById(%q)`,
		views.LoginPath, views.LoginFormID), 10*time.Second, "body")

	b.submitLogin("ada", "wrong password, surely")
	b.waitFor("the login page to say the password is wrong", fmt.Sprintf(`!!document.getElementById(%q)`, views.FormErrorID),
		10*time.Second, "body")
	if eval[bool](b, fmt.Sprintf(`!!document.getElementById(%q)`, views.TableID)) {
		t.Fatal("a wrong password shows the dashboard")
	}

	b.login("ada", "correct horse battery")
	if !eval[bool](b, `document.querySelector('header').innerText.includes('ada')`) {
		t.Error("the header does not name the signed-in user")
	}
	if got := b.row(name); !got.Exists || got.Badge != string(models.StatusUpToDate) {
		t.Fatalf("after signing in row %s = %+v, want it up to date", name, got)
	}
	// htmx requests carry the session's CSRF token: Check now goes through.
	b.markPage()
	a.push(t, "test/login:1", ocitest.ImageOpts{Marker: "v2"})
	b.click(views.CheckNowID)
	b.waitFor("the row to show outdated after Check now", fmt.Sprintf(`%s.badge === "outdated"`, rowCall(name)),
		30*time.Second, "#"+views.ToastsID)
	if got := b.row(name); !got.Update || !b.pageMarked() {
		t.Errorf("after Check now: Update button %v, page kept %v; want both", got.Update, b.pageMarked())
	}
}

// A viewer changes their own password: Account in the header, the form,
// the login page saying so, and back in with the new password.
func TestBrowserChangePasswordOnTheAccountPage(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t, testUser{Name: "val", Password: "the old password", Role: models.RoleViewer})

	b := newBrowser(t, a.base)
	b.login("val", "the old password")
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`header a[href=%q]`, views.AccountPath))))
	form := "#" + views.PasswordFormID
	b.waitFor("the account page", fmt.Sprintf(`location.pathname === %q && !!document.querySelector(%q)`,
		views.AccountPath, form), 10*time.Second, "body")
	b.do(
		chromedp.SendKeys(chromedp.CSS(form+` input[name=current]`), "the old password"),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=new]`), "a brand new password"),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=repeat]`), "a brand new password"),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
	)
	b.waitFor("the login page to say the password changed", fmt.Sprintf(
		`location.pathname === %q && (document.getElementById(%q) || {}).textContent === %q`,
		views.LoginPath, views.NoticeID, views.PasswordChangedNotice), 10*time.Second, "body")

	b.login("val", "a brand new password")
}

func TestBrowserViewerSeesNoUpdateButtons(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t, testUser{Name: "vic", Password: "just looking around", Role: models.RoleViewer})
	a.push(t, "test/view:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/view:1", "view")
	a.push(t, "test/view:1", ocitest.ImageOpts{Marker: "v2"})
	a.check(t)

	b := newBrowser(t, a.base)
	b.login("vic", "just looking around")
	got := b.row(name)
	if got.Badge != string(models.StatusOutdated) {
		t.Fatalf("row %s shows %q, want outdated (%s)", name, got.Badge, got.Text)
	}
	if got.Update || !got.AutoOff {
		t.Errorf("a viewer sees an Update button %v and an enabled auto-update box %v", got.Update, !got.AutoOff)
	}
	buttons := eval[int](b, fmt.Sprintf(`document.querySelectorAll('[id^="update-"], [id^="updateall-"], #%s').length`, views.CheckNowID))
	if buttons != 0 {
		t.Errorf("a viewer sees %d update or check buttons, want none", buttons)
	}
	// Hidden is not enough: the same request the button would send is refused.
	status := run(b, chromedp.Evaluate[int](fmt.Sprintf(`fetch(%q, {method: 'POST', headers: Object.assign(
		{'HX-Request': 'true'}, JSON.parse(document.body.getAttribute('hx-headers') || '{}'))}).then(r => r.status)`,
		views.UpdatePath(local(name))), chromedp.EvalAwaitPromise))
	if status != 403 {
		t.Errorf("a viewer's POST %s = %d, want 403", views.UpdatePath(local(name)), status)
	}
}

// settleForTheEye is how long a new container must run in the swap tests:
// several of the row's polls land in the recreate, where the update can
// still roll back.
const settleForTheEye = 3 * time.Second

// An update seen from the dashboard and from a script at once: the row
// polls through the swap without ever showing the "gone" row or a status it
// may lose, the API answers about the container by its old ID throughout,
// and the live region hears the start and the end once each.
func TestBrowserRowKeepsPollingThroughTheSwap(t *testing.T) {
	chromiumPath(t)
	a := newLiveAppSettling(t, settleForTheEye)
	a.push(t, "test/swap:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/swap:1", "swap")
	a.push(t, "test/swap:1", ocitest.ImageOpts{Marker: "v2", ExtraLayerSize: 1 << 20})
	a.check(t)
	oldID := dockertest.Inspect(t, a.cli, name).ID

	steps, said, answers, header := updateFromTheDashboard(t, a, name, oldID[:12], "test/swap:1", "settling")

	end := assertRowPolledToTheEnd(t, steps, func(s rowStep) bool {
		return s.Badge == "up to date" && strings.Contains(s.Text, "updated")
	})
	var recreating bool
	for _, s := range steps {
		if s.Polling && s.Badge == "up to date" {
			t.Errorf("the row said up to date while its update still ran: %s", s)
		}
		recreating = recreating || (s.Polling && strings.HasPrefix(s.Badge, "settling"))
	}
	if !recreating {
		t.Errorf("the row's badge never said it was settling during a %s settle", settleForTheEye)
	}
	if strings.Contains(end.Text, "Update ") {
		t.Errorf("the row ends offering Update or telling of a failure: %s", end)
	}
	if header != "up to date" {
		t.Errorf("group header badge at the end = %q, want up to date", header)
	}
	assertSaidOnce(t, said, []string{"Updating " + name, name + " updated"}, name+" rolled back")

	ins := dockertest.Inspect(t, a.cli, name)
	if ins.ID == oldID || !ins.State.Running {
		t.Fatalf("container %s is %s running=%v, want a new running container", name, ins.ID, ins.State.Running)
	}
	last := assertProgressAnsweredToTheEnd(t, answers)
	if last.Status != "done" || last.ContainerID != ins.ID[:12] {
		t.Errorf("last progress: status %q container_id %q; want done and the new container %s", last.Status, last.ContainerID, ins.ID[:12])
	}
}

// The same when the new version exits at once: the update rolls back, the
// row says so in the same place, and the old container runs on.
func TestBrowserRowKeepsPollingThroughARollback(t *testing.T) {
	chromiumPath(t)
	a := newLiveAppSettling(t, settleForTheEye)
	a.push(t, "test/back:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/back:1", "back")
	a.push(t, "test/back:1", ocitest.ImageOpts{Marker: "v2", Env: []string{"TESTAPP_EXIT=3"}})
	a.check(t)
	oldID := dockertest.Inspect(t, a.cli, name).ID

	steps, said, answers, header := updateFromTheDashboard(t, a, name, oldID[:12], "test/back:1", "")

	end := assertRowPolledToTheEnd(t, steps, func(s rowStep) bool {
		return strings.Contains(s.Text, "rolled back")
	})
	for _, s := range steps {
		if s.Badge == "up to date" {
			t.Errorf("the row said up to date during an update that rolled back: %s", s)
		}
	}
	if end.Badge != "outdated" || !strings.Contains(end.Text, "Update rolled back:") {
		t.Errorf("the row ends %s; want outdated and the rollback with its reason", end)
	}
	if header != "outdated" {
		t.Errorf("group header badge at the end = %q, want outdated", header)
	}
	var rolledBack string
	for _, s := range said {
		if strings.HasPrefix(s, name+" rolled back: ") {
			rolledBack = s
		}
	}
	if rolledBack == "" {
		t.Fatalf("the live region never heard %q; it heard %q", name+" rolled back: …", said)
	}
	assertSaidOnce(t, said, []string{"Updating " + name, rolledBack}, name+" updated")

	if ins := dockertest.Inspect(t, a.cli, name); ins.ID != oldID || !ins.State.Running {
		t.Errorf("container %s is %s running=%v, want the old one %s running again", name, ins.ID, ins.State.Running, oldID)
	}
	last := assertProgressAnsweredToTheEnd(t, answers)
	if !strings.HasPrefix(last.Status, "error: ") || !last.RolledBack || last.ContainerID != oldID[:12] {
		t.Errorf("last progress: status %q rolled_back %v container_id %q; want an error, rolled back, the old container %s",
			last.Status, last.RolledBack, last.ContainerID, oldID[:12])
	}
}

// updateFromTheDashboard clicks name's Update button with the row and the
// live region recorded, while a script polls the progress by the old ID,
// and returns what both saw once the row stopped polling and the API said
// the job ended, and the words of the group header's badge then. It saves
// screenshots of the group when the row's badge first says mid (unless
// "") and at the end.
func updateFromTheDashboard(t *testing.T, a *liveApp, name, oldID, repoTag, mid string) (
	steps []rowStep, said []string, answers []progressAnswer, header string) {
	t.Helper()
	b := newBrowser(t, a.base)
	b.viewport(1280, 800)
	b.open(views.DashboardPath)
	if got := b.row(name); got.Badge != string(models.StatusOutdated) || !got.Update {
		t.Fatalf("before: row shows %q with Update button %v, want outdated with one (%s)", got.Badge, got.Update, got.Text)
	}
	b.markPage()
	b.recordRow(name)

	ctx, cancel := context.WithTimeout(t.Context(), updateTimeout)
	defer cancel()
	polled := make(chan []progressAnswer, 1)
	go func() { polled <- a.pollProgress(ctx, oldID) }()
	b.click(views.UpdateButtonID(local(name)))

	b.waitFor("row "+name+" to start polling", fmt.Sprintf(`%s.trigger !== ''`, rowCall(name)), 10*time.Second, "#"+views.RowID(local(name)))
	shot := strings.ReplaceAll(strings.TrimSuffix(repoTag, ":1"), "/", "-")
	if mid != "" {
		// Not fatal: the recording below says what the row went through instead.
		badge := fmt.Sprintf(`((document.getElementById(%q) || document).querySelector('.badge') || {textContent: ''}).textContent`,
			views.RowID(local(name)))
		b.waitFor("row "+name+"'s badge to say "+mid+" or the row to stop polling", fmt.Sprintf(
			`%s.startsWith(%q) || %s.trigger === ''`, badge, mid, rowCall(name)), updateTimeout, "#"+views.RowID(local(name)))
		if eval[bool](b, fmt.Sprintf(`%s.startsWith(%q)`, badge, mid)) {
			saveScreenshot(t, shot+"-"+mid+".png", b.screenshot(a.groupID(repoTag)))
			// The row's toggle still works while it polls: its request is not
			// synced with (and dropped for) the row's polls.
			b.click(views.ToggleInputID(local(name)))
			deadline := time.Now().Add(5 * time.Second)
			for !a.deps.Toggles.AutoUpdate(local(name)) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !a.deps.Toggles.AutoUpdate(local(name)) {
				t.Error("the auto-update toggle clicked during the update never reached the server")
			}
		}
	}
	b.waitFor("row "+name+" to stop polling", fmt.Sprintf(`(() => { const s = %s; return s.exists && !s.trigger && !s.polling })()`,
		rowCall(name)), updateTimeout, "#"+views.TableID)
	select { // the script's last poll comes soon after the row's, or never
	case answers = <-polled:
	case <-time.After(5 * time.Second):
		cancel()
		answers = <-polled
	}
	time.Sleep(300 * time.Millisecond) // a last tick of the recorder
	steps, said = b.rowSteps(), b.announced()
	header = eval[string](b, fmt.Sprintf(`(document.querySelector('#%s tr .badge') || {textContent: ''}).textContent.trim()`,
		a.groupID(repoTag)))
	var log strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&log, "\n  %s", s)
	}
	t.Logf("row %s went through:%s\nthe live region heard: %q", name, log.String(), said)
	saveScreenshot(t, shot+"-end.png", b.screenshot(a.groupID(repoTag)))
	if !b.pageMarked() {
		t.Error("the page was reloaded during the update; want htmx swaps only")
	}
	return steps, said, answers, header
}

// assertRowPolledToTheEnd checks that the row never showed the missing
// row, never moved, and polled from its first poll until it showed the
// outcome (final), and returns its last state.
func assertRowPolledToTheEnd(t *testing.T, steps []rowStep, final func(rowStep) bool) rowStep {
	t.Helper()
	if len(steps) < 3 {
		t.Fatalf("the row went through %d states, want idle, updating and the end: %v", len(steps), steps)
	}
	first, started := steps[0], false
	for _, s := range steps {
		switch {
		case !s.Exists || s.Gone:
			t.Errorf("the row went missing during the update: %s", s)
		case s.Index != first.Index || s.Parent != first.Parent:
			t.Errorf("the row moved from #%d in %s: %s", first.Index, first.Parent, s)
		case s.Polling:
			started = true
		case started && !final(s):
			t.Errorf("the row stopped polling before the job ended: %s", s)
		}
	}
	end := steps[len(steps)-1]
	if !started || end.Polling || !final(end) {
		t.Errorf("the row ends %s (polled: %v); want the outcome, not polling", end, started)
	}
	return end
}

// assertSaidOnce checks that the live region heard each of want exactly
// once, in order, and never never.
func assertSaidOnce(t *testing.T, said, want []string, never string) {
	t.Helper()
	var order []string
	for _, w := range want {
		n := 0
		for _, s := range said {
			if s == w {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the live region heard %q %d times, want once (it heard %q)", w, n, said)
		}
	}
	for _, s := range said {
		if slices.Contains(want, s) {
			order = append(order, s)
		}
		if strings.HasPrefix(s, never) {
			t.Errorf("the live region heard %q", s)
		}
	}
	if len(order) == len(want) && !slices.Equal(order, want) {
		t.Errorf("the live region heard %q in the wrong order", order)
	}
}

// assertProgressAnsweredToTheEnd checks that from its first answer about
// the job to the end, GET /api/images/{old id}/progress never said 404, and
// returns the last answer.
func assertProgressAnsweredToTheEnd(t *testing.T, answers []progressAnswer) progressAnswer {
	t.Helper()
	var codes []string
	started, bad := false, 0
	for _, a := range answers {
		codes = append(codes, fmt.Sprintf("%d %s %s", a.Code, a.Phase, a.ContainerID))
		if a.Code == http.StatusOK {
			started = true
		} else if started {
			bad++
		}
	}
	t.Logf("GET progress answered (%d times, changes only): %s", len(answers), compact(codes))
	if bad > 0 {
		t.Errorf("GET progress answered %d times mid-update with something else than 200", bad)
	}
	if !started {
		t.Fatal("GET progress never answered 200")
	}
	last := answers[len(answers)-1]
	if last.Code != http.StatusOK || last.Running() {
		t.Fatalf("GET progress stopped at %d %+v before the job ended", last.Code, last.Progress)
	}
	return last
}

// compact joins ss, leaving out repeats of the one before.
func compact(ss []string) string {
	var out []string
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return strings.Join(out, " → ")
}
