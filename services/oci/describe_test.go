package oci_test

import (
	"testing"

	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// Describe reads the labels of one digest with manifest and config GETs
// only, never a layer, from a loopback registry; an index takes its linux
// image.
func TestDescribeReadsTheConfigLabelsWithoutLayers(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	labels := map[string]string{"org.opencontainers.image.version": "1.3.0",
		"org.opencontainers.image.source": "https://example.test/app", "org.opencontainers.image.created": "2025-04-05T06:07:08Z"}
	single := reg.Push(t, "test/app:1", ocitest.ImageOpts{Labels: labels, Marker: "single"})
	index := reg.PushIndex(t, "test/multi:1", ocitest.ImageOpts{Labels: labels, Marker: "multi"})
	c, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ref, digest string
		manifests         int
	}{
		{"image", reg.Ref("test/app:1"), single, 1},
		{"index", reg.Ref("test/multi:1"), index, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.Reset()
			f, err := c.Describe(t.Context(), tc.ref, tc.digest)
			if err != nil {
				t.Fatal(err)
			}
			if f.Version != "1.3.0" || f.Source != "https://example.test/app" || f.Created.Format("2006-01-02") != "2025-04-05" {
				t.Errorf("Describe = %+v", f)
			}
			got := reg.Counts()
			if got.GetManifest != tc.manifests || got.GetBlob != 1 || got.HeadBlob != 0 {
				t.Errorf("requests = %+v, want %d manifest GETs and the config blob alone", got, tc.manifests)
			}
		})
	}
}
