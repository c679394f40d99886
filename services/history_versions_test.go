package services_test

import (
	"context"
	"testing"

	"refit/models"
	"refit/services/fake"
)

// An update's record names the versions the images' labels say, from the
// one the container ran to the one it runs now, so the history can say
// "1.0.0 → 1.1.0" instead of two digests.
func TestRecordCarriesTheImagesVersions(t *testing.T) {
	w := newFakeWorld(t)
	w.eng.SetImageConfig(oldImg, fake.ImageConfig{Labels: map[string]string{models.LabelVersion: "1.0.0"}})
	w.eng.SetImageConfig(newImg, fake.ImageConfig{Labels: map[string]string{models.LabelVersion: "1.1.0"}})
	if _, err := w.ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.upd.StartContainer("a", "x"); err != nil {
		t.Fatal(err)
	}
	if p := w.wait(t, "a"); p.Phase != models.PhaseDone {
		t.Fatalf("%+v", p)
	}
	recs, err := w.hist.Recent(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("history = %+v, %v", recs, err)
	}
	if r := recs[0]; r.FromVersion != "1.0.0" || r.ToVersion != "1.1.0" {
		t.Errorf("versions = %q → %q, want 1.0.0 → 1.1.0", r.FromVersion, r.ToVersion)
	}
}
