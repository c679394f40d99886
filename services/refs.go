package services

import (
	"fmt"
	"net"
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

// Registry is the registry host the reference lives on ("docker.io").
func (r imageRef) Registry() string {
	host, _, _ := strings.Cut(r.Repo, "/")
	return host
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

// localImage reports whether c runs an image that no registry gave it under
// ref's repository: built or loaded here, or pulled under another name and
// tagged. Such a container is unknown without asking any registry: a HEAD
// would ask about a name that may exist only here.
func localImage(ref imageRef, c models.Container) bool {
	if !c.ContainerdStore {
		// Graph drivers record a repository's digest only when it is pulled or pushed.
		return len(repoDigests(c.RepoDigests, ref.Repo)) == 0
	}
	// The containerd store gives every tag a RepoDigest, a loaded image's too,
	// so only what the engine says of the image's origin tells. Without that
	// (API before 1.53, not loaded) the image counts as pulled and the HEAD
	// decides.
	return c.OriginKnown && !pulledFrom(c.PulledFrom, ref.Repo)
}

// pulledFrom reports whether repo is among the repositories an image was
// pulled from. containerd records the registry without its port
// ("127.0.0.1/app" for "127.0.0.1:5000/app"), so both forms match.
func pulledFrom(repos []string, repo string) bool {
	portless := repo
	if domain, path, ok := strings.Cut(repo, "/"); ok {
		if host, _, err := net.SplitHostPort(domain); err == nil {
			portless = host + "/" + path
		}
	}
	for _, r := range repos {
		named, err := reference.ParseNormalizedNamed(r)
		if err != nil {
			continue
		}
		if n := named.Name(); n == repo || n == portless {
			return true
		}
	}
	return false
}

// containerStatus compares what a container runs with the remote digest.
// It returns the status and the local digest to show, which is empty
// exactly when the image is local (see localImage).
func containerStatus(ref imageRef, remote string, c models.Container) (models.Status, string) {
	if c.Service != nil && c.ImageID == "" {
		return models.StatusUnknown, "" // a spec without a pinned digest
	}
	if c.Service == nil && localImage(ref, c) {
		return models.StatusUnknown, ""
	}
	var local []string
	if c.ContainerdStore || c.Service != nil {
		// The image ID is the manifest or index digest, what the HEAD answers,
		// and it stays with the container after the tag moves on.
		local = []string{c.ImageID}
	} else {
		local = repoDigests(c.RepoDigests, ref.Repo)
	}
	shown := local[0]
	for _, d := range local {
		if remote != "" && d == remote {
			return models.StatusUpToDate, d
		}
	}
	switch {
	case remote == "":
		return models.StatusUnknown, shown
	case ref.Pinned != "":
		return models.StatusUnknown, shown // pinned: nothing to follow, never outdated
	default:
		return models.StatusOutdated, shown
	}
}

// reasonLocal is why a group whose containers all run local images is
// unknown.
const reasonLocal = "local image (built or loaded here): no registry to ask"

// groupReason returns why a group is unknown (or partly so) for display:
// reason is what the registry said, or "" when it answered.
func groupReason(reason string, st models.Status, items []models.ContainerItem) string {
	local := len(items) > 0
	for _, it := range items {
		local = local && it.LocalFull == ""
	}
	switch {
	case local:
		return reasonLocal
	case reason == "" && st == models.StatusUnknown:
		return "no registry digest for the local image (built or loaded locally)"
	}
	return reason
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

// uniqueRemotes returns the distinct references to ask the registry about:
// one per image that some container runs a pulled version of. Containers of
// local images cost no request.
func uniqueRemotes(cs []models.Container) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		if isImageID(c.ConfiguredImage, c.ImageID) {
			continue
		}
		ref, err := parseImageRef(c.ConfiguredImage)
		if err != nil || seen[ref.Remote] || localImage(ref, c) {
			continue
		}
		seen[ref.Remote] = true
		out = append(out, ref.Remote)
	}
	sort.Strings(out)
	return out
}
