package handlers

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// The preview panel answers alone for htmx and as a page without, with
// Update at its foot for an outdated container; its Update answers the row
// and closes the panel. Nothing is pulled to preview.
func TestPreviewPanelAndItsUpdate(t *testing.T) {
	ta := newTestApp(t)
	nginx := local("nginx")
	pulls := ta.engine.PullCount("nginx")
	status, doc, _ := ta.getHTML(t, views.PreviewPath(nginx), "HX-Request", "true")
	panel := doc.Find("section#" + views.PreviewPanelID)
	if status != 200 || panel.Length() != 1 || doc.Find("title").Length() != 0 || doc.Find("#"+views.PreviewUpdateID).Length() != 1 {
		t.Fatalf("preview panel = %d, %d panels, Update %d", status, panel.Length(), doc.Find("#"+views.PreviewUpdateID).Length())
	}
	if got := strings.Join(strings.Fields(panel.Text()), " "); !strings.Contains(got, "Update preview of nginx") || !strings.Contains(got, "Keeps") {
		t.Errorf("preview = %q", got)
	}
	if ta.engine.PullCount("nginx") != pulls {
		t.Error("the preview pulled")
	}
	status, doc, _ = ta.getHTML(t, views.PreviewPath(nginx))
	if status != 200 || doc.Find("title").Length() != 1 || doc.Find("#"+views.PreviewCloseID).Length() != 0 {
		t.Errorf("the preview page = %d", status)
	}
	if status, _, _ := ta.getHTML(t, views.PreviewPath(local("nope")), "HX-Request", "true"); status != 404 {
		t.Errorf("preview of an unknown container = %d, want 404", status)
	}

	status, doc, _ = ta.postForm(t, views.UpdatePath(nginx), url.Values{views.PanelField: {"close"}}, true)
	if status != 200 || doc.Find("#"+views.RowID(nginx)).Length() != 1 {
		t.Fatalf("Update from the preview = %d", status)
	}
	if slot := doc.Find("#" + views.PanelSlotID); slot.Length() != 1 || slot.AttrOr("hx-swap-oob", "") != "innerHTML" {
		t.Errorf("the answer does not close the panel: %d slots", slot.Length())
	}
	if _, doc, _ := ta.postForm(t, views.RestartPath(nginx), nil, true); doc.Find("#"+views.PanelSlotID).Length() != 0 {
		t.Error("a row answer from outside a panel closes the panel")
	}
}

// Backups list after an update; Roll back answers the row (which follows
// the job) and closes the panel; a missing or unknown backup is a 4xx.
func TestBackupsPanelAndRollback(t *testing.T) {
	ta := newTestApp(t)
	upd := ta.withBackups(t)
	nginx := local("nginx")

	_, doc, _ := ta.getHTML(t, views.BackupsPath(nginx), "HX-Request", "true")
	if !strings.Contains(doc.Find("#"+views.BackupsPanelID).Text(), "No backups yet") {
		t.Errorf("backups before an update = %q", doc.Text())
	}
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	if _, err := upd.StartContainer(nginx.String(), "test"); err != nil {
		t.Fatal(err)
	}
	if p, err := upd.Wait(t.Context(), nginx, time.Minute); err != nil || p.Phase == models.PhaseFailed {
		t.Fatalf("update = %+v, %v", p, err)
	}
	bks, err := upd.Backups(nginx)
	if err != nil || len(bks) != 1 {
		t.Fatalf("backups = %v, %v", bks, err)
	}
	status, doc, _ := ta.getHTML(t, views.BackupsPath(nginx), "HX-Request", "true")
	if status != 200 || doc.Find("#"+views.BackupRowID(bks[0].ID)).Length() != 1 || doc.Find("#"+views.ActionID(nginx, "rollback-"+bks[0].ID)).Length() != 1 {
		t.Fatalf("backups panel = %d:\n%s", status, doc.Text())
	}
	if status, _, _ := ta.getHTML(t, views.BackupsPath(nginx)); status != 200 {
		t.Errorf("the backups page = %d", status)
	}

	if status, _, _ := ta.postForm(t, views.RollbackPath(nginx), url.Values{}, true); status != 400 {
		t.Errorf("rollback without a backup = %d, want 400", status)
	}
	if status, _, _ := ta.postForm(t, views.RollbackPath(nginx), url.Values{views.BackupField: {"nope"}}, true); status != 404 {
		t.Errorf("rollback onto an unknown backup = %d, want 404", status)
	}
	status, doc, _ = ta.postForm(t, views.RollbackPath(nginx), url.Values{views.BackupField: {bks[0].ID}, views.PanelField: {"close"}}, true)
	if status != 200 || doc.Find("#"+views.RowID(nginx)).Length() != 1 || doc.Find("#"+views.PanelSlotID).Length() != 1 {
		t.Fatalf("rollback = %d:\n%s", status, doc.Text())
	}
	p, err := upd.Wait(t.Context(), nginx, time.Minute)
	if err != nil || p.Phase == models.PhaseFailed {
		t.Fatalf("rollback job = %+v, %v", p, err)
	}
	if it, _, err := ta.deps.Containers.FindRef(nginx); err != nil || it.ImageID != "sha256:img-old" {
		t.Errorf("after the rollback nginx runs %q (%v), want sha256:img-old", it.ImageID, err)
	}
}
