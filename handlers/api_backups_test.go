package handlers

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/views"
)

// The nginx container is updated (its image backed up), listed, and
// rolled back onto the backup through the API.
func TestDrydockBackupsAndRollback(t *testing.T) {
	ta := newTestApp(t)
	ta.withBackups(t)
	ta.engine.Publish("nginx", "sha256:img-new", dNew)

	if st, body, _ := ta.do(t, "GET", "/api/containers/nginx/backups", nil); st != 200 || body != "[]" {
		t.Errorf("backups before any update = %d %s, want []", st, body)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/update", nil); st != 200 {
		t.Fatalf("update = %d %s", st, body)
	}
	st, body, _ := ta.do(t, "GET", "/api/v1/containers/nginx/backups", nil)
	var bks []map[string]any
	if err := json.Unmarshal([]byte(body), &bks); st != 200 || err != nil || len(bks) != 1 {
		t.Fatalf("backups = %d %s", st, body)
	}
	for k, want := range map[string]any{"containerId": nginxID, "containerName": "nginx", "imageName": "library/nginx",
		"imageTag": "latest", "imageDigest": dOld, "imageId": "sha256:img-old"} {
		if bks[0][k] != want {
			t.Errorf("backup %s = %v, want %v", k, bks[0][k], want)
		}
	}
	if _, ok := bks[0]["id"].(string); !ok || bks[0]["timestamp"] == nil {
		t.Errorf("backup id, timestamp = %v, %v", bks[0]["id"], bks[0]["timestamp"])
	}

	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/rollback", jsonBody(`{"backupId":"nope"}`)); st != 404 || body != "backup not found\n" {
		t.Errorf("rollback onto an unknown backup = %d %q", st, body)
	}
	if st, body, _ := ta.do(t, "POST", "/api/containers/nope/rollback", jsonBody(`{}`)); st != 404 || body != "container not found\n" {
		t.Errorf("rollback of an unknown container = %d %q", st, body)
	}
	st, body, _ = ta.do(t, "POST", "/api/containers/nginx/rollback", jsonBody(`{"backupId":"`+bks[0]["id"].(string)+`"}`))
	var item models.DrydockContainer
	if err := json.Unmarshal([]byte(body), &item); st != 200 || err != nil || item.Image.ID != "sha256:img-old" || item.ID == nginxID {
		t.Errorf("rollback = %d %s, want the item on sha256:img-old under a new id", st, body)
	}
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

// withBackups gives ta updates that keep 3 image backups per container,
// and returns them.
func (ta *testApp) withBackups(t *testing.T) *services.Updates {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	upd := services.NewUpdates(auth{}, ta.deps.Containers, ta.deps.History, log, services.UpdateOptions{
		Settle: time.Millisecond, Backups: services.NewBackups(ta.db, 3, log)})
	t.Cleanup(upd.Close)
	d := ta.deps
	d.Updates = upd
	ta.deps = withCatalog(t, d, ta.db)
	ta.app = New(ta.deps)
	return upd
}

// Without JavaScript, Stop, Restart and Roll back are plain forms: each
// does its work and sends the browser back to the dashboard.
func TestPlainFormsOfStopRestartAndRollback(t *testing.T) {
	ta := newTestApp(t)
	upd := ta.withBackups(t)
	ta.engine.Publish("nginx", "sha256:img-new", dNew)
	nginx := local("nginx")
	if st, body, _ := ta.do(t, "POST", "/api/containers/nginx/update", nil); st != 200 {
		t.Fatalf("update = %d %s", st, body)
	}
	bks, err := upd.Backups(nginx)
	if err != nil || len(bks) != 1 {
		t.Fatalf("backups = %v, %v", bks, err)
	}
	back := func(what, path string, form url.Values) {
		t.Helper()
		if status, _, h := ta.postForm(t, path, form, false); status != 303 || h.Get("Location") != "/" {
			t.Errorf("plain %s = %d to %q, want 303 to /", what, status, h.Get("Location"))
		}
	}
	back("rollback", views.RollbackPath(nginx), url.Values{views.BackupField: {bks[0].ID}})
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if p, ok := upd.ProgressOf(nginx); ok && !p.Running() {
			if p.Phase != models.PhaseDone {
				t.Fatalf("the plain rollback ended %+v", p)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("the plain rollback did not end within 10s")
		}
	}
	if c, _ := ta.engine.Container("nginx"); c.ImageID != "sha256:img-old" {
		t.Errorf("after the plain rollback nginx runs %s, want sha256:img-old", c.ImageID)
	}
	before, _ := ta.engine.Container("nginx")
	back("restart", views.RestartPath(nginx), nil)
	if c, _ := ta.engine.Container("nginx"); !c.Running || !c.StartedAt.After(before.StartedAt) {
		t.Error("the plain restart did not restart nginx")
	}
	back("stop", views.StopPath(nginx), nil)
	if c, _ := ta.engine.Container("nginx"); c.Running {
		t.Error("the plain stop left nginx running")
	}
}
