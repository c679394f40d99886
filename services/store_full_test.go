package services_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

// tinyDisk mounts a 2 MB tmpfs for the test: a disk that really fills up.
func tinyDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test mounts a tmpfs and needs root, which CI has")
		}
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes to dir until the disk is full and returns the file to remove.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return p
		}
	}
}

// With the disk full an update ran to done while its history and audit rows
// were dropped. Now it is refused before it starts, with the reason.
func TestUpdatesAreRefusedWhenTheDatabaseCannotBeWritten(t *testing.T) {
	dir := tinyDisk(t)
	db, err := services.OpenDB(filepath.Join(dir, "refit.db"))
	if err != nil {
		t.Fatal(err)
	}
	w := newFakeWorld(t)
	hist := services.NewHistory(db)
	upd := services.NewUpdates(anon{}, w.ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)

	filler := fill(t, dir)
	_, err = upd.StartContainer("a", "alice")
	if !errors.Is(err, models.ErrUnavailable) || !strings.Contains(err.Error(), "database not writable: disk is full") {
		t.Fatalf("StartContainer on a full disk = %v, want database not writable: disk is full", err)
	}
	if _, err := upd.StartGroup(ref, "alice"); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("StartGroup on a full disk = %v, want ErrUnavailable", err)
	}
	if upd.Busy() {
		t.Error("an update runs although nothing could record it")
	}
	if !strings.HasPrefix(upd.RecordsProblem(), "database not writable: disk is full") {
		t.Errorf("RecordsProblem = %q, want the reason for the dashboard", upd.RecordsProblem())
	}
	if c, _ := w.eng.Container("a"); c.ID != idA {
		t.Error("a was recreated")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := upd.StartContainer("a", "alice"); err != nil {
		t.Fatalf("StartContainer once there is room again: %v", err)
	}
	if p := upd.RecordsProblem(); p != "" {
		t.Errorf("RecordsProblem = %q once there is room again", p)
	}
	if p := waitEnded(t, upd, "a"); p.Phase != models.PhaseDone {
		t.Fatalf("update ended %+v", p)
	}
	if recs, err := hist.Recent(1); err != nil || len(recs) != 1 || recs[0].Result != "updated" {
		t.Errorf("history = %+v, %v", recs, err)
	}
}
