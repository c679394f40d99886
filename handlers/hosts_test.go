package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/views"
)

// twoHostApp is the real app over two fake hosts, a and b, with auth off.
// nginx runs as web on both (outdated), app only on a, cache only on b.
type twoHostApp struct {
	testApp
	a, b *fake.Engine
}

func newTwoHostApp(t *testing.T) twoHostApp {
	t.Helper()
	ea, eb := fake.NewEngine(), fake.NewEngine()
	for _, e := range []*fake.Engine{ea, eb} {
		e.AddImage("sha256:img-old", "nginx@"+dOld)
		e.Run(nginxID, "web", "nginx", "sha256:img-old")
	}
	ea.AddImage("sha256:img-app", "ghcr.io/org/app@"+dNew)
	ea.Run(appID, "app", "ghcr.io/org/app:1.2", "sha256:img-app")
	eb.AddImage("sha256:img-redis", "redis@"+dNew)
	eb.Run(app2ID, "cache", "redis:7", "sha256:img-redis")
	reg := fake.NewRegistry()
	reg.Set("docker.io/library/nginx:latest", dNew)
	reg.Set("ghcr.io/org/app:1.2", dNew)
	reg.Set("docker.io/library/redis:7", dNew)

	db, err := services.OpenDB(filepath.Join(t.TempDir(), "refit.db"))
	if err != nil {
		t.Fatal(err)
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctr := services.NewContainersOn([]services.Host{
		{Name: "a", URL: "unix:///a.sock", Engine: ea},
		{Name: "b", URL: "unix:///b.sock", Engine: eb},
	}, reg, tog, log, 4)
	hist := services.NewHistory(db)
	upd := services.NewUpdates(auth{}, ctr, hist, log, services.UpdateOptions{})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	aud := services.NewAudit(db, log, nil)
	au, err := services.NewAuth(db, aud, log, services.AuthOptions{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	d := withCatalog(t, Deps{Log: log, Containers: ctr, Toggles: tog, Updates: upd, History: hist, Auth: au, Audit: aud,
		AllowedHosts: []string{"example.com"}}, db)
	return twoHostApp{testApp: testApp{app: New(d), engine: ea, reg: reg, deps: d, db: db}, a: ea, b: eb}
}

// doc parses an HTML answer; table parts go inside a <table>.
func doc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	if s := strings.TrimSpace(body); strings.HasPrefix(s, "<tr") || strings.HasPrefix(s, "<template") {
		body = "<table><tbody>" + body + "</tbody></table>"
	} else if strings.HasPrefix(s, "<tbody") {
		body = "<table>" + body + "</table>"
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func has(d *goquery.Document, id string) bool { return d.Find("#"+id).Length() > 0 }

var (
	webA, webB = models.Ref("a", "web"), models.Ref("b", "web")
	appA       = models.Ref("a", "app")
	cacheB     = models.Ref("b", "cache")
)

// GET /hosts shows what GET /api/hosts answers, from the same call.
func TestHostsPageIsTheTwinOfAPIHosts(t *testing.T) {
	ta := newTwoHostApp(t)
	status, body, _ := ta.do(t, "GET", views.HostsPath, nil)
	if status != 200 {
		t.Fatalf("GET /hosts = %d", status)
	}
	_, api, _ := ta.do(t, "GET", "/api/hosts", nil)
	var hosts []models.HostStatus
	if err := json.Unmarshal([]byte(api), &hosts); err != nil || len(hosts) != 2 {
		t.Fatalf("GET /api/hosts = %s (%v)", api, err)
	}
	page := doc(t, body)
	if page.Find("header a[href='"+views.HostsPath+"']").Length() != 1 {
		t.Error("the layout has no link to the hosts page")
	}
	for _, h := range hosts {
		row := page.Find("#" + views.HostRowID(h.Name))
		if row.Length() != 1 {
			t.Errorf("no row for host %s", h.Name)
			continue
		}
		got := strings.Join(strings.Fields(row.Text()), " ")
		for _, want := range []string{h.Name, h.URL, "ok", h.EngineVersion, h.APIVersion, "just now"} {
			if !strings.Contains(got, want) {
				t.Errorf("row of %s = %q, want %q in it", h.Name, got, want)
			}
		}
	}

	// Its own refresh gets the page alone, with the same rows.
	_, alone := ta.htmx(t, "GET", views.HostsFragmentPath, nil)
	if strings.Contains(alone, "<html") || !strings.HasPrefix(strings.TrimSpace(alone), `<section id="`+views.HostsID+`"`) {
		t.Errorf("htmx GET %s = %.200s…, want HostsPage alone", views.HostsFragmentPath, alone)
	}
	if got := doc(t, alone).Find("#" + views.HostRowID("b")).Length(); got != 1 {
		t.Errorf("the refresh has %d rows for b", got)
	}
}

// A host that goes down shows on the hosts page, on the banner and on its
// rows; the other host's rows stay as they are.
func TestHostDownShowsOnHostsPageBannerAndRows(t *testing.T) {
	ta := newTwoHostApp(t)
	ta.a.SetDown(errors.New("dial unix /a.sock: connect: no such file"))
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh with one host of two down: %v", err)
	}
	_, body, _ := ta.do(t, "GET", views.HostsPath, nil)
	row := doc(t, body).Find("#" + views.HostRowID("a"))
	if got := strings.Join(strings.Fields(row.Text()), " "); !strings.Contains(got, "unreachable since") ||
		!strings.Contains(got, "no such file") {
		t.Errorf("host a's row = %q, want unreachable since when and why", got)
	}

	for _, path := range []string{views.DashboardPath, views.ImagesFragmentPath} {
		_, body, _ := ta.do(t, "GET", path, nil)
		d := doc(t, body)
		banner := strings.Join(strings.Fields(d.Find("#"+views.EngineBannerID).Text()), " ")
		if !strings.HasPrefix(banner, "Host a not reachable since") || d.Find("#"+views.EngineBannerID+" a[href='"+views.HostsPath+"']").Length() != 1 {
			t.Errorf("GET %s banner = %q, want it to name host a and link to the hosts page", path, banner)
		}
		rowA := d.Find("#" + views.RowID(webA))
		if rowA.Find(".badge-unknown").Length() != 1 || !strings.Contains(rowA.Text(), "host unreachable since") {
			t.Errorf("GET %s: a's web row = %q, want unknown with the reason", path, strings.Join(strings.Fields(rowA.Text()), " "))
		}
		if d.Find("#"+views.RowID(webB)+" .badge-outdated").Length() != 1 {
			t.Errorf("GET %s: b's web row lost its status", path)
		}
	}
}

func TestDashboardFiltersByHost(t *testing.T) {
	ta := newTwoHostApp(t)
	_, body, _ := ta.do(t, "GET", views.DashboardPath, nil)
	all := doc(t, body)
	for _, ref := range []models.ContainerRef{webA, webB, appA, cacheB} {
		if !has(all, views.RowID(ref)) {
			t.Errorf("GET / lacks %s", ref)
		}
	}
	if all.Find("#"+views.HostFilterID+" a").Length() != 3 {
		t.Error("GET / with two hosts has no filter with every host and each one")
	}

	for _, path := range []string{views.OnHost(views.DashboardPath, "b"), views.OnHost(views.ImagesFragmentPath, "b")} {
		status, body, _ := ta.do(t, "GET", path, nil)
		d := doc(t, body)
		if status != 200 || !has(d, views.RowID(webB)) || !has(d, views.RowID(cacheB)) {
			t.Errorf("GET %s = %d without b's rows", path, status)
		}
		if has(d, views.RowID(webA)) || has(d, views.RowID(appA)) {
			t.Errorf("GET %s shows a's rows", path)
		}
		if has(d, views.GroupID(models.GroupKey("ghcr.io/org/app:1.2"))) {
			t.Errorf("GET %s shows the group with no row on b", path)
		}
		if got, _ := d.Find("#" + views.TableID).Attr("hx-get"); got != views.OnHost(views.ImagesFragmentPath, "b") {
			t.Errorf("GET %s: the table refreshes from %q, losing the filter", path, got)
		}
	}

	// A row's answer on a filtered page counts the group's rows there.
	_, row := ta.htmx(t, "GET", views.OnHost(views.RowPath(webB), "b"), nil)
	if !strings.Contains(row, "+1 container on other hosts") {
		t.Errorf("row answer with the filter: header does not say a's web is left out:\n%s", row)
	}
	if _, row := ta.htmx(t, "GET", views.RowPath(webB), nil); strings.Contains(row, "other hosts") {
		t.Error("row answer without the filter leaves containers out")
	}
}

func TestDashboardFilterOnUnknownHostIs404(t *testing.T) {
	ta := newTwoHostApp(t)
	for _, path := range []string{"/?host=c", "/fragments/images?host=c", "/?host=" + "%2Fetc", views.OnHost(views.RowPath(webB), "c")} {
		status, body, _ := ta.do(t, "GET", path, nil)
		if status != 404 || !strings.Contains(strings.ToLower(body), "host not found") { // the page says it as a sentence
			t.Errorf("GET %s = %d, want 404 host not found:\n%.300s", path, status, body)
		}
	}
	req := httptest.NewRequest("POST", "/check?host=c", nil)
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("POST /check?host=c = %d, want 404", resp.StatusCode)
	}
}

// Without JavaScript a check goes back to the filtered page.
func TestCheckKeepsTheFilterWithoutJavaScript(t *testing.T) {
	ta := newTwoHostApp(t)
	req := httptest.NewRequest("POST", "/check?host=b", nil)
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/?host=b" {
		t.Errorf("POST /check?host=b = %d → %q, want 303 to /?host=b", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, table := ta.htmx(t, "POST", "/check?host=b", nil)
	if d := doc(t, table); has(d, views.RowID(webA)) || !has(d, views.RowID(webB)) {
		t.Error("htmx POST /check?host=b answers rows of a or lacks b's")
	}
}

// The cache keeps each filter's rendering apart: the same state rendered for
// every host, then b, then every host again, and so on.
func TestDashboardCacheKeepsFiltersApart(t *testing.T) {
	ta := newTwoHostApp(t)
	for range 2 {
		for _, tc := range []struct {
			path  string
			wantA bool
		}{
			{views.DashboardPath, true}, {"/?host=b", false}, {views.ImagesFragmentPath, true},
			{"/fragments/images?host=b", false}, {"/?host=a", true},
		} {
			_, body, _ := ta.do(t, "GET", tc.path, nil)
			if got := has(doc(t, body), views.RowID(webA)); got != tc.wantA {
				t.Errorf("GET %s shows a's web: %v, want %v", tc.path, got, tc.wantA)
			}
		}
	}
}

// With one host there is no filter control; the hosts page still shows the
// engine, and ?host= names only that host.
func TestOneHostHasNoFilter(t *testing.T) {
	ta := newTestApp(t)
	_, body, _ := ta.do(t, "GET", views.DashboardPath, nil)
	if d := doc(t, body); has(d, views.HostFilterID) || d.Find(".host-badge").Length() != 0 {
		t.Error("one host: the dashboard has a host filter or host badges")
	}
	if status, _, _ := ta.do(t, "GET", "/?host="+models.LocalHost, nil); status != 200 {
		t.Errorf("GET /?host=local = %d, want 200", status)
	}
	if status, _, _ := ta.do(t, "GET", "/?host=nas", nil); status != 404 {
		t.Errorf("GET /?host=nas = %d, want 404", status)
	}
	_, body, _ = ta.do(t, "GET", views.HostsPath, nil)
	row := doc(t, body).Find("#" + views.HostRowID(models.LocalHost))
	if !strings.Contains(row.Text(), fake.FakeVersion) || !strings.Contains(row.Text(), fake.FakeAPIVersion) {
		t.Errorf("hosts page row of the one host = %q, want its engine and API versions", strings.Join(strings.Fields(row.Text()), " "))
	}
}
