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
	// BackupField is the backup id a rollback form posts.
	BackupField = "backup"
	// PanelField ("close") on a form inside a panel has its answer close
	// the panel too (ClosedPanel), as the action it asked for is under way.
	PanelField = "panel"
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
	return r.CanUpdate && ((r.Item.Status == models.StatusOutdated && !r.Skipped) || (r.Item.NewerTag != "" && !r.TagSkipped))
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
		return ShortImageID(im.ID)
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

// Panel is what every panel of a row has: the container, the page's host
// filter (which the panel's forms keep), whether it is a page of its own
// (JavaScript off: it links back instead of closing), whether the heading
// names the host, and the viewer.
type Panel struct {
	Ref        models.ContainerRef
	Filter     string
	Standalone bool
	Several    bool
	Viewer
}

// MenuData is a row's menu as a page of its own (MenuPanel).
type MenuData struct {
	Panel
	Row RowData
}

// PreviewData is one container's PreviewPanel.
type PreviewData struct {
	Panel
	Preview models.Preview
	// Shown is the row's ShownValue, which the panel's Update form posts as
	// the row's own does, for the live region.
	Shown string
}

// ShowUpdate reports whether the panel ends with an Update button.
func (p PreviewData) ShowUpdate() bool { return p.CanUpdate && p.Preview.UpdateAvailable }

// CandidateText says what the registry offers, as the panel's "New" line.
func (p PreviewData) CandidateText() string {
	switch c := p.Preview.Candidate; {
	case c.Digest == "":
		return "not known yet: check the registry first"
	case c.Digest == p.Preview.Current.Digest:
		return "the same digest: up to date"
	default:
		return models.ShortDigest(c.Digest)
	}
}

// PortText is a published port as docker ps writes it: "0.0.0.0:8080->80/tcp".
func PortText(p models.PreviewPort) string {
	host := p.HostPort
	if p.HostIP != "" {
		host = p.HostIP + ":" + host
	}
	if host == "" {
		return p.Port
	}
	return host + "->" + p.Port
}

// VolumeText is a mount as the panel lists it: "data → /var/lib/app".
func VolumeText(v models.PreviewVolume) string {
	src := v.Name
	switch {
	case v.Type == "bind":
		src = v.Source
	case v.Type == "tmpfs":
		src = "tmpfs"
	case v.Anonymous:
		src = "anonymous volume " + models.ShortID(v.Name)
	}
	s := src + " → " + v.Destination
	if v.ReadOnly {
		s += " (read-only)"
	}
	return s
}

// NetworkText is a network the new container joins, with its aliases.
func NetworkText(n models.PreviewNetwork) string {
	if len(n.Aliases) == 0 {
		return n.Name
	}
	return n.Name + " (aliases " + strings.Join(n.Aliases, ", ") + ")"
}

// BackupsData is one container's BackupsPanel.
type BackupsData struct {
	Panel
	Backups []models.Backup // newest first
}

// BackupImage is the image a backup kept as people write it: "nginx:1.27".
func BackupImage(b models.Backup) string {
	name := strings.TrimPrefix(b.ImageName, "library/")
	if b.ImageTag != "" {
		name += ":" + b.ImageTag
	}
	return name
}

// Fact is one line of a preview's list: what, and the items.
type Fact struct {
	Label string
	Items []string
}

// Kept is what the recreate carries over as the user set it, the lines
// that have something.
func (p PreviewData) Kept() []Fact {
	k := p.Preview.Keeps
	return facts(
		Fact{"environment", k.Env}, Fact{"labels", k.Labels}, Fact{"settings", k.Config},
		Fact{"exposed ports", k.ExposedPorts}, Fact{"published ports", portTexts(k.Ports)},
		Fact{"restart policy", nonEmpty(k.RestartPolicy)}, Fact{"network mode", nonEmpty(k.NetworkMode)},
		Fact{"limits", k.Resources}, Fact{"host settings", k.Host})
}

// Fresh is what the new container takes from the new image, the lines
// that have something.
func (p PreviewData) Fresh() []Fact {
	f := p.Preview.FromImage
	return facts(Fact{"environment", f.Env}, Fact{"labels", f.Labels}, Fact{"settings", f.Config},
		Fact{"exposed ports", f.ExposedPorts})
}

func facts(all ...Fact) []Fact {
	var out []Fact
	for _, f := range all {
		if len(f.Items) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// The preview's lists as text.
func portTexts(ps []models.PreviewPort) []string       { return mapText(ps, PortText) }
func volumeTexts(vs []models.PreviewVolume) []string   { return mapText(vs, VolumeText) }
func networkTexts(ns []models.PreviewNetwork) []string { return mapText(ns, NetworkText) }
func dependentNames(ds []models.PreviewDependent) []string {
	return mapText(ds, func(d models.PreviewDependent) string { return d.Name })
}

func mapText[T any](xs []T, f func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// nonEmpty is s as a list: none when empty.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// ShortImageID is an image ID as docker images writes it: 12 hex digits.
func ShortImageID(id string) string { return models.ShortID(strings.TrimPrefix(id, "sha256:")) }
