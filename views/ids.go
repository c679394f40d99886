package views

import (
	"strings"

	"refit/models"
)

// Ids of the elements that htmx swaps or that keep focus across a swap.
// Templates and tests use the same helpers, so every id= and hx-target agree.
// The prefixes below are prefix-free ("update-" vs "updateall-"), so ids of
// different kinds never collide whatever the name.
const (
	// TableID is the element that holds every image group and polls calmly;
	// GET /fragments/images and POST /check answer it.
	TableID = "images"
	// ToastsID is the aria-live region error toasts are appended to
	// (HX-Retarget: #toasts, HX-Reswap: beforeend).
	ToastsID = "toasts"
	// AnnouncerID is the visually hidden polite live region that says when
	// an update starts and ends (views.Announcement swaps into it).
	AnnouncerID = "announcer"
	// EngineBannerID is the banner saying the Docker engine is out of reach.
	EngineBannerID = "engine-down"
	// RecordsBannerID is the banner saying updates are refused because the
	// database takes no writes.
	RecordsBannerID = "records-down"
	// EmptyID is the "no running containers" notice.
	EmptyID = "empty"
	// DashboardID is the root of ContainersPage.
	DashboardID = "dashboard"
	// ContentID is the <main> element of the layout.
	ContentID = "content"
	// ErrorID is the root of ErrorPage.
	ErrorID = "error"
	// CheckNowID is the "Check now" button; like every focusable element that
	// a refresh replaces it has an id, so htmx restores focus after the swap.
	CheckNowID = "check-now"
	// HostsID is the root of HostsPage, which refreshes itself.
	HostsID = "hosts"
	// HostFilterID is the dashboard's host filter (HostFilter).
	HostFilterID = "hostfilter"
	// StoppedID is the "Stopped" disclosure under the table (StoppedSection).
	StoppedID = "stopped"
	// StoppedSummaryID is its <summary>, which says how many there are; a
	// StoppedList answer refreshes it out of band.
	StoppedSummaryID = "stopped-summary"
	// StoppedListID is the list inside it, which refreshes itself and
	// answers GET /fragments/stopped; its <details> stays as the user left it.
	StoppedListID = "stopped-list"
	// PanelSlotID is the dashboard's place for the one panel open at a time:
	// a LogPanel, a PreviewPanel or a BackupsPanel.
	PanelSlotID = "panel-slot"
	// PreviewPanelID is the PreviewPanel and PreviewCloseID its Close button.
	PreviewPanelID = "preview"
	PreviewCloseID = "preview-close"
	// PreviewUpdateID is the Update button at the foot of a PreviewPanel.
	PreviewUpdateID = "preview-update"
	// BackupsPanelID is the BackupsPanel and BackupsCloseID its Close button.
	BackupsPanelID = "backups"
	BackupsCloseID = "backups-close"
	// LogPanelID is the LogPanel, which polls itself while it is open.
	LogPanelID = "logs"
	// LogLinesID is the <pre> with the log lines inside LogPanel.
	LogLinesID = "logs-lines"
	// LogTailID is the panel's tail length <select>.
	LogTailID = "logs-tail"
	// LogCloseID is the panel's Close button.
	LogCloseID = "logs-close"
)

// BackupRowID is the id of one backup's row in a BackupsPanel.
func BackupRowID(id string) string { return "backup-" + safeID(id) }

// MenuID is the id of a container's action menu (RowMenu), a <details>.
func MenuID(ref models.ContainerRef) string { return "menu-" + refID(ref) }

// LabelNotesID is the id of what a container's Watchtower labels do to it
// (RowLabelNotes).
func LabelNotesID(ref models.ContainerRef) string { return "labels-" + refID(ref) }

// DeleteID is the id of a container's delete confirmation (DeleteConfirm),
// a <details> inside its menu or its Stopped row.
func DeleteID(ref models.ContainerRef) string { return "delete-" + refID(ref) }

// ConfirmInputID is the id of the name typed to confirm a delete.
func ConfirmInputID(ref models.ContainerRef) string { return "confirm-" + refID(ref) }

// StoppedRowID is the id of a stopped container's <tr> in the Stopped list.
func StoppedRowID(ref models.ContainerRef) string { return "stoppedrow-" + refID(ref) }

// ActionID is the id of one of a container's action buttons: "start",
// "stop", "restart", "logs", a policy action ("snooze")…
func ActionID(ref models.ContainerRef, action string) string {
	return "act-" + safeID(action) + "-" + refID(ref)
}

// HostRowID is the id of a host's <tr> on the hosts page.
func HostRowID(name string) string { return "host-" + safeID(name) }

// RowID is the id of a container's <tr>. Container ids come from
// "host/name", whose "/" safeID escapes, so equal names on two hosts differ.
func RowID(ref models.ContainerRef) string { return "row-" + refID(ref) }

// GroupID is the id of an image group's <tbody>; key is models.GroupKey(image).
func GroupID(key string) string { return "group-" + safeID(key) }

// GroupHeaderID is the id of an image group's header row, which row answers
// refresh out of band so the group's status follows its rows.
func GroupHeaderID(key string) string { return "grouphead-" + safeID(key) }

// ToggleID is the id of a container's auto-update form.
func ToggleID(ref models.ContainerRef) string { return "toggle-" + refID(ref) }

// ToggleInputID is the id of the checkbox inside the auto-update form, the
// target of its <label for>. htmx restores focus to it after a swap because
// it has an id.
func ToggleInputID(ref models.ContainerRef) string { return "autoupdate-" + refID(ref) }

// ProgressID is the id of a container's UpdateProgress.
func ProgressID(ref models.ContainerRef) string { return "progress-" + refID(ref) }

// UpdateButtonID is the id of a container's Update button.
func UpdateButtonID(ref models.ContainerRef) string { return "update-" + refID(ref) }

func refID(ref models.ContainerRef) string { return safeID(ref.String()) }

// UpdateAllID is the id of a group's "Update all" button.
func UpdateAllID(key string) string { return "updateall-" + safeID(key) }

// Selector returns the CSS id selector of id, for hx-target and HX-Retarget.
func Selector(id string) string { return "#" + id }

// safeID maps s to characters that need no escaping in a CSS id selector.
// Letters, digits and "-" stay; "_" becomes "__" and every other byte "_xx"
// (hex), so the mapping is one-to-one: "a.b", "a-b" and "a_b" stay distinct.
// Docker names allow [a-zA-Z0-9_.-]; anything else is escaped the same way.
func safeID(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		case c == '_':
			b.WriteString("__")
		default:
			b.WriteByte('_')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}

// RowVersionID is the id of a row's RowVersion line.
func RowVersionID(ref models.ContainerRef) string { return "version-" + refID(ref) }
