package views_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"refit/models"
	"refit/views"
)

var testNow = time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)

func item(name string, s models.Status) models.ContainerItem {
	return models.ContainerItem{ContainerID: "3d4c5b6a7f8e", ContainerName: name, Ref: local(name), LocalDigest: "sha256:1111111111", Status: s}
}

func running(name string, pct int) *models.Progress {
	return &models.Progress{Container: name, Ref: local(name), Layer: "a3ed95caeb02", Current: 1048576, Total: 8388608, Percent: pct, Status: "Downloading", Phase: models.PhasePulling,
		BytesDone: 3145728, BytesTotal: 8388608, Overall: pct}
}

func finished(name string, phase models.Phase, status string) *models.Progress {
	return &models.Progress{Container: name, Ref: local(name), Percent: 100, Status: status, Phase: phase}
}

func TestNewDashboardData(t *testing.T) {
	groups := []models.ImageGroup{
		{Image: "nginx:latest", Status: models.StatusPartial, Containers: []models.ContainerItem{
			item("web", models.StatusOutdated), item("web.2", models.StatusUpToDate),
		}},
		{Image: "ghcr.io/org/app:1", Status: models.StatusUnknown, Reason: "registry unreachable", Containers: []models.ContainerItem{
			item("app", models.StatusUnknown),
		}},
	}
	progress := map[string]*models.Progress{"web": running("web", 40)}
	jobs := views.Jobs{Progress: func(ref models.ContainerRef) *models.Progress { name := ref.Name; return progress[name] }}
	v := views.Viewer{User: "admin", Role: "admin", CanUpdate: true, CSRFToken: "tok"}

	d := views.NewDashboardData(groups, jobs, v, testNow)

	if got, want := len(d.Groups), 2; got != want {
		t.Fatalf("len(Groups) = %d, want %d", got, want)
	}
	if d.Viewer != v || d.Groups[0].Viewer != v || d.Groups[0].Rows[1].Viewer != v {
		t.Errorf("viewer not passed down: %+v", d)
	}
	if got, want := d.Groups[1].Key, models.GroupKey("ghcr.io/org/app:1"); got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	web := d.Groups[0].Rows[0]
	if diff := cmp.Diff(progress["web"], web.Progress); diff != "" {
		t.Errorf("web progress (-want +got):\n%s", diff)
	}
	if !web.Polling() || web.ShowUpdate() {
		t.Errorf("web: Polling() = %v, ShowUpdate() = %v, want true, false", web.Polling(), web.ShowUpdate())
	}
	if got := d.Groups[0].Rows[1].Progress; got != nil {
		t.Errorf("web.2 progress = %v, want nil", got)
	}
	if got := d.Groups[1].Rows[0].Reason; got != "" {
		t.Errorf("row of an unknown group repeats its reason %q; the group header shows it", got)
	}
	if got := d.Groups[0].Rows[0].Reason; got != "" {
		t.Errorf("known row Reason = %q, want none", got)
	}
	if !d.JobsRunning() {
		t.Error("JobsRunning() = false, want true")
	}
	if got, want := d.Containers(), 3; got != want {
		t.Errorf("Containers() = %d, want %d", got, want)
	}
	if got, want := d.Outdated(), 1; got != want {
		t.Errorf("Outdated() = %d, want %d", got, want)
	}
}

func TestNewDashboardDataWithoutJobs(t *testing.T) {
	d := views.NewDashboardData([]models.ImageGroup{{Image: "nginx:latest", Containers: []models.ContainerItem{item("web", models.StatusOutdated)}}}, views.Jobs{}, views.Viewer{}, testNow)
	if d.JobsRunning() {
		t.Error("JobsRunning() = true, want false")
	}
	if d.Groups[0].Rows[0].ShowUpdate() {
		t.Error("ShowUpdate() = true for a viewer who may not update")
	}
	if d.Groups == nil || views.NewDashboardData(nil, views.Jobs{}, views.Viewer{}, testNow).Groups == nil {
		t.Error("Groups is nil, want empty")
	}
}

func TestGroupJobMovesPollingToTheGroup(t *testing.T) {
	g := models.ImageGroup{Image: "nginx:latest", Status: models.StatusOutdated, Containers: []models.ContainerItem{
		item("a", models.StatusOutdated), item("b", models.StatusOutdated), item("c", models.StatusUpToDate),
	}}
	jobs := views.Jobs{
		Progress: func(ref models.ContainerRef) *models.Progress {
			name := ref.Name
			return map[string]*models.Progress{"a": running("a", 10)}[name]
		},
		GroupRunning: func(image string) bool { return image == "nginx:latest" },
	}
	gd := views.NewGroupData(g, jobs, views.Viewer{CanUpdate: true}, testNow)
	if !gd.Polling() || gd.ShowUpdateAll() {
		t.Errorf("Polling() = %v, ShowUpdateAll() = %v, want true, false", gd.Polling(), gd.ShowUpdateAll())
	}
	a, b, c := gd.Rows[0], gd.Rows[1], gd.Rows[2]
	if !a.Updating() || a.Polling() {
		t.Errorf("a: Updating() = %v, Polling() = %v, want true, false", a.Updating(), a.Polling())
	}
	if !b.Queued() || b.ShowUpdate() {
		t.Errorf("b: Queued() = %v, ShowUpdate() = %v, want true, false", b.Queued(), b.ShowUpdate())
	}
	if c.Queued() {
		t.Error("c: Queued() = true for an up-to-date container")
	}
}

func TestRowStates(t *testing.T) {
	tests := []struct {
		name                                                string
		row                                                 views.RowData
		updating, polling, done, failed, queued, showUpdate bool
	}{
		{"idle uptodate", views.RowData{Item: item("x", models.StatusUpToDate)}, false, false, false, false, false, false},
		{"outdated", views.RowData{Item: item("x", models.StatusOutdated)}, false, false, false, false, false, true},
		{"updating", views.RowData{Item: item("x", models.StatusOutdated), Progress: running("x", 5)}, true, true, false, false, false, false},
		{"done", views.RowData{Item: item("x", models.StatusUpToDate), Progress: finished("x", models.PhaseDone, "done")}, false, false, true, false, false, false},
		{"failed", views.RowData{Item: item("x", models.StatusOutdated), Progress: finished("x", models.PhaseFailed, "error: boom (rolled back)")}, false, false, false, true, false, true},
		{"in group job", views.RowData{Item: item("x", models.StatusOutdated), InGroupJob: true}, false, false, false, false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.row.CanUpdate = true
			got := []bool{tc.row.Updating(), tc.row.Polling(), tc.row.Done(), tc.row.Failed(), tc.row.Queued(), tc.row.ShowUpdate()}
			want := []bool{tc.updating, tc.polling, tc.done, tc.failed, tc.queued, tc.showUpdate}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[Updating Polling Done Failed Queued ShowUpdate] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefreshTrigger(t *testing.T) {
	calm := views.DashboardData{}.RefreshTrigger()
	fast := views.DashboardData{Checking: true}.RefreshTrigger()
	// No filter: htmx would need eval for one (see HoldWhilePolling).
	if calm != "every 30s" {
		t.Errorf("calm RefreshTrigger() = %q", calm)
	}
	if fast != "every 2s" {
		t.Errorf("checking RefreshTrigger() = %q", fast)
	}
}

// local is the container of that name on the one host these tests have.
func local(name string) models.ContainerRef { return models.Ref(models.LocalHost, name) }
