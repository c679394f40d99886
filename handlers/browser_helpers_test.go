package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
	"refit/services/oci/ocitest"
	"refit/views"
)

// Browser tests drive Debian's Chromium against refit served for real: the
// real app and services over the real engine (dockertest), an in-process
// registry (ocitest) and SQLite in a temp dir. The engine is shared with
// other packages' tests, so a test finds its rows by the names it chose.

const (
	// envChromium names the Chromium binary; CI sets /usr/bin/chromium.
	envChromium = "REFIT_TEST_CHROMIUM"
	// envWriteScreenshots=1 writes screenshots to docs/ (to commit them);
	// otherwise they go to the test's temp dir so CI leaves the tree clean.
	envWriteScreenshots = "REFIT_WRITE_SCREENSHOTS"

	// actionTimeout bounds one browser step; waits have their own timeouts.
	actionTimeout = 30 * time.Second
)

// chromiumPath returns the Chromium to drive. Without one the test is
// skipped, or fails under CI=true so CI cannot pass by skipping.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(envChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%s: %v", envChromium, p, err)
		}
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("no Chromium: set %s or put chromium on PATH (apt-get install chromium)", envChromium)
	}
	tb.Skipf("no Chromium: set %s or put chromium on PATH (apt-get install chromium) to run the browser tests", envChromium)
	return ""
}

// chromiumOptions are exactly the flags Chromium needs on these machines
// (root, no GPU, a closed network), with a fresh profile. They replace
// chromedp's defaults instead of adding to them, so nothing else is turned
// on; the tests only ever navigate to 127.0.0.1.
func chromiumOptions(execPath, userDataDir string, out io.Writer) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(userDataDir),
		chromedp.CombinedOutput(out),
	}
}

// browser is one headless Chromium with one tab, for one test.
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab
	base string          // http://127.0.0.1:PORT
}

// newBrowser starts Chromium for base (the app's URL) and closes it when the
// test ends. Uncaught exceptions in the page fail the test; Chromium's own
// output is shown only when the test failed.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("browser tests only visit 127.0.0.1, not %s", base)
	}
	out := &syncBuffer{}
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromiumOptions(chromiumPath(t), t.TempDir(), out)...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		cancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	console := chromedp.Console(ctx)
	var exceptions []string // read only after done
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				exceptions = append(exceptions, m.String())
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		acancel() // waits for Chromium to exit
		<-done
		for _, e := range exceptions {
			t.Errorf("uncaught exception in the page: %s", e)
		}
		if t.Failed() {
			t.Logf("chromium output (tail, without D-Bus noise):\n%s", tail(out.String(), 20))
		}
	})
	return &browser{t: t, ctx: ctx, base: base}
}

// do runs steps in the tab and fails the test on error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// run runs one action that returns a value and fails the test on error.
func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return run(b, chromedp.Evaluate[T](expr))
}

// open loads path of the app and waits for the images table.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.ID(views.TableID)))
}

