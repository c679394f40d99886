package handlers

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"refit/models"
	"refit/views"
)

// Each row says what its Watchtower labels do to it: monitor-only and
// enable=false hold it from auto-update, depends-on names what it waits
// for; a row without such labels says nothing.
func TestRowsSayWhatTheirWatchtowerLabelsDo(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.SetLabels(nginxID, map[string]string{
		models.LabelWTMonitorOnly: "true", models.LabelWTDependsOn: "db,/cache", models.LabelWTNoPull: "true"})
	ta.engine.SetLabels(appID, map[string]string{models.LabelWTEnable: "false"})
	if _, err := ta.deps.Containers.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, doc, _ := ta.getHTML(t, views.DashboardPath)
	for ref, want := range map[models.ContainerRef][]string{
		local("nginx"): {"monitor only", "depends on db, cache", "no pull"},
		local("app"):   {"excluded by label"},
	} {
		notes := doc.Find("#" + views.LabelNotesID(ref) + " li")
		var got []string
		notes.Each(func(_ int, s *goquery.Selection) { got = append(got, strings.TrimSpace(s.Text())) })
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s notes = %q, want %q", ref, got, want)
		}
	}
	if doc.Find("#"+views.LabelNotesID(local("app-2"))).Length() != 0 {
		t.Error("app-2 has no Watchtower labels but its row has notes")
	}
	// The row alone, as a poll or an action answers it, says the same.
	_, doc, _ = ta.getHTML(t, views.RowPath(local("nginx")), "HX-Request", "true")
	if got := text(doc.Find("#" + views.LabelNotesID(local("nginx")))); !strings.Contains(got, "monitor only") {
		t.Errorf("nginx's row alone says %q", got)
	}
}
