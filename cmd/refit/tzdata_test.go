package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TZ works without a zoneinfo database on disk, as in the FROM scratch
// image: refit links time/tzdata, so the zones are built in. Go reads a
// machine's /usr/share/zoneinfo first where there is one, so the link is
// checked too; the image test runs the image itself with TZ=Europe/Berlin.
func TestZonesAreBuiltIn(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if !slices.Contains(strings.Fields(string(out)), "time/tzdata") {
		t.Error("refit does not link time/tzdata: TZ is ignored in the image")
	}
	t.Setenv("ZONEINFO", t.TempDir()) // empty: nothing to read there
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("LoadLocation(Europe/Berlin) with an empty ZONEINFO: %v", err)
	}
	if _, off := time.Date(2026, 7, 1, 12, 0, 0, 0, loc).Zone(); off != 2*3600 {
		t.Errorf("Berlin in July is %+ds from UTC, want +7200 (CEST)", off)
	}
}
