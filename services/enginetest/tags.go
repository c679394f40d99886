package enginetest

import (
	"errors"
	"testing"
	"time"

	"refit/models"
	"refit/services"
)

// RunImageTags checks TagImage and UntagImage, what backups rely on: a tag
// names the same image, removing it keeps an image that another tag or a
// container holds, and removes one nothing holds.
func RunImageTags(t *testing.T, newFixture func(t *testing.T) Fixture) {
	for name, fn := range map[string]func(*testing.T, Fixture){
		"TagNamesTheImageAndUntagKeepsItWhileHeld": testTagUntagHeld,
		"UntagRemovesAnImageNothingHolds":          testUntagRemoves,
		"UntagKeepsAnImageInUseWithoutItsLastTag":  func(t *testing.T, f Fixture) { testUntagInUse(t, f, true) },
		"UntagKeepsAStoppedContainersImageToo":     func(t *testing.T, f Fixture) { testUntagInUse(t, f, false) },
		"RemoveImageTakesOnlyAnImageNothingHolds":  testRemoveImage,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t))
		})
	}
}

// backupTag is a tag outside the fixture's registry, removed at cleanup.
func backupTag(t *testing.T, e services.Updater, base string) string {
	tag := models.BackupRepo + "/enginetest/" + uniqueName(base) + ":t1"
	t.Cleanup(func() { e.UntagImage(ctxTimeout(t, 30*time.Second), tag) })
	return tag
}

func imageID(t *testing.T, e services.Updater, ref string) string {
	t.Helper()
	img, err := e.Image(ctxTimeout(t, 30*time.Second), ref)
	if err != nil {
		t.Fatalf("Image(%s): %v", ref, err)
	}
	return img.ID
}

func testTagUntagHeld(t *testing.T, f Fixture) {
	e := f.Engine()
	f.RunContainer(t, uniqueName("tag"), 1)
	v1 := imageID(t, e, f.Ref())
	tag := backupTag(t, e, "tag")
	ctx := ctxTimeout(t, time.Minute)
	if err := e.TagImage(ctx, f.Ref(), tag); err != nil {
		t.Fatalf("TagImage: %v", err)
	}
	if got := imageID(t, e, tag); got != v1 {
		t.Errorf("Image(%s).ID = %s, want %s", tag, got, v1)
	}
	if err := e.TagImage(ctx, f.MissingRef(), tag+"x"); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("TagImage(missing) = %v, want ErrImageNotFound", err)
	}
	removed, err := e.UntagImage(ctx, tag)
	if err != nil || removed {
		t.Fatalf("UntagImage while Ref and a container hold the image = %v, %v; want false, nil", removed, err)
	}
	if _, err := e.Image(ctx, tag); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("Image(%s) after UntagImage = %v, want ErrImageNotFound", tag, err)
	}
	if got := imageID(t, e, v1); got != v1 {
		t.Errorf("image %s gone after removing one of its tags", v1)
	}
	if _, err := e.UntagImage(ctx, tag); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("UntagImage of a removed tag = %v, want ErrImageNotFound", err)
	}
}

func testUntagRemoves(t *testing.T, f Fixture) {
	e := f.Engine()
	name := uniqueName("untag")
	id := f.RunContainer(t, name, 1)
	v1 := imageID(t, e, f.Ref())
	tag := backupTag(t, e, "untag")
	ctx := ctxTimeout(t, 2*time.Minute)
	if err := e.TagImage(ctx, v1, tag); err != nil {
		t.Fatalf("TagImage by ID: %v", err)
	}
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())
	if _, err := e.Recreate(ctx, id, recreateOpts); err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	// v1 has only the backup tag now, and no container.
	removed, err := e.UntagImage(ctx, tag)
	if err != nil || !removed {
		t.Fatalf("UntagImage of the last tag of an unused image = %v, %v; want true, nil", removed, err)
	}
	if _, err := e.Image(ctx, v1); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("Image(%s) after its last tag went = %v, want ErrImageNotFound", v1, err)
	}
}

func testUntagInUse(t *testing.T, f Fixture, running bool) {
	e := f.Engine()
	if running {
		f.RunContainer(t, uniqueName("inuse"), 1)
	} else {
		f.CreateContainer(t, uniqueName("inuse"), 1)
	}
	v1 := imageID(t, e, f.Ref())
	tag := backupTag(t, e, "inuse")
	ctx := ctxTimeout(t, 2*time.Minute)
	if err := e.TagImage(ctx, v1, tag); err != nil {
		t.Fatalf("TagImage: %v", err)
	}
	f.PushVersion(t, 2)
	pull(t, e, f.Ref()) // Ref moves on; the container still runs v1, named by the backup tag alone
	removed, err := e.UntagImage(ctx, tag)
	if err != nil || removed {
		t.Fatalf("UntagImage of the only tag of a container's image = %v, %v; want false, nil", removed, err)
	}
	if _, err := e.Image(ctx, tag); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("Image(%s) after UntagImage = %v, want ErrImageNotFound", tag, err)
	}
	if got := imageID(t, e, v1); got != v1 {
		t.Errorf("image %s of a container gone with its last tag", v1)
	}
}

// testRemoveImage: the image a container ran before its tag moved on is
// kept while the container exists, and removed once it is gone; a tagged
// image stays.
func testRemoveImage(t *testing.T, f Fixture) {
	e := f.Engine()
	ctx := ctxTimeout(t, time.Minute)
	id := f.RunContainer(t, uniqueName("rmimage"), 1)
	v1 := imageID(t, e, f.Ref())
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())
	v2 := imageID(t, e, f.Ref())
	if removed, err := e.RemoveImage(ctx, v1); err != nil || removed {
		t.Fatalf("RemoveImage of the image a container uses = %v, %v; want kept", removed, err)
	}
	if removed, err := e.RemoveImage(ctx, v2); err != nil || removed {
		t.Fatalf("RemoveImage of a tagged image = %v, %v; want kept", removed, err)
	}
	if err := e.Remove(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if removed, err := e.RemoveImage(ctx, v1); err != nil || !removed {
		t.Fatalf("RemoveImage of an image nothing holds = %v, %v; want removed", removed, err)
	}
	if _, err := e.Image(ctx, v1); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("Image of the removed image = %v, want ErrImageNotFound", err)
	}
	if _, err := e.RemoveImage(ctx, v1); !errors.Is(err, models.ErrImageNotFound) {
		t.Errorf("RemoveImage again = %v, want ErrImageNotFound", err)
	}
}
