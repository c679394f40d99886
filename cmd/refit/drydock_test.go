package main

// Drydock's container API through the refit binary, on a private engine
// (the crash matrix's: refit recovers every parked container of its
// engine, and the list is the whole engine's) with images from an ocitest
// registry: golden JSON of each shape, every route under /api and
// /api/v1, every error with its exact text, the role table, logs with and
// without timestamps, an update answered with its new container, 409s
// while it runs, its backup, a rollback onto it that keeps a volume's
// data, and the audit log of it all. Gated like the crash matrix:
// REFIT_TEST_DOCKER_HOST on, and under CI=true an engine that does not
// start fails the test. Docker 29 is REFIT_TEST_DOCKERD, as in .ci/run.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
	"refit/views"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// ddPass is every test user's password.
const ddPass = "lantern-quarry-moss-4711"

func TestDrydockAPIOnTheRealEngine(t *testing.T) {
	dockertest.Host(t)
	t.Parallel()
	began := time.Now()
	eng, cli, bin := ddEngineAndBinary(t)
	reg := ocitest.NewRegistry(t)
	n := newDDNorm(reg.Host())

	// web follows dd/app:1.0 and is outdated; side shares its network
	// namespace (a dependent); idle, stopped, runs dd/base:2 with an
	// anonymous volume, as side does.
	v1 := reg.Push(t, "dd/app:1.0", ocitest.ImageOpts{Marker: "dd v1", Env: []string{"APP_LEVEL=info"},
		Labels: map[string]string{"org.example.image": "dd"}})
	base := reg.Push(t, "dd/base:2", ocitest.ImageOpts{Marker: "dd base", Volumes: []string{"/data"}})
	appRef, baseRef := reg.Ref("dd/app:1.0"), reg.Ref("dd/base:2")
	crashPull(t, cli, appRef)
	crashPull(t, cli, baseRef)
	webID := dockertest.Run(t, cli, dockertest.RunOpts{Name: "web", Image: appRef, Binds: []string{"web-data:/data"},
		Env:    []string{"TESTAPP_PRINT=one\ntwo\nthree\n!to stderr", "APP_SECRET=hunter2"},
		Labels: map[string]string{"org.example.owner": "ops"}, RestartPolicy: "unless-stopped"})
	sideID := dockertest.Run(t, cli, dockertest.RunOpts{Name: "side", Image: baseRef, NetworkMode: "container:web"})
	idleID := dockertest.Run(t, cli, dockertest.RunOpts{Name: "idle", Image: baseRef})
	dockertest.Stop(t, cli, idleID)
	v2 := reg.Push(t, "dd/app:1.0", ocitest.ImageOpts{Marker: "dd v2", Env: []string{"APP_LEVEL=info", "TESTAPP_WRITE=/data/from-v2=written by v2"},
		Labels: map[string]string{"org.example.image": "dd"}, ExtraLayerSize: 256 << 10})
	v1Image := dockertest.Inspect(t, cli, webID).Image
	n.ctr(webID, "web")
	n.ctr(sideID, "side")
	n.ctr(idleID, "idle")
	n.img(v1Image, "v1")
	n.img(dockertest.Inspect(t, cli, idleID).Image, "base")
	n.dig(v1, "v1")
	n.dig(v2, "v2")
	n.dig(base, "base")

	dir := t.TempDir()
	p := startRefitChild(t, bin, dir, filepath.Join(dir, "refit.db"), eng.host, time.Second,
		"REFIT_AUTH=on", "REFIT_ADMIN_PASSWORD="+ddPass)
	admin := ddAPI{base: p.base, token: ddSignIn(t, p.base, "admin")}
	for _, u := range []struct{ name, role string }{{"vera", "viewer"}, {"otto", "operator"}} {
		body := fmt.Sprintf(`{"name":%q,"pass":%q,"role":%q}`, u.name, ddPass, u.role)
		if st, b := admin.call(t, "POST", "/api/users", body); st != 201 {
			t.Fatalf("POST /api/users %s: %d %s", u.name, st, b)
		}
	}
	viewer := ddAPI{base: p.base, token: ddSignIn(t, p.base, "vera")}
	operator := ddAPI{base: p.base, token: ddSignIn(t, p.base, "otto")}
	setup := time.Since(began)

	waitUntil(t, 30*time.Second, "the start-up check: web outdated, side up to date", p, func() bool {
		return admin.item(t, "/api/containers/web").CheckStatus == models.StatusOutdated &&
			admin.item(t, "/api/containers/side").CheckStatus == models.StatusUpToDate
	})

	t.Run("roles", func(t *testing.T) {
		if st, b, _ := (ddAPI{base: p.base}).do("GET", "/api/containers", ""); st != 401 || b != "unauthorized\n" {
			t.Errorf("GET /api/containers without a token = %d %q, want 401 unauthorized", st, b)
		}
		// Every route on a name nothing has: past the role check it is a
		// 404, so the table changes nothing on the engine.
		routes := []struct{ method, path, body, need string }{
			{"GET", "/containers", "", "view"},
			{"POST", "/containers/watch", "", "operate"},
			{"GET", "/containers/nope", "", "view"},
			{"POST", "/containers/nope/watch", "", "operate"},
			{"PATCH", "/containers/nope/update-policy", `{"action":"clear"}`, "operate"},
			{"GET", "/containers/nope/logs", "", "view"},
			{"POST", "/containers/nope/preview", "", "view"},
			{"POST", "/containers/nope/update", "", "operate"},
			{"GET", "/containers/nope/backups", "", "view"},
			{"POST", "/containers/nope/rollback", `{}`, "operate"},
			{"POST", "/containers/nope/start", "", "operate"},
			{"POST", "/containers/nope/stop", "", "operate"},
			{"POST", "/containers/nope/restart", "", "operate"},
			{"DELETE", "/containers/nope", "", "admin"},
		}
		may := map[string][]string{"viewer": {"view"}, "operator": {"view", "operate"}, "admin": {"view", "operate", "admin"}}
		for _, who := range []struct {
			role string
			api  ddAPI
		}{{"viewer", viewer}, {"operator", operator}, {"admin", admin}} {
			for _, prefix := range []string{"/api", "/api/v1"} {
				for _, r := range routes {
					st, b := who.api.call(t, r.method, prefix+r.path, r.body)
					wantSt, wantB := 404, "container not found\n"
					switch {
					case !slices.Contains(may[who.role], r.need):
						wantSt, wantB = 403, "forbidden\n"
					case !strings.Contains(r.path, "nope"):
						wantSt, wantB = 200, ""
					}
					if st != wantSt || wantB != "" && b != wantB || wantSt == 200 && !strings.HasPrefix(b, "[") {
						t.Errorf("%s: %s %s%s = %d %q, want %d %q", who.role, r.method, prefix, r.path, st, b, wantSt, wantB)
					}
				}
			}
		}
		// And what a viewer reads of a container that is there.
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/containers/web"}, {"GET", "/api/v1/containers/web/logs"}, {"GET", "/api/containers/web/backups"},
			{"POST", "/api/v1/containers/web/preview"},
		} {
			if st, b := viewer.call(t, r.method, r.path, ""); st != 200 || !strings.HasPrefix(b, "{") && b != "[]" {
				t.Errorf("viewer: %s %s = %d %q, want 200", r.method, r.path, st, b)
			}
		}
	})

	t.Run("list and get", func(t *testing.T) {
		st, body := admin.call(t, "GET", "/api/containers", "")
		if st != 200 {
			t.Fatalf("GET /api/containers = %d %s", st, body)
		}
		ddGolden(t, "list", n.json(t, body))
		if _, v1body := admin.call(t, "GET", "/api/v1/containers", ""); n.json(t, v1body) != n.json(t, body) {
			t.Errorf("GET /api/v1/containers differs from /api/containers:\n%s", v1body)
		}
		for _, id := range []string{webID, webID[:12], "web", "local%2Fweb"} {
			for _, prefix := range []string{"/api", "/api/v1"} {
				if c := admin.item(t, prefix+"/containers/"+id); c.ID != webID || c.Name != "web" {
					t.Errorf("GET %s/containers/%s = %s %s, want web", prefix, id, c.ID, c.Name)
				}
			}
		}
		if c := admin.item(t, "/api/containers/idle"); c.Status != "exited" || c.UpdateAvailable {
			t.Errorf("idle = %+v, want exited and not offered", c)
		}
		for _, id := range []string{"nope", "local%2Fnope", "other%2Fweb", webID[:11]} {
			ddWant(t, admin, "GET", "/api/containers/"+id, "", 404, "container not found\n")
		}
	})

	t.Run("watch", func(t *testing.T) {
		reg.Reset()
		st, body := admin.call(t, "POST", "/api/containers/web/watch", "")
		if st != 200 {
			t.Fatalf("POST /api/containers/web/watch = %d %s", st, body)
		}
		ddGolden(t, "watch", n.json(t, body))
		if c := reg.Counts(); c.HeadManifest != 1 || c.GetManifest != 0 || c.GetBlob != 0 || c.HeadBlob != 0 {
			t.Errorf("watch of one container sent %+v to the registry, want one manifest HEAD", c)
		}
		st, body = admin.call(t, "POST", "/api/v1/containers/watch", "")
		var list []models.DrydockContainer
		if st != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 3 {
			t.Errorf("POST /api/v1/containers/watch = %d %s, want the list of 3", st, body)
		}
	})

	t.Run("preview", func(t *testing.T) {
		reg.Reset()
		st, body := admin.call(t, "POST", "/api/containers/web/preview", "")
		if st != 200 {
			t.Fatalf("POST /api/containers/web/preview = %d %s", st, body)
		}
		ddGolden(t, "preview", n.json(t, body))
		if strings.Contains(body, "hunter2") || strings.Contains(body, "=info") {
			t.Errorf("the preview shows an environment value: %s", body)
		}
		if _, v1body := admin.call(t, "POST", "/api/v1/containers/web/preview", ""); v1body != body {
			t.Errorf("/api/v1 preview differs:\n%s", v1body)
		}
		if c := reg.Counts(); c.Total() != 0 {
			t.Errorf("two previews sent %+v to the registry, want nothing", c)
		}
		if cur := dockertest.Inspect(t, cli, "web"); cur.ID != webID || cur.Image != v1Image {
			t.Errorf("after the preview web is %s on %s, want %s on v1 untouched", cur.ID, cur.Image, webID)
		}
	})

	t.Run("logs", func(t *testing.T) {
		var got string
		waitUntil(t, 10*time.Second, "web's four lines", p, func() bool {
			got = admin.logs(t, "/api/containers/web/logs?timestamps=false")
			return strings.Count(got, "\n") >= 4
		})
		// stdout and stderr are kept apart: their order is not the engine's promise.
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if out := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return l == "to stderr" }); !slices.Equal(out, []string{"one", "two", "three"}) ||
			len(lines) != 4 {
			t.Errorf("logs without timestamps = %q, want one, two, three and to stderr", got)
		}
		stamped := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (one|two|three|to stderr)$`)
		for _, q := range []string{"", "?timestamps=true&tail=100&since=0", "?timestamps=1"} {
			got := admin.logs(t, "/api/v1/containers/web/logs"+q)
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			if len(lines) != 4 || !strings.HasSuffix(got, "\n") {
				t.Errorf("logs%s = %q, want four stamped lines", q, got)
			}
			for _, l := range lines {
				if !stamped.MatchString(l) {
					t.Errorf("logs%s: line %q has no timestamp", q, l)
				}
			}
		}
		if got := admin.logs(t, "/api/containers/web/logs?timestamps=false&tail=4&since=1"); strings.Count(got, "\n") != 4 {
			t.Errorf("logs since 1 = %q, want all four lines", got)
		}
		if got := admin.logs(t, fmt.Sprintf("/api/containers/web/logs?since=%d", time.Now().Add(time.Hour).Unix())); got != "" {
			t.Errorf("logs since an hour from now = %q, want none", got)
		}
		for q, want := range map[string]string{
			"tail=0": "bad tail: want 1 to 10000\n", "tail=10001": "bad tail: want 1 to 10000\n", "tail=x": "bad tail: want 1 to 10000\n",
			"since=-1": "bad since: want Unix seconds\n", "since=x": "bad since: want Unix seconds\n",
			"timestamps=maybe": "bad timestamps: want true or false\n",
		} {
			ddWant(t, admin, "GET", "/api/containers/web/logs?"+q, "", 400, want)
		}
		ddWant(t, admin, "GET", "/api/containers/nope/logs?tail=5", "", 404, "container not found\n")
	})

	t.Run("update policy", func(t *testing.T) {
		patch := func(path, body string) models.DrydockContainer {
			t.Helper()
			st, b := admin.call(t, "PATCH", path, body)
			var c models.DrydockContainer
			if st != 200 || json.Unmarshal([]byte(b), &c) != nil {
				t.Fatalf("PATCH %s %s = %d %s", path, body, st, b)
			}
			return c
		}
		if c := patch("/api/containers/web/update-policy", `{"action":"skip-current"}`); c.UpdateAvailable || !slices.Equal(c.UpdatePolicy.SkipDigests, []string{v2}) {
			t.Errorf("skip-current = %+v, want v2 skipped and nothing offered", c.UpdatePolicy)
		}
		st, body := admin.call(t, "PATCH", "/api/v1/containers/web/update-policy", `{"action":"snooze","days":7}`)
		if st != 200 {
			t.Fatalf("snooze = %d %s", st, body)
		}
		ddGolden(t, "policy", n.json(t, body))
		if c := patch("/api/containers/web/update-policy", `{"action":"clear-skips"}`); c.UpdateAvailable || len(c.UpdatePolicy.SkipDigests) != 0 ||
			c.UpdatePolicy.SnoozeUntil == nil {
			t.Errorf("clear-skips = %+v, want still snoozed", c.UpdatePolicy)
		}
		if c := patch("/api/containers/web/update-policy", `{"action":"unsnooze"}`); !c.UpdateAvailable || c.UpdatePolicy.SnoozeUntil != nil {
			t.Errorf("unsnooze = %+v, want offered again", c.UpdatePolicy)
		}
		until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		if c := patch("/api/containers/web/update-policy", `{"action":"snooze","snoozeUntil":"`+until.Format(time.RFC3339)+`"}`); c.UpdateAvailable ||
			c.UpdatePolicy.SnoozeUntil == nil || !c.UpdatePolicy.SnoozeUntil.Equal(until) {
			t.Errorf("snooze until %s = %+v", until, c.UpdatePolicy)
		}
		if c := patch("/api/containers/web/update-policy", `{"action":"clear"}`); !c.UpdateAvailable || c.UpdatePolicy.SnoozeUntil != nil ||
			len(c.UpdatePolicy.SkipDigests) != 0 {
			t.Errorf("clear = %+v, want nothing held", c.UpdatePolicy)
		}
		ddWant(t, admin, "PATCH", "/api/containers/web/update-policy", `{"action":"sleep"}`, 400, "unknown policy action\n")
		ddWant(t, admin, "PATCH", "/api/containers/web/update-policy", `{"action":"snooze"}`, 400,
			"snooze wants days > 0 or a snoozeUntil in the future\n")
		ddWant(t, admin, "PATCH", "/api/containers/web/update-policy", `{"action":`, 400, "bad body: want {\"action\": …}\n")
		// idle is stopped: it has a policy, and nothing to skip.
		ddWant(t, admin, "PATCH", "/api/containers/idle/update-policy", `{"action":"skip-current"}`, 400, "no update available\n")
		if c := patch("/api/v1/containers/idle/update-policy", `{"action":"snooze","days":1}`); c.ID != idleID || c.UpdatePolicy.SnoozeUntil == nil {
			t.Errorf("snooze of the stopped idle = %+v", c.UpdatePolicy)
		}
		patch("/api/containers/idle/update-policy", `{"action":"clear"}`)
	})

	t.Run("start stop restart", func(t *testing.T) {
		act := func(path, want string) models.DrydockContainer {
			t.Helper()
			st, b := admin.call(t, "POST", path, "")
			var c models.DrydockContainer
			if st != 200 || json.Unmarshal([]byte(b), &c) != nil || c.ID != idleID || c.Status != want {
				t.Fatalf("POST %s = %d %s, want idle %s", path, st, b, want)
			}
			if got := dockertest.Inspect(t, cli, idleID).State.Status; got != want {
				t.Errorf("after POST %s the engine says idle is %s, want %s", path, got, want)
			}
			return c
		}
		act("/api/containers/"+idleID+"/start", "running") // the audit log names it idle
		before := dockertest.Inspect(t, cli, idleID).State.StartedAt
		act("/api/v1/containers/idle/restart", "running")
		if after := dockertest.Inspect(t, cli, idleID).State.StartedAt; after == before {
			t.Errorf("restart did not restart idle: started at %s both times", after)
		}
		ddWant(t, admin, "POST", "/api/containers/idle/update", "", 400, "no update available\n")
		act("/api/v1/containers/idle/stop", "exited")
		act("/api/containers/idle/restart", "running")
		act("/api/containers/idle/stop", "exited")
		act("/api/v1/containers/idle/start", "running")
	})

	t.Run("delete keeps the anonymous volume", func(t *testing.T) {
		vol := ddAnonVolume(t, cli, sideID)
		ddWant(t, admin, "DELETE", "/api/containers/side?volumes=maybe", "", 400, "bad volumes: want true or false\n")
		ddWant(t, admin, "DELETE", "/api/containers/side", "", 204, "")
		if _, err := cli.ContainerInspect(t.Context(), sideID); !client.IsErrNotFound(err) {
			t.Errorf("side after DELETE: %v, want gone", err)
		}
		if _, err := cli.VolumeInspect(t.Context(), vol); err != nil {
			t.Errorf("side's anonymous volume after a DELETE without volumes=true: %v, want kept", err)
		}
		ddWant(t, admin, "GET", "/api/containers/side", "", 404, "container not found\n")
		ddWant(t, admin, "DELETE", "/api/v1/containers/side", "", 404, "container not found\n")
	})

	var newWebID string
	t.Run("update", func(t *testing.T) {
		ddWant(t, admin, "POST", "/api/containers/web/rollback", `{}`, 404, "backup not found\n")
		reg.SetBlobRate(1 << 10) // the pull crawls until the 409s are seen
		defer reg.SetBlobRate(0)
		type answer struct {
			st   int
			body string
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			st, b, err := admin.do("POST", "/api/containers/web/update", "")
			done <- answer{st, b, err}
		}()
		waitUntil(t, 20*time.Second, "web's update to pull", p, func() bool {
			st, b := admin.call(t, "GET", "/api/images/web/progress", "")
			var pr models.Progress
			return st == 200 && json.Unmarshal([]byte(b), &pr) == nil && pr.Phase == models.PhasePulling
		})
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/api/containers/web/update", ""},
			{"POST", "/api/v1/containers/web/update", ""},
			{"POST", "/api/containers/web/rollback", `{}`},
			{"POST", "/api/containers/web/start", ""},
			{"POST", "/api/v1/containers/web/stop", ""},
			{"POST", "/api/containers/web/restart", ""},
			{"DELETE", "/api/containers/web", ""},
			{"POST", "/api/containers/web/preview", ""},
		} {
			ddWant(t, admin, r.method, r.path, r.body, 409, "container is being updated\n")
		}
		// Reads, a check and a policy go on meanwhile.
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/api/containers/web", ""},
			{"GET", "/api/containers/web/logs?tail=1", ""},
			{"GET", "/api/containers/web/backups", ""},
			{"POST", "/api/containers/web/watch", ""},
			{"PATCH", "/api/containers/web/update-policy", `{"action":"clear"}`},
		} {
			if st, b := admin.call(t, r.method, r.path, r.body); st != 200 {
				t.Errorf("during the update: %s %s = %d %q, want 200", r.method, r.path, st, b)
			}
		}
		reg.SetBlobRate(0)
		var a answer
		select {
		case a = <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("the update did not answer within 60s\nrefit log:\n%s", p.logs.String())
		}
		var c models.DrydockContainer
		if a.err != nil || a.st != 200 || json.Unmarshal([]byte(a.body), &c) != nil {
			t.Fatalf("POST /api/containers/web/update = %d %s %v\nrefit log:\n%s", a.st, a.body, a.err, p.logs.String())
		}
		cur := dockertest.Inspect(t, cli, "web")
		newWebID = cur.ID
		n.ctr(newWebID, "web-v2")
		n.img(cur.Image, "v2")
		if c.ID == webID || c.ID != cur.ID || c.Name != "web" || c.Status != "running" || c.UpdateAvailable || c.Image.ID != cur.Image ||
			c.Image.Digest.Repo != v2 || c.CheckStatus != models.StatusUpToDate {
			t.Errorf("the update answered %s; want the new container %s, up to date on v2", a.body, models.ShortID(cur.ID))
		}
		if !runsDigest(t, cli, "web", v2) {
			t.Errorf("web does not run v2")
		}
		ddWant(t, admin, "POST", "/api/v1/containers/web/update", "", 400, "no update available\n")
		ddWant(t, admin, "POST", "/api/containers/nope/update", "", 404, "container not found\n")
	})

	var backupID string
	t.Run("backups", func(t *testing.T) {
		st, body := admin.call(t, "GET", "/api/containers/web/backups", "")
		var bks []models.Backup
		if st != 200 || json.Unmarshal([]byte(body), &bks) != nil || len(bks) != 1 {
			t.Fatalf("GET /api/containers/web/backups = %d %s, want one", st, body)
		}
		backupID = bks[0].ID
		n.backup(backupID, "1")
		ddGolden(t, "backups", n.json(t, body))
		if _, v1body := admin.call(t, "GET", "/api/v1/containers/web/backups", ""); v1body != body {
			t.Errorf("/api/v1 backups differ:\n%s", v1body)
		}
		if got := dockertest.Inspect(t, cli, "web").Image; got == v1Image {
			t.Fatal("web still runs v1")
		}
		if img, err := cli.ImageInspect(t.Context(), bks[0].BackupRef); err != nil || img.ID != v1Image {
			t.Errorf("backup tag %s: %v, %v; want v1's image %s", bks[0].BackupRef, img.ID, err, v1Image)
		}
		ddWant(t, admin, "GET", "/api/containers/nope/backups", "", 404, "container not found\n")
	})

	t.Run("rollback", func(t *testing.T) {
		ddWant(t, admin, "POST", "/api/containers/web/rollback", `{"backupId":"nope"}`, 404, "backup not found\n")
		ddWant(t, admin, "POST", "/api/containers/web/rollback", `{"backupId":`, 400, "bad body: want {\"backupId\": …} or {}\n")
		ddWant(t, admin, "POST", "/api/containers/nope/rollback", `{}`, 404, "container not found\n")
		st, body := admin.call(t, "POST", "/api/v1/containers/web/rollback", `{"backupId":"`+backupID+`"}`)
		var c models.DrydockContainer
		if st != 200 || json.Unmarshal([]byte(body), &c) != nil {
			t.Fatalf("rollback = %d %s\nrefit log:\n%s", st, body, p.logs.String())
		}
		cur := dockertest.Inspect(t, cli, "web")
		if c.ID == newWebID || c.ID != cur.ID || c.Name != "web" || c.Image.ID != v1Image || cur.Image != v1Image || !cur.State.Running {
			t.Errorf("rollback answered %s; the engine runs %s on %s; want a new container on v1 %s", body, models.ShortID(cur.ID), cur.Image, v1Image)
		}
		if got := dockertest.Exec(t, cli, cur.ID, "/testapp", "cat", "/data/from-v2"); got != "written by v2" {
			t.Errorf("web-data's file after the rollback = %q, want v2's words kept", got)
		}
		// The version left is skipped, so auto-update does not bring it back;
		// the next subtest's v3 is a new candidate all the same.
		if c := admin.item(t, "/api/containers/web"); c.UpdateAvailable || !slices.Equal(c.UpdatePolicy.SkipDigests, []string{v2}) {
			t.Errorf("after the rollback web offers %v with policy %+v, want v2 skipped", c.UpdateAvailable, c.UpdatePolicy)
		}
	})

	t.Run("failed update rolls back", func(t *testing.T) {
		before := dockertest.Inspect(t, cli, "web")
		v3 := reg.Push(t, "dd/app:1.0", ocitest.ImageOpts{Marker: "dd v3", Env: []string{"TESTAPP_EXIT=3"}})
		n.dig(v3, "v3")
		if c := admin.item(t, "/api/containers/web"); c.Image.ID != v1Image {
			t.Fatalf("web = %+v, want on v1", c.Image)
		}
		if st, b := admin.call(t, "POST", "/api/containers/web/watch", ""); st != 200 || !strings.Contains(b, `"updateAvailable":true`) {
			t.Fatalf("watch after v3 = %d %s, want an update available", st, b)
		}
		st, body := admin.call(t, "POST", "/api/containers/web/update", "")
		var failed struct {
			Error      string                  `json:"error"`
			RolledBack bool                    `json:"rolledBack"`
			Container  models.DrydockContainer `json:"container"`
		}
		var raw map[string]any
		if st != 500 || json.Unmarshal([]byte(body), &failed) != nil || json.Unmarshal([]byte(body), &raw) != nil {
			t.Fatalf("update onto an image that exits = %d %s, want 500", st, body)
		}
		if !failed.RolledBack || failed.Error == "" || failed.Container.ID != before.ID || len(raw) != 3 {
			t.Errorf("failed update answered %s, want {error, rolledBack: true, container: the old one}", body)
		}
		if cur := dockertest.Inspect(t, cli, "web"); cur.ID != before.ID || !cur.State.Running || cur.Image != v1Image {
			t.Errorf("after the failed update web is %s on %s (running %v), want the old %s on v1", models.ShortID(cur.ID), cur.Image,
				cur.State.Running, models.ShortID(before.ID))
		}
		t.Logf("failed update: %s", failed.Error)
	})

	t.Run("delete with volumes", func(t *testing.T) {
		vol := ddAnonVolume(t, cli, idleID)
		ddWant(t, operator, "DELETE", "/api/containers/idle?volumes=true", "", 403, "forbidden\n")
		ddWant(t, admin, "DELETE", "/api/v1/containers/idle?volumes=true", "", 204, "")
		if _, err := cli.ContainerInspect(t.Context(), idleID); !client.IsErrNotFound(err) {
			t.Errorf("idle after DELETE: %v, want gone", err)
		}
		if _, err := cli.VolumeInspect(t.Context(), vol); !client.IsErrNotFound(err) {
			t.Errorf("idle's anonymous volume after DELETE ?volumes=true: %v, want gone", err)
		}
		ddWant(t, admin, "GET", "/api/v1/containers/idle", "", 404, "container not found\n")
	})
	t.Run("audit", func(t *testing.T) {
		// Who, what and the outcome of each kind of action above. A job's
		// update_result is written as it ends, maybe after its answer.
		want := []string{
			"admin check : ok", "admin check web: ok",
			"admin update_policy web skip-current: ok", "admin update_policy web clear: ok",
			"admin update_policy web sleep: unknown policy action",
			"admin start idle: ok", "admin stop idle: ok", "admin restart idle: ok",
			"admin delete side: ok", "admin delete idle: ok",
			"admin update web: started", "admin update_result web: updated", "admin update web: container is being updated",
			"admin update web: no update available", "admin update web: 500", "admin update_result web: rolled back: …",
			"admin rollback web to nope: backup not found", "admin rollback web to " + backupID + ": ok",
			"admin update_result web: restored",
			"otto update nope: container not found",
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st, body := admin.call(t, "GET", "/api/audit?limit=500", "")
			var entries []models.AuditEntry
			if st != 200 || json.Unmarshal([]byte(body), &entries) != nil {
				t.Fatalf("GET /api/audit = %d %s", st, body)
			}
			seen := map[string]bool{}
			for _, e := range entries {
				seen[e.Actor+" "+e.Action+" "+e.Target+": "+e.Result] = true
				if e.Action == models.AuditUpdateResult && strings.HasPrefix(e.Result, "rolled back: ") {
					seen[e.Actor+" "+e.Action+" "+e.Target+": rolled back: …"] = true
				}
			}
			missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return seen[w] })
			if len(missing) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the audit log lacks %q:\n%s", missing, body)
			}
		}
	})
	t.Logf("engine, build, registry, refit and users %s; all %s", setup.Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
}

// ddEngineAndBinary starts a private engine while the binary builds.
func ddEngineAndBinary(t *testing.T) (*privateEngine, *client.Client, string) {
	t.Helper()
	dockerd := privateDockerd(t)
	type started struct {
		e   *privateEngine
		err error
	}
	ch := make(chan started, 1)
	go func() {
		e, err := startPrivateEngine(dockerd)
		ch <- started{e, err}
	}()
	bin := buildRefit(t)
	s := <-ch
	if s.e != nil {
		t.Cleanup(s.e.cleanup)
	}
	if s.err != nil {
		crashNoEngine(t, s.err.Error())
	}
	cli, err := client.NewClientWithOpts(client.WithHost(s.e.host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	sv, err := cli.ServerVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("private engine: Docker %s (API %s)", sv.Version, sv.APIVersion)
	return s.e, cli, bin
}

// ddAPI calls refit with an API token.
type ddAPI struct{ base, token string }

func (a ddAPI) do(method, path, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := crashHTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (a ddAPI) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	st, b, err := a.do(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return st, b
}

func (a ddAPI) item(t *testing.T, path string) models.DrydockContainer {
	t.Helper()
	var c models.DrydockContainer
	if st, b := a.call(t, "GET", path, ""); st != 200 || json.Unmarshal([]byte(b), &c) != nil {
		t.Fatalf("GET %s = %d %s", path, st, b)
	}
	return c
}

func (a ddAPI) logs(t *testing.T, path string) string {
	t.Helper()
	var l struct {
		Logs *string `json:"logs"`
	}
	st, b := a.call(t, "GET", path, "")
	if st != 200 || json.Unmarshal([]byte(b), &l) != nil || l.Logs == nil {
		t.Fatalf("GET %s = %d %s, want {\"logs\": …}", path, st, b)
	}
	return *l.Logs
}

// ddWant checks one answer's status and exact body.
func ddWant(t *testing.T, a ddAPI, method, path, body string, status int, text string) {
	t.Helper()
	if st, b := a.call(t, method, path, body); st != status || b != text {
		t.Errorf("%s %s %s = %d %q, want %d %q", method, path, body, st, b, status, text)
	}
}

// ddSignIn logs user in and makes it an API token.
func ddSignIn(t *testing.T, base, user string) string {
	t.Helper()
	resp, err := crashHTTP.Post(base+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"user":%q,"pass":%q}`, user, ddPass)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session string
	for _, c := range resp.Cookies() {
		if c.Name == "refit_session" {
			session = c.Value
		}
	}
	if resp.StatusCode != 200 || session == "" {
		t.Fatalf("login as %s: %d", user, resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/api/tokens", strings.NewReader(`{"name":"drydock test"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "refit_session="+session)
	req.Header.Set(views.CSRFHeader, resp.Header.Get(views.CSRFHeader))
	resp, err = crashHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 201 || tok.Token == "" {
		t.Fatalf("POST /api/tokens as %s: %d %v", user, resp.StatusCode, err)
	}
	return tok.Token
}

// ddAnonVolume is the name of the container's volume at /data.
func ddAnonVolume(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	for _, m := range dockertest.Inspect(t, cli, id).Mounts {
		if m.Destination == "/data" && m.Type == "volume" && m.Name != "" {
			return m.Name
		}
	}
	t.Fatalf("%s has no volume at /data", id)
	return ""
}

// ddGolden compares got with testdata/drydock/name.json (-update writes it).
func ddGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "drydock", name+".json")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDrydock -update to write it)", err)
	}
	if strings.TrimSpace(string(want)) != got {
		t.Errorf("%s differs from %s; got:\n%s", name, path, got)
	}
}

