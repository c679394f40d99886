package services

import (
	"time"

	"refit/models"
)

// AutoUpdate is what runs after every check (and when the update window
// opens): it notes when each candidate was first seen, then, inside the
// window, updates every container whose auto-update is on, whose
// Watchtower labels do not hold it (monitor-only, enable=false, scope) and whose
// candidate is neither held by its policy nor younger than its minimum
// age; dependencies (depends-on) first, and one that pulls nothing
// (no-pull) only once its tag names another image locally. A newer tag wins over a new digest of the current tag: moving to
// 1.3.0 brings 1.3.0's newest digest anyway.
func (u *Updates) AutoUpdate(groups []models.ImageGroup) {
	now := u.now()
	for _, g := range groups {
		for _, c := range g.Containers {
			u.noteCandidates(g, c)
		}
	}
	if u.opts.Watchtower.APIOnly {
		u.log.Debug("auto-update left to the HTTP API (/v1/update)")
		return
	}
	if u.opts.Window != nil && !u.opts.Window(now) {
		u.log.Debug("auto-update waits for the update window")
		return
	}
	u.startDue(groups, "auto", func(c models.ContainerItem, cand models.Candidate) bool {
		return c.AutoUpdate && u.labelHold(c) == "" && u.aged(c, cand, now)
	})
}

// startDue starts, dependencies (depends-on) first, the update of each
// container of groups that take says is due for its candidate: onto its
// newer tag when its policy offers one, else onto the group's new digest
// (one that pulls nothing only once its tag names another image locally).
// It returns the containers it started. Nothing starts in a group whose
// outcome could not be recorded.
func (u *Updates) startDue(groups []models.ImageGroup, by string, take func(c models.ContainerItem, cand models.Candidate) bool) []models.ContainerRef {
	var started []models.ContainerRef
	for _, g := range u.dependenciesFirst(groups) {
		var digest, tag []models.ContainerItem
		for _, c := range u.offered(g) {
			if !u.tagOffered(c) && take(c, models.Candidate{Digest: g.RemoteFull}) && u.noPullDue(c) {
				digest = append(digest, c)
			}
		}
		for _, c := range g.Containers {
			if u.tagOffered(c) && take(c, models.Candidate{Tag: c.NewerTag}) {
				tag = append(tag, c)
			}
		}
		if len(digest)+len(tag) == 0 {
			continue
		}
		if err := u.hist.Writable(); err != nil {
			u.log.Error("update refused: it could not be recorded", "image", g.Image, "by", by, "error", err)
			continue
		}
		for _, c := range tag {
			u.log.Info("update to a newer tag", "container", c.Ref.String(), "tag", c.NewerTag, "by", by)
			if _, err := u.StartTag(c.Ref.String(), by); err != nil {
				u.log.Warn("update to a newer tag not started", "container", c.Ref.String(), "error", err)
				continue
			}
			started = append(started, c.Ref)
		}
		if len(digest) > 0 {
			u.log.Info("update", "image", g.Image, "containers", len(digest), "by", by)
			u.start(g, digest, by, true)
			for _, c := range digest {
				started = append(started, c.Ref)
			}
		}
	}
	return started
}

// tagOffered reports whether c has a newer tag its policy does not hold
// back (a skipped tag, a snooze).
func (u *Updates) tagOffered(c models.ContainerItem) bool {
	if c.NewerTag == "" || c.Kind == models.KindService {
		return false
	}
	return u.opts.Policies == nil || !u.opts.Policies.Holds(c.Ref, models.Candidate{Tag: c.NewerTag})
}

// noteCandidates keeps when c's candidates were first seen: its group's
// remote digest when outdated, its newer tag. What the check could not
// tell (a 429, an outage) keeps what it knew before.
func (u *Updates) noteCandidates(g models.ImageGroup, c models.ContainerItem) {
	if u.opts.Candidates == nil {
		return
	}
	u.opts.Candidates.Seen(c.Ref, unknownOf(c), candidatesOf(g, c)...)
}

// minAge is how long c's candidates wait before auto-update: its label
// refit.min-age, else the option.
func (u *Updates) minAge(c models.ContainerItem) time.Duration {
	if v := c.Labels[models.LabelMinAge]; v != "" {
		if d, err := models.ParseAge(v); err == nil {
			return d
		}
		u.log.Warn("label ignored", "container", c.Ref.String(), "label", models.LabelMinAge, "value", v)
	}
	return u.opts.MinAge
}

// HeldUntil is when c's candidate is old enough for auto-update; zero
// when it is already, or no minimum age applies. A candidate not seen yet
// waits the whole age from now.
func (u *Updates) HeldUntil(c models.ContainerItem, cand models.Candidate) time.Time {
	age := u.minAge(c)
	if age <= 0 || cand.Key() == "" {
		return time.Time{}
	}
	now := u.now()
	first := now
	if u.opts.Candidates != nil {
		if t, ok := u.opts.Candidates.FirstSeen(c.Ref, cand); ok {
			first = t
		}
	}
	if until := first.Add(age); now.Before(until) {
		return until
	}
	return time.Time{}
}

// aged reports whether cand may be auto-updated at now.
func (u *Updates) aged(c models.ContainerItem, cand models.Candidate, now time.Time) bool {
	until := u.HeldUntil(c, cand)
	return until.IsZero() || !now.Before(until)
}

// SeenFor is when refit first knew c's candidate (zero when it has not).
func (u *Updates) SeenFor(c models.ContainerItem, cand models.Candidate) time.Time {
	if u.opts.Candidates == nil {
		return time.Time{}
	}
	t, _ := u.opts.Candidates.FirstSeen(c.Ref, cand)
	return t
}

// now is the clock of minimum ages: the candidates' when they are kept.
func (u *Updates) now() time.Time {
	if u.opts.Candidates != nil {
		return u.opts.Candidates.now()
	}
	return time.Now()
}

// MovedFrom is the image c ran before refit moved it onto its newer tag,
// "" when it did not: a Compose file still names the old one.
func (u *Updates) MovedFrom(c models.ContainerItem) string {
	return u.hist.MovedFrom(c.Ref, c.Configured)
}
