package services_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"refit/services"
)

// The database holds session keys and password hashes: it and the -wal and
// -shm files SQLite makes beside it are created 0600 whatever the umask
// allows.
func TestOpenDBCreatesFilesOnlyItsUserReads(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, which lets SQLite make 0644
	t.Cleanup(func() { syscall.Umask(old) })
	path := filepath.Join(t.TempDir(), "refit.db")
	db, err := services.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := tog.Set(local("web"), true); err != nil { // a write, so the WAL exists
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// A database an older refit left 0644 is tightened at start, and only once.
func TestSecureDBFileTightensAnExistingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refit.db")
	for _, p := range []string{path, path + "-wal"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changed, err := services.SecureDBFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{path, path + "-wal"}; !slices.Equal(changed, want) {
		t.Errorf("SecureDBFile changed %q, want %q", changed, want)
	}
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", filepath.Base(p), fi.Mode().Perm(), err)
		}
	}
	if changed, err := services.SecureDBFile(path); err != nil || len(changed) != 0 {
		t.Errorf("second SecureDBFile = %q, %v; want nothing changed", changed, err)
	}
	if _, err := os.Stat(path + "-shm"); err == nil {
		t.Errorf("SecureDBFile created -shm")
	}
}
