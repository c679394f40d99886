package handlers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// A failed update's row offers the logs of the new container the rollback
// removed, and skipping the version; the lines stay until the next update.
func TestFailedRowOffersTheCrashedContainersLogsAndSkip(t *testing.T) {
	ta := newTestApp(t)
	nginx := local("nginx")
	ta.engine.SetLogs(nginxID, "starting nginx", "panic: bad config line 3")
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	ta.engine.FailStep("nginx", models.StepWaiting, errors.New("exited"))
	if _, err := ta.deps.Updates.StartContainer(nginx.String(), "test"); err != nil {
		t.Fatal(err)
	}
	if p, err := ta.deps.Updates.Wait(t.Context(), nginx, time.Minute); err != nil || !p.RolledBack || !p.CrashLogs {
		t.Fatalf("update = %+v, %v; want rolled back with logs kept", p, err)
	}

	_, doc, _ := ta.getHTML(t, views.RowPath(nginx), "HX-Request", "true")
	link := doc.Find("#" + views.ActionID(nginx, "crash-logs"))
	if href, _ := link.Attr("hx-get"); href != views.CrashLogsPath(nginx) {
		t.Errorf("failed row's logs link = %q, want %q", href, views.CrashLogsPath(nginx))
	}
	if doc.Find("#"+views.ActionID(nginx, "skip-failed")).Length() != 1 {
		t.Error("the failed row offers no Skip this version")
	}
	status, doc, _ := ta.getHTML(t, views.CrashLogsPath(nginx), "HX-Request", "true")
	panel := doc.Find("#" + views.CrashLogsPanelID)
	if status != 200 || !strings.Contains(panel.Text(), "panic: bad config line 3") || !strings.Contains(panel.Text(), "rolled back") {
		t.Fatalf("crash logs = %d %q", status, panel.Text())
	}
	if status, doc, _ := ta.getHTML(t, views.CrashLogsPath(nginx)); status != 200 || doc.Find("#"+views.CrashLogsPanelID).Length() != 1 {
		t.Errorf("crash logs page = %d", status)
	}
	// The skip answers the row with its badge and no more skip button.
	status, doc, _ = ta.postForm(t, views.PolicyPath(nginx), policyForm(models.PolicySkipCurrent), true)
	if status != 200 || doc.Find(".badge-held").Length() != 1 || doc.Find("#"+views.ActionID(nginx, "skip-failed")).Length() != 0 {
		t.Errorf("skip from the failed row = %d %q", status, text(doc.Find("#"+views.RowID(nginx))))
	}

	// The next update's record lets the lines go.
	if err := ta.deps.History.Add(models.UpdateRecord{Host: nginx.Host, Container: nginx.Name, Result: models.ResultUpdated, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := ta.getHTML(t, views.CrashLogsPath(nginx), "HX-Request", "true"); status != 404 {
		t.Errorf("crash logs after the next update = %d, want 404", status)
	}
}
