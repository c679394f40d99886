package dockerengine

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"

	"refit/models"
)

// TagImage implements services.Updater: target (repository:tag) names the
// image source (a reference or an ID) names, as docker tag does.
func (e *Engine) TagImage(ctx context.Context, source, target string) error {
	if err := e.cli.ImageTag(ctx, source, target); err != nil {
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("tag %s: %w", source, models.ErrImageNotFound)
		}
		return fmt.Errorf("tag %s as %s: %w", source, target, err)
	}
	return nil
}

// UntagImage implements services.Updater. An unforced remove of a tag
// only untags while another reference holds the image (a pulled image's
// repo digest does), so an image left with digest references alone is
// then removed by ID, unforced: a container using it keeps it. The engine
// refuses the last reference of an image in use (a built one, without
// repo digests) with a graph driver, which comes back as ErrConflict.
func (e *Engine) UntagImage(ctx context.Context, ref string) (bool, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if errdefs.IsNotFound(err) {
		return false, fmt.Errorf("untag %s: %w", ref, models.ErrImageNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("untag %s: %w", ref, err)
	}
	_, err = e.cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	if errdefs.IsConflict(err) {
		// The containerd store refuses the last tag of an image a container
		// uses; forced, it untags and keeps the image under a dangling name
		// for the container. Never forced with a graph driver: there it
		// would delete the image of a stopped container.
		if st, serr := e.imageStore(ctx); serr == nil && st.containerd {
			_, err = e.cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	}
	if err != nil {
		if errdefs.IsConflict(err) {
			return false, fmt.Errorf("untag %s: %v: %w", ref, err, models.ErrConflict)
		}
		return false, fmt.Errorf("untag %s: %w", ref, err)
	}
	left, err := e.cli.ImageInspect(ctx, img.ID)
	if errdefs.IsNotFound(err) {
		return true, nil
	}
	if err != nil || len(left.RepoTags) > 0 {
		return false, nil // named elsewhere, or unknown: the image stays
	}
	if _, err := e.cli.ImageRemove(ctx, img.ID, image.RemoveOptions{PruneChildren: true}); err != nil {
		return false, nil // in use: it stays, as the engine decides
	}
	return true, nil
}

// RemoveImage implements services.Updater: an inspect for its tags, then
// unforced removes by ID, which the engine refuses while a container uses
// the image. Never forced: a forced remove by ID untags whatever names it.
// With a graph driver a remove by ID may only drop a repo digest and keep
// the image, so it goes on while each remove drops something.
func (e *Engine) RemoveImage(ctx context.Context, id string) (bool, error) {
	img, err := e.cli.ImageInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return false, fmt.Errorf("remove image %s: %w", id, models.ErrImageNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("remove image %s: %w", id, err)
	}
	if len(img.RepoTags) > 0 {
		return false, nil
	}
	for range len(img.RepoDigests) + 1 {
		resp, err := e.cli.ImageRemove(ctx, img.ID, image.RemoveOptions{PruneChildren: true})
		switch {
		case errdefs.IsNotFound(err):
			return true, nil
		case errdefs.IsConflict(err):
			return false, nil // in use
		case err != nil:
			return false, fmt.Errorf("remove image %s: %w", id, err)
		}
		for _, r := range resp {
			if r.Deleted != "" {
				return true, nil
			}
		}
		if len(resp) == 0 {
			break
		}
	}
	_, err = e.cli.ImageInspect(ctx, img.ID)
	return errdefs.IsNotFound(err), nil
}
