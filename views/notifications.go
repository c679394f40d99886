package views

import (
	"time"

	"refit/models"
)

// Paths and ids of the Notifications page (admins).
const (
	NotificationsPath     = "/notifications"
	NotificationsTestPath = "/notifications/test"

	TargetsTableID  = "notify-targets"
	AddTargetFormID = "notify-add"
	OutboxTableID   = "notify-outbox"
	TestResultID    = "notify-test-result"
)

// TargetRemovePath is the form action that removes a target.
func TargetRemovePath(name string) string { return NotificationsPath + "/" + name + "/remove" }

// TargetRowID is the id of a target's row.
func TargetRowID(name string) string { return "notify-target-" + safeID(name) }

// NotificationsData is what NotificationsPage renders.
type NotificationsData struct {
	Targets []models.TargetInfo
	Outbox  []models.Notification
	Test    *models.TestResult // the answer of the test button, nil otherwise
	Error   string             // the error of the last form, "" when none
	Now     time.Time
	Viewer
}

// outboxClass colours a message's state.
func outboxClass(state string) string {
	switch state {
	case models.NotifySent:
		return "rounded px-1.5 py-0.5 text-xs font-medium bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300"
	case models.NotifyFailed:
		return "rounded px-1.5 py-0.5 text-xs font-medium bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300"
	}
	return "rounded px-1.5 py-0.5 text-xs font-medium bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300"
}
