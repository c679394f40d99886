package services

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/distribution/reference"

	"refit/models"
)

// Catalog answers Drydock's container API over the snapshot: every
// container refit knows, running or not, in Drydock's shape, with the
// check's result and the update policy.
type Catalog struct {
	ctr *Containers
	pol *Policies
	tog *Toggles
	upd *Updates // nil: no update jobs to stay clear of

	mu     sync.Mutex
	images map[string]models.ImageInfo // by host and image ID: an image ID names one image for good
}

// NewCatalog returns the catalog over ctr's hosts and snapshot; its
// actions leave containers that upd is updating alone.
func NewCatalog(ctr *Containers, pol *Policies, tog *Toggles, upd *Updates) *Catalog {
	return &Catalog{ctr: ctr, pol: pol, tog: tog, upd: upd, images: map[string]models.ImageInfo{}}
}

// List returns every container of every host that answers, running or not,
// and the Swarm services; a host out of reach contributes its containers as
// last seen. Parked -refit-old containers are left out, as in /api/images.
func (k *Catalog) List(ctx context.Context) ([]models.DrydockContainer, error) {
	snap := k.snapshot()
	var out []models.DrydockContainer
	for _, h := range k.ctr.hosts {
		lctx, cancel := context.WithTimeout(ctx, hostListTimeout)
		all, err := h.Engine.All(lctx)
		cancel()
		seen := map[string]bool{}
		if err == nil {
			for _, c := range all {
				if strings.HasSuffix(c.Name, models.OldSuffix) {
					continue
				}
				c.Host = h.Name
				seen[c.ID] = true
				out = append(out, k.item(ctx, h, c, snap))
			}
		}
		for _, e := range snap { // services, and a down host's containers as last seen
			if e.it.Ref.Host == h.Name && !seen[e.it.FullID] && (err != nil || e.it.Kind == models.KindService) {
				out = append(out, k.item(ctx, h, models.Container{Host: h.Name, ID: e.it.FullID, Name: e.it.ContainerName,
					ConfiguredImage: e.it.Configured, ImageID: e.it.ImageID, State: "running", Service: e.it.Service}, snap))
			}
		}
	}
	slices.SortFunc(out, func(a, b models.DrydockContainer) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Watcher, b.Watcher)
	})
	return out, nil
}

// Get returns the container id names: a full or 12-character ID, a name
// unique across hosts, or host/name; stopped ones too.
func (k *Catalog) Get(ctx context.Context, id string) (models.DrydockContainer, error) {
	all, err := k.List(ctx)
	if err != nil {
		return models.DrydockContainer{}, err
	}
	var named []models.DrydockContainer
	for _, c := range all {
		switch {
		case c.ID == id || (len(id) >= 12 && strings.HasPrefix(c.ID, id)):
			return c, nil
		case c.Name == id || c.Watcher+"/"+c.Name == id:
			named = append(named, c)
		}
	}
	switch len(named) {
	case 0:
		return models.DrydockContainer{}, fmt.Errorf("container %q: %w", id, models.ErrContainerNotFound)
	case 1:
		return named[0], nil
	}
	for _, c := range named {
		if c.Watcher+"/"+c.Name == id {
			return c, nil
		}
	}
	return models.DrydockContainer{}, fmt.Errorf("container %q: %w", id, models.ErrAmbiguousContainer)
}

// Ref is the identity of a catalog item.
func (k *Catalog) Ref(c models.DrydockContainer) models.ContainerRef {
	if c.Kind == models.KindService {
		return models.ServiceRef(c.Watcher, c.Name)
	}
	return models.Ref(c.Watcher, c.Name)
}

// entry is a container of the snapshot with its group.
type entry struct {
	it models.ContainerItem
	g  models.ImageGroup
}

func (k *Catalog) snapshot() map[string]entry {
	out := map[string]entry{}
	for _, g := range k.ctr.Groups() {
		for _, it := range g.Containers {
			out[it.Ref.Host+"/"+it.FullID] = entry{it: it, g: g}
		}
	}
	return out
}

