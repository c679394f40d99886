package fake

import (
	"context"
	"fmt"

	"refit/models"
)

// TagImage implements services.Updater: target names the local image
// source (a reference or an ID) names.
func (e *Engine) TagImage(ctx context.Context, source, target string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.localImage(source)
	if !ok {
		return fmt.Errorf("tag %s: %w", source, models.ErrImageNotFound)
	}
	e.tags[normal(target)] = id
	return nil
}

// UntagImage implements services.Updater with the engine's rules for a
// pulled image (one with a repo digest): the tag goes, and the image too
// when no other tag names it and no container uses it.
func (e *Engine) UntagImage(ctx context.Context, ref string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := normal(ref)
	id, ok := e.tags[key]
	if !ok {
		return false, fmt.Errorf("untag %s: %w", ref, models.ErrImageNotFound)
	}
	others := false
	for r, i := range e.tags {
		others = others || (i == id && r != key)
	}
	used := false
	for _, c := range e.containers {
		used = used || c.ImageID == id
	}
	delete(e.tags, key)
	if others || used {
		return false, nil
	}
	delete(e.images, id)
	return true, nil
}

// RemoveImage implements services.Updater: the image goes unless a tag
// names it or a container, running or not, uses it.
func (e *Engine) RemoveImage(ctx context.Context, id string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.images[id]; !ok {
		return false, fmt.Errorf("remove image %s: %w", id, models.ErrImageNotFound)
	}
	for _, i := range e.tags {
		if i == id {
			return false, nil
		}
	}
	for _, c := range e.containers {
		if c.ImageID == id {
			return false, nil
		}
	}
	delete(e.images, id)
	return true, nil
}
