package services

import (
	"context"
	"fmt"

	"refit/models"
)

// Preview is the dry run of an update of the container id names: the
// engine's plan for the recreate, with the digests the last check saw. It
// pulls nothing and asks no registry: the candidate is the snapshot's.
func (k *Catalog) Preview(ctx context.Context, id string) (models.Preview, error) {
	c, e, err := k.target(ctx, id)
	if err != nil {
		return models.Preview{}, err
	}
	if c.Kind == models.KindService {
		return models.Preview{}, fmt.Errorf("%s is a Swarm service: the manager updates it: %w", c.Name, models.ErrInvalid)
	}
	p, err := e.Preview(ctx, c.ID)
	if err != nil {
		return models.Preview{}, err
	}
	p.Watcher = c.Watcher
	p.Current.Digest, p.Current.Tag = c.Image.Digest.Repo, c.Image.Tag.Value
	p.Candidate.Tag = c.Image.Tag.Value // refit follows the tag; a new digest comes under the same one
	if c.Result != nil {
		p.Candidate.Digest = c.Result.Digest
	}
	p.UpdateAvailable = c.UpdateAvailable
	return p, nil
}
