package handlers

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/views"
)

// serveTestApp serves ta for real on 127.0.0.1 until the test ends, for
// the browser, over the fake engine.
func serveTestApp(t *testing.T, ta testApp) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ta.app.Listener(ln) }()
	t.Cleanup(func() {
		if err := ta.app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// openMenu opens the row menu of ref, as a click on its ⋯ does, and waits
// for its items, which the menu loads as it first opens.
func (b *browser) openMenu(ref models.ContainerRef) {
	b.t.Helper()
	b.clickCSS("#" + views.MenuID(ref) + " > summary")
	b.waitFor("the menu of "+ref.String()+" to open with its items",
		fmt.Sprintf(`((m) => !!m && m.open && !!m.querySelector(%q))(document.getElementById(%q))`,
			"#"+views.ActionID(ref, "history"), views.MenuID(ref)),
		5*time.Second, "#"+views.RowID(ref))
	b.settled() // the items' hx-* are bound once htmx has processed them
}

// text is the text of the element with this id, spaces collapsed, "" when
// there is none.
func (b *browser) text(id string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`((e) => e ? e.textContent.replace(/\s+/g, ' ').trim() : '')(document.getElementById(%q))`, id))
}

// settled waits until no htmx request, swap or settle is under way.
func (b *browser) settled() {
	b.t.Helper()
	b.waitFor("htmx to settle", `!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`,
		5*time.Second, "body")
}

func exists(id string) string { return fmt.Sprintf(`!!document.getElementById(%q)`, id) }

// inPanel is true when the element is in the dashboard's panel slot, not
// on a page of its own.
func inPanel(id string) string {
	return fmt.Sprintf(`!!document.querySelector('#%s #%s')`, views.PanelSlotID, id)
}

