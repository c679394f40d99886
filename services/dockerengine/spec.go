package dockerengine

import (
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"refit/models"
)

// composePrefix marks the labels compose uses to recognise its containers;
// they are carried over unchanged whatever the image says.
const composePrefix = "com.docker.compose."

// spec is the create request for the replacement of one container.
type spec struct {
	config *container.Config
	host   *container.HostConfig
	net    *network.NetworkingConfig
	// connect lists the networks to connect after create and before start:
	// before API 1.44 a create accepts only one network.
	connect []endpoint
}

type endpoint struct {
	network  string
	settings *network.EndpointSettings
}

// specInput is what specFor needs to know besides the old container.
type specInput struct {
	old      container.InspectResponse
	oldImage *dockerspec.DockerOCIImageConfig // the config of the image old runs; nil when it has none
	ref      string                           // the image the new container is created from
	api      string                           // negotiated API version
	// daemonHostname is the engine host's name, which a host-network
	// container gets as its hostname unless the user set one.
	daemonHostname string
}

// specFor builds the create request for the replacement of in.old. It keeps
// what the user set and drops what came from the old image, so that the new
// image's defaults apply.
func specFor(in specInput) spec {
	old := in.old
	img := in.oldImage
	if img == nil {
		img = &dockerspec.DockerOCIImageConfig{}
	}
	mode := old.HostConfig.NetworkMode

	cfg := userConfig(old.Config, img, in.api)
	cfg.Image = in.ref
	switch {
	case cfg.Hostname == models.ShortID(old.ID):
		cfg.Hostname = "" // the engine's default; carrying it would name the new container after the old ID
	case mode.IsHost() && cfg.Hostname == in.daemonHostname:
		cfg.Hostname = ""
	}
	if mode.IsContainer() {
		// The namespace owner supplies these; the engine refuses them here.
		cfg.Hostname, cfg.Domainname, cfg.ExposedPorts = "", "", nil
	}
	// The MAC rule: pin a MAC only when inspect's Config.MacAddress holds
	// one. Engines before API 1.44 set it only from the user's create
	// request; later ones (since 25.0.2) fill it from the primary endpoint's
	// desired MAC, which is empty for a generated one. The endpoints'
	// MacAddress is never used: it also holds generated addresses, and
	// pinning those gives duplicates. So a user MAC on a secondary network
	// (possible from API 1.44) is not carried over.
	mac := old.Config.MacAddress //nolint:staticcheck // deprecated, but the only record of the user's MAC
	cfg.MacAddress = ""          //nolint:staticcheck

	s := spec{config: cfg, host: hostConfig(old)}
	if mode.IsHost() || mode.IsNone() || mode.IsContainer() {
		return s
	}

	eps := make(map[string]*network.EndpointSettings, len(old.NetworkSettings.Networks))
	for name, ep := range old.NetworkSettings.Networks {
		if ep != nil {
			eps[name] = endpointConfig(ep, old.ID, in.api)
		}
	}
	primary := primaryNetwork(mode, old.NetworkSettings.Networks)
	if mac != "" {
		if versions.LessThan(in.api, "1.44") {
			cfg.MacAddress = mac //nolint:staticcheck // the only place the API before 1.44 takes it
		} else if ep := eps[primary]; ep != nil {
			ep.MacAddress = mac
		}
	}
	if !versions.LessThan(in.api, "1.44") {
		if len(eps) > 0 {
			s.net = &network.NetworkingConfig{EndpointsConfig: eps}
		}
		return s
	}
	if ep, ok := eps[primary]; ok {
		s.net = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{primary: ep}}
	}
	for _, name := range slices.Sorted(maps.Keys(eps)) {
		if name != primary {
			s.connect = append(s.connect, endpoint{network: name, settings: eps[name]})
		}
	}
	return s
}

