package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// seedHistory records an update of nginx (1.25.3 → 1.25.4), a rollback of app and an older
// failure of nginx.
func seedHistory(t *testing.T, ta testApp) {
	t.Helper()
	now := time.Now()
	for _, r := range []models.UpdateRecord{
		{Container: "nginx", Image: "nginx", FromDigest: dOld, ToDigest: dNew, By: "auto", Result: models.ResultFailed,
			Error: "pull: connection refused", StartedAt: now.Add(-2 * time.Hour), DurationMS: 800},
		{Container: "app", Image: "ghcr.io/org/app:1.2", FromDigest: dOld, ToDigest: dNew, By: "alice", Result: models.ResultRolledBack,
			Error: "health check failed: unhealthy", StartedAt: now.Add(-time.Hour), DurationMS: 31000},
		{Container: "nginx", Image: "nginx", FromDigest: dOld, ToDigest: dNew, FromVersion: "1.25.3", ToVersion: "1.25.4",
			By: "alice", Result: models.ResultUpdated, StartedAt: now.Add(-time.Minute), DurationMS: 4200},
	} {
		if err := ta.deps.History.Add(r); err != nil {
			t.Fatal(err)
		}
	}
}

// The history page lists every record newest first with outcome, reason,
// who and how long; the filter narrows by container and by outcome, as
// links; an unknown outcome is a 400 page.
func TestHistoryPageListsAndFilters(t *testing.T) {
	ta := newTestApp(t)
	seedHistory(t, ta)

	status, doc, _ := ta.getHTML(t, views.HistoryPath)
	rows := doc.Find("#" + views.HistoryID + " tbody tr")
	if status != 200 || rows.Length() != 3 {
		t.Fatalf("GET /history = %d with %d rows, want 3", status, rows.Length())
	}
	first, second := text(rows.Eq(0)), text(rows.Eq(1))
	for _, want := range []string{"nginx", "updated", "1.25.3 → 1.25.4", "by alice", "4.2 s"} {
		if !strings.Contains(first, want) {
			t.Errorf("newest row %q does not say %q", first, want)
		}
	}
	for _, want := range []string{"app", "rolled back", "health check failed: unhealthy", "31.0 s"} {
		if !strings.Contains(second, want) {
			t.Errorf("second row %q does not say %q", second, want)
		}
	}
	if !strings.Contains(text(rows.Eq(2)), "by auto-update") {
		t.Errorf("the auto update's row %q does not say so", text(rows.Eq(2)))
	}
	if doc.Find("#"+views.HistoryFilterID+" option[value='local/nginx']").Length() != 1 {
		t.Error("the filter does not offer nginx")
	}

	_, doc, _ = ta.getHTML(t, views.HistoryFor(local("nginx")))
	if n := doc.Find("#" + views.HistoryID + " tbody tr").Length(); n != 2 {
		t.Errorf("nginx's history has %d rows, want 2", n)
	}
	if _, ok := doc.Find("#" + views.HistoryFilterID + " option[value='local/nginx']").Attr("selected"); !ok {
		t.Error("nginx is not selected in its own history")
	}
	_, doc, _ = ta.getHTML(t, views.HistoryPath+"?container=local/nginx&result=failed")
	if rows := doc.Find("#" + views.HistoryID + " tbody tr"); rows.Length() != 1 || !strings.Contains(text(rows), "connection refused") {
		t.Errorf("nginx's failures = %q", text(rows))
	}
	_, doc, _ = ta.getHTML(t, views.HistoryPath+"?result=restored")
	if got := text(doc.Find("#" + views.HistoryID + " tbody")); !strings.Contains(got, "No updates recorded with outcome restored") {
		t.Errorf("empty history says %q", got)
	}
	if status, doc, _ := ta.getHTML(t, views.HistoryPath+"?result=forever"); status != 400 || doc.Find("#"+views.ErrorID).Length() != 1 {
		t.Errorf("unknown outcome = %d, want a 400 error page", status)
	}
}

// The JSON twin narrows the same way.
func TestAPIHistoryFilters(t *testing.T) {
	ta := newTestApp(t)
	seedHistory(t, ta)
	status, body, _ := ta.do(t, http.MethodGet, "/api/history?container=nginx&result=updated", nil)
	var recs []models.UpdateRecord
	if err := json.Unmarshal([]byte(body), &recs); status != 200 || err != nil || len(recs) != 1 || recs[0].Result != "updated" {
		t.Fatalf("GET /api/history?container=nginx&result=updated = %d %s", status, body)
	}
	if !strings.Contains(body, `"from_version":"1.25.3","to_version":"1.25.4"`) {
		t.Errorf("the record's versions are not in %s", body)
	}
	if status, _, _ := ta.do(t, http.MethodGet, "/api/history?result=nope", nil); status != 400 {
		t.Errorf("unknown outcome = %d, want 400", status)
	}
}

// Each row's menu links to its own history.
func TestRowMenuLinksToItsHistory(t *testing.T) {
	ta := newTestApp(t)
	_, doc, _ := ta.getHTML(t, views.MenuPath(local("nginx")))
	a := doc.Find("#" + views.ActionID(local("nginx"), "history"))
	if href, _ := a.Attr("href"); href != views.HistoryFor(local("nginx")) {
		t.Errorf("nginx's History link = %q, want %q", href, views.HistoryFor(local("nginx")))
	}
}

func text(s interface{ Text() string }) string { return strings.Join(strings.Fields(s.Text()), " ") }
