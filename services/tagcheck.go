package services

import (
	"context"
	"maps"
	"sync"

	"refit/models"
)

// tracked is a running container whose tag rule follows version tags.
type tracked struct {
	ref  models.ContainerRef
	repo string // fully qualified: docker.io/library/nginx
	tag  string // the tag it runs now
	rule models.TagRule
}

// tagResult is what a check found for one tracked container: the newest
// tag its rule allows over current, and that tag's digest.
type tagResult struct {
	current string // the tag it ran when checked: a recreate onto another makes the result stale
	tag     string // "" when current is the newest
	remote  string // the fully qualified reference of tag, which the check HEADs
	digest  string
	reason  string // why the tags could not be followed
	failed  bool   // the tag list failed: reason is the registry's
}

// FollowTags gives the checks the tag rules set in refit (labels alone
// when never called). Not safe to call once checks run.
func (s *Containers) FollowTags(r *TagRules) { s.tagRules = r }

// trackedLocked is every running container that follows version tags.
func (s *Containers) trackedLocked() []tracked {
	var out []tracked
	for _, h := range s.hosts {
		for _, c := range s.shownLocked(h) {
			if c.Service != nil || isImageID(c.ConfiguredImage, c.ImageID) {
				continue
			}
			ref := models.Ref(h.Name, c.Name)
			rule := s.tagRules.Rule(ref, c.Labels)
			if !rule.Tracks() {
				continue
			}
			r, err := parseImageRef(c.ConfiguredImage)
			if err != nil || r.Pinned != "" {
				continue
			}
			out = append(out, tracked{ref: ref, repo: r.Repo, tag: tagOf(r.Remote), rule: rule})
		}
	}
	return out
}

// newerTags lists the tags of every repository a tracked container runs,
// once per repository however many containers and hosts run it (none for
// a container whose tag is no version or whose rule does not compile), at most
// concurrency lists in flight per registry, and picks each container's
// newest allowed tag. The chosen tags' references are what the check
// HEADs next, with the rest.
func (s *Containers) newerTags(ctx context.Context, ts []tracked) map[models.ContainerRef]tagResult {
	out := make(map[models.ContainerRef]tagResult, len(ts))
	byRepo := map[string][]tracked{}
	for _, t := range ts {
		// A tag that is no version (latest) or a rule that does not compile
		// gets no newer tag from any list: do not spend one on it.
		if _, err := NewerTag(t.tag, nil, t.rule); err != nil {
			out[t.ref] = tagResult{current: t.tag, reason: err.Error()}
			continue
		}
		byRepo[t.repo] = append(byRepo[t.repo], t)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sems := map[string]chan struct{}{}
	for repo, members := range byRepo {
		reg := imageRef{Repo: repo}.Registry()
		sem := sems[reg]
		if sem == nil {
			sem = make(chan struct{}, s.concurrency)
			sems[reg] = sem
		}
		wg.Add(1)
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; wg.Done() }()
			tags, err := s.reg.Tags(ctx, repo)
			if err != nil {
				s.log.Info("tag list failed", "repository", repo, "error", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, t := range members {
				res := tagResult{current: t.tag}
				switch newer, nerr := NewerTag(t.tag, tags, t.rule); {
				case err != nil:
					res.reason, res.failed = registryReason(err), true
				case nerr != nil:
					res.reason = nerr.Error()
				case newer != "":
					res.tag, res.remote = newer, repo+":"+newer
				}
				out[t.ref] = res
			}
		}()
	}
	wg.Wait()
	return out
}

// tagRemotes are the references of the chosen tags, to HEAD.
func tagRemotes(results map[models.ContainerRef]tagResult) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range results {
		if r.remote != "" && !seen[r.remote] {
			seen[r.remote] = true
			out = append(out, r.remote)
		}
	}
	return out
}

// withDigests fills each chosen tag's digest from the HEADs' results.
func withDigests(results map[models.ContainerRef]tagResult, heads map[string]remoteResult) {
	for ref, r := range results {
		if h, ok := heads[r.remote]; ok && r.remote != "" {
			r.digest = h.digest
			results[ref] = r
		}
	}
}

// applyTagLocked sets it's newer tag from the last check, if it still runs
// the tag that check saw.
func (s *Containers) applyTagLocked(it *models.ContainerItem, current string) {
	r, ok := s.tags[it.Ref]
	if !ok || r.current != current {
		return
	}
	it.NewerTag, it.NewerDigest, it.TagReason, it.TagFailed = r.tag, r.digest, r.reason, r.failed
}

// CheckTags follows the version tags of the containers running image
// again, as a check does, for those alone: after their tag rule changed.
func (s *Containers) CheckTags(ctx context.Context, image string) error {
	ref, err := parseImageRef(image)
	if err != nil {
		return err
	}
	s.checkTags(ctx, ref)
	return nil
}

// checkTags is CheckTags of a parsed reference: one tag list for its
// repository, one HEAD of the chosen tag, when any of its containers
// follows tags; the others' results are dropped.
func (s *Containers) checkTags(ctx context.Context, ref imageRef) {
	tag := tagOf(ref.Remote)
	s.mu.Lock()
	var ts []tracked
	for _, t := range s.trackedLocked() {
		if t.repo == ref.Repo && t.tag == tag {
			ts = append(ts, t)
		}
	}
	s.mu.Unlock()
	results := s.newerTags(ctx, ts)
	withDigests(results, s.head(ctx, tagRemotes(results)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tags == nil {
		s.tags = map[models.ContainerRef]tagResult{}
	}
	for cref, r := range s.tags {
		if _, ok := results[cref]; !ok && r.current == tag && s.runsLocked(cref, ref.Group) {
			delete(s.tags, cref) // it follows no tags now
		}
	}
	maps.Copy(s.tags, results)
	s.rebuildLocked()
}

// runsLocked reports whether the container ref is in group image.
func (s *Containers) runsLocked(ref models.ContainerRef, image string) bool {
	for _, g := range s.groups {
		if g.Image != image {
			continue
		}
		for _, it := range g.Containers {
			if it.Ref == ref {
				return true
			}
		}
	}
	return false
}

// TagRule is the rule it follows tags by: set in refit, else its labels'.
func (s *Containers) TagRule(it models.ContainerItem) models.TagRule {
	return s.tagRules.Rule(it.Ref, it.Labels)
}
