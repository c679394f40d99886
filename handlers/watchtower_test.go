package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"refit/models"
	"refit/services"
)

// Watchtower's /v1/update on the fake engine: its token or a refit
// operator token lets in, nothing else (no session, no viewer token, not
// auth off); the answer comes once the update has ended; ?image= takes
// only those images; a name that is no image reference is a 400.
func TestWatchtowerUpdateEndpoint(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	nginx := local("nginx")
	a.engine.Publish("nginx", "sha256:img-new", dNew)
	if err := a.deps.Toggles.Set(nginx, true); err != nil {
		t.Fatal(err)
	}
	viewer := a.token(t, a.login(t, "viewer"), "ro")
	for _, h := range [][]string{nil, {"Authorization", "Bearer nope"}, {"Authorization", "Bearer " + viewer}, a.login(t, "admin").headers()} {
		status, body, _ := a.call(t, "POST", "/v1/update", "", h...)
		if want := 401; len(h) > 0 && strings.Contains(h[1], viewer) {
			want = 403
			if status != want {
				t.Errorf("/v1/update with a viewer's token = %d %q, want 403", status, body)
			}
		} else if status != want || body != "" {
			t.Errorf("/v1/update with %v = %d %q, want a bare 401", h, status, body)
		}
	}
	if it, _, _ := a.deps.Containers.FindRef(nginx); it.ImageID == "sha256:img-new" {
		t.Fatal("nginx was updated without a valid token")
	}

	status, body, _ := a.call(t, "GET", "/v1/update?image=ghcr.io/org/app", "", "Authorization", "Bearer "+testWatchtowerToken)
	var res services.WatchtowerResult
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || res.Scanned != 2 {
		t.Fatalf("GET /v1/update?image=ghcr.io/org/app = %d %s, want 200 scanning app's two containers", status, body)
	}
	if it, _, _ := a.deps.Containers.FindRef(nginx); it.ImageID == "sha256:img-new" {
		t.Error("?image=ghcr.io/org/app updated nginx")
	}

	status, body, _ = a.call(t, "POST", "/v1/update", "", "Authorization", "Bearer "+testWatchtowerToken)
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || res.Updated < 1 {
		t.Fatalf("POST /v1/update = %d %s, want 200 with nginx updated", status, body)
	}
	if it, _, _ := a.deps.Containers.FindRef(nginx); it.ImageID != "sha256:img-new" {
		t.Errorf("after /v1/update answered, nginx runs %s", it.ImageID)
	}
	recs, _ := a.deps.History.Recent(1)
	if len(recs) != 1 || recs[0].By != services.ByWatchtowerAPI || recs[0].Result != models.ResultUpdated {
		t.Errorf("history = %+v, want an update by %q", recs, services.ByWatchtowerAPI)
	}

	status, body, _ = a.call(t, "GET", "/v1/update?image=Not:A:Ref", "", "Authorization", "Bearer "+testWatchtowerToken)
	if status != 400 || !strings.HasSuffix(body, "\n") {
		t.Errorf("a bad image name = %d %q, want 400 with the reason", status, body)
	}
	if status, body, _ := a.call(t, "GET", "/v1/metrics", "", "Authorization", "Bearer "+testWatchtowerToken); status != 200 ||
		!strings.Contains(body, "watchtower_scans_total") {
		t.Errorf("/v1/metrics = %d %q", status, body)
	}
}

// With auth off, the Watchtower routes still want a bearer token: they sit
// before the host check, where only a token keeps a rebinding page out.
func TestWatchtowerRoutesWantATokenWithAuthOff(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{Disabled: true})
	if status, _, _ := a.call(t, "POST", "/v1/update", ""); status != http.StatusUnauthorized {
		t.Errorf("/v1/update with auth off and no token = %d, want 401", status)
	}
	if status, _, _ := a.call(t, "POST", "/v1/update", "", "Authorization", "Bearer "+testWatchtowerToken); status != 200 {
		t.Errorf("/v1/update with auth off and the token = %d, want 200", status)
	}
}
