package models

import (
	"strings"
	"time"
)

// The OCI annotation keys an image's labels use to say what it is.
const (
	LabelVersion = "org.opencontainers.image.version"
	LabelSource  = "org.opencontainers.image.source"
	LabelURL     = "org.opencontainers.image.url"
	LabelCreated = "org.opencontainers.image.created"
	// LabelComposeProject names the Compose project a container belongs to.
	LabelComposeProject = "com.docker.compose.project"
)

// ImageFacts is what an image says about itself: its version, when it was
// built and where its source or release notes are. Any field may be empty.
type ImageFacts struct {
	Version string    `json:"version,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Source  string    `json:"source,omitempty"` // org.opencontainers.image.source, else .url
}

// Empty reports whether the image said nothing about itself.
func (f ImageFacts) Empty() bool { return f.Version == "" && f.Created.IsZero() && f.Source == "" }

// FactsFromLabels reads an image's facts from its labels; created is the
// image config's own date, used when the labels give none.
func FactsFromLabels(labels map[string]string, created time.Time) ImageFacts {
	f := ImageFacts{Version: labels[LabelVersion], Created: created, Source: labels[LabelSource]}
	if t, err := time.Parse(time.RFC3339, labels[LabelCreated]); err == nil {
		f.Created = t
	}
	if f.Source == "" {
		f.Source = labels[LabelURL]
	}
	if !strings.HasPrefix(f.Source, "https://") && !strings.HasPrefix(f.Source, "http://") {
		f.Source = "" // a link only: a label is the image author's text, not ours to make a URL of
	}
	return f
}

// Port is one published port of a container.
type Port struct {
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	Proto         string `json:"proto"` // tcp, udp, sctp
}

// Health states a container's healthcheck reports.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// HealthFromStatus reads the health out of the engine's status text, as
// docker ps prints it: "Up 3 hours (healthy)", "Up 2 seconds (health:
// starting)"; "" when the container has no healthcheck.
func HealthFromStatus(status string) string {
	switch {
	case strings.HasSuffix(status, "(healthy)"):
		return HealthHealthy
	case strings.HasSuffix(status, "(unhealthy)"):
		return HealthUnhealthy
	case strings.HasSuffix(status, "(health: starting)"):
		return HealthStarting
	}
	return ""
}

// Pinned reports whether a configured reference names a digest
// ("app@sha256:…"): such a container never moves, whatever its tag does.
func Pinned(configured string) bool { return strings.Contains(configured, "@sha256:") }

// ShortRef is a reference short enough for a row: a digest-pinned one as
// its repository (and tag) with the digest cut to ShortDigest.
func ShortRef(configured string) string {
	name, digest, ok := strings.Cut(configured, "@")
	if !ok {
		return configured
	}
	return name + "@" + ShortDigest(digest)
}

// NoteDockerHub is why a row does not tell what a Docker Hub image's new
// version is: reading it is a manifest GET, which Docker Hub counts as a
// pull (-describe-remote turns it on).
const NoteDockerHub = "details cost a pull on Docker Hub"

// ImageDescription is what the image under one manifest digest says of
// itself, read once from its registry and kept (see services.Descriptions).
type ImageDescription struct {
	Digest  string `gorm:"primaryKey"`
	Version string
	Source  string
	Created time.Time
	ReadAt  time.Time
}

// Facts are the description as ImageFacts.
func (d ImageDescription) Facts() ImageFacts {
	return ImageFacts{Version: d.Version, Source: d.Source, Created: d.Created}
}
