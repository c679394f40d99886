package views

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"refit/models"
)

// The history page's query parameters, beside HostField.
const (
	// ContainerField names one container (with HostField its host).
	ContainerField = "container"
	// ResultField names one outcome, one of models.Results.
	ResultField = "result"
)

const (
	// HistoryPath is the update history page (GET), every role.
	HistoryPath = "/history"
	// HistoryID is the history table.
	HistoryID = "history"
	// HistoryFilterID is the history page's filter form.
	HistoryFilterID = "history-filter"
)

// HistoryRowID is the id of one record's <tr>.
func HistoryRowID(id uint) string { return "record-" + strconv.FormatUint(uint64(id), 10) }

// HistoryFor is the history of one container.
func HistoryFor(ref models.ContainerRef) string {
	return HistoryPath + "?" + url.Values{HostField: {ref.Host}, ContainerField: {ref.Name}}.Encode()
}

// HistoryData is what HistoryPage shows.
type HistoryData struct {
	Records    []models.UpdateRecord
	Filter     models.HistoryFilter
	Containers []models.ContainerRef // every container with a record, for the filter
	Several    bool                  // refit has several hosts: records name theirs
	Now        time.Time
	Viewer
}

// ContainerValue is the filter's value for ref, "host/name".
func ContainerValue(ref models.ContainerRef) string { return ref.String() }

// Selected is the filter's container as ContainerValue says it, "" for all.
func (d HistoryData) Selected() string {
	if d.Filter.Container == "" {
		return ""
	}
	return models.Ref(d.Filter.Host, d.Filter.Container).String()
}

// ContainerLabel names ref in the filter: with its host when there are several.
func (d HistoryData) ContainerLabel(ref models.ContainerRef) string {
	if d.Several {
		return ref.Name + " on " + ref.Host
	}
	return ref.Name
}

// DurationText is a record's duration for people: "850 ms", "12.3 s", "2 min 5 s".
func DurationText(ms int64) string {
	switch d := time.Duration(ms) * time.Millisecond; {
	case d < time.Second:
		return fmt.Sprintf("%d ms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	default:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// VersionChange is the record's versions from → to, as the images' version
// labels say them ("1.25.3 → 1.25.4"), a side without one by its short
// digest; "" when neither image carries a version.
func VersionChange(r models.UpdateRecord) string {
	if r.FromVersion == "" && r.ToVersion == "" {
		return ""
	}
	side := func(v, digest string) string {
		if v != "" {
			return v
		}
		if d := models.ShortDigest(digest); d != "" {
			return d
		}
		return "?"
	}
	if r.ToVersion == "" && r.ToDigest == "" { // failed before a new image was known
		return side(r.FromVersion, r.FromDigest)
	}
	return side(r.FromVersion, r.FromDigest) + " → " + side(r.ToVersion, r.ToDigest)
}

// ResultWord is what the page calls an outcome.
func ResultWord(result string) string {
	if result == models.ResultUpToDate {
		return "already up to date"
	}
	return result
}

// ByText says who or what started an update.
func ByText(by string) string {
	switch by {
	case "", "auto":
		return "auto-update"
	}
	return by
}

// historyScope says what the empty page was narrowed to.
func historyScope(d HistoryData) string {
	s := ""
	if d.Filter.Container != "" {
		s += " for " + d.Filter.Container
	}
	if d.Filter.Result != "" {
		s += " with outcome " + ResultWord(d.Filter.Result)
	}
	return s
}

// historyBadge colours an outcome: green when the new image runs, amber
// when the old one runs again, red when it failed.
func historyBadge(result string) string {
	switch result {
	case models.ResultUpdated, models.ResultRecovered, models.ResultRestored:
		return "badge badge-uptodate"
	case models.ResultRolledBack:
		return "badge badge-outdated"
	case models.ResultFailed:
		return "badge badge-error"
	}
	return "badge badge-unknown"
}

// CrashLogsPanelID is the CrashLogsPanel and CrashLogsCloseID its Close button.
const (
	CrashLogsPanelID = "crash-logs"
	CrashLogsCloseID = "crash-logs-close"
)

// CrashLogsPath answers a container's CrashLogsPanel (GET): the last lines
// of the new container its failed update removed; alone for htmx, else a page.
func CrashLogsPath(ref models.ContainerRef) string { return containerPath(ref, "crash-logs") }

// CrashLogsData is what CrashLogsPanel shows.
type CrashLogsData struct {
	Ref        models.ContainerRef
	Record     models.UpdateRecord
	Several    bool
	Standalone bool // a page of its own (JavaScript off)
}
