package views

import (
	"strings"
	"time"

	"refit/models"
)

// Form fields and events of a row's menu, its Stopped section and its logs.
const (
	// PolicyField is the update-policy action a policy form posts:
	// models.PolicySkipCurrent, PolicySnooze or PolicyClear.
	PolicyField = "action"
	// DaysField is how many days a snooze lasts.
	DaysField = "days"
	// ConfirmField is the name typed to confirm a delete, checked by the
	// server: a wrong name is refused, whatever the browser let through.
	ConfirmField = "confirm"
	// VolumesField ("on") removes the container's anonymous volumes too.
	VolumesField = "volumes"
	// TailField is how many of the last log lines LogPanel shows.
	TailField = "tail"
	// ContainersChanged is the event (HX-Trigger) of an answer after which
	// a container runs or not, or is gone: StoppedList refreshes on it.
	ContainersChanged = "containers-changed"
	// MenuOpen matches an open RowMenu.
	MenuOpen = "details.row-menu[open]"
	// SnoozeDays is what "Snooze" snoozes for.
	SnoozeDays = 7
	// DefaultLogTail is the tail a LogPanel opens with.
	DefaultLogTail = 100
)

// LogTails are the tail lengths the LogPanel offers.
var LogTails = []int{100, 500, 2000}

// Held reports whether the row's policy holds its update back now: the
// row keeps its Update button (an update asked for by hand goes ahead),
// but "Update all" leaves it out.
func (r RowData) Held() bool { return r.Skipped || r.Snoozed }

// ShowMenu reports whether the row offers its menu: not while its update
// runs, when the row polls every second and would close it.
func (r RowData) ShowMenu() bool { return !r.Updating() }

// Lifecycle reports whether the row offers logs, start, stop, restart and
// delete: a container's, not a Swarm service's, whose tasks are the
// engine's.
func (r RowData) Lifecycle() bool { return r.Item.Service == nil }

// ShowSkip reports whether the menu offers "Skip this version": there is a
// version to skip, not skipped yet.
func (r RowData) ShowSkip() bool {
	return r.CanUpdate && r.Item.Status == models.StatusOutdated && !r.Skipped
}

// ShowSnooze reports whether the menu offers "Snooze": not while snoozed.
func (r RowData) ShowSnooze() bool { return r.CanUpdate && !r.Snoozed }

// ShowClear reports whether the menu offers "Clear policy": there is one.
func (r RowData) ShowClear() bool { return r.CanUpdate && !r.Policy.Empty() }

// SnoozeEnd is when the row's snooze ends (zero when none).
func (r RowData) SnoozeEnd() time.Time {
	if r.Policy.SnoozeUntil == nil {
		return time.Time{}
	}
	return *r.Policy.SnoozeUntil
}

// SnoozeDate is the end of a snooze as the server's local date,
// "2026-03-11", as the engine banner writes dates.
func SnoozeDate(t time.Time) string { return t.In(time.Local).Format("2006-01-02") }

// StoppedData is the "Stopped" section: the containers that do not run
// (exited, created, dead), as Catalog lists them.
type StoppedData struct {
	Items   []models.DrydockContainer
	Several bool   // refit has several hosts: each row names its own
	Filter  string // the page's host filter: only that host's containers
	Viewer
}

// NewStoppedData keeps the containers of all that are not running, on
// host only when filter names one.
func NewStoppedData(all []models.DrydockContainer, several bool, filter string, v Viewer) StoppedData {
	s := StoppedData{Several: several, Filter: filter, Viewer: v}
	for _, c := range all {
		if Stopped(c.Status) && c.Kind != models.KindService && (filter == "" || c.Watcher == filter) {
			s.Items = append(s.Items, c)
		}
	}
	return s
}

// Stopped reports whether a container in the engine's state st is out of
// the dashboard's table, which lists what runs: paused and restarting
// containers are still there.
func Stopped(st string) bool {
	switch st {
	case "running", "paused", "restarting":
		return false
	}
	return true
}

// StoppedRef is the identity of a Stopped item.
func StoppedRef(c models.DrydockContainer) models.ContainerRef { return models.Ref(c.Watcher, c.Name) }

// ImageText is the image a catalog item runs as people write it:
// "nginx:1.27", "ghcr.io/org/app:1.2".
func ImageText(im models.DrydockImage) string {
	name := im.Name
	if im.Registry.URL != "" && im.Registry.URL != "docker.io" {
		name = im.Registry.URL + "/" + name
	} else {
		name = strings.TrimPrefix(name, "library/")
	}
	if name == "" {
		return models.ShortID(strings.TrimPrefix(im.ID, "sha256:"))
	}
	if im.Tag.Value != "" {
		name += ":" + im.Tag.Value
	}
	return name
}

// LogsData is one container's LogPanel.
type LogsData struct {
	Ref  models.ContainerRef
	Tail int
	Logs string
	// Gone: the container no longer exists, and the panel stops polling.
	// Problem: why the lines could not be read this time; it tries again.
	Gone    bool
	Problem string
	// Standalone: the panel is a page of its own (JavaScript off, or a new
	// tab), which links back instead of closing.
	Standalone bool
	Several    bool // refit has several hosts: the heading names the host
}

// logsSwap is the hx-swap of an answer that brings a LogPanel: mode, and
// the lines scrolled to the newest, so the panel follows the log.
func logsSwap(mode string) string { return mode + " scroll:" + Selector(LogLinesID) + ":bottom" }

// Polling reports whether the panel follows the log.
func (l LogsData) Polling() bool { return !l.Gone }