// The row menu from Chromium over the fake engine, auth off (admin): snooze
// and see the badge and "Update all" go, stop a container into the Stopped
// section and start it from there, skip its version and clear the policy,
// restart it, follow a log and close it, and delete with the typed name (a
// wrong one is refused with a toast).
func TestBrowserRowMenuPolicyStopStartLogsDelete(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	withSecondNginx(t, ta)
	base := serveTestApp(t, ta)
	b := newBrowser(t, base)
	b.viewport(1280, 900)
	nginx, app, app2 := local("nginx"), local("app"), local("app-2")
	_, g, err := ta.deps.Containers.FindRef(nginx)
	if err != nil {
		t.Fatal(err)
	}
	gid, allID := views.GroupID(models.GroupKey(g.Image)), views.UpdateAllID(models.GroupKey(g.Image))

	b.open(views.DashboardPath)
	b.markPage()
	if !eval[bool](b, exists(allID)) {
		t.Fatalf("nginx's group offers no Update all before the snooze:\n%s", b.text(gid))
	}

	// Snooze: the row answers with its badge, and the header, out of band,
	// without Update all (nothing left to update).
	b.openMenu(nginx)
	saveScreenshot(t, "row-menu.png", b.fullScreenshot())
	b.click(views.ActionID(nginx, models.PolicySnooze))
	b.waitFor("the snoozed badge", fmt.Sprintf(`((r) => !!r && r.innerText.includes('snoozed until'))(document.getElementById(%q))`,
		views.RowID(nginx)), 10*time.Second, "#"+views.RowID(nginx))
	if eval[bool](b, exists(allID)) {
		t.Errorf("Update all still offered for a snoozed container:\n%s", b.text(gid))
	}
	if pol := ta.deps.Policies.Get(nginx); pol.SnoozeUntil == nil || time.Until(*pol.SnoozeUntil) < 6*24*time.Hour {
		t.Errorf("policy after Snooze = %+v, want 7 days", pol)
	}

	// Stop: the table answers without the row, and the Stopped list follows.
	b.openMenu(nginx)
	b.click(views.ActionID(nginx, "stop"))
	b.waitFor("nginx to leave the table", "!"+exists(views.RowID(nginx)), 10*time.Second, "#"+views.TableID)
	b.waitFor("nginx in Stopped", exists(views.StoppedRowID(nginx)), 10*time.Second, "#"+views.StoppedID)
	if got := b.text(views.StoppedSummaryID); got != "Stopped (1)" {
		t.Errorf("Stopped summary = %q, want Stopped (1)", got)
	}
	b.do(chromedp.Click(chromedp.ID(views.StoppedSummaryID)))
	b.waitFor("the Stopped section to open", fmt.Sprintf(`document.getElementById(%q).open`, views.StoppedID), 5*time.Second, "#"+views.StoppedID)
	if got := b.text(views.StoppedRowID(nginx)); !strings.Contains(got, "nginx") || !strings.Contains(got, "exited") {
		t.Errorf("Stopped row = %q, want name, image and state", got)
	}
	saveScreenshot(t, "stopped.png", b.fullScreenshot())

	// Start from Stopped: back in the table, out of the list, which stays open.
	b.click(views.ActionID(nginx, "start"))
	b.waitFor("nginx back in the table", exists(views.RowID(nginx)), 10*time.Second, "#"+views.TableID)
	b.waitFor("nginx out of Stopped", "!"+exists(views.StoppedRowID(nginx)), 10*time.Second, "#"+views.StoppedID)
	if !eval[bool](b, fmt.Sprintf(`document.getElementById(%q).open`, views.StoppedID)) {
		t.Error("the Stopped section closed when its list refreshed")
	}
	if got := b.text(views.RowID(nginx)); !strings.Contains(got, "snoozed until") {
		t.Errorf("nginx after its start = %q, want the snooze still shown", got)
	}

	// Skip this version: a second badge; Clear policy: both go, and the
	// group offers Update all again.
	rowText := func(text string) string {
		return fmt.Sprintf(`((r) => !!r && r.innerText.includes(%q))(document.getElementById(%q))`, text, views.RowID(nginx))
	}
	b.openMenu(nginx)
	b.click(views.ActionID(nginx, models.PolicySkipCurrent))
	b.waitFor("the skipped badge", rowText("skipped"), 10*time.Second, "#"+views.RowID(nginx))
	if pol := ta.deps.Policies.Get(nginx); len(pol.SkipDigests) != 1 || pol.SkipDigests[0] != g.RemoteFull {
		t.Errorf("policy after Skip this version = %+v, want the remote digest %s skipped", pol, g.RemoteFull)
	}
	b.openMenu(nginx)
	b.click(views.ActionID(nginx, models.PolicyClear))
	b.waitFor("the badges to go", "!"+rowText("skipped")+" && !"+rowText("snoozed until"), 10*time.Second, "#"+views.RowID(nginx))
	b.waitFor("Update all to come back", exists(allID), 10*time.Second, "#"+gid)
	if pol := ta.deps.Policies.Get(nginx); !pol.Empty() {
		t.Errorf("policy after Clear = %+v, want none", pol)
	}

	// Restart: the engine starts it again; the row stays.
	before, _ := ta.engine.Container("nginx")
	b.openMenu(nginx)
	b.click(views.ActionID(nginx, "restart"))
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, ok := ta.engine.Container("nginx"); ok && c.Running && c.StartedAt.After(before.StartedAt) {
			break
		}
		if time.Now().After(end) {
			t.Fatal("Restart did not restart nginx in the engine")
		}
	}
	b.waitFor("nginx's row after the restart", exists(views.RowID(nginx)), 10*time.Second, "#"+views.TableID)

	// Logs: the panel shows the lines and follows them; Close ends it.
	ta.engine.SetLogs("app", "listening on :8080", "GET /health 200")
	b.openMenu(app)
	b.click(views.ActionID(app, "logs"))
	b.waitFor("the log lines", fmt.Sprintf(`((e) => !!e && e.textContent.includes('GET /health 200'))(document.getElementById(%q))`,
		views.LogLinesID), 10*time.Second, "#"+views.PanelSlotID)
	ta.engine.SetLogs("app", "listening on :8080", "GET /health 200", "GET /api 404")
	b.waitFor("the panel to follow the log", fmt.Sprintf(`((e) => !!e && e.textContent.includes('GET /api 404'))(document.getElementById(%q))`,
		views.LogLinesID), 10*time.Second, "#"+views.PanelSlotID)
	saveScreenshot(t, "logs.png", b.fullScreenshot())
	b.do(chromedp.SetValue(chromedp.ID(views.LogTailID), "500"))
	eval[chromedp.Void](b, fmt.Sprintf(`document.getElementById(%q).dispatchEvent(new Event('change', {bubbles: true}))`, views.LogTailID))
	b.waitFor("the lines to poll with tail 500", fmt.Sprintf(`((e) => !!e && e.getAttribute('hx-get').endsWith('tail=500'))(document.getElementById(%q))`,
		views.LogLinesID), 10*time.Second, "#"+views.PanelSlotID)
	b.settled() // the new panel's Close is bound once htmx has processed it
	b.click(views.LogCloseID)
	b.waitFor("the panel to close", "!"+exists(views.LogPanelID), 10*time.Second, "#"+views.PanelSlotID)
	time.Sleep(2500 * time.Millisecond) // a poll that outlived the panel would bring it back
	if eval[bool](b, exists(views.LogPanelID)) {
		t.Error("the log panel came back after Close: its polling did not stop")
	}

	// Delete app-2: a wrong name is refused with a toast, the right one deletes.
	b.openMenu(app2)
	b.do(chromedp.Click(chromedp.CSS("#" + views.DeleteID(app2) + " > summary")))
	b.do(chromedp.SendKeys(chromedp.ID(views.ConfirmInputID(app2)), "app"))
	b.click(views.ActionID(app2, "delete"))
	b.waitFor("a toast for the wrong name", fmt.Sprintf(`document.getElementById(%q).innerText.includes('type app-2 to delete it')`,
		views.ToastsID), 10*time.Second, "#"+views.ToastsID)
	if !eval[bool](b, exists(views.RowID(app2))) {
		t.Fatal("app-2 is gone after a wrong name")
	}
	saveScreenshot(t, "delete-confirm.png", b.fullScreenshot())
	eval[chromedp.Void](b, fmt.Sprintf(`document.getElementById(%q).value = ''`, views.ConfirmInputID(app2)))
	b.do(chromedp.SendKeys(chromedp.ID(views.ConfirmInputID(app2)), "app-2"))
	b.click(views.ActionID(app2, "delete"))
	b.waitFor("app-2 to leave the table", "!"+exists(views.RowID(app2)), 10*time.Second, "#"+views.TableID)
	if _, ok := ta.engine.Container("app-2"); ok {
		t.Error("app-2 still exists in the engine")
	}
	if !b.pageMarked() {
		t.Error("the page reloaded: every action should have been a fragment")
	}
}

