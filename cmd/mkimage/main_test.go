package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"refit/services/oci/ocitest"
)

var testSpec = Spec{Version: "v1.2.3", Revision: "0123abcd", Source: "https://example.invalid/refit",
	Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Certs: []byte("-----BEGIN CERTIFICATE-----\n")}

func testIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	images := map[string]v1.Image{}
	for _, p := range []string{"linux/arm64", "linux/amd64"} {
		img, err := Image(testSpec, p, []byte("refit for "+p))
		if err != nil {
			t.Fatal(err)
		}
		images[p] = img
	}
	idx, err := Index(testSpec, images)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestSameInputsGiveTheSameIndex(t *testing.T) {
	a, _ := testIndex(t).Digest()
	b, _ := testIndex(t).Digest()
	if a != b {
		t.Fatalf("two builds of the same inputs: %s and %s", a, b)
	}
}

func TestImageFilesAreOwnedByRootWithTheCommitTime(t *testing.T) {
	img, err := Image(testSpec, "linux/amd64", []byte("binary"))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) != 3 {
		t.Fatalf("%d layers, want 3", len(layers))
	}
	modes := map[string]int64{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !h.ModTime.Equal(testSpec.Created) || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s: mtime %s, owner %d:%d", h.Name, h.ModTime, h.Uid, h.Gid)
			}
			modes[h.Name] = h.Mode
		}
		rc.Close()
	}
	for f, mode := range map[string]int64{"refit": 0o755, "data/": 0o700, "tmp/": 0o1777,
		"etc/ssl/certs/ca-certificates.crt": 0o644, "etc/passwd": 0o644} {
		if modes[f] != mode {
			t.Errorf("%s: mode %o, want %o (have %v)", f, modes[f], mode, modes)
		}
	}
}

// The OCI layout is what make push sends: an index of both platforms.
func TestLayoutPushesAsAnIndexOfBothPlatforms(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(dir, testIndex(t), testSpec.Version); err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(dir, testIndex(t), testSpec.Version); err != nil { // over an old one
		t.Fatal(err)
	}
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("refit:" + testSpec.Version)
	if err := run(t.Context(), []string{"push", "-oci", dir, ref}); err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	got, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range m.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64/v8"}) {
		t.Errorf("platforms %v", platforms)
	}
	if m.Annotations["org.opencontainers.image.revision"] != testSpec.Revision {
		t.Errorf("index annotations %v", m.Annotations)
	}
	arm, err := got.Image(m.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := arm.ConfigFile(); cf.Architecture != "arm64" || cf.OS != "linux" {
		t.Errorf("arm64 image config says %s/%s", cf.OS, cf.Architecture)
	}
}

func TestTarCarriesBothTags(t *testing.T) {
	img, err := Image(testSpec, "linux/amd64", []byte("binary"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteTar(p, img, Tags(testSpec.Version)...); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return openFile(p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 {
		t.Fatalf("%d images in the tar", len(m))
	}
	tags := m[0].RepoTags
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"refit:latest", "refit:v1.2.3"}) {
		t.Errorf("tags %v", tags)
	}
}

func openFile(p string) (io.ReadCloser, error) { return os.Open(p) }
