package handlers

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/services"
	"refit/services/shoutrrr"
	"refit/services/shoutrrr/shoutrrrtest"
	"refit/views"
)

// The Notifications page from Chromium, over the real shoutrrr adapter and
// loopback receivers: an admin adds a webhook target with two events and
// one whose port is closed, sees each URL only masked, is refused a name
// taken twice without the URL coming back, sends a test message (the
// webhook gets it, the closed port is named with its error), sees both in
// the outbox, and removes the dead target.
func TestBrowserNotificationsPageAddsTestsAndRemovesTargets(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	hook := shoutrrrtest.NewWebhook(t)
	closed := shoutrrrtest.ClosedPort(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := services.NewNotifier(ta.db, shoutrrr.New(3*time.Second), ta.deps.Containers, log,
		services.NotifyOptions{Policies: ta.deps.Policies})
	n.Start()
	t.Cleanup(n.Close)
	ta.deps.Notifier = n
	ta.app = New(ta.deps)
	b := newBrowser(t, serveTestApp(t, ta))
	b.viewport(1280, 900)

	const secret = "s3cr3t-hook-token"
	open := func() {
		b.t.Helper()
		b.do(chromedp.Navigate(b.base+views.NotificationsPath), chromedp.WaitReady(chromedp.ID(views.AddTargetFormID)))
	}
	add := func(name, url string, events ...string) { // no events: every one
		b.t.Helper()
		if len(events) == 0 {
			events = models.Events
		}
		b.do(chromedp.SetValue(chromedp.ID("notify-name"), name), chromedp.SetValue(chromedp.ID("notify-url"), url))
		eval[chromedp.Void](b, fmt.Sprintf(`document.querySelectorAll('#%s input[name=events]').forEach(e => e.checked = %q.split(',').includes(e.value))`,
			views.AddTargetFormID, strings.Join(events, ",")))
		b.do(chromedp.Click(chromedp.CSS(`#`+views.AddTargetFormID+` button[type=submit]`)), chromedp.WaitReady(chromedp.CSS("main")))
	}
	html := func() string {
		b.t.Helper()
		return eval[string](b, `document.documentElement.outerHTML`)
	}

	open()
	add("hook", "generic+http://"+hook.Addr+"/refit?token="+secret, "updated", "failed")
	b.waitFor("the hook target", exists(views.TargetRowID("hook")), 10*time.Second, "#"+views.TargetsTableID)
	if got := b.text(views.TargetRowID("hook")); !strings.Contains(got, "updated, failed") || !strings.Contains(got, "***") {
		t.Errorf("hook's row = %q, want its two events and a masked URL", got)
	}
	add("down", "generic+http://"+closed+"/refit")
	b.waitFor("the down target", exists(views.TargetRowID("down")), 10*time.Second, "#"+views.TargetsTableID)

	// A name taken twice is refused, and the URL typed is not sent back.
	open()
	add("hook", "generic+http://"+hook.Addr+"/other?token="+secret+"-again")
	b.waitFor("the refusal", fmt.Sprintf(`((e) => !!e && e.innerText.includes('has that name'))(document.getElementById(%q))`, views.FormErrorID),
		10*time.Second, "main")
	if strings.Contains(html(), secret) {
		t.Error("a page shows the target's secret")
	}

	open()
	b.do(chromedp.Click(chromedp.CSS(`form[action="`+views.NotificationsTestPath+`"] button`)), chromedp.WaitReady(chromedp.ID(views.TestResultID)))
	result := b.text(views.TestResultID)
	if !strings.Contains(result, "Test message sent to 1 target") || !strings.Contains(result, "down") {
		t.Errorf("test result = %q, want 1 sent and down named", result)
	}
	if reqs := hook.Requests(); len(reqs) != 1 || reqs[0].Path != "/refit" {
		t.Errorf("the webhook got %+v, want the one test message", reqs)
	}
	outbox := b.text(views.OutboxTableID)
	if !strings.Contains(outbox, "sent") || !strings.Contains(outbox, "failed") {
		t.Errorf("outbox = %q, want a sent and a failed message", outbox)
	}
	if strings.Contains(html(), secret) {
		t.Error("the page shows the target's secret after the test")
	}
	saveScreenshot(t, "notifications.png", b.fullScreenshot())

	b.do(chromedp.Click(chromedp.CSS(`#`+views.TargetRowID("down")+` button[type=submit]`)), chromedp.WaitReady(chromedp.ID(views.AddTargetFormID)))
	b.waitFor("the down target to go", "!"+exists(views.TargetRowID("down")), 10*time.Second, "#"+views.TargetsTableID)
	if !eval[bool](b, exists(views.TargetRowID("hook"))) {
		t.Error("removing down removed hook too")
	}
}
