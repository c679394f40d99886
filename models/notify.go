package models

import (
	"errors"
	"time"
)

// The events a notification target can choose.
const (
	EventAvailable = "available" // a check found containers with a new candidate
	EventUpdated   = "updated"   // an update (or a rollback onto a backup) finished
	EventFailed    = "failed"    // an update failed, or recovery ended an interrupted one
)

// Events are every event, in the order the UI lists them.
var Events = []string{EventAvailable, EventUpdated, EventFailed}

// Kinds of outbox messages besides the events: sent at once by hand.
const (
	EventTest    = "test"    // POST /api/notifications/test
	EventTrigger = "trigger" // Drydock's POST /api/containers/{id}/triggers/{type}/{name}
)

// The states of an outbox message.
const (
	NotifyQueued = "queued"
	NotifySent   = "sent"
	NotifyFailed = "failed" // every try failed; Error says why
)

// LabelNotify is the container label that, set to "false", leaves the
// container out of every notification.
const LabelNotify = "refit.notify"

// NotifyTarget is a notification target an admin added; the ones from
// -notify live only in the configuration. URL holds secrets: it never
// leaves refit except to its service, and is shown masked.
type NotifyTarget struct {
	ID        uint     `gorm:"primaryKey"`
	Name      string   `gorm:"uniqueIndex"`
	URL       string   // shoutrrr URL, secrets and all
	Events    []string `gorm:"serializer:json"`
	CreatedBy string
	CreatedAt time.Time
}

// TargetInfo is a target as the API and the page show it: the URL masked.
type TargetInfo struct {
	ID        string    `json:"id"` // "<type>.<name>", Drydock's trigger id
	Name      string    `json:"name"`
	Type      string    `json:"type"` // the service: ntfy, smtp, generic…
	URL       string    `json:"url"`  // masked
	Events    []string  `json:"events"`
	Source    string    `json:"source"` // TargetFromConfig or TargetFromAdmin
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Where a target comes from.
const (
	TargetFromConfig = "config" // -notify / REFIT_NOTIFY
	TargetFromAdmin  = "admin"  // the Notifications page or the API
)

// Message is what a target receives: a title (the mail subject, a push
// title) and a plain-text body.
type Message struct {
	Title string
	Body  string
}

// Notification is one message in the outbox: queued until delivered, then
// sent, or failed once every try failed.
type Notification struct {
	ID        uint      `gorm:"primaryKey" json:"id"`
	Target    string    `gorm:"index" json:"target"` // the target's name
	Event     string    `json:"event"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	State     string    `gorm:"index" json:"state"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `gorm:"index" json:"next_at,omitzero"` // when a queued message is tried next
	Error     string    `json:"error,omitempty"`               // the last try's, secrets scrubbed
	CreatedAt time.Time `json:"created_at"`
	DoneAt    time.Time `json:"done_at,omitzero"`
}

// Announcement is a candidate that was announced to the targets, so it is
// never announced again: across checks and restarts.
type Announcement struct {
	Host   string `gorm:"primaryKey"`
	Name   string `gorm:"primaryKey"`
	Digest string `gorm:"primaryKey"`
	Tag    string `gorm:"primaryKey"` // "" until tags are tracked
	At     time.Time
}

// TargetAdd is the body of POST /api/notifications/targets.
type TargetAdd struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"` // none means every event
}

// TestResult is the answer of POST /api/notifications/test.
type TestResult struct {
	Sent   int             `json:"sent"`
	Failed []TargetFailure `json:"failed"`
}

// TargetFailure is one target a message did not reach, and why.
type TargetFailure struct {
	Target string `json:"target"`
	Error  string `json:"error"`
}

// DrydockTrigger is a target as Drydock lists a container's triggers.
type DrydockTrigger struct {
	ID            string            `json:"id"` // "<type>.<name>"
	Type          string            `json:"type"`
	Name          string            `json:"name"`
	Configuration map[string]string `json:"configuration"` // secrets masked
}

// ErrNotDelivered is a message its service did not take; the error's own
// text (a Kind) says why, secrets scrubbed.
var ErrNotDelivered = errors.New("notification not delivered")

// Errors of the notification routes, with their texts.
var (
	ErrTargetNotFound  = NewKind("notification target not found", ErrNotFound)
	ErrTriggerNotFound = NewKind("trigger not found", ErrNotFound)
	ErrTargetExists    = NewKind("a notification target has that name", ErrConflict)
	ErrTargetFromFlag  = NewKind("the target comes from -notify: remove it there", ErrConflict)
	ErrBadTargetName   = NewKind("invalid target name: want lower-case letters, digits and -", ErrInvalid)
	ErrUnknownEvent    = NewKind("unknown event: want available, updated or failed", ErrInvalid)
)

// Audit actions of the notification routes; the target is the target's
// name, never its URL.
const (
	AuditNotifyAdd    = "notify_target_add"
	AuditNotifyRemove = "notify_target_remove"
	AuditNotifyTest   = "notify_test"
	AuditTrigger      = "trigger"
)