// waitFor evaluates the JavaScript condition cond every 50ms until it is
// true, or fails the test after timeout saying what it waited for, with the
// HTML of dump (a CSS selector) to show what the page looked like. Errors
// while a navigation replaces the page only mean "not yet".
func (b *browser) waitFor(what, cond string, timeout time.Duration, dump string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`(document.querySelector(%q) || {outerHTML: "<%s not found>"}).outerHTML`, dump, dump)))
	if len(html) > 4000 {
		html = html[:4000] + "…"
	}
	where, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href`))
	b.t.Fatalf("waited %s for %s (last error: %v) on %s; %s is:\n%s", timeout, what, last, where, dump, html)
}

// viewport sets the page size, without scrollbars so that screenshots are
// exactly as wide as the viewport.
func (b *browser) viewport(width, height int64, opts ...chromedp.EmulateViewportOption) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(width, height, opts...), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: true})
		return err
	}))
}

// click clicks the element with this id once htmx has processed it (or
// the element whose hx-* attributes it answers to, such as its form): a
// row swapped in by a poll a moment before would otherwise take the click
// as a plain link or form and leave the page.
func (b *browser) click(id string) { b.t.Helper(); b.clickCSS("#" + id) }

// clickCSS is click for the first element the CSS selector finds.
func (b *browser) clickCSS(sel string) {
	b.t.Helper()
	b.waitFor("htmx to process "+sel, fmt.Sprintf(`((e) => {
		if (!e) return false;
		const h = e.closest('[hx-get],[hx-post],[hx-put],[hx-patch],[hx-delete]');
		return !h || !!(h['htmx-internal-data'] && h['htmx-internal-data'].initHash);
	})(document.querySelector(%q))`, sel), 5*time.Second, sel)
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// markPage sets a marker on window that only survives if the page is never
// reloaded; pageMarked checks it.
func (b *browser) markPage() { b.t.Helper(); eval[chromedp.Void](b, `window.__noReload = 1`) }

func (b *browser) pageMarked() bool {
	b.t.Helper()
	return eval[bool](b, `window.__noReload === 1`)
}

// rowState is what a container's <tr> shows.
type rowState struct {
	Exists    bool   `json:"exists"`
	Badge     string `json:"badge"`     // "uptodate", "outdated", … from the badge-* class
	Trigger   string `json:"trigger"`   // hx-trigger, "" when the row does not poll
	Polling   bool   `json:"polling"`   // data-polling is set
	Update    bool   `json:"update"`    // the row's Update button is there
	Progress  bool   `json:"progress"`  // a <progress> is there
	Value     int    `json:"value"`     // its value
	Percent   string `json:"percent"`   // the percent text next to it
	Text      string `json:"text"`      // the row's text, for messages
	AutoCheck bool   `json:"autocheck"` // the auto-update checkbox is checked
	AutoOff   bool   `json:"autooff"`   // the auto-update checkbox is disabled
}

// rowJS is a function of a container name that returns its rowState.
var rowJS = fmt.Sprintf(`(name, rowID, progressID, buttonID, toggleID) => {
	const r = document.getElementById(rowID);
	if (!r) return {exists: false};
	const badge = r.querySelector('.badge');
	const kind = badge ? [...badge.classList].find(c => c.startsWith('badge-')) : '';
	const p = r.querySelector('progress');
	const wrap = document.getElementById(progressID);
	const pct = wrap ? [...wrap.querySelectorAll('span')].map(s => s.textContent.trim()).find(s => s.endsWith('%%')) : '';
	const box = document.getElementById(toggleID);
	return {
		exists: true,
		badge: kind ? kind.slice(6) : '',
		trigger: r.getAttribute('hx-trigger') || '',
		polling: r.hasAttribute('data-polling'),
		update: !!document.getElementById(buttonID),
		progress: !!p,
		value: p ? Math.round(p.value) : -1,
		percent: pct || '',
		text: r.innerText.replace(/\s+/g, ' ').trim(),
		autocheck: !!(box && box.checked),
		autooff: !!(box && box.disabled),
	};
}`)

// row reads the state of a container's row.
func (b *browser) row(name string) rowState {
	b.t.Helper()
	return eval[rowState](b, rowCall(name))
}

// rowCall is a JavaScript expression giving the rowState of name.
func rowCall(name string) string {
	return fmt.Sprintf(`(%s)(%q, %q, %q, %q, %q)`, rowJS, name, views.RowID(local(name)),
		views.ProgressID(local(name)), views.UpdateButtonID(local(name)), views.ToggleInputID(local(name)))
}

// waitRowSettled waits until the row of name shows badge and no longer
// polls or shows progress.
func (b *browser) waitRowSettled(name string, badge models.Status, timeout time.Duration) rowState {
	b.t.Helper()
	cond := fmt.Sprintf(`(() => { const s = %s; return s.exists && s.badge === %q && !s.trigger && !s.polling && !s.progress })()`,
		rowCall(name), badge)
	b.waitFor(fmt.Sprintf("row %s to show %s and stop polling", name, badge), cond, timeout, "#"+views.TableID)
	return b.row(name)
}

// screenshot captures the element with this id as a PNG.
func (b *browser) screenshot(id string) []byte {
	b.t.Helper()
	return run(b, chromedp.Screenshot(chromedp.ID(id)))
}

// fullScreenshot captures the whole page at the current viewport width.
func (b *browser) fullScreenshot() []byte {
	b.t.Helper()
	// A link's navigation may still be loading the next page, which has no
	// size yet: Chromium refuses a screenshot of 0 width.
	b.waitFor("the page to be laid out", `document.readyState === 'complete' && document.documentElement.scrollWidth > 0`,
		10*time.Second, "body")
	return run(b, chromedp.FullScreenshot(100)) // 100: PNG
}

// saveScreenshot writes a PNG to docs/name with REFIT_WRITE_SCREENSHOTS=1,
// else to the test's temp dir, and logs where.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := t.TempDir()
	if os.Getenv(envWriteScreenshots) == "1" {
		dir = filepath.Join("..", "docs")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
}

// liveApp is refit served for real on 127.0.0.1: the handlers over the real
// services, the real engine, a loopback registry and SQLite.
type liveApp struct {
	base string
	reg  *ocitest.Registry
	cli  *client.Client
	deps Deps
	db   *gorm.DB
}

// testUser is a user the auth tests sign in as.
type testUser struct {
	Name, Password string
	Role           models.Role
}

// newLiveApp builds and serves the app. Without users auth is off, as with
// REFIT_AUTH=off; with users it is on and they exist. A new container counts
// as up after running 500ms.
func newLiveApp(t *testing.T, users ...testUser) *liveApp {
	t.Helper()
	return newLiveAppSettling(t, 500*time.Millisecond, users...)
}

// newLiveAppSettling is newLiveApp with a new container counting as up
// after settle: long enough, and the browser sees the recreate.
func newLiveAppSettling(t *testing.T, settle time.Duration, users ...testUser) *liveApp {
	t.Helper()
	cli := dockertest.Client(t) // gate: skip, or fail under CI, without an engine
	eng, err := dockerengine.New(dockerengine.Options{Host: dockertest.Host(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	reg := ocitest.NewRegistry(t)
	oc, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := services.OpenDB(filepath.Join(t.TempDir(), "refit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctr := services.NewContainers(eng, oc, tog, log, 8)
	hist := services.NewHistory(db)
	upd := services.NewUpdates(oc, ctr, hist, log, services.UpdateOptions{
		Settle: settle, HealthTimeout: 20 * time.Second,
	})
	t.Cleanup(upd.Close)
	ctr.OnCheck(upd.AutoUpdate) // as cmd/refit wires it
	aud := services.NewAudit(db, log, nil)
	au, err := services.NewAuth(db, aud, log, services.AuthOptions{
		Disabled:   len(users) == 0,
		BcryptCost: bcrypt.MinCost, // logins in tests need no brute-force resistance
	})
	if err != nil {
		t.Fatal(err)
	}
	by := models.Principal{Name: "test", Via: models.ViaCLI, Addr: "local"}
	for _, u := range users {
		if _, err := au.AddUser(by, u.Name, u.Password, u.Role); err != nil {
			t.Fatal(err)
		}
	}
	d := withCatalog(t, Deps{Log: log, Containers: ctr, Toggles: tog, Updates: upd, History: hist, Auth: au, Audit: aud}, db)
	app := New(d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &liveApp{base: "http://" + ln.Addr().String(), reg: reg, cli: cli, deps: d, db: db}
}

// push publishes a version of repoTag ("test/web:1") and returns its digest.
// The local copy the engine pulls of it is removed when the test ends.
func (a *liveApp) push(t *testing.T, repoTag string, opts ocitest.ImageOpts) string {
	t.Helper()
	digest := a.reg.Push(t, repoTag, opts)
	repo, _, _ := strings.Cut(repoTag, ":")
	byDigest := a.reg.Host() + "/" + repo + "@" + digest
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Not forced: another test's container cannot use this registry's images, but be polite.
		a.cli.ImageRemove(ctx, byDigest, image.RemoveOptions{PruneChildren: true})
	})
	return digest
}

// run pulls repoTag's current version and runs a container of it named
// base-<random>, with network mode none; it is removed when the test ends,
// whatever ID an update gave it.
func (a *liveApp) run(t *testing.T, repoTag, base string) string {
	t.Helper()
	ref := a.reg.Ref(repoTag)
	dockertest.Pull(t, a.cli, ref)
	name := dockertest.UniqueName(t, base)
	dockertest.Run(t, a.cli, dockertest.RunOpts{Name: name, Image: ref})
	dockertest.RemoveAtCleanup(t, a.cli, name) // after a recreate the name is all that stays
	return name
}

// check asks the registry about every image now, as "Check now" does.
func (a *liveApp) check(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := a.deps.Containers.Check(ctx); err != nil {
		t.Fatalf("check: %v", err)
	}
}

// group returns this app's group of repoTag from the snapshot.
func (a *liveApp) group(t *testing.T, repoTag string) models.ImageGroup {
	t.Helper()
	g, err := a.deps.Containers.Group(a.reg.Ref(repoTag))
	if err != nil {
		t.Fatalf("group %s: %v", repoTag, err)
	}
	return g
}

// groupID is the id of repoTag's <tbody>.
func (a *liveApp) groupID(repoTag string) string {
	return views.GroupID(models.GroupKey(a.reg.Ref(repoTag)))
}

// apiImages answers GET /api/images, as a script would see it.
func (a *liveApp) apiImages(t *testing.T) []models.ImageGroup {
	t.Helper()
	resp, err := http.Get(a.base + "/api/images")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/images = %s", resp.Status)
	}
	var groups []models.ImageGroup
	if err := json.NewDecoder(resp.Body).Decode(&groups); err != nil {
		t.Fatalf("GET /api/images: %v", err)
	}
	return groups
}

// progressAnswer is one answer of GET /api/images/{id}/progress.
type progressAnswer struct {
	Code int
	models.Progress
}

// pollProgress asks GET /api/images/{id}/progress every 50ms, as a script
// would, until an answer says the job ended (done or error: …) or ctx ends,
// and returns every answer. Answers before the job started are 404s.
func (a *liveApp) pollProgress(ctx context.Context, id string) []progressAnswer {
	var out []progressAnswer
	for ctx.Err() == nil {
		ans := progressAnswer{}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/images/"+id+"/progress", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			ans.Code = resp.StatusCode
			if resp.StatusCode == http.StatusOK {
				if err := json.NewDecoder(resp.Body).Decode(&ans.Progress); err != nil {
					ans.Code = -1 // not the contract's JSON
				}
			}
			resp.Body.Close()
			out = append(out, ans)
			if ans.Code == http.StatusOK && (ans.Status == "done" || strings.HasPrefix(ans.Status, "error")) {
				return out
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return out
}

// rowStep is one state a row went through, as a person saw it.
type rowStep struct {
	Exists   bool    `json:"exists"`
	Gone     bool    `json:"gone"`     // the MissingRow: "This container is gone"
	Badge    string  `json:"badge"`    // the badge's words
	Polling  bool    `json:"polling"`  // hx-trigger and data-polling are set
	Progress bool    `json:"progress"` // a <progress> is there
	Text     string  `json:"text"`
	Index    int     `json:"index"`  // among the table's container rows
	Parent   string  `json:"parent"` // the id of its <tbody>
	Why      string  `json:"why"`    // what caught it: start, an htmx swap, a tick
	At       float64 `json:"at"`     // ms since the recording started
}

func (s rowStep) String() string {
	return fmt.Sprintf("%6.0fms %-6s badge=%q polling=%v progress=%v #%d in %s: %s",
		s.At, s.Why, s.Badge, s.Polling, s.Progress, s.Index, s.Parent, s.Text)
}

// recordRow starts recording in the page every state the row of name goes
// through (after each htmx swap, and every 20ms besides) and every message
// added to the live region. rowSteps and announced read them back.
func (b *browser) recordRow(name string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`((rowID, liveID) => {
		window.__steps = [];
		window.__said = [];
		const t0 = performance.now();
		const snap = (why) => {
			const r = document.getElementById(rowID);
			let s = {exists: false};
			if (r) {
				const rows = [...document.querySelectorAll('#images tbody tr[id^="row-"]')];
				const badge = r.querySelector('.badge');
				s = {
					exists: true,
					gone: r.textContent.includes('This container is gone'),
					badge: badge ? badge.textContent.trim() : '',
					polling: r.hasAttribute('hx-trigger') && r.hasAttribute('data-polling'),
					progress: !!r.querySelector('progress'),
					text: r.innerText.replace(/\s+/g, ' ').trim(),
					index: rows.indexOf(r),
					parent: r.parentElement ? r.parentElement.id : '',
				};
			}
			const key = JSON.stringify(s);
			if (key === window.__lastStep) return;
			window.__lastStep = key;
			window.__steps.push(Object.assign(s, {why, at: performance.now() - t0}));
		};
		document.body.addEventListener('htmx:afterSettle', () => snap('swap'));
		setInterval(() => snap('tick'), 20);
		snap('start');
		new MutationObserver(muts => {
			for (const m of muts) for (const n of m.addedNodes) {
				const t = (n.textContent || '').trim();
				if (t) window.__said.push(t);
			}
		}).observe(document.getElementById(liveID), {childList: true, subtree: true, characterData: true});
	})(%q, %q)`, views.RowID(local(name)), views.AnnouncerID))
}

// rowSteps returns the states recordRow has seen so far.
func (b *browser) rowSteps() []rowStep {
	b.t.Helper()
	return eval[[]rowStep](b, `window.__steps`)
}

// announced returns what the live region was given since recordRow.
func (b *browser) announced() []string {
	b.t.Helper()
	return eval[[]string](b, `window.__said`)
}

// syncBuffer collects Chromium's output, written from another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// tail is the last n lines of s, leaving out Chromium's complaints that
// there is no D-Bus, which it prints on every start here.
func tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if !strings.Contains(l, "dbus") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
