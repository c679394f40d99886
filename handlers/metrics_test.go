package handlers

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/services/metrics"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// metricsApp is an auth app whose services are wired to metrics as refit
// serve wires them, over the fake engine and a real registry client.
func metricsApp(t *testing.T) (*authApp, *ocitest.Registry) {
	t.Helper()
	a := newAuthApp(t, services.AuthOptions{})
	reg := ocitest.NewRegistry(t)
	remote := reg.Push(t, "test/app:2", ocitest.ImageOpts{Marker: "v2"})
	reg.SetRateLimitHeaders(100, 42)
	ref := reg.Ref("test/app:2")
	eng := fake.NewEngine()
	eng.AddImage("sha256:img-old", reg.Host()+"/test/app@"+dOld)
	eng.Tag(ref, "sha256:img-old")
	eng.Run(nginxID, "app", ref, "sha256:img-old")
	eng.AddImage("sha256:img-gone", reg.Host()+"/test/gone@"+dOld) // pulled once, since deleted from the registry
	eng.Run(appID, "gone", reg.Ref("test/gone:1"), "sha256:img-gone")
	eng.Publish(ref, "sha256:img-new", remote)

	met := metrics.New(models.BuildInfo{Version: "1.2.3", Commit: "abc123", Go: runtime.Version()})
	oc, err := oci.New(oci.Options{Timeout: 5 * time.Second, Sent: met.RegistrySent})
	if err != nil {
		t.Fatal(err)
	}
	d := a.deps
	ctr := services.NewContainers(eng, oc, d.Toggles, d.Log, 4)
	ctr.OnChecked(met.CheckDone)
	met.Watch(ctr)
	hist := services.NewHistory(a.db).Observe(met.UpdateDone)
	upd := services.NewUpdates(auth{}, ctr, hist, d.Log, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	d.Containers, d.Updates, d.History = ctr, upd, hist
	d.Metrics, d.MetricsToken = met.Handler(), "scrape-me"
	a.deps, a.app = d, New(d)
	return a, reg
}

func TestMetricsAfterACheckAndAnUpdate(t *testing.T) {
	a, reg := metricsApp(t)
	s := a.login(t, "operator")
	if status, body, _ := a.call(t, "POST", "/api/check", "", append(s.headers(), "Content-Type", "application/json")...); status != 200 {
		t.Fatalf("POST /api/check = %d %s", status, body)
	}
	if status, body, _ := a.call(t, "POST", "/api/images/app/update", "", append(s.headers(), "Content-Type", "application/json")...); status != 200 {
		t.Fatalf("POST /api/images/app/update = %d %s", status, body)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if p, err := a.deps.Updates.Progress(local("app")); err == nil && !p.Running() {
			if p.Phase != models.PhaseDone {
				t.Fatalf("update ended %+v", p)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("the update did not end")
		}
	}
	// The refresh after the update knows the new image is the checked one.
	if _, err := a.deps.Containers.Check(context.Background()); err != nil {
		t.Fatal(err)
	}

	status, body, h := a.call(t, "GET", "/metrics", "", "Authorization", "Bearer scrape-me")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %s %q", status, h.Get("Content-Type"), body)
	}
	host := reg.Host()
	for _, want := range []string{
		`refit_containers{host="local",status="uptodate"} 1`,
		`refit_containers{host="local",status="unknown"} 1`,
		`refit_containers{host="local",status="outdated"} 0`,
		`refit_host_up{host="local"} 1`,
		`refit_check_duration_seconds_count 2`,
		// Two checks: the HTTPS try a loopback registry refuses, one ping,
		// and one HEAD for each image each time.
		fmt.Sprintf(`refit_registry_requests_total{code="error",method="GET",registry=%q} 1`, host),
		fmt.Sprintf(`refit_registry_requests_total{code="200",method="GET",registry=%q} 1`, host),
		fmt.Sprintf(`refit_registry_requests_total{code="200",method="HEAD",registry=%q} 2`, host),
		fmt.Sprintf(`refit_registry_requests_total{code="404",method="HEAD",registry=%q} 2`, host),
		fmt.Sprintf(`refit_registry_ratelimit_remaining{registry=%q} 42`, host),
		`refit_updates_total{result="updated"} 1`,
		`refit_updates_total{result="failed"} 0`,
		`refit_updates_total{result="rolled_back"} 0`,
		`refit_update_duration_seconds_count 1`,
		fmt.Sprintf(`refit_build_info{commit="abc123",goversion=%q,version="1.2.3"} 1`, runtime.Version()),
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

func TestMetricsNeedACredential(t *testing.T) {
	a, _ := metricsApp(t)
	s := a.login(t, "viewer")
	tok := a.token(t, s, "scraper")
	for _, tc := range []struct {
		name   string
		h      []string
		status int
	}{
		{"nothing", nil, 401},
		{"a wrong bearer token", []string{"Authorization", "Bearer scrape-you"}, 401},
		{"basic auth", []string{"Authorization", "Basic c2NyYXBlOm1l"}, 401},
		{"the metrics token", []string{"Authorization", "Bearer scrape-me"}, 200},
		{"an API token", []string{"Authorization", "Bearer " + tok}, 200},
		{"a session", s.headers(), 200},
	} {
		status, body, _ := a.call(t, "GET", "/metrics", "", tc.h...)
		if status != tc.status || (status == 401 && body != "unauthorized\n") {
			t.Errorf("GET /metrics with %s = %d %q, want %d", tc.name, status, body, tc.status)
		}
	}
	// The metrics token opens nothing else.
	if status, _, _ := a.call(t, "GET", "/api/images", "", "Authorization", "Bearer scrape-me"); status != 401 {
		t.Errorf("GET /api/images with the metrics token = %d, want 401", status)
	}
}

func TestAPIVersion(t *testing.T) {
	a := newAuthApp(t, services.AuthOptions{})
	d := a.deps
	d.Build = models.BuildInfo{Version: "1.2.3", Commit: "abc123", Go: "go1.26", Built: "2026-03-04T05:06:07Z"}
	a.deps, a.app = d, New(d)
	if status, _, _ := a.call(t, "GET", "/api/version", ""); status != 401 {
		t.Errorf("GET /api/version without a session = %d, want 401", status)
	}
	s := a.login(t, "viewer")
	status, body, _ := a.call(t, "GET", "/api/version", "", s.headers()...)
	if want := `{"version":"1.2.3","commit":"abc123","go":"go1.26","built":"2026-03-04T05:06:07Z"}`; status != 200 || body != want {
		t.Errorf("GET /api/version = %d %s, want %s", status, body, want)
	}
}
