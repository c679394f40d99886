package services

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/distribution/reference"

	"refit/models"
)

// imageRef is a container's configured image, parsed once.
type imageRef struct {
	Group  string // familiar form with a tag: "nginx:latest", "ghcr.io/org/app:1"
	Remote string // fully qualified, what the registry is asked: "docker.io/library/nginx:latest"
	Repo   string // fully qualified repository: "docker.io/library/nginx"
	Pinned string // the digest of a name@sha256:… reference; such a reference has no tag to follow
}

var hexID = regexp.MustCompile(`^[a-f0-9]{12,64}$`)

// isImageID reports whether a configured image is an image ID rather than a
// reference: "sha256:…", a full hex ID, or a prefix of the image it runs.
func isImageID(configured, imageID string) bool {
	if strings.HasPrefix(configured, "sha256:") {
		return true
	}
	return hexID.MatchString(configured) &&
		(len(configured) == 64 || strings.HasPrefix(strings.TrimPrefix(imageID, "sha256:"), configured))
}

// parseImageRef normalises a reference the way Docker does: "nginx" and
// "docker.io/library/nginx" are both "nginx:latest".
func parseImageRef(s string) (imageRef, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return imageRef{}, fmt.Errorf("image reference %q: %w", s, models.ErrInvalid)
	}
	r := imageRef{Repo: named.Name()}
	if c, ok := named.(reference.Canonical); ok {
		r.Pinned = c.Digest().String()
	}
	tagged := reference.TagNameOnly(named)
	r.Group = reference.FamiliarString(tagged)
	r.Remote = tagged.String()
	return r, nil
}

// NormalizeImage returns the group name for an image reference as the API
// shows it ("docker.io/library/nginx" → "nginx:latest").
func NormalizeImage(s string) (string, error) {
	r, err := parseImageRef(s)
	if err != nil {
		return "", err
	}
	return r.Group, nil
}

// repoDigest returns the digests among repoDigests ("nginx@sha256:…") that
// belong to repository repo. RepoDigests can name several repositories, so
// comparing without the name gives false answers.
func repoDigests(repoDigests []string, repo string) []string {
	var out []string
	for _, rd := range repoDigests {
		named, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		c, ok := named.(reference.Canonical)
		if ok && named.Name() == repo {
			out = append(out, c.Digest().String())
		}
	}
	return out
}

// containerStatus compares what a container runs with the remote digest.
// It returns the status and the local digest to show.
func containerStatus(ref imageRef, remote string, c models.Container) (models.Status, string) {
	local := repoDigests(c.RepoDigests, ref.Repo)
	shown := ""
	if len(local) > 0 {
		shown = local[0]
	}
	for _, d := range local {
		if remote != "" && d == remote {
			return models.StatusUpToDate, d
		}
	}
	switch {
	case remote == "" || len(local) == 0:
		return models.StatusUnknown, shown
	case ref.Pinned != "":
		return models.StatusUnknown, shown // pinned: nothing to follow, never outdated
	default:
		return models.StatusOutdated, shown
	}
}

// groupStatus folds container statuses into the group's.
func groupStatus(remote string, items []models.ContainerItem) models.Status {
	if remote == "" || len(items) == 0 {
		return models.StatusUnknown
	}
	first := items[0].Status
	for _, it := range items[1:] {
		if it.Status != first {
			return models.StatusPartial
		}
	}
	return first // all the same: uptodate, outdated, or unknown (none has a digest to compare)
}

// uniqueRemotes returns the distinct references to ask the registry about.
func uniqueRemotes(cs []models.Container) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		if isImageID(c.ConfiguredImage, c.ImageID) {
			continue
		}
		ref, err := parseImageRef(c.ConfiguredImage)
		if err != nil || seen[ref.Remote] {
			continue
		}
		seen[ref.Remote] = true
		out = append(out, ref.Remote)
	}
	sort.Strings(out)
	return out
}
