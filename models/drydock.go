package models

import "time"

// DrydockContainer is one container in the shape of Drydock's container API
// (GET /api/containers), so scripts written for Drydock read refit
// unchanged. The fields after UpdatePolicy are refit's own.
type DrydockContainer struct {
	ID              string         `json:"id"`      // full ID
	Name            string         `json:"name"`    // without "/"
	Watcher         string         `json:"watcher"` // the host's name
	Status          string         `json:"status"`  // the engine's state: running, exited…
	Image           DrydockImage   `json:"image"`
	Result          *DrydockResult `json:"result,omitempty"` // what the registry has; nil before a check
	UpdateAvailable bool           `json:"updateAvailable"`
	UpdatePolicy    UpdatePolicy   `json:"updatePolicy"`

	AutoUpdate  bool   `json:"autoUpdate"`
	CheckStatus Status `json:"checkStatus"`           // the seed-000 status of the last check
	CheckReason string `json:"checkReason,omitempty"` // why it is unknown
	Kind        string `json:"kind,omitempty"`        // KindService for a Swarm service
	// TagRule is the rule by which it follows version tags, when it does;
	// TagReason says why its tags could not be followed.
	TagRule   *TagRule `json:"tagRule,omitempty"`
	TagReason string   `json:"tagReason,omitempty"`
	// HeldUntil is when its candidate is old enough for auto-update (the
	// minimum age); CandidateSince is when refit first knew it.
	HeldUntil      *time.Time `json:"heldUntil,omitempty"`
	CandidateSince *time.Time `json:"candidateSince,omitempty"`
	// ComposeNote says, for a Compose container offered a newer tag, that
	// its compose file still names the old one.
	ComposeNote string `json:"composeNote,omitempty"`
	// TagAvailable: the update offered is the move to Result.Tag, which
	// otherwise repeats Image.Tag.Value, as Drydock's does.
	TagAvailable bool `json:"-"`

	Labels map[string]string `json:"-"` // the container's; not in Drydock's shape
}

// DrydockImage is the image a container runs.
type DrydockImage struct {
	ID           string          `json:"id"`
	Registry     DrydockRegistry `json:"registry"`
	Name         string          `json:"name"` // the repository path: library/nginx, org/app
	Tag          DrydockTag      `json:"tag"`
	Digest       DrydockDigest   `json:"digest"`
	Architecture string          `json:"architecture,omitempty"`
	OS           string          `json:"os,omitempty"`
	Created      time.Time       `json:"created,omitzero"`
}

// DrydockRegistry names the registry: docker.io, ghcr.io, host:port.
type DrydockRegistry struct {
	URL string `json:"url"`
}

// DrydockTag is the tag the container follows.
type DrydockTag struct {
	Value  string `json:"value"`
	Semver bool   `json:"semver"`
}

// DrydockDigest is the local digest for the image's repository; Watch is
// true where refit compares digests (every tag it follows).
type DrydockDigest struct {
	Watch bool   `json:"watch"`
	Repo  string `json:"repo,omitempty"`
}

// DrydockResult is what the last check found in the registry.
type DrydockResult struct {
	Digest string `json:"digest,omitempty"`
	Tag    string `json:"tag,omitempty"`
}
