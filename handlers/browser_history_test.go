package handlers

import (
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services/oci/ocitest"
	"refit/views"
)

// The history page after a real update and a real rollback on the real
// engine: each with its outcome and versions, the rollback with its reason, each
// container's own history from its row menu.
func TestBrowserHistoryAfterARealUpdateAndRollback(t *testing.T) {
	chromiumPath(t)
	a := newLiveApp(t)
	version := func(v string) map[string]string { return map[string]string{models.LabelVersion: v} }
	a.push(t, "test/hgood:1", ocitest.ImageOpts{Marker: "v1", Labels: version("2.4.0")})
	good := a.run(t, "test/hgood:1", "hgood")
	a.push(t, "test/hgood:1", ocitest.ImageOpts{Marker: "v2", Labels: version("2.4.1")})
	a.push(t, "test/hbad:1", ocitest.ImageOpts{Marker: "v1", Labels: version("1.0.0")})
	bad := a.run(t, "test/hbad:1", "hbad")
	a.push(t, "test/hbad:1", ocitest.ImageOpts{Marker: "v2", Env: []string{"TESTAPP_EXIT=3"}, Labels: version("1.1.0")})
	a.check(t)
	upd := a.deps.Updates
	for _, name := range []string{good, bad} {
		if _, err := upd.StartContainer(local(name).String(), "alice"); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{good, bad} {
		if p, err := upd.Wait(t.Context(), local(name), 2*time.Minute); err != nil || p.Running() {
			t.Fatalf("%s: %+v, %v", name, p, err)
		}
	}

	b := newBrowser(t, a.base)
	b.viewport(1280, 900)
	b.openPage(views.HistoryPath)
	page := b.text(views.HistoryID)
	for _, want := range []string{good, bad, "updated", "2.4.0 → 2.4.1", "rolled back", "1.0.0 → 1.1.0", "exited with code 3", "by alice"} {
		if !strings.Contains(page, want) {
			t.Errorf("history page does not say %q:\n%s", want, page)
		}
	}
	saveScreenshot(t, "history.png", b.fullScreenshot())

	b.open(views.DashboardPath)
	b.openMenu(local(bad))
	if got := b.text(views.RowID(local(bad))); !strings.Contains(got, "Skip this version") {
		t.Errorf("the rolled-back row offers no Skip this version: %q", got)
	}
	href := eval[string](b, `document.getElementById('`+views.ActionID(local(bad), "history")+`').getAttribute('href')`)
	b.openPage(href)
	if got := b.text(views.HistoryID); !strings.Contains(got, "rolled back") || strings.Contains(got, good) {
		t.Errorf("%s's own history = %q", bad, got)
	}
	if p, _ := upd.ProgressOf(local(bad)); p.Phase != models.PhaseFailed {
		t.Errorf("%s ends %+v, want failed", bad, p)
	}
}
