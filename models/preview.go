package models

// Preview is the dry run of an update (POST /api/containers/{id}/preview):
// what the recreate would carry over and what it would take from the new
// image, found without pulling or changing anything. Environment variables
// appear by name only: their values may be secrets.
type Preview struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Watcher         string           `json:"watcher"` // the host's name
	Current         PreviewCurrent   `json:"current"`
	Candidate       PreviewCandidate `json:"candidate"`
	UpdateAvailable bool             `json:"updateAvailable"`
	Keeps           PreviewKeeps     `json:"keeps"`
	FromImage       PreviewFromImage `json:"fromImage"`
	Networks        []PreviewNetwork `json:"networks"`
	Volumes         []PreviewVolume  `json:"volumes"`
	// Dependents are recreated after the container, pointed at the new one:
	// those that share its network namespace (--network container:<it>).
	Dependents []PreviewDependent `json:"dependents"`
}

// PreviewCurrent is the image the container runs now.
type PreviewCurrent struct {
	Digest  string `json:"digest"` // the local digest for the image's repository
	Tag     string `json:"tag"`
	ImageID string `json:"imageId"`
}

// PreviewCandidate is what the last check found in the registry.
type PreviewCandidate struct {
	Digest string `json:"digest"` // "" before a check, or when the registry could not tell
	Tag    string `json:"tag"`
}

// PreviewKeeps is what the recreate carries over as the user set it.
type PreviewKeeps struct {
	Name   string   `json:"name"`
	Env    []string `json:"env"`    // names of the variables the user set
	Labels []string `json:"labels"` // keys
	// Config names the other container settings the user set: entrypoint,
	// cmd, workdir, user, hostname, healthcheck.interval…
	Config        []string      `json:"config"`
	ExposedPorts  []string      `json:"exposedPorts"` // exposed beyond the image's
	Ports         []PreviewPort `json:"ports"`
	RestartPolicy string        `json:"restartPolicy"`
	NetworkMode   string        `json:"networkMode"`
	Resources     []string      `json:"resources"` // limits set: memory, nanoCpus…
	Host          []string      `json:"host"`      // other host settings set: privileged, capAdd, extraHosts…
}

// PreviewFromImage is what the new container takes from the new image.
type PreviewFromImage struct {
	Env          []string `json:"env"`    // names whose values equal the old image's defaults
	Labels       []string `json:"labels"` // keys the old image set, with its values
	Config       []string `json:"config"` // settings the user left to the image: cmd, healthcheck, workdir…
	ExposedPorts []string `json:"exposedPorts"`
}

// PreviewPort is one published port.
type PreviewPort struct {
	Port     string `json:"port"` // "8080/tcp"
	HostIP   string `json:"hostIp"`
	HostPort string `json:"hostPort"`
}

// PreviewNetwork is a network the new container joins, with what the user
// set on its endpoint.
type PreviewNetwork struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases"`
	IPv4Address string   `json:"ipv4Address,omitempty"`
	IPv6Address string   `json:"ipv6Address,omitempty"`
	MacAddress  string   `json:"macAddress,omitempty"`
}

// PreviewVolume is a mount the new container gets.
type PreviewVolume struct {
	Type        string `json:"type"`             // volume, bind, tmpfs
	Name        string `json:"name,omitempty"`   // the volume's name
	Source      string `json:"source,omitempty"` // a bind mount's host path
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly"`
	// Anonymous volumes are mounted by their names, so the data stays.
	Anonymous bool `json:"anonymous"`
}

// PreviewDependent is a container recreated after the previewed one.
type PreviewDependent struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	NetworkMode string `json:"networkMode"`
}
