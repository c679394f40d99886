package views

import (
	"strconv"
	"strings"
	"time"

	"refit/models"
)

// HostsData is what HostsPage renders.
type HostsData struct {
	Hosts []models.HostStatus // in the order they were configured
	Now   time.Time           // reference for relative times
}

// HostsRefresh is the hosts page's hx-trigger: calm, and a host that comes
// back shows within it.
const HostsRefresh = "every 10s"

// Several reports whether refit has more than one host: each then links to
// the dashboard filtered to it.
func (d HostsData) Several() bool { return len(d.Hosts) > 1 }

// Unreachable is how many hosts do not answer.
func (d HostsData) Unreachable() int {
	n := 0
	for _, h := range d.Hosts {
		if h.Status != models.HostOK {
			n++
		}
	}
	return n
}

// Caption sums the table up: "2 Docker hosts, 1 not reachable".
func (d HostsData) Caption() string {
	s := plural(len(d.Hosts), "Docker host")
	if n := d.Unreachable(); n > 0 {
		s += ", " + strconv.Itoa(n) + " not reachable"
	}
	return s
}

// HostURLText is what the hosts page shows for a host's URL: the one refit
// has without -hosts comes from DOCKER_HOST and may have none of its own.
func HostURLText(url string) string {
	if url == "" {
		return "DOCKER_HOST"
	}
	return url
}

// DownHostsText is what the engine banner says of the hosts out of reach,
// models.EngineState.Hosts ("nas, vps"): "Host nas not reachable".
func DownHostsText(hosts string) string {
	if strings.Contains(hosts, ", ") {
		return "Hosts " + hosts + " not reachable"
	}
	return "Host " + hosts + " not reachable"
}

// orDash is s, or an em dash for a value not known yet.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