// ddNorm turns what differs between runs and engines into names, by the
// key each value sits under: with the containerd image store an image ID is
// its manifest digest, so one string is both an image and a digest. Field
// names, types, and every other value stay as refit answered them.
type ddNorm struct {
	registry string
	ctrs     map[string]string // container ID → <container:name>
	imgs     map[string]string // image ID → <image:name>
	digs     map[string]string // digest → <digest:name>
	backups  map[string]string // backup ID → <backup:n>
}

func newDDNorm(registry string) *ddNorm {
	return &ddNorm{registry: registry, ctrs: map[string]string{}, imgs: map[string]string{}, digs: map[string]string{}, backups: map[string]string{}}
}

func (n *ddNorm) ctr(id, name string)    { n.ctrs[id] = "<container:" + name + ">" }
func (n *ddNorm) img(id, name string)    { n.imgs[id] = "<image:" + name + ">" }
func (n *ddNorm) dig(d, name string)     { n.digs[d] = "<digest:" + name + ">" }
func (n *ddNorm) backup(id, name string) { n.backups[id] = "<backup:" + name + ">" }

var (
	ddTime  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
	ddStamp = regexp.MustCompile(`\d{8}-\d{6}`)
	ddHex   = regexp.MustCompile(`(sha256:)?[0-9a-f]{64}`)
)