// The row menu's page, opened directly in a browser with JavaScript (a
// middle click on its link before the menu loaded): its items are plain
// forms there, so Snooze posts and lands on the dashboard with the badge.
func TestBrowserRowMenuPageWorksAsPlainForms(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	base := serveTestApp(t, ta)
	b := newBrowser(t, base)
	b.viewport(1280, 900)
	nginx := local("nginx")
	b.openPage(views.MenuPath(nginx))
	b.do(chromedp.Click(chromedp.ID(views.ActionID(nginx, models.PolicySnooze))))
	b.waitFor("the dashboard with the snoozed badge", fmt.Sprintf(`location.pathname === '/' && ((r) => !!r && r.innerText.includes('snoozed until'))(document.getElementById(%q))`,
		views.RowID(nginx)), 10*time.Second, "body")
	if pol := ta.deps.Policies.Get(nginx); pol.SnoozeUntil == nil {
		t.Errorf("policy after Snooze on the menu's page = %+v", pol)
	}
}

// Preview and Backups from Chromium over the fake engine: the preview
// panel shows what the update keeps and ends with Update, which updates
// the row and closes the panel; the Backups panel then lists the image
// nginx ran, and Roll back puts nginx back on it.
func TestBrowserPreviewUpdateAndRollback(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	upd := ta.withBackups(t)
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	base := serveTestApp(t, ta)
	b := newBrowser(t, base)
	b.viewport(1280, 900)
	nginx := local("nginx")
	rowHas := func(what, text string) {
		b.t.Helper()
		b.waitFor(what, fmt.Sprintf(`((r) => !!r && r.innerText.includes(%q))(document.getElementById(%q))`, text, views.RowID(nginx)),
			20*time.Second, "#"+views.RowID(nginx))
	}

	b.open(views.DashboardPath)
	b.markPage()
	b.openMenu(nginx)
	b.click(views.ActionID(nginx, "preview"))
	b.waitFor("the preview panel", inPanel(views.PreviewUpdateID), 10*time.Second, "#"+views.PanelSlotID)
	if got := b.text(views.PreviewPanelID); !strings.Contains(got, "Update preview of nginx") || !strings.Contains(got, "Keeps") {
		t.Errorf("preview panel = %q", got)
	}
	saveScreenshot(t, "preview.png", b.fullScreenshot())
	b.settled()
	b.click(views.PreviewUpdateID)
	b.waitFor("the panel to close", "!"+exists(views.PreviewPanelID), 10*time.Second, "#"+views.PanelSlotID)
	rowHas("nginx updated", "updated")
	if it, _, err := ta.deps.Containers.FindRef(nginx); err != nil || it.ImageID != "sha256:img-new" {
		t.Fatalf("after Update nginx runs %q (%v)", it.ImageID, err)
	}

	b.openMenu(nginx)
	b.click(views.ActionID(nginx, "backups"))
	b.waitFor("the backups panel", inPanel(views.BackupsPanelID), 10*time.Second, "#"+views.PanelSlotID)
	bks, err := upd.Backups(nginx)
	if err != nil || len(bks) != 1 {
		t.Fatalf("backups = %v, %v", bks, err)
	}
	if got := b.text(views.BackupRowID(bks[0].ID)); !strings.Contains(got, "nginx:latest") {
		t.Errorf("backup row = %q", got)
	}
	saveScreenshot(t, "backups.png", b.fullScreenshot())
	b.settled()
	b.click(views.ActionID(nginx, "rollback-"+bks[0].ID))
	b.waitFor("the backups panel to close", "!"+exists(views.BackupsPanelID), 10*time.Second, "#"+views.PanelSlotID)
	rowHas("nginx rolled back", "updated")
	deadline := time.Now().Add(20 * time.Second)
	for {
		it, _, err := ta.deps.Containers.FindRef(nginx)
		if err == nil && it.ImageID == "sha256:img-old" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Roll back nginx runs %q (%v), want sha256:img-old", it.ImageID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !b.pageMarked() {
		t.Error("the page reloaded: preview, update, backups and rollback should have been fragments")
	}
}