// userConfig returns old without what the image supplied.
func userConfig(old *container.Config, img *dockerspec.DockerOCIImageConfig, api string) *container.Config {
	c := *old
	c.Env = slices.DeleteFunc(slices.Clone(old.Env), func(kv string) bool { return slices.Contains(img.Env, kv) })
	if len(c.Env) == 0 {
		c.Env = nil
	}

	switch {
	case len(old.Entrypoint) == 0 && len(img.Entrypoint) > 0:
		// The user reset the image's entrypoint (--entrypoint ""); say so again.
		c.Entrypoint = []string{""}
	case slices.Equal(old.Entrypoint, img.Entrypoint):
		c.Entrypoint = nil
		if slices.Equal(old.Cmd, img.Cmd) {
			c.Cmd = nil
		}
	}
	// Otherwise the user set an entrypoint; the engine then ignores the
	// image's Cmd, so old.Cmd is exactly what the user set.

	c.Labels = nil
	for k, v := range old.Labels {
		if iv, ok := img.Labels[k]; ok && iv == v && !strings.HasPrefix(k, composePrefix) {
			continue
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = v
	}
	if c.User == img.User {
		c.User = ""
	}
	if c.WorkingDir == img.WorkingDir {
		c.WorkingDir = ""
	}
	if c.StopSignal == img.StopSignal {
		c.StopSignal = ""
	}
	if slices.Equal(c.Shell, img.Shell) {
		c.Shell = nil
	}
	c.OnBuild = nil
	c.ArgsEscaped = false

	c.ExposedPorts = nil
	for p := range old.ExposedPorts {
		if _, ok := img.ExposedPorts[string(p)]; ok {
			continue
		}
		if c.ExposedPorts == nil {
			c.ExposedPorts = nat.PortSet{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	c.Volumes = nil
	for v := range old.Volumes {
		if _, ok := img.Volumes[v]; ok {
			continue
		}
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		c.Volumes[v] = struct{}{}
	}
	c.Healthcheck = userHealthcheck(old.Healthcheck, img.Healthcheck, api)
	return &c
}

// userHealthcheck keeps the fields of the container's healthcheck that differ
// from the image's. The engine merges a partial healthcheck with the image's
// field by field, so a zero field inherits the new image's value.
func userHealthcheck(c *container.HealthConfig, img *dockerspec.HealthcheckConfig, api string) *container.HealthConfig {
	if c == nil {
		return nil
	}
	h := *c
	h.Test = slices.Clone(c.Test)
	if img != nil {
		if slices.Equal(h.Test, img.Test) {
			h.Test = nil
		}
		if h.Interval == img.Interval {
			h.Interval = 0
		}
		if h.Timeout == img.Timeout {
			h.Timeout = 0
		}
		if h.StartPeriod == img.StartPeriod {
			h.StartPeriod = 0
		}
		if h.StartInterval == img.StartInterval {
			h.StartInterval = 0
		}
		if h.Retries == img.Retries {
			h.Retries = 0
		}
	}
	if versions.LessThan(api, "1.44") {
		h.StartInterval = 0 // the client refuses it before 1.44
	}
	if len(h.Test) == 0 && h.Interval == 0 && h.Timeout == 0 && h.StartPeriod == 0 && h.StartInterval == 0 && h.Retries == 0 {
		return nil
	}
	return &h
}

// hostConfig carries the old HostConfig over, with the old container's
// anonymous volumes mounted by name so their data stays with the service.
func hostConfig(old container.InspectResponse) *container.HostConfig {
	hc := *old.HostConfig
	hc.ContainerIDFile = "" // written by the CLI, meaningless here

	// Destinations the user mounted from a named volume or a host path.
	named := map[string]bool{}
	hc.Binds = nil
	for _, b := range old.HostConfig.Binds {
		parts := strings.Split(b, ":")
		if len(parts) == 1 {
			continue // an anonymous volume; mounted by name below
		}
		named[parts[1]] = true
		hc.Binds = append(hc.Binds, b)
	}
	hc.Mounts = slices.Clone(old.HostConfig.Mounts)
	for _, m := range hc.Mounts {
		if m.Type != mount.TypeVolume || m.Source != "" {
			named[m.Target] = true
		}
	}
	for _, mp := range old.Mounts {
		if mp.Type != mount.TypeVolume || mp.Name == "" || named[mp.Destination] {
			continue
		}
		i := slices.IndexFunc(hc.Mounts, func(m mount.Mount) bool { return m.Target == mp.Destination })
		if i >= 0 {
			hc.Mounts[i].Source = mp.Name // --mount without a source
			continue
		}
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: mp.Name, Target: mp.Destination, ReadOnly: !mp.RW})
	}

	// Legacy links read back as "/db:/web/db"; create wants "db:db".
	hc.Links = nil
	for _, l := range old.HostConfig.Links {
		name, alias, ok := strings.Cut(l, ":")
		if ok && strings.HasPrefix(name, "/") {
			l = strings.TrimPrefix(name, "/") + ":" + path.Base(alias)
		}
		hc.Links = append(hc.Links, l)
	}
	return &hc
}

// endpointConfig keeps the user's part of an endpoint: addresses, aliases,
// links, driver options. The MAC address is left out here; see specFor.
func endpointConfig(ep *network.EndpointSettings, oldID, api string) *network.EndpointSettings {
	out := &network.EndpointSettings{
		Links:      slices.Clone(ep.Links),
		DriverOpts: maps.Clone(ep.DriverOpts),
	}
	if ep.IPAMConfig != nil {
		out.IPAMConfig = ep.IPAMConfig.Copy()
		if len(out.IPAMConfig.LinkLocalIPs) == 0 {
			out.IPAMConfig.LinkLocalIPs = nil
		}
	}
	short := models.ShortID(oldID)
	for _, a := range ep.Aliases {
		// The engine adds the container's short ID itself (and reports it as
		// an alias before API 1.45); the old one would point at nothing.
		if a != short && !slices.Contains(out.Aliases, a) {
			out.Aliases = append(out.Aliases, a)
		}
	}
	if !versions.LessThan(api, "1.48") {
		out.GwPriority = ep.GwPriority
	}
	return out
}

// primaryNetwork names the network of the network mode, which is the one a
// create before API 1.44 can attach.
func primaryNetwork(mode container.NetworkMode, nets map[string]*network.EndpointSettings) string {
	name := mode.NetworkName()
	if mode.IsDefault() {
		name = "bridge"
	}
	if _, ok := nets[name]; ok {
		return name
	}
	// The mode may name the network by ID.
	keys := slices.Collect(maps.Keys(nets))
	sort.Strings(keys)
	for _, k := range keys {
		if ep := nets[k]; ep != nil && name != "" && strings.HasPrefix(ep.NetworkID, name) {
			return k
		}
	}
	return name
}
