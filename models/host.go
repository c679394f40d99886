package models

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// LocalHost is the name of the one host refit talks to when -hosts is not
// given: the engine DOCKER_HOST names. Rows written before refit knew of
// hosts belong to it.
const LocalHost = "local"

var hostName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// ValidHostName reports whether name may name a host: [a-z0-9][a-z0-9-]*,
// so it fits in a URL path segment and an HTML id as it is.
func ValidHostName(name string) bool { return hostName.MatchString(name) }

// ContainerRef is a container's identity: the host it runs on and its name
// there. Names are unique per engine, not across engines, and a recreate
// changes the ID but keeps the name, so toggles, jobs, progress, history and
// row ids are keyed by this.
type ContainerRef struct {
	Host string
	Name string
}

// Ref returns the identity of name on host.
func Ref(host, name string) ContainerRef { return ContainerRef{Host: host, Name: name} }

// String is "host/name", the form the API and the UI accept.
func (r ContainerRef) String() string { return r.Host + "/" + r.Name }

// CompareRefs orders refs by host, then name.
func CompareRefs(a, b ContainerRef) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// ParseContainerRef reads "host/name"; ok is false for anything else.
func ParseContainerRef(s string) (ContainerRef, bool) {
	host, name, ok := strings.Cut(s, "/")
	if !ok || !ValidHostName(host) || name == "" || strings.Contains(name, "/") {
		return ContainerRef{}, false
	}
	return ContainerRef{Host: host, Name: name}, true
}

// HostInfo is what an engine says about itself.
type HostInfo struct {
	EngineVersion string
	APIVersion    string // the version negotiated with it
	SwarmManager  bool   // a Swarm manager: it has services to list
}

// HostStatus is one host as GET /api/hosts shows it.
type HostStatus struct {
	Name          string    `json:"name"`
	URL           string    `json:"url"`    // credentials masked
	Status        string    `json:"status"` // "ok" or "unreachable"
	Error         string    `json:"error"`
	EngineVersion string    `json:"engine_version"`
	APIVersion    string    `json:"api_version"`
	Containers    int       `json:"containers"`
	LastSeen      time.Time `json:"last_seen,omitzero"`
	DownSince     time.Time `json:"down_since,omitzero"` // when it first did not answer, while it does not
}

// The values of HostStatus.Status.
const (
	HostOK          = "ok"
	HostUnreachable = "unreachable"
)

// HostDownReason is the reason a down host's containers show.
func HostDownReason(since time.Time) string {
	return fmt.Sprintf("host unreachable since %s", since.Format("2006-01-02 15:04:05"))
}