// Version tags from Chromium over the fake engine: the panel's form sets a
// rule, the row then offers the newer tag, and Update to moves the
// container onto it, all as fragments.
func TestBrowserVersionTagsPanelAndUpdateToTag(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	ta.reg.Set("ghcr.io/org/app:1.3", dOld)
	ta.engine.Publish("ghcr.io/org/app:1.3", "sha256:img-app13", dOld)
	base := serveTestApp(t, ta)
	b := newBrowser(t, base)
	b.viewport(1280, 900)
	app := local("app")

	b.open(views.DashboardPath)
	b.markPage()
	b.openMenu(app)
	b.click(views.ActionID(app, "tags"))
	b.waitFor("the tags panel", inPanel(views.TagIncludeID), 10*time.Second, "#"+views.PanelSlotID)
	if got := b.text(views.TagsPanelID); !strings.Contains(got, "Follows no version tags") {
		t.Errorf("tags panel = %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.ID(views.TagIncludeID), `^\d+\.\d+$`))
	b.settled()
	b.click(views.TagSaveID)
	b.waitFor("the row to offer 1.3", fmt.Sprintf(`((e) => !!e && e.innerText.includes('1.3 available'))(document.getElementById(%q))`,
		views.TagOfferID(app)), 10*time.Second, "#"+views.RowID(app))
	if eval[bool](b, exists(views.TagsPanelID)) {
		t.Error("the tags panel stayed open after Save")
	}
	saveScreenshot(t, "tag-offer.png", b.fullScreenshot())
	b.click(views.ActionID(app, "update-tag"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, _ := ta.engine.Container("app"); c.ConfiguredImage == "ghcr.io/org/app:1.3" {
			break
		}
		if time.Now().After(deadline) {
			c, _ := ta.engine.Container("app")
			t.Fatalf("after Update to 1.3 app runs %s", c.ConfiguredImage)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !b.pageMarked() {
		t.Error("the page reloaded: the tags panel and Update to should have been fragments")
	}
}
