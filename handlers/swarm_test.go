package handlers

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// A Swarm service is a row like a container's: its row and update routes
// take its host/service:name identity, and the API finds it by name.
func TestServiceRowUpdatesThroughItsRoutes(t *testing.T) {
	ta := newTestApp(t)
	ta.engine.AddService("api", "ghcr.io/org/app:1.2@"+dOld, 2)
	if _, err := ta.deps.Containers.Check(context.Background()); err != nil { // a check learns the engine became a manager
		t.Fatal(err)
	}
	ref := models.ServiceRef(models.LocalHost, "api")
	status, body := ta.htmx(t, "GET", views.RowPath(ref), nil)
	if status != 200 || !strings.Contains(body, "Swarm service · 2/2 tasks") || !strings.Contains(body, views.UpdatePath(ref)) {
		t.Fatalf("service row = %d %s", status, body)
	}
	_, list, _ := ta.do(t, "GET", "/api/images", nil)
	if !strings.Contains(list, `"container_name":"api","local_digest":"`+models.ShortDigest(dOld)+`","status":"outdated","auto_update":false,"kind":"service"`) {
		t.Errorf("/api/images lacks the outdated service: %s", list)
	}
	if status, body := ta.htmx(t, "POST", views.UpdatePath(ref), nil); status != 200 {
		t.Fatalf("update = %d %s", status, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := ta.deps.Updates.Progress(ref)
		if err == nil && !p.Running() {
			if p.Phase != models.PhaseDone {
				t.Errorf("service update ended %+v", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service update did not end: %+v %v", p, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := ta.engine.ServiceUpdates("api"); len(got) != 1 || got[0] != "ghcr.io/org/app:1.2@"+dNew {
		t.Errorf("service updates = %v", got)
	}
	if status, body, _ := ta.do(t, "GET", "/api/images/api/progress", nil); status != 200 || !strings.Contains(body, `"phase":"done"`) {
		t.Errorf("progress by the service's name = %d %s", status, body)
	}
}
