package handlers

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/services/oci"
	"refit/services/oci/ocitest"
	"refit/views"
)

// The row of an outdated container says what it is behind by, the new side
// read from a loopback registry (the real oci client, a fake engine): the
// local and the new version with their dates and the release notes' link.
func TestBrowserVersionLineFromALoopbackRegistry(t *testing.T) {
	chromiumPath(t)
	reg := ocitest.NewRegistry(t)
	old := reg.Push(t, "test/web:1", ocitest.ImageOpts{Marker: "v1"})
	reg.Push(t, "test/web:1", ocitest.ImageOpts{Marker: "v2", Labels: map[string]string{
		models.LabelVersion: "1.3.0", models.LabelCreated: "2025-04-05T06:07:08Z",
		models.LabelSource: "https://example.test/web/releases"}})
	image := reg.Ref("test/web:1")
	eng := fake.NewEngine()
	eng.AddImage("sha256:web-old", reg.Host()+"/test/web@"+old)
	eng.SetImageConfig("sha256:web-old", fake.ImageConfig{Labels: map[string]string{models.LabelVersion: "1.2.0"}})
	eng.Run("0a1b2c3d4e5f", "web", image, "sha256:web-old")

	oc, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := services.OpenDB(filepath.Join(t.TempDir(), "refit.db"))
	if err != nil {
		t.Fatal(err)
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	desc, err := services.NewDescriptions(db, oc, log, services.DescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desc.Close)
	ctr := services.NewContainers(eng, oc, tog, log, 4)
	ctr.DescribeWith(desc)
	hist := services.NewHistory(db)
	upd := services.NewUpdates(auth{}, ctr, hist, log, services.UpdateOptions{})
	t.Cleanup(upd.Close)
	aud := services.NewAudit(db, log, nil)
	au, err := services.NewAuth(db, aud, log, services.AuthOptions{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	d := withCatalog(t, Deps{Log: log, Containers: ctr, Toggles: tog, Updates: upd, History: hist, Auth: au, Audit: aud}, db)
	ta := testApp{app: New(d), engine: eng, deps: d, db: db}
	if _, err := ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	web := local("web")
	b := newBrowser(t, serveTestApp(t, ta))
	b.viewport(1280, 900)
	b.open(views.DashboardPath)
	// The read runs after the check, in the background; the table refreshes itself, a reload is quicker.
	deadline := time.Now().Add(20 * time.Second)
	var line string
	for {
		line = eval[string](b, `((e) => e ? e.innerText : '')(document.getElementById('`+views.RowVersionID(web)+`'))`)
		if strings.Contains(line, "1.3.0") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
		b.open(views.DashboardPath)
	}
	for _, want := range []string{"1.2.0", "→", "1.3.0 (2025-04-05)", "source"} {
		if !strings.Contains(line, want) {
			t.Errorf("version line %q does not say %q", line, want)
		}
	}
	if href := eval[string](b, `document.querySelector('#`+views.RowVersionID(web)+` a').href`); href != "https://example.test/web/releases" {
		t.Errorf("source link = %q", href)
	}
	if c := reg.Counts(); c.GetManifest != 1 || c.GetBlob != 1 {
		t.Errorf("registry requests = %+v, want one manifest GET and the config blob", c)
	}
	saveScreenshot(t, "version-line.png", b.screenshot(views.RowID(web)))
}
