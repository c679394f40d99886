package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/services"
	"refit/views"
)

// colorScheme makes the page see prefers-color-scheme: scheme.
func (b *browser) colorScheme(scheme string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// signOut forgets the session, for a fresh look at the login page.
func (b *browser) signOut() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
}

// openPage loads path and waits until the document is ready, whatever page it is.
func (b *browser) openPage(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// sideways is how wide the page is against the viewport, measured from the
// DOM, and what sticks out past its right edge.
type sideways struct {
	Page   int      `json:"page"`
	View   int      `json:"view"`
	Widest []string `json:"widest"`
}

// measureSideways takes the viewport width asked for (%d).
const measureSideways = `(() => {
	const view = window.innerWidth, out = [];
	const edge = Math.min(view, %d);
	for (const el of document.body.querySelectorAll('*')) {
		const r = el.getBoundingClientRect();
		if (r.right > edge + 0.5 && r.width > 0 && getComputedStyle(el).position !== 'fixed') {
			out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').slice(0, 3).join('.') : '') + ' → ' + Math.round(r.right));
		}
	}
	return {page: document.documentElement.scrollWidth, view, widest: out.slice(0, 8)};
})()`

// No page scrolls sideways, at a desktop's 1280 px and a phone's 390 px, in
// light and dark: every page an admin can open, signed in, and the login
// page before. The dashboard's filters are links, and outdated groups come
// first.
func TestBrowserNoPageScrollsSideways(t *testing.T) {
	chromiumPath(t)
	a := newAuthApp(t, services.AuthOptions{})
	seedHistory(t, a.testApp)
	// A long name, a Compose project and ports: what widens a row.
	a.engine.Run("5e6f7a8b9c0d", "a-really-long-container-name-from-compose_worker.1", "ghcr.io/some-organisation/a-long-image-name:2024.11.5-alpine", "sha256:img-long")
	a.engine.SetPorts("5e6f7a8b9c0d", models.Port{HostIP: "127.0.0.1", HostPort: 18080, ContainerPort: 8080, Proto: "tcp"},
		models.Port{HostPort: 5353, ContainerPort: 53, Proto: "udp"})
	a.engine.SetLabels("5e6f7a8b9c0d", map[string]string{models.LabelComposeProject: "shop"})
	if _, err := a.deps.Containers.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := serveTestApp(t, a.testApp)
	b := newBrowser(t, base)

	nginx := local("nginx")
	pages := []string{views.DashboardPath, views.DashboardPath + "?group=compose", views.DashboardPath + "?status=outdated&q=nginx",
		views.HostsPath, views.HistoryPath, views.HistoryFor(nginx), views.AccountPath, views.TokensPath, views.UsersPath,
		views.AuditPath, views.NotificationsPath, views.LogsPath(nginx, 0), views.PreviewPath(nginx), views.BackupsPath(nginx),
		"/no-such-page"}
	sizes := []struct{ w, h int64 }{{1280, 900}, {390, 844}}
	widest := map[string]int{}
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		for _, sz := range sizes {
			if sz.w < 500 {
				b.viewport(sz.w, sz.h, chromedp.EmulateMobile, chromedp.EmulateScale(2))
			} else {
				b.viewport(sz.w, sz.h)
			}
			check := func(path string) {
				t.Helper()
				got := eval[sideways](b, fmt.Sprintf(measureSideways, sz.w))
				// A phone's browser widens its layout viewport (innerWidth) to a page that is too wide, so the
				// width asked for is the measure too.
				if got.Page > got.View || got.View > int(sz.w) {
					t.Errorf("%s at %d px (%s) is %d px wide: it scrolls sideways; past the edge: %s", path, sz.w, scheme,
						got.Page, strings.Join(got.Widest, ", "))
				}
				widest[fmt.Sprint(sz.w)] = max(widest[fmt.Sprint(sz.w)], got.Page)
			}
			b.signOut()
			b.openPage(views.LoginPath)
			check(views.LoginPath)
			b.login("admin", testPasswords["admin"])
			for _, p := range pages {
				b.openPage(p)
				check(p)
			}
		}
	}
	t.Logf("widest page: %v", widest)
}

