package services

import (
	"context"
	"fmt"

	"refit/models"
)

// The lifecycle actions of Drydock's container API: each finds the
// container as Get does, acts on its own host's engine, relists that host
// so the snapshot follows at once, and answers the item as it is now.

// Start starts a stopped container.
func (k *Catalog) Start(ctx context.Context, id string) (models.DrydockContainer, error) {
	return k.act(ctx, id, func(e Updater, cid string) error { return e.Start(ctx, cid) })
}

// Stop stops a running container, within its own stop timeout.
func (k *Catalog) Stop(ctx context.Context, id string) (models.DrydockContainer, error) {
	return k.act(ctx, id, func(e Updater, cid string) error { return e.Stop(ctx, cid) })
}

// Restart restarts a container; its ID stays.
func (k *Catalog) Restart(ctx context.Context, id string) (models.DrydockContainer, error) {
	return k.act(ctx, id, func(e Updater, cid string) error { return e.Restart(ctx, cid) })
}

// Remove deletes a container, stopping it first; its anonymous volumes go
// only with volumes set. Its image backups go with it.
func (k *Catalog) Remove(ctx context.Context, id string, volumes bool) error {
	c, e, err := k.target(ctx, id)
	if err != nil {
		return err
	}
	if err := e.Remove(ctx, c.ID, volumes); err != nil {
		return err
	}
	if k.upd != nil && k.upd.opts.Backups != nil && c.Kind != models.KindService {
		k.upd.opts.Backups.forget(ctx, e, k.Ref(c))
	}
	_ = k.ctr.RefreshHost(ctx, c.Watcher)
	return nil
}

// Logs returns the container's stdout and stderr as the engine keeps them;
// during an update too, since reading fights no recreate.
func (k *Catalog) Logs(ctx context.Context, id string, o models.LogOptions) (string, error) {
	c, err := k.Get(ctx, id)
	if err != nil {
		return "", err
	}
	e, err := k.ctr.updater(c.Watcher)
	if err != nil {
		return "", err
	}
	return e.Logs(ctx, c.ID, o)
}

// act runs f on the container's engine and answers the item afterwards.
func (k *Catalog) act(ctx context.Context, id string, f func(Updater, string) error) (models.DrydockContainer, error) {
	c, e, err := k.target(ctx, id)
	if err != nil {
		return models.DrydockContainer{}, err
	}
	if c.Kind == models.KindService {
		return models.DrydockContainer{}, fmt.Errorf("%s is a Swarm service: its tasks are the engine's: %w", c.Name, models.ErrInvalid)
	}
	if err := f(e, c.ID); err != nil {
		return models.DrydockContainer{}, err
	}
	if err := k.ctr.RefreshHost(ctx, c.Watcher); err != nil {
		return models.DrydockContainer{}, err
	}
	return k.Get(ctx, c.ID)
}

// target finds the container and its engine, and refuses one an update
// works on: a stop or a delete in the middle of a recreate would fight the
// rollback.
func (k *Catalog) target(ctx context.Context, id string) (models.DrydockContainer, Updater, error) {
	c, err := k.Get(ctx, id)
	if err != nil {
		return c, nil, err
	}
	ref := k.Ref(c)
	if k.upd != nil {
		if p, ok := k.upd.ProgressOf(ref); ok && p.Running() {
			return c, nil, fmt.Errorf("%s: %w", ref, models.ErrBeingUpdated)
		}
	}
	e, err := k.ctr.updater(c.Watcher)
	return c, e, err
}

// SetTagRule keeps r as the container's tag rule, over its labels (an
// empty include stops tag tracking), follows its tags again at once, and
// returns the item.
func (k *Catalog) SetTagRule(ctx context.Context, id string, r models.TagRule) (models.DrydockContainer, error) {
	return k.changeTagRule(ctx, id, func(ref models.ContainerRef) error {
		_, err := k.ctr.tagRules.Set(ref, r)
		return err
	})
}

// ClearTagRule forgets the rule set in refit: its labels decide again.
func (k *Catalog) ClearTagRule(ctx context.Context, id string) (models.DrydockContainer, error) {
	return k.changeTagRule(ctx, id, k.ctr.tagRules.Clear)
}

func (k *Catalog) changeTagRule(ctx context.Context, id string, change func(models.ContainerRef) error) (models.DrydockContainer, error) {
	if k.ctr.tagRules == nil {
		return models.DrydockContainer{}, fmt.Errorf("tag rules are not kept here: %w", models.ErrUnavailable)
	}
	item, err := k.Get(ctx, id)
	if err != nil {
		return models.DrydockContainer{}, err
	}
	if item.Kind == models.KindService {
		return models.DrydockContainer{}, fmt.Errorf("%s is a Swarm service: its tags are the service's: %w", item.Name, models.ErrInvalid)
	}
	ref := k.Ref(item)
	if err := change(ref); err != nil {
		return models.DrydockContainer{}, err
	}
	if it, _, err := k.ctr.FindRef(ref); err == nil { // a stopped one is followed once it runs
		_ = k.ctr.CheckTags(ctx, it.Configured)
	}
	return k.Get(ctx, ref.String())
}
