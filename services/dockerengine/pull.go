package dockerengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"

	"refit/models"
)

// Pull implements services.Updater. It reads the engine's stream to its end
// and returns an error message inside it as an error: a failed pull can still
// answer 200. A tag the registry does not know wraps models.ErrNotFound.
func (e *Engine) Pull(ctx context.Context, ref string, auth models.RegistryAuth, progress func(models.PullEvent)) error {
	var opts image.PullOptions
	if auth != (models.RegistryAuth{}) {
		enc, err := registry.EncodeAuthConfig(registry.AuthConfig{
			Username:      auth.Username,
			Password:      auth.Password,
			IdentityToken: auth.IdentityToken,
			RegistryToken: auth.RegistryToken,
			ServerAddress: auth.ServerAddress,
		})
		if err != nil {
			return fmt.Errorf("pull %s: encode credentials: %w", ref, err)
		}
		opts.RegistryAuth = enc
	}
	rc, err := e.cli.ImagePull(ctx, ref, opts)
	if err != nil {
		return pullError(ref, err)
	}
	defer rc.Close()

	dec := json.NewDecoder(rc)
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("pull %s: read progress: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("pull %s: %s", ref, msg.Error.Message)
		}
		if msg.ErrorMessage != "" { //nolint:staticcheck // older engines send only this
			return fmt.Errorf("pull %s: %s", ref, msg.ErrorMessage) //nolint:staticcheck
		}
		if progress == nil {
			continue
		}
		ev := models.PullEvent{Layer: msg.ID, Status: msg.Status}
		if msg.Progress != nil {
			ev.Current, ev.Total = msg.Progress.Current, msg.Progress.Total
		}
		progress(ev)
	}
}

func pullError(ref string, err error) error {
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("pull %s: %v: %w", ref, err, models.ErrNotFound)
	}
	return fmt.Errorf("pull %s: %w", ref, err)
}

// Image implements services.Updater.
func (e *Engine) Image(ctx context.Context, ref string) (models.ImageInfo, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if errdefs.IsNotFound(err) {
		return models.ImageInfo{}, fmt.Errorf("image %s: %w", ref, models.ErrImageNotFound)
	}
	if err != nil {
		return models.ImageInfo{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	info := models.ImageInfo{ID: img.ID, RepoDigests: img.RepoDigests, Architecture: img.Architecture, OS: img.Os}
	if img.Config != nil {
		info.Labels = img.Config.Labels
	}
	// RFC 3339 with nanoseconds; empty for an image whose config has no date.
	info.Created, _ = time.Parse(time.RFC3339Nano, img.Created)
	return info, nil
}
