package metrics_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"refit/models"
	"refit/services/metrics"
)

// The last scan's numbers: a check resets them, auto-update's and the
// API's records count, updates by hand do not; a failed check is a scan of
// nothing; a skip counts without touching the gauges.
func TestWatchtowerScansAreTheLastChecks(t *testing.T) {
	m := metrics.New(models.BuildInfo{})
	m.ScanUpdatesBy("watchtower api")
	groups := []models.ImageGroup{{Containers: make([]models.ContainerItem, 2)}, {Containers: make([]models.ContainerItem, 1)}}
	m.Checked(groups)
	for _, r := range []models.UpdateRecord{
		{By: "auto", Result: models.ResultUpdated}, {By: "watchtower api", Result: models.ResultRolledBack},
		{By: "admin", Result: models.ResultUpdated}, {By: "auto", Result: models.ResultUpToDate},
	} {
		m.UpdateDone(r)
	}
	m.ScanSkipped()
	want(t, m, map[string]string{"scanned": "3", "updated": "1", "failed": "1", "total": "2", "skipped": "1"})
	m.CheckDone(0, errors.New("engine down"))
	want(t, m, map[string]string{"scanned": "0", "updated": "0", "failed": "0", "total": "3", "skipped": "1"})
	m.Scanned(1)
	want(t, m, map[string]string{"scanned": "1", "total": "4"})
}

func want(t *testing.T, m *metrics.Metrics, vals map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.WatchtowerHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	names := map[string]string{"scanned": "watchtower_containers_scanned", "updated": "watchtower_containers_updated",
		"failed": "watchtower_containers_failed", "total": "watchtower_scans_total", "skipped": "watchtower_scans_skipped"}
	for k, v := range vals {
		if line := names[k] + " " + v + "\n"; !strings.Contains(string(body), line) {
			t.Errorf("/v1/metrics lacks %q:\n%s", line, body)
		}
	}
	if strings.Contains(string(body), "refit_") {
		t.Error("/v1/metrics serves refit's own metrics too")
	}
}
