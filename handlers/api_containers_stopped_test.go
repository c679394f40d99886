package handlers

import (
	"context"
	"testing"
)

// A stopped container is found (GET answers it), so a watch or a rollback
// of it is a 409 that says why, not a 404.
func TestWatchAndRollbackOfAStoppedContainer(t *testing.T) {
	ta := newTestApp(t)
	if err := ta.engine.Stop(context.Background(), nginxID); err != nil {
		t.Fatal(err)
	}
	if err := ta.deps.Containers.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := ta.do(t, "GET", "/api/containers/nginx", nil); st != 200 {
		t.Fatalf("GET of the stopped nginx = %d", st)
	}
	for _, path := range []string{"/api/containers/nginx/watch", "/api/v1/containers/nginx/rollback"} {
		if st, body, _ := ta.do(t, "POST", path, jsonBody(`{}`)); st != 409 || body != "container is not running\n" {
			t.Errorf("POST %s = %d %q, want 409 container is not running", path, st, body)
		}
	}
}
