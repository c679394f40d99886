package handlers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"refit/models"
	"refit/services/oci/ocitest"
	"refit/views"
)

// recordCSPViolations makes every document the tab loads from now on
// collect its Content-Security-Policy violations in window.__csp.
func (b *browser) recordCSPViolations() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__csp = [];
			document.addEventListener('securitypolicyviolation', e =>
				window.__csp.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));`,
		})
		return err
	}))
}

// cspViolations are the violations the current document has seen.
func (b *browser) cspViolations() []string {
	b.t.Helper()
	return eval[[]string](b, `window.__csp || ['the recorder did not run']`)
}

// Every page works under the strict policy: htmx neither injects its
// indicator style nor evals, and the pages carry no inline code. The
// dashboard is given time to refresh itself and poll an update.
func TestBrowserPagesRunWithoutCSPViolations(t *testing.T) {
	chromiumPath(t)
	admin := testUser{"admin", "correct horse battery staple 9", models.RoleAdmin}
	a := newLiveApp(t, admin)
	a.push(t, "test/csp:1", ocitest.ImageOpts{Marker: "v1"})
	name := a.run(t, "test/csp:1", "csp")
	a.push(t, "test/csp:1", ocitest.ImageOpts{Marker: "v2"})
	a.check(t)

	b := newBrowser(t, a.base)
	b.recordCSPViolations()
	b.do(chromedp.Navigate(a.base+views.LoginPath), chromedp.WaitReady(chromedp.ID(views.LoginFormID)))
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("login page: CSP violations %q", v)
	}
	b.do(chromedp.SendKeys(chromedp.ID("login-user"), admin.Name), chromedp.SendKeys(chromedp.ID("login-pass"), admin.Password),
		chromedp.Submit(chromedp.ID(views.LoginFormID)), chromedp.WaitReady(chromedp.ID(views.TableID)))

	// The dashboard: an update polls its row, and the table's own refresh
	// holds meanwhile (static/js/refit.js), with no eval.
	b.click(views.UpdateButtonID(local(name)))
	b.waitRowSettled(name, models.StatusUpToDate, updateTimeout)
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("dashboard: CSP violations %q", v)
	}
	if got := eval[bool](b, `htmx.config.allowEval === false && htmx.config.includeIndicatorStyles === false`); !got {
		t.Errorf("htmx did not take the config from <meta name=htmx-config>")
	}

	for _, path := range []string{views.UsersPath, views.AuditPath, views.AccountPath, views.TokensPath} {
		b.do(chromedp.Navigate(a.base+path), chromedp.WaitReady(chromedp.ID(views.ContentID)))
		time.Sleep(300 * time.Millisecond) // htmx's start-up, after DOMContentLoaded
		if v := b.cspViolations(); len(v) > 0 {
			t.Errorf("%s: CSP violations %q", path, v)
		}
	}

	// The recorder does see a violation: an inline style added by hand.
	eval[chromedp.Void](b, `document.head.insertAdjacentHTML('beforeend', '<style>body{color:red}</style>')`)
	b.waitFor("the recorder to catch an inline style", `window.__csp.some(v => v.startsWith('style-src'))`, 5*time.Second, "head")
}

// A page on another loopback origin that frames refit's dashboard gets
// nothing in the frame; the same page's own frame renders, so it is
// refit's answer that keeps it out.
func TestBrowserAnotherOriginCannotFrameTheDashboard(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t) // auth off: the frame would show the dashboard as it is
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/own" {
			fmt.Fprint(w, `<p id="own">framed fine</p>`)
			return
		}
		fmt.Fprintf(w, `<!DOCTYPE html><iframe id="own" src="/own" onload="this.dataset.loaded=1"></iframe>`+
			`<iframe id="refit" src="%s/" onload="this.dataset.loaded=1" width="800" height="400"></iframe>`, a.base)
	})}
	go other.Serve(ln)
	t.Cleanup(func() { other.Close() })
	otherBase := "http://" + ln.Addr().String()

	b := newBrowser(t, otherBase)
	b.do(chromedp.Navigate(otherBase + "/"))
	b.waitFor("both frames to load", `[...document.querySelectorAll('iframe')].every(f => f.dataset.loaded)`,
		10*time.Second, "body")
	time.Sleep(200 * time.Millisecond) // anything a frame would still draw
	var tree *cdppage.FrameTree
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, cdppage.GetFrameTree, cdp.Empty{})
		if err == nil {
			tree = res.FrameTree
		}
		return err
	}))
	var own, framed bool
	for _, c := range tree.ChildFrames {
		f := c.Frame
		switch {
		case strings.HasPrefix(f.URL, otherBase+"/own"):
			own = true
		case strings.HasPrefix(f.URL, a.base):
			framed = true
			t.Errorf("refit's dashboard rendered in a frame of %s (frame URL %s)", otherBase, f.URL)
		default:
			t.Logf("refit's frame: url %q, unreachable %q", f.URL, f.UnreachableURL)
		}
	}
	if !own {
		t.Errorf("the page's own frame did not render either: frames %+v", tree.ChildFrames)
	}
	if !framed && len(tree.ChildFrames) != 2 {
		t.Errorf("want 2 frames, got %d", len(tree.ChildFrames))
	}
	saveScreenshot(t, "framed-dashboard.png", b.fullScreenshot())
}