// json is body normalised and indented.
func (n *ddNorm) json(t *testing.T, body string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // <image:v1>, not \u003cimage:v1\u003e
	enc.SetIndent("", "  ")
	if err := enc.Encode(n.walk(v, "")); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (n *ddNorm) walk(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = n.walk(x, key+"."+k)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = n.walk(x, key)
		}
		return out
	case string:
		return n.str(v, key)
	}
	return v
}

func (n *ddNorm) str(s, path string) string {
	if r, ok := n.imgs[s]; ok && (strings.HasSuffix(path, ".imageId") || strings.HasSuffix(path, ".image.id")) {
		return r
	}
	for _, m := range []map[string]string{n.ctrs, n.digs, n.backups, n.imgs} {
		if r, ok := m[s]; ok {
			return r
		}
	}
	if ddTime.MatchString(s) {
		return "<time>"
	}
	s = strings.ReplaceAll(s, n.registry, "<registry>")
	for id, r := range n.ctrs {
		s = strings.ReplaceAll(s, id, r)
	}
	for id, r := range n.backups {
		s = strings.ReplaceAll(s, id, r)
	}
	s = ddStamp.ReplaceAllString(s, "<yyyymmdd-hhmmss>")
	return ddHex.ReplaceAllString(s, "<hex>")
}
