package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// GET /api/images is encoded once per snapshot and toggles version: the body
// is what encoding the groups gives, byte for byte, a changed toggle or
// snapshot gives a new body and ETag, and If-None-Match gives a 304.
func TestAPIImagesCachedBodyAndETag(t *testing.T) {
	ta := newTestApp(t)
	want := func() string {
		b, err := json.Marshal(ta.deps.Containers.Groups())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	status, body, h := ta.do(t, "GET", "/api/images", nil)
	etag := h.Get("ETag")
	if status != 200 || body != want() || etag == "" {
		t.Fatalf("GET /api/images = %d, ETag %q, body equal to encoding: %v", status, etag, body == want())
	}
	if _, again, h2 := ta.do(t, "GET", "/api/images", nil); again != body || h2.Get("ETag") != etag {
		t.Fatal("a second GET of the same state answered differently")
	}

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		req := httptest.NewRequest("GET", "/api/images", nil)
		req.Header.Set("If-None-Match", inm)
		resp, err := ta.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 304 || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d, ETag %q; want 304 with the ETag", inm, resp.StatusCode, resp.Header.Get("ETag"))
		}
	}
	req := httptest.NewRequest("GET", "/api/images", nil)
	req.Header.Set("If-None-Match", `"stale"`)
	if resp, err := ta.app.Test(req, -1); err != nil || resp.StatusCode != 200 {
		t.Fatalf("If-None-Match with another tag: %v %v; want 200", resp.StatusCode, err)
	}

	if err := ta.deps.Toggles.Set(local("nginx"), true); err != nil {
		t.Fatal(err)
	}
	_, body2, h2 := ta.do(t, "GET", "/api/images", nil)
	if body2 == body || body2 != want() || h2.Get("ETag") == etag {
		t.Fatalf("after a toggle: body changed %v, equal to encoding %v, ETag changed %v",
			body2 != body, body2 == want(), h2.Get("ETag") != etag)
	}

	ta.engine.Remove(t.Context(), nginxID, false)
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, body3, _ := ta.do(t, "GET", "/api/images", nil); body3 != want() || strings.Contains(body3, `"nginx"`) {
		t.Fatalf("after a refresh the body is stale:\n%s", body3)
	}
}

// The dashboard's cached groups follow toggles, the snapshot and jobs at once.
func TestDashboardCacheFollowsState(t *testing.T) {
	ta := newTestApp(t)
	_, page, _ := ta.do(t, "GET", "/", nil)
	if !strings.Contains(page, `id="`+views.RowID(local("app-2"))+`"`) {
		t.Fatalf("page lacks app-2's row")
	}
	if err := ta.deps.Toggles.Set(local("app-2"), true); err != nil {
		t.Fatal(err)
	}
	_, page2, _ := ta.do(t, "GET", "/", nil)
	_, frag2, _ := ta.do(t, "GET", "/fragments/images", nil)
	for _, p := range []string{page2, frag2} {
		if !strings.Contains(p, `id="`+views.ToggleInputID(local("app-2"))+`" name="auto_update" value="on" checked`) {
			t.Fatalf("after a toggle the page still shows it off")
		}
	}
	if _, err := ta.deps.Updates.StartContainer("app-2", "test"); err != nil {
		t.Fatal(err)
	}
	if rowOf(page2, "app-2") == "" {
		t.Fatal("no row of app-2 in the page")
	}
	// Running, done or failed, depending on how fast the fake is: not as before.
	if _, page3, _ := ta.do(t, "GET", "/", nil); rowOf(page3, "app-2") == rowOf(page2, "app-2") {
		t.Fatalf("after starting an update the row is unchanged:\n%s", rowOf(page3, "app-2"))
	}
	ta.engine.Remove(t.Context(), appID, false)
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, page4, _ := ta.do(t, "GET", "/", nil); strings.Contains(page4, `id="`+views.RowID(local("app"))+`"`) {
		t.Fatalf("after a refresh the page still shows a removed container")
	}
}

// rowOf is the <tr> of the named container in a page.
func rowOf(page, name string) string {
	i := strings.Index(page, `<tr id="`+views.RowID(local(name))+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], "</tr>")
	if j < 0 {
		return page[i:]
	}
	return page[i : i+j]
}

// A page from the cache is the page rendered without it.
func TestDashboardCacheRendersTheSamePage(t *testing.T) {
	ta := newBenchApp(t, 4, 3)
	if err := ta.deps.Toggles.Set(local("app-001-1"), true); err != nil {
		t.Fatal(err)
	}
	_, miss, _ := ta.do(t, "GET", "/", nil)
	_, hit, _ := ta.do(t, "GET", "/", nil)
	ctr, upd := ta.deps.Containers, ta.deps.Updates
	v := views.Viewer{Role: string(models.RoleAdmin), CanUpdate: true, Admin: true} // auth off: everyone is admin
	d := views.NewDashboardData(ctr.Groups(), jobsOf(upd, ta.deps.Policies), v, time.Now()).Arrange(views.Query{})
	d.RateLimits, d.LastCheck, d.Checking, d.Engines = ctr.RateLimits(), ctr.CheckedAt(), ctr.Checking(), ctr.Hosts()
	list, err := ta.deps.Catalog.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stopped := views.NewStoppedData(list, ctr.Several(), "", v)
	d.Stopped = &stopped
	var b strings.Builder
	if err := views.Layout("Containers", v, views.ContainersPage(d)).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if miss != b.String() || hit != b.String() {
		t.Errorf("cached pages differ from the uncached rendering (miss equal %v, hit equal %v)",
			miss == b.String(), hit == b.String())
	}
}

// More sessions than slots cost one entry each, not the whole cache.
func TestDashCacheEvictsOneSessionAtATime(t *testing.T) {
	ta := newTestApp(t)
	dc := newDashCache(ta.deps.Containers, ta.deps.Updates, ta.deps.Toggles, ta.deps.Policies, ta.deps.Catalog, nil)
	body := newEncoded([]byte("x"), "text/html", false)
	keys := make([]dashKey, maxDashEntries+1)
	for i := range keys {
		keys[i] = dc.key(views.Viewer{User: fmt.Sprint("user-", i), CSRFToken: fmt.Sprint("token-", i)})
		dc.put(keys[i], dashTable, pageHead{}, &views.RenderedGroups{}, body)
	}
	kept := 0
	for _, k := range keys {
		if _, b := dc.get(k, dashTable, pageHead{}); b != nil {
			kept++
		}
	}
	if _, b := dc.get(keys[len(keys)-1], dashTable, pageHead{}); b == nil || kept != maxDashEntries {
		t.Errorf("%d of %d sessions kept (the newest: %v), want %d with the newest", kept, len(keys), b != nil, maxDashEntries)
	}
}
