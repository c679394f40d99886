package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// TestCheckCommandPrintsTheRealEngine runs `refit check` and `refit check
// --json` against the test engine and a loopback registry.
func TestCheckCommandPrintsTheRealEngine(t *testing.T) {
	cli := dockertest.Client(t)
	t.Setenv("DOCKER_HOST", dockertest.Host(t)) // the Docker client reads the real environment
	reg := ocitest.NewRegistry(t)
	reg.Push(t, "test/cli:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, reg.Ref("test/cli:1"))
	name := dockertest.UniqueName(t, "cli")
	dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: reg.Ref("test/cli:1")})
	reg.Push(t, "test/cli:1", ocitest.ImageOpts{Marker: "v2"})
	db := filepath.Join(t.TempDir(), "refit.db")

	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"check", "--json", "-db", db}, env(nil), &out, &errs); err != nil {
		t.Fatalf("refit check --json: %v\n%s", err, errs.String())
	}
	var groups []models.ImageGroup
	if err := json.Unmarshal(out.Bytes(), &groups); err != nil {
		t.Fatalf("not the JSON of /api/images: %v\n%s", err, out.String())
	}
	found := false
	for _, g := range groups {
		for _, c := range g.Containers {
			if c.ContainerName == name {
				found = true
				if g.Image != reg.Ref("test/cli:1") || c.Status != models.StatusOutdated {
					t.Errorf("%s in %s is %s, want outdated", name, g.Image, c.Status)
				}
			}
		}
	}
	if !found {
		t.Errorf("refit check --json does not list %s:\n%s", name, out.String())
	}

	out.Reset()
	if err := run(context.Background(), []string{"check", "-db", db}, env(nil), &out, &errs); err != nil {
		t.Fatalf("refit check: %v", err)
	}
	if !strings.Contains(out.String(), "IMAGE") || !strings.Contains(out.String(), name+" ") || !strings.Contains(out.String(), "outdated") {
		t.Errorf("refit check table:\n%s", out.String())
	}
}

func TestUnwritableDatabaseIsAClearStartupError(t *testing.T) {
	err := run(context.Background(), []string{"check", "-db", filepath.Join(t.TempDir(), "missing", "refit.db")}, env(nil), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "database") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run with a database in a missing folder = %v, want one line about the database", err)
	}
}
