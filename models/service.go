package models

import "strings"

// A Swarm service is listed beside containers, as a models.Container whose
// Service is set: ID and Name are the service's, ConfiguredImage is its
// spec's reference without the digest the manager pinned, and ImageID is
// that digest, which every task runs once an update completes. Its tasks
// are never listed as containers: they run repo:tag@sha256:…, and only the
// engine's own rolling update may replace them.
type Service struct {
	Running, Desired uint64 // tasks
	// Update is the spec's UpdateStatus: "" (none yet), "updating",
	// "paused", "completed", "rollback_started", "rollback_paused",
	// "rollback_completed".
	Update  string
	Message string
}

// ServicePrefix keeps a service's identity apart from a container's of the
// same name on the same host: a service web is (host, "service:web"). ":"
// cannot appear in a container name.
const ServicePrefix = "service:"

// ServiceRef is the identity of the named service on host.
func ServiceRef(host, name string) ContainerRef {
	return ContainerRef{Host: host, Name: ServicePrefix + name}
}

// Shown is the name people see: a service's without ServicePrefix.
func (r ContainerRef) Shown() string { return strings.TrimPrefix(r.Name, ServicePrefix) }

// IsService reports whether r names a Swarm service.
func (r ContainerRef) IsService() bool { return strings.HasPrefix(r.Name, ServicePrefix) }

// KindService is ContainerItem.Kind of a Swarm service.
const KindService = "service"

// ServiceUpdateEnded reports whether a service update in state st is over, and whether
// it went well: completed, or rolled back / paused by the engine.
func ServiceUpdateEnded(st string) (ended, ok bool) {
	switch st {
	case "completed":
		return true, true
	case "paused", "rollback_completed", "rollback_paused":
		return true, false
	}
	return false, false
}
