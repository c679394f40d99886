package handlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/views"
)

// serve serves the app for real on 127.0.0.1 until the test ends, for the
// browser; unlike newLiveApp it needs no Docker engine.
func (ta twoHostApp) serve(t *testing.T) string {
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

// refRow is what a container's <tr> shows, found by its host-qualified id.
type refRow struct {
	Exists bool   `json:"exists"`
	Badge  string `json:"badge"` // "uptodate", "outdated", "unknown", … from the badge-* class
	Host   string `json:"host"`  // the host badge's words
	Text   string `json:"text"`
}

func (b *browser) refRow(ref models.ContainerRef) refRow {
	b.t.Helper()
	return eval[refRow](b, fmt.Sprintf(`((id) => {
		const r = document.getElementById(id);
		if (!r) return {exists: false};
		const badge = r.querySelector('.badge');
		const kind = badge ? [...badge.classList].find(c => c.startsWith('badge-')) : '';
		const host = r.querySelector('.host-badge');
		return {
			exists: true,
			badge: kind ? kind.slice(6) : '',
			host: host ? host.textContent.replace(/\s+/g, ' ').trim() : '',
			text: r.innerText.replace(/\s+/g, ' ').trim(),
		};
	})(%q)`, views.RowID(ref)))
}

// Two fake hosts seen from Chromium: host badges on the rows, the filter to
// host b and the table's own refresh keeping it, host a going down (banner,
// unknown rows, the hosts page) and coming back on the hosts page by itself.
func TestBrowserTwoHostsFilterBannerAndHostsPage(t *testing.T) {
	chromiumPath(t)
	ta := newTwoHostApp(t)
	base := ta.serve(t)
	b := newBrowser(t, base)
	b.viewport(1280, 800)

	b.open(views.DashboardPath)
	for _, ref := range []models.ContainerRef{webA, webB, appA, cacheB} {
		got := b.refRow(ref)
		if !got.Exists || got.Host != "on host "+ref.Host {
			t.Errorf("row %s: exists %v, host badge %q; want it with host %s", ref, got.Exists, got.Host, ref.Host)
		}
	}
	if got := b.refRow(webA); got.Badge != string(models.StatusOutdated) {
		t.Errorf("a's web shows %q, want outdated (%s)", got.Badge, got.Text)
	}

	// Choose host b: a full page load of /?host=b, a's rows gone.
	b.do(chromedp.Click(chromedp.CSS(`#`+views.HostFilterID+` a[href="/?host=b"]`)),
		chromedp.WaitReady(chromedp.CSS(`#`+views.HostFilterID+` a[aria-current="page"][href="/?host=b"]`)))
	if got := eval[string](b, `location.pathname + location.search`); got != "/?host=b" {
		t.Errorf("after choosing b the page is %s", got)
	}
	if b.refRow(webA).Exists || b.refRow(appA).Exists || !b.refRow(webB).Exists || !b.refRow(cacheB).Exists {
		t.Fatalf("filtered to b: rows a/web %v a/app %v b/web %v b/cache %v; want b's only",
			b.refRow(webA).Exists, b.refRow(appA).Exists, b.refRow(webB).Exists, b.refRow(cacheB).Exists)
	}
	saveScreenshot(t, "hosts-filter.png", b.fullScreenshot())

	// Host a goes down. Check now answers the filtered table with the
	// banner, and from then on the table refreshes every 5s: its own
	// refresh keeps the filter too.
	ta.a.SetDown(errors.New("dial unix /a.sock: connect: no such file or directory"))
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh with host a down: %v", err)
	}
	b.markPage()
	b.click(views.CheckNowID)
	b.waitFor("the banner to name host a", fmt.Sprintf(`(() => {
		const e = document.getElementById(%q);
		return !!e && e.innerText.includes('Host a not reachable since');
	})()`, views.EngineBannerID), 10*time.Second, "#"+views.TableID)
	eval[chromedp.Void](b, fmt.Sprintf(`document.getElementById(%q).dataset.old = '1'`, views.TableID))
	b.waitFor("the table to refresh itself", fmt.Sprintf(`(() => {
		const e = document.getElementById(%q);
		return !!e && !e.dataset.old;
	})()`, views.TableID), 15*time.Second, "#"+views.TableID)
	if !b.pageMarked() {
		t.Error("the page reloaded instead of refreshing the table")
	}
	if got := eval[string](b, fmt.Sprintf(`document.getElementById(%q).getAttribute('hx-get')`, views.TableID)); got != "/fragments/images?host=b" {
		t.Errorf("after the refresh the table asks %q, want the filter kept", got)
	}
	if b.refRow(webA).Exists || !b.refRow(webB).Exists {
		t.Error("the refresh dropped the filter: a's rows are back or b's gone")
	}
	if got := b.refRow(webB); got.Badge != string(models.StatusOutdated) {
		t.Errorf("b's web shows %q while only a is down (%s)", got.Badge, got.Text)
	}

	// Every host again: a's rows are unknown and say why.
	b.do(chromedp.Click(chromedp.CSS(`#`+views.HostFilterID+` a[href="/"]`)),
		chromedp.WaitReady(chromedp.CSS(`#`+views.HostFilterID+` a[aria-current="page"][href="/"]`)))
	for _, ref := range []models.ContainerRef{webA, appA} {
		if got := b.refRow(ref); got.Badge != string(models.StatusUnknown) {
			t.Errorf("row %s shows %q with its host down, want unknown (%s)", ref, got.Badge, got.Text)
		}
	}
	// The reason sits in a cell phones hide; at 1280px it shows.
	if got := b.refRow(webA); !strings.Contains(got.Text, "host unreachable since") {
		t.Errorf("a's web row = %q, want it to say its host is unreachable", got.Text)
	}
	saveScreenshot(t, "hosts-down-dashboard.png", b.fullScreenshot())

	// The banner's link: the hosts page lists both, a unreachable.
	b.do(chromedp.Click(chromedp.CSS(`#`+views.EngineBannerID+` a[href="`+views.HostsPath+`"]`)),
		chromedp.WaitReady(chromedp.ID(views.HostsID)))
	hostState := func(name string) string {
		return eval[string](b, fmt.Sprintf(`((id) => {
			const r = document.getElementById(id);
			return r ? r.innerText.replace(/\s+/g, ' ').trim() : '';
		})(%q)`, views.HostRowID(name)))
	}
	if got := hostState("a"); !strings.Contains(got, "unreachable") || !strings.Contains(got, "no such file") {
		t.Errorf("hosts page, a = %q; want unreachable with the error", got)
	}
	if got := hostState("b"); !strings.Contains(got, "ok") || !strings.Contains(got, "unix:///b.sock") {
		t.Errorf("hosts page, b = %q; want ok with its URL", got)
	}
	saveScreenshot(t, "hosts.png", b.fullScreenshot())

	// Host a comes back: the page shows it by itself.
	b.markPage()
	ta.a.SetDown(nil)
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.waitFor("host a to show ok again", fmt.Sprintf(`(() => {
		const r = document.getElementById(%q);
		return !!r && !!r.querySelector('.badge-uptodate');
	})()`, views.HostRowID("a")), 15*time.Second, "#"+views.HostsID)
	if !b.pageMarked() {
		t.Error("the hosts page reloaded instead of refreshing itself")
	}
}
