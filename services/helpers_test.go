package services_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
)

// quiet is the logger of tests that do not read logs.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// mustStore opens a fresh SQLite file with its toggles and history.
func mustStore(t *testing.T) (*gorm.DB, *services.Toggles, *services.History) {
	t.Helper()
	db, err := services.OpenDB(filepath.Join(t.TempDir(), "refit.db"))
	if err != nil {
		t.Fatal(err)
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, tog, services.NewHistory(db)
}

// mustRealEngine connects to the test engine (skipping, or failing under
// CI, without one); recovery is scoped to this test's containers.
func mustRealEngine(t *testing.T) *dockerengine.Engine {
	t.Helper()
	dockertest.Client(t)
	eng, err := dockerengine.New(dockerengine.Options{Host: dockertest.Host(t), RecoverScope: dockertest.Owned(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// mustOCI is a registry client; backoff 0 keeps the default.
func mustOCI(t *testing.T, opts oci.Options) *oci.Client {
	t.Helper()
	oc, err := oci.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return oc
}

// local is the container of that name on the one host tests have.
func local(name string) models.ContainerRef { return models.Ref(models.LocalHost, name) }
