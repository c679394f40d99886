package services_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// waitFacts waits until the group of image tells its new image's version.
func waitFacts(t *testing.T, ctr *services.Containers, image string) models.ImageGroup {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := ctr.Group(image)
		if err == nil && g.Remote.Version != "" {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("no description of %s within 30s: %+v, %v", image, g.Remote, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// After a check, the new image of an outdated group is described from a
// loopback registry with one manifest GET and its config blob, once: a
// second check reads nothing, and a restart finds it in SQLite.
func TestDescriptionsReadEachNewDigestOnce(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	old := reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v1"})
	newDigest := reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v2", Labels: map[string]string{
		models.LabelVersion: "1.3.0", models.LabelSource: "https://example.test/app/releases"}})
	image := reg.Ref("test/app:1")
	eng := fake.NewEngine()
	eng.AddImage("sha256:old", reg.Host()+"/test/app@"+old)
	eng.Run("a1", "app", image, "sha256:old")
	oc, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, tog, _ := mustStore(t)
	desc, err := services.NewDescriptions(db, oc, quiet, services.DescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desc.Close)
	ctr := services.NewContainers(eng, oc, tog, quiet, 4)
	ctr.DescribeWith(desc)
	before := desc.Version()
	if _, err := ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := waitFacts(t, ctr, image)
	if g.RemoteFull != newDigest || g.Remote.Source != "https://example.test/app/releases" || desc.Version() == before {
		t.Errorf("group %s: remote %s facts %+v", g.Image, g.RemoteFull, g.Remote)
	}
	if c := reg.Counts(); c.GetManifest != 1 || c.GetBlob != 1 {
		t.Errorf("requests after one check = %+v, want one manifest GET and one blob GET (the config)", c)
	}
	reg.Reset()
	if _, err := ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a read it would start would have its GET in by now
	if c := reg.Counts(); c.GetManifest != 0 || c.GetBlob != 0 {
		t.Errorf("a second check read again: %+v", c)
	}
	again, err := services.NewDescriptions(db, oc, quiet, services.DescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f, note := again.Of(g); f.Version != "1.3.0" || note != "" {
		t.Errorf("after a restart: %+v %q, want the kept description", f, note)
	}
}

// recordingDescriber records what it was asked; it never reaches a network.
type recordingDescriber struct {
	mu    sync.Mutex
	asked []string
}

func (r *recordingDescriber) Describe(_ context.Context, ref, digest string) (models.ImageFacts, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, ref)
	return models.ImageFacts{Version: "9"}, nil
}

// Docker Hub images are not read unless the user opts in: a manifest GET
// there counts as a pull. The row says why instead.
func TestDescriptionsLeaveDockerHubAloneUnlessAsked(t *testing.T) {
	g := models.ImageGroup{Image: "nginx:latest", RemoteFull: newDig, Status: models.StatusOutdated,
		Containers: []models.ContainerItem{{Status: models.StatusOutdated}}}
	for _, optIn := range []bool{false, true} {
		db, _, _ := mustStore(t)
		rec := &recordingDescriber{}
		d, err := services.NewDescriptions(db, rec, quiet, services.DescribeOptions{DockerHub: optIn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		d.Learn([]models.ImageGroup{g})
		f, note := d.Of(g)
		for deadline := time.Now().Add(10 * time.Second); optIn && f.Version == "" && time.Now().Before(deadline); f, note = d.Of(g) {
			time.Sleep(10 * time.Millisecond)
		}
		rec.mu.Lock()
		asked := len(rec.asked)
		rec.mu.Unlock()
		switch {
		case !optIn && (asked != 0 || note != models.NoteDockerHub):
			t.Errorf("without -describe-remote: %d reads, note %q", asked, note)
		case optIn && (asked != 1 || f.Version != "9" || note != ""):
			t.Errorf("with -describe-remote: %d reads, facts %+v, note %q", asked, f, note)
		}
	}
}
