package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"refit/models"
)

func TestVersionCommand(t *testing.T) {
	version, commit, buildTime = "v1.4.0", "0123abc", "2026-03-04T05:06:07Z"
	t.Cleanup(func() { version, commit, buildTime = "dev", "", "" })
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	if want := "refit v1.4.0 (0123abc) " + runtime.Version() + " built 2026-03-04T05:06:07Z\n"; out.String() != want {
		t.Errorf("refit version = %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := run(t.Context(), []string{"version", "--json"}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	var b models.BuildInfo
	if err := json.Unmarshal(out.Bytes(), &b); err != nil || b != (models.BuildInfo{Version: "v1.4.0", Commit: "0123abc", Go: runtime.Version(), Built: "2026-03-04T05:06:07Z"}) ||
		!strings.HasPrefix(out.String(), `{"version":`) {
		t.Errorf("refit version --json = %s (%v)", out.String(), err)
	}
}