// The status filters and the grouping are links that keep each other, and
// outdated groups come first.
func TestBrowserFiltersAreLinksAndOutdatedComesFirst(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	ta.engine.AddImage("sha256:img-redis", "redis@"+dNew)
	ta.engine.Run("1a2b3c4d5e6f", "cache", "redis", "sha256:img-redis")
	ta.reg.Set("docker.io/library/redis:latest", dNew)
	if _, err := ta.deps.Containers.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, serveTestApp(t, ta))
	b.viewport(1280, 900)
	b.open(views.DashboardPath)
	first := eval[string](b, `document.querySelector('#images tbody .ctr-name').innerText`)
	if first != "nginx" {
		t.Errorf("first row %q, want the outdated nginx", first)
	}
	b.do(chromedp.Click(chromedp.CSS("#"+views.StatusFilterID+" a[href*='status=outdated']")), chromedp.WaitVisible(chromedp.CSS("#"+views.TableID)))
	b.waitFor("the outdated filter", `location.search === '?status=outdated'`, 10*time.Second, "#"+views.StatusFilterID)
	if n := eval[int](b, `document.querySelectorAll('#images tr.ctr-row').length`); n != 1 {
		t.Errorf("%d rows under status=outdated, want nginx alone", n)
	}
	b.do(chromedp.SendKeys(chromedp.ID(views.SearchID), "zzz\n"))
	b.waitFor("the search", `location.search.includes('q=zzz') && location.search.includes('status=outdated')`, 10*time.Second, "#"+views.SearchID)
	b.do(chromedp.Click(chromedp.CSS("#" + views.GroupToggleID + " a[href*='group=compose']")))
	b.waitFor("the grouping", `location.search.includes('group=compose') && location.search.includes('q=zzz')`, 10*time.Second, "#"+views.GroupToggleID)
	saveScreenshot(t, "filters.png", b.fullScreenshot())
}

// Times show the browser's own zone in their tooltips (static/js/refit.js).
func TestBrowserTimeTooltipsInTheBrowsersZone(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	seedHistory(t, ta)
	b := newBrowser(t, serveTestApp(t, ta))
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	b.openPage(views.HistoryPath)
	b.waitFor("a local tooltip", `(() => { const t = document.querySelector('#history time');
		return !!t && !t.title.includes('UTC') && t.title === new Date(t.dateTime).toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'medium'}); })()`,
		10*time.Second, "#"+views.HistoryID)
	if zone := eval[string](b, `Intl.DateTimeFormat().resolvedOptions().timeZone`); zone != "Asia/Tokyo" {
		t.Errorf("the browser's zone is %s, want the override", zone)
	}
}

// A rolled-back row, with its reason, the crashed container's logs and
// Skip this version, fits a phone's 390 px: the table does not scroll
// inside its box.
func TestBrowserFailedRowFitsAPhone(t *testing.T) {
	chromiumPath(t)
	ta := newTestApp(t)
	nginx := local("nginx")
	ta.engine.SetLogs(nginxID, "panic: bad config line 3")
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	ta.engine.FailStep("nginx", models.StepWaiting, errors.New("exited with code 1 before it was up"))
	if _, err := ta.deps.Updates.StartContainer(nginx.String(), "test"); err != nil {
		t.Fatal(err)
	}
	if p, err := ta.deps.Updates.Wait(t.Context(), nginx, time.Minute); err != nil || !p.RolledBack {
		t.Fatalf("update = %+v, %v; want rolled back", p, err)
	}
	b := newBrowser(t, serveTestApp(t, ta))
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		b.viewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		b.open(views.DashboardPath)
		if !eval[bool](b, exists(views.ActionID(nginx, "skip-failed"))) {
			t.Fatal("the failed row offers no Skip this version")
		}
		got := eval[struct {
			Table  int      `json:"table"`
			Box    int      `json:"box"`
			Widest []string `json:"widest"`
		}](b, `(() => {
			const t = document.querySelector('#images table'), box = t.parentElement.getBoundingClientRect(), out = [];
			for (const el of t.querySelectorAll('*')) {
				const r = el.getBoundingClientRect();
				if (r.right > box.right + 0.5 && r.width > 0) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' → ' + Math.round(r.right));
			}
			return {table: t.scrollWidth, box: t.parentElement.clientWidth, widest: out.slice(0, 8)};
		})()`)
		if got.Table > got.Box {
			t.Errorf("%s: at 390 px the failed row makes the table %d px wide in a %d px box; past its edge: %s",
				scheme, got.Table, got.Box, strings.Join(got.Widest, ", "))
		}
		saveScreenshot(t, "failed-row-phone-"+scheme+".png", b.fullScreenshot())
	}
}
