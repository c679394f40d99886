package views_test

import (
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// The outbox says where each message stands: queued with its next try,
// sent, failed with its error; a -notify target offers no Remove.
func TestNotificationsPageStates(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	d := views.NotificationsData{Now: now,
		Targets: []models.TargetInfo{
			{Name: "env", Type: "ntfy", URL: "ntfy://ntfy.sh/***", Events: models.Events, Source: models.TargetFromConfig},
			{Name: "hook", Type: "generic", URL: "generic+https://h/***", Events: []string{"failed"}, Source: models.TargetFromAdmin, CreatedBy: "alice"},
		},
		Outbox: []models.Notification{
			{ID: 3, Target: "hook", Event: "failed", Title: "refit: update of web failed", State: models.NotifyQueued, Attempts: 1,
				NextAt: now.Add(time.Minute), Error: "503 Service Unavailable", CreatedAt: now},
			{ID: 2, Target: "env", Event: "updated", Title: "refit: web updated", State: models.NotifySent, Attempts: 1, CreatedAt: now},
			{ID: 1, Target: "hook", Event: "available", Title: "refit: 2 updates available", State: models.NotifyFailed, Attempts: 3,
				Error: "connection refused", CreatedAt: now},
		},
		Test: &models.TestResult{Sent: 1, Failed: []models.TargetFailure{{Target: "hook", Error: "connection refused"}}},
	}
	doc := render(t, views.NotificationsPage(d))
	rows := doc.Find("#" + views.OutboxTableID + " tbody tr")
	if rows.Length() != 3 {
		t.Fatalf("outbox rows = %d", rows.Length())
	}
	for i, want := range []string{"queued1 try, next 2026-03-04 05:07:07 UTC503 Service Unavailable", "sent1 try", "failed3 triesconnection refused"} {
		if got := strings.Join(strings.Fields(rows.Eq(i).Find("td").Last().Text()), ""); got != strings.ReplaceAll(want, " ", "") {
			t.Errorf("row %d state = %q, want %q", i, got, want)
		}
	}
	if one(t, doc, "#"+views.TargetRowID("env")).Find("form").Length() != 0 || one(t, doc, "#"+views.TargetRowID("hook")).Find("form").Length() != 1 {
		t.Error("Remove: want it for the admin's target only")
	}
	if got := one(t, doc, "#"+views.TestResultID).Text(); !strings.Contains(got, "Test message sent to 1 target.") || !strings.Contains(got, "hook: connection refused") {
		t.Errorf("test result = %q", got)
	}
	empty := render(t, views.NotificationsPage(views.NotificationsData{Now: now}))
	if !strings.Contains(empty.Text(), "No targets yet") || !strings.Contains(empty.Text(), "Nothing sent yet.") {
		t.Errorf("empty page: %q", empty.Text())
	}
}
