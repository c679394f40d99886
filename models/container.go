package models

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Container is a container as refit sees it: what the user asked for
// (ConfiguredImage, from the container's Config.Image) and what it runs
// (ImageID and what the engine knows of that image).
type Container struct {
	Host            string // the host it runs on (Containers sets it)
	ID              string
	Name            string   // without the leading "/"
	State           string   // the engine's: running, exited, created, paused, restarting, dead
	ConfiguredImage string   // Config.Image, e.g. "nginx" or "ghcr.io/org/app:1"
	ImageID         string   // sha256:… of the image it runs
	RepoDigests     []string // of the image it runs, every repository (image inspect, not the list)
	Labels          map[string]string
	Created         time.Time

	// From the list, at no extra request: the engine's words for its state
	// and uptime ("Up 3 hours (healthy)"), the health they name (see
	// HealthFromStatus) and the published ports; and the labels and build
	// date of the image it runs, from the image list.
	StatusText   string
	Health       string
	Ports        []Port
	ImageLabels  map[string]string
	ImageCreated time.Time

	// ContainerdStore reports that the engine keeps images in containerd's
	// image store (Docker 29's default). ImageID is then the digest of the
	// manifest or index a pull by tag fetched, which is what a registry HEAD
	// answers, and RepoDigests merely name the image's current tags: a tag
	// that moved takes its repository's digest away, and a loaded image has
	// one too. With graph drivers (Debian's 20.10) ImageID is the config
	// digest and RepoDigests come only from pulls and pushes.
	ContainerdStore bool
	// OriginKnown reports that the engine said where the image came from
	// (the containerd store: Identity from API 1.53, or the mark docker load
	// leaves). PulledFrom then lists the repositories it was pulled from,
	// with the registry's host but not its port, as containerd records them;
	// it is empty for an image built or loaded here.
	OriginKnown bool
	PulledFrom  []string

	// Service is set for a Swarm service (see Service); nil for a container.
	Service *Service
}

// LogOptions select what Logs returns.
type LogOptions struct {
	Tail       int       // the last Tail lines; 0 means all
	Since      time.Time // only lines the engine received at or after Since; zero means all
	Timestamps bool      // prefix each line with its RFC 3339 time and a space, as docker logs -t
}

// ContainerItem is one container inside an image group, as the API returns it.
type ContainerItem struct {
	ContainerID   string `json:"container_id"`
	ContainerName string `json:"container_name"`
	LocalDigest   string `json:"local_digest"`
	Status        Status `json:"status"`
	AutoUpdate    bool   `json:"auto_update"`
	// Host names the container's host, and is set only when refit has
	// several: with one, the item is the contract's shape byte for byte.
	Host string `json:"host,omitempty"`
	// Kind is KindService for a Swarm service, "" for a container.
	Kind string `json:"kind,omitempty"`

	// Not part of the contract; kept for the UI and the update engine.
	Ref        ContainerRef      `json:"-"` // the identity, host always set
	Reason     string            `json:"-"` // why this container alone is unknown (its host is down)
	Service    *Service          `json:"-"` // a Swarm service's tasks and update state
	FullID     string            `json:"-"`
	LocalFull  string            `json:"-"` // full local digest for the group's repository
	ImageID    string            `json:"-"`
	Configured string            `json:"-"` // Config.Image as the user wrote it
	Labels     map[string]string `json:"-"` // the container's (refit.notify=false leaves it out of notifications)
	// NewerTag is the newest version tag the container's tag rule lets it
	// move to ("" when it follows no tags or runs the newest), with its
	// digest ("" when the registry did not say); TagReason says why the
	// tags could not be followed, and TagFailed that it was the registry
	// (the tag list failed): whether a newer tag exists is not known.
	NewerTag    string `json:"-"`
	NewerDigest string `json:"-"`
	TagReason   string `json:"-"`
	TagFailed   bool   `json:"-"`
	// What the row shows of it: the engine's state and status text, the
	// health, the published ports, and what its local image says of itself.
	State      string     `json:"-"`
	StatusText string     `json:"-"`
	Health     string     `json:"-"`
	Ports      []Port     `json:"-"`
	Local      ImageFacts `json:"-"`
}

// ImageGroup is every running container of one normalised image reference.
type ImageGroup struct {
	Image        string          `json:"image"`
	RemoteDigest string          `json:"remote_digest"`
	Status       Status          `json:"status"`
	Containers   []ContainerItem `json:"containers"`

	// Not part of the contract.
	RemoteFull string    `json:"-"` // full remote digest, "" when unknown
	Reason     string    `json:"-"` // why the status is unknown, for display
	CheckedAt  time.Time `json:"-"`
	// Remote is what the registry's newer image says of itself, when refit
	// has read it (see Describe); RemoteNote says why not, where that is
	// worth saying ("details cost a pull on Docker Hub").
	Remote     ImageFacts `json:"-"`
	RemoteNote string     `json:"-"`
}

// Outdated returns the containers of g that are behind the remote digest.
func (g ImageGroup) Outdated() []ContainerItem {
	var out []ContainerItem
	for _, c := range g.Containers {
		if c.Status == StatusOutdated {
			out = append(out, c)
		}
	}
	return out
}

// ContainerCount is how many containers the groups hold.
func ContainerCount(groups []ImageGroup) int {
	n := 0
	for _, g := range groups {
		n += len(g.Containers)
	}
	return n
}

// OutdatedCount is len(g.Outdated()) without building the slice.
func (g ImageGroup) OutdatedCount() int {
	n := 0
	for _, c := range g.Containers {
		if c.Status == StatusOutdated {
			n++
		}
	}
	return n
}

// EngineState is whether refit reaches the Docker engine, and since when
// it does not. With several hosts it speaks of those out of reach.
type EngineState struct {
	Down   bool
	Hosts  string    // with several hosts, those out of reach ("nas, vps"); "" with one
	Since  time.Time // when the engine was first found unreachable
	Reason string    // the error that said so
}

// EngineEvent is a container lifecycle event from the engine.
type EngineEvent struct {
	Action      string // start, die, destroy, rename, health_status…
	ContainerID string
}

// GroupKey is a stable, URL-safe key for an image group, used by the browser
// UI where the image reference itself (with "/" and ":") would be awkward.
func GroupKey(image string) string {
	sum := sha256.Sum256([]byte(image))
	return hex.EncodeToString(sum[:6])
}
