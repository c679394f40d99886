package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/views"
)

// A login form whose next field points off-site, tab-mangled as the hostile
// test sent it, lands on refit's own dashboard: Chromium drops the tab from
// "/\t/host/…" and would read the rest as another site.
func TestBrowserLoginStaysOnRefitWhateverNextSays(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t, testUser{Name: "ada", Password: "plum quartz harbour", Role: models.RoleOperator})
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		fmt.Fprint(w, "pwned")
	}))
	t.Cleanup(evil.Close)
	evilHost := strings.TrimPrefix(evil.URL, "http://")

	b := newBrowser(t, a.base)
	for _, next := range []string{"/\t/" + evilHost + "/pwned", "/\\" + evilHost + "/pwned", "//" + evilHost + "/pwned"} {
		b.do(chromedp.Navigate(b.base + views.LoginPath + "?" + views.NextField + "=" + url.QueryEscape(next)))
		form := "#" + views.LoginFormID
		b.do(
			chromedp.WaitVisible(chromedp.CSS(form+` input[type=password]`)),
			chromedp.SendKeys(chromedp.CSS(form+` input[autocomplete=username]`), "ada"),
			chromedp.SendKeys(chromedp.CSS(form+` input[type=password]`), "plum quartz harbour"),
			chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
		)
		b.waitFor("refit's dashboard after signing in with next="+fmt.Sprintf("%q", next), fmt.Sprintf(
			`location.origin === %q && location.pathname === %q && !!document.getElementById(%q)`,
			a.base, views.DashboardPath, views.TableID), 10*time.Second, "body")
		time.Sleep(100 * time.Millisecond) // a late hop off-site would show here
		if n := evilHits.Load(); n != 0 {
			t.Fatalf("next=%q: the browser went to the other site %d times", next, n)
		}
	}
}
