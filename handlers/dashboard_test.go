package handlers

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// htmx sends a request as the page would: HX-Request, and a form body.
func (ta testApp) htmx(t *testing.T, method, target string, form url.Values) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("HX-Request", "true")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestDashboardShowsTheEngineBannerWhileTheEngineIsDown(t *testing.T) {
	ta := newTestApp(t)
	banner := `id="` + views.EngineBannerID + `"`
	if _, page, _ := ta.do(t, "GET", "/", nil); strings.Contains(page, banner) {
		t.Fatal("banner shown while the engine answers")
	}
	ta.engine.ListErr = errors.New(`dial unix docker.sock: connect: <no such file>`)
	if err := ta.deps.Containers.Refresh(context.Background()); err == nil {
		t.Fatal("refresh with the engine down did not fail")
	}
	for _, path := range []string{"/", views.ImagesFragmentPath} {
		_, body, _ := ta.do(t, "GET", path, nil)
		if !strings.Contains(body, banner) || !strings.Contains(body, "Docker engine not reachable since") ||
			!strings.Contains(body, "connect: &lt;no such file&gt;") {
			t.Errorf("GET %s with the engine down has no banner with the escaped reason", path)
		}
		if !strings.Contains(body, `id="`+views.RowID(local("nginx"))+`"`) {
			t.Errorf("GET %s with the engine down lost the rows last seen", path)
		}
	}
	ta.engine.ListErr = nil
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", views.ImagesFragmentPath} {
		if _, body, _ := ta.do(t, "GET", path, nil); strings.Contains(body, banner) {
			t.Errorf("GET %s still shows the banner with the engine back", path)
		}
	}
}

// Row answers carry words for the live region only when the update's state
// differs from what the asking element showed.
func TestRowAnswersAnnounceOnlyWhatChanged(t *testing.T) {
	ta := newTestApp(t)
	region := `id="` + views.AnnouncerID + `" hx-swap-oob="innerHTML"`
	shown := func(p *models.Progress) url.Values {
		return url.Values{views.ShownField: {views.ShownValue(views.RowData{Item: models.ContainerItem{ContainerName: "nginx", Ref: local("nginx")}, Progress: p})}}
	}
	if _, body := ta.htmx(t, "GET", views.RowPath(local("nginx"))+"?"+shown(nil).Encode(), nil); strings.Contains(body, region) {
		t.Errorf("a poll of an idle row announces: %s", body)
	}
	status, body := ta.htmx(t, "POST", views.UpdatePath(local("nginx")), shown(nil))
	if status != 200 || !strings.Contains(body, region) || !strings.Contains(body, "<p>Updating nginx</p>") {
		t.Fatalf("update answer = %d %s; want it to announce the start", status, body)
	}
	var p models.Progress
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if p, err = ta.deps.Updates.Progress(local("nginx")); err == nil && !p.Running() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the update did not end: %+v", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	running := p
	running.Phase = models.PhasePulling
	_, body = ta.htmx(t, "GET", views.RowPath(local("nginx"))+"?"+shown(&running).Encode(), nil)
	if !strings.Contains(body, region) || strings.Contains(body, "Updating nginx") ||
		!(strings.Contains(body, "<p>nginx updated</p>") || strings.Contains(body, "<p>nginx update failed:")) {
		t.Errorf("the poll that sees the end = %s; want it to announce the end only", body)
	}
	if _, body = ta.htmx(t, "GET", views.RowPath(local("nginx"))+"?"+shown(&p).Encode(), nil); strings.Contains(body, region) {
		t.Errorf("a poll after the end announces again: %s", body)
	}
}
