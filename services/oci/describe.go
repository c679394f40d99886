package oci

import (
	"context"
	"fmt"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"refit/models"
)

// Describe reads what the image ref's repository has under digest says of
// itself: the version, source and creation labels of its config. It costs
// a GET of that manifest (two for an index: it then takes the linux image
// of refit's own architecture) and a GET of the config blob, never of a
// layer. On Docker Hub a manifest GET counts as a pull: callers decide
// whether to ask. Errors are classified as Digest's.
func (c *Client) Describe(ctx context.Context, ref, digest string) (models.ImageFacts, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return models.ImageFacts{}, fmt.Errorf("reference %q: %w", ref, models.ErrInvalid)
	}
	d, err := name.NewDigest(r.Context().Name() + "@" + digest)
	if err != nil {
		return models.ImageFacts{}, fmt.Errorf("digest %q: %w", digest, models.ErrInvalid)
	}
	host := r.Context().RegistryStr()
	if until, ok := c.policy.blocked(host); ok {
		return models.ImageFacts{}, c.classify(&rateLimited{registry: host, until: until})
	}
	ctx, cancel := context.WithTimeout(withRegistry(ctx, host), c.timeout)
	defer cancel()
	img, err := remote.Image(d, remote.Reuse(c.puller), remote.WithContext(ctx),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		return models.ImageFacts{}, c.classify(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return models.ImageFacts{}, c.classify(err)
	}
	return models.FactsFromLabels(cf.Config.Labels, cf.Created.Time), nil
}