// item is c in Drydock's shape, with what the snapshot knows of it.
func (k *Catalog) item(ctx context.Context, h *hostState, c models.Container, snap map[string]entry) models.DrydockContainer {
	ref := models.Ref(h.Name, c.Name)
	if c.Service != nil {
		ref = models.ServiceRef(h.Name, c.Name)
	}
	d := models.DrydockContainer{ID: c.ID, Name: c.Name, Watcher: h.Name, Status: c.State,
		Image: models.DrydockImage{ID: c.ImageID}, CheckStatus: models.StatusUnknown,
		AutoUpdate: k.tog.AutoUpdate(ref), UpdatePolicy: k.policy(ref), Labels: c.Labels}
	if c.Service != nil {
		d.Kind = models.KindService
	}
	if r, err := parseImageRef(c.ConfiguredImage); err == nil {
		d.Image.Registry.URL = r.Registry()
		d.Image.Name = reference.Path(mustNamed(r.Repo))
		d.Image.Tag.Value = tagOf(r.Remote)
		d.Image.Tag.Semver = isSemver(d.Image.Tag.Value)
		d.Image.Digest.Watch = r.Pinned == ""
	}
	if info, ok := k.image(ctx, h, c.ImageID); ok {
		d.Image.Architecture, d.Image.OS, d.Image.Created = info.Architecture, info.OS, info.Created
		d.Image.Digest.Repo = repoDigestOf(info.RepoDigests, c.ConfiguredImage) // a stopped one has no check to say it
	}
	e, ok := snap[h.Name+"/"+c.ID]
	if !ok {
		d.CheckReason = "not running: refit checks running containers"
		if c.State == "running" {
			d.CheckReason = "not checked yet"
		}
		return d
	}
	if e.it.LocalFull != "" {
		d.Image.Digest.Repo = e.it.LocalFull
	}
	d.CheckStatus, d.CheckReason = e.it.Status, e.it.Reason
	if d.CheckReason == "" && e.it.Status == models.StatusUnknown {
		d.CheckReason = e.g.Reason
	}
	if e.g.RemoteFull != "" || e.it.NewerTag != "" {
		// Drydock's result starts from the current tag and names a newer
		// one when found: scripts compare result.tag with image.tag.value.
		d.Result = &models.DrydockResult{Digest: e.g.RemoteFull, Tag: cmp.Or(e.it.NewerTag, d.Image.Tag.Value)}
	}
	if rule := k.ctr.tagRules.Rule(ref, c.Labels); rule.Tracks() {
		d.TagRule, d.TagReason = &rule, e.it.TagReason
	}
	digest := models.Candidate{Digest: e.g.RemoteFull}
	tag := models.Candidate{Tag: e.it.NewerTag}
	digestOK := e.it.Status == models.StatusOutdated && !k.holds(ref, digest)
	d.TagAvailable = e.it.NewerTag != "" && !k.holds(ref, tag)
	d.UpdateAvailable = digestOK || d.TagAvailable
	cand := digest
	project := c.Labels[models.LabelComposeProject]
	switch {
	case d.TagAvailable:
		cand = tag
		if project != "" {
			d.ComposeNote = "the compose file of " + project + " still names " + d.Image.Tag.Value +
				": refit does not edit compose files, so change it to " + e.it.NewerTag + " too"
		}
	case project != "" && k.upd != nil && e.it.NewerTag == "":
		if from := k.upd.MovedFrom(e.it); from != "" {
			d.ComposeNote = "the compose file of " + project + " still names " + tagOf(from) +
				": refit moved the container to " + d.Image.Tag.Value + " and does not edit compose files, so change it too"
		}
	}
	if d.UpdateAvailable && k.upd != nil {
		if until := k.upd.HeldUntil(e.it, cand); !until.IsZero() {
			d.HeldUntil = &until
		}
		if seen := k.upd.SeenFor(e.it, cand); !seen.IsZero() {
			d.CandidateSince = &seen
		}
	}
	return d
}

// holds reports whether the container's policy holds cand back.
func (k *Catalog) holds(ref models.ContainerRef, cand models.Candidate) bool {
	return k.pol != nil && k.pol.Holds(ref, cand)
}

// policy is the container's policy with empty lists, not nulls, as
// Drydock answers.
func (k *Catalog) policy(ref models.ContainerRef) models.UpdatePolicy {
	p := models.UpdatePolicy{}
	if k.pol != nil {
		p = k.pol.Get(ref)
	}
	if p.SkipDigests == nil {
		p.SkipDigests = []string{}
	}
	if p.SkipTags == nil {
		p.SkipTags = []string{}
	}
	return p
}

// image returns what the engine says of an image ID, asked once.
func (k *Catalog) image(ctx context.Context, h *hostState, id string) (models.ImageInfo, bool) {
	if id == "" {
		return models.ImageInfo{}, false
	}
	key := h.Name + "/" + id
	k.mu.Lock()
	info, ok := k.images[key]
	k.mu.Unlock()
	if ok {
		return info, true
	}
	info, err := h.Engine.Image(ctx, id)
	if err != nil {
		return models.ImageInfo{}, false
	}
	k.mu.Lock()
	k.images[key] = info
	k.mu.Unlock()
	return info, true
}

func mustNamed(repo string) reference.Named {
	n, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return reference.Named(nil)
	}
	return n
}

// tagOf is the tag of a fully qualified reference ("…/nginx:1.27" → "1.27").
func tagOf(remote string) string {
	if i := strings.LastIndex(remote, ":"); i > strings.LastIndex(remote, "/") {
		return remote[i+1:]
	}
	return ""
}

// isSemver reports whether a tag reads as a version, as tag tracking
// reads it: 1.27, 2021.6.4, v1.2.3-rc.1, 1.2.3-alpine.
func isSemver(tag string) bool {
	_, ok := parseVersionTag(tag)
	return ok
}

// repoDigestOf is the digest among an image's repo digests (repo@digest)
// that belongs to the repository configured names, "" when none does.
func repoDigestOf(repoDigests []string, configured string) string {
	named, err := reference.ParseNormalizedNamed(configured)
	if err != nil {
		return ""
	}
	for _, rd := range repoDigests {
		d, err := reference.ParseNormalizedNamed(rd)
		if err != nil || d.Name() != named.Name() {
			continue
		}
		if dg, ok := d.(reference.Digested); ok {
			return dg.Digest().String()
		}
	}
	return ""
}
