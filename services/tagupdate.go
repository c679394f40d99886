package services

import (
	"fmt"

	"github.com/distribution/reference"

	"refit/models"
)

// StartTag starts moving the container id names onto the newer tag the
// last check found for it: a pull of that tag on its host, then the same
// recreate as an update, creating the new container from repo:newtag. The
// new tag is a group of its own afterwards. It fails with
// ErrNoUpdateAvailable when the container has no newer tag.
func (u *Updates) StartTag(id, by string) (models.Progress, error) {
	it, _, err := u.ctr.Find(id)
	if err != nil {
		return models.Progress{}, err
	}
	if it.NewerTag == "" {
		return models.Progress{}, fmt.Errorf("%s follows no newer tag: %w", it.Ref, models.ErrNoUpdateAvailable)
	}
	target, err := retag(it.Configured, it.NewerTag)
	if err != nil {
		return models.Progress{}, err
	}
	ref, err := parseImageRef(target)
	if err != nil {
		return models.Progress{}, err
	}
	if err := u.hist.Writable(); err != nil {
		return models.Progress{}, err
	}
	started := u.start(models.ImageGroup{Image: ref.Group, RemoteFull: it.NewerDigest}, []models.ContainerItem{it}, by, false)
	if len(started) == 0 {
		p, _ := u.Progress(it.Ref)
		return p, nil
	}
	return started[0], nil
}

// retag is configured with its tag replaced, written as people write it:
// "nginx:1.27" → "nginx:1.28", "ghcr.io/org/app:1.2.3" → "ghcr.io/org/app:1.3.0".
func retag(configured, tag string) (string, error) {
	named, err := reference.ParseNormalizedNamed(configured)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", configured, models.ErrInvalid)
	}
	t, err := reference.WithTag(reference.TrimNamed(named), tag)
	if err != nil {
		return "", fmt.Errorf("tag %q: %w", tag, models.ErrInvalid)
	}
	return reference.FamiliarString(t), nil
}

// recreateTarget is the image a run's recreate creates it from: "" (its
// own Config.Image) when it runs the run's image, else the run's image
// written in its own style, for a move onto a newer tag.
func recreateTarget(it models.ContainerItem, run imageRef) string {
	own, err := parseImageRef(it.Configured)
	if err != nil || own.Group == run.Group {
		return ""
	}
	target, err := retag(it.Configured, tagOf(run.Remote))
	if err != nil {
		return ""
	}
	return target
}
