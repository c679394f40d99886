package services_test

import (
	"os"
	"path/filepath"
	"testing"

	"refit/models"
	"refit/services"
)

// testdata/before-hosts.db was written by the release before hosts (its
// OpenDB, Toggles, Journal and History): toggles web on, db off, cache on;
// a journal entry of web stopped half way; one history record of web.
// Opening it moves every row to host local, keeps the values, and leaves a
// schema whose keys are host and name.
func TestDatabaseFromBeforeHostsMovesToHostLocal(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "before-hosts.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "refit.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the second open finds nothing left to migrate
		db, err := services.OpenDB(path)
		if err != nil {
			t.Fatalf("open #%d: %v", round+1, err)
		}
		tog, err := services.NewToggles(db)
		if err != nil {
			t.Fatal(err)
		}
		if got := tog.Enabled(); len(got) != 2 || got[0] != local("cache") || got[1] != local("web") {
			t.Errorf("open #%d: enabled toggles %v, want local/cache and local/web", round+1, got)
		}
		if tog.AutoUpdate(models.Ref("nas", "web")) {
			t.Error("a toggle of local/web turned on nas/web")
		}
		pending, err := services.NewJournal(db).Pending(models.LocalHost)
		if err != nil || len(pending) != 1 || pending[0].Name != "web" || pending[0].Step != models.StepStopping || !pending[0].StopSent {
			t.Errorf("open #%d: journal of local = %+v, %v; want web stopping with its stop sent", round+1, pending, err)
		}
		recs, err := services.NewHistory(db).Recent(10)
		if err != nil || len(recs) != 1 || recs[0].Host != models.LocalHost || recs[0].Container != "web" || recs[0].Result != "updated" {
			t.Errorf("open #%d: history = %+v, %v", round+1, recs, err)
		}
		// Keys are host and name now: the same name on another host is a row of its own.
		if err := tog.Set(models.Ref("nas", "web"), true); err != nil {
			t.Fatal(err)
		}
		if err := tog.Set(models.Ref("nas", "web"), false); err != nil {
			t.Fatal(err)
		}
		if !tog.AutoUpdate(local("web")) {
			t.Error("nas/web's toggle changed local/web's")
		}
		for _, table := range []string{"toggles_before_hosts", "recreate_states_before_hosts"} {
			if db.Migrator().HasTable(table) {
				t.Errorf("%s left behind", table)
			}
		}
		sqlDB, _ := db.DB()
		sqlDB.Close()
	}
}
