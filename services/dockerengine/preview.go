package dockerengine

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"refit/models"
)

// Preview implements services.Updater. It builds the members a Recreate
// would replace, with the same checks and the same specFor, and reads the
// preview off their create requests: whatever the spec carries is kept, and
// whatever the old container had that the spec dropped comes from the new
// image. So the preview cannot drift from what Recreate does.
func (e *Engine) Preview(ctx context.Context, id string) (models.Preview, error) {
	old, err := e.target(ctx, "preview", id)
	if err != nil {
		return models.Preview{}, err
	}
	main, err := e.member(ctx, old, old.Config.Image, -1)
	if err != nil {
		return models.Preview{}, err
	}
	p := describe(main)
	members, err := e.dependents(ctx, main)
	if err != nil {
		return models.Preview{}, err
	}
	p.Dependents = []models.PreviewDependent{}
	for _, d := range members[1:] {
		p.Dependents = append(p.Dependents, models.PreviewDependent{ID: d.old.ID, Name: d.name,
			NetworkMode: "container:" + members[d.parent].name})
	}
	return p, nil
}

// dependents returns main and the containers that join its network
// namespace, directly or through one another, each checked and given its
// create request: what a recreate replaces, and what a preview describes.
// The engine stores network mode container:<full ID> even when the user
// named the container.
func (e *Engine) dependents(ctx context.Context, main *member) ([]*member, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	members := []*member{main}
	for i := 0; i < len(members); i++ {
		p := members[i]
		for _, c := range list {
			target := container.NetworkMode(c.HostConfig.NetworkMode).ConnectedContainer()
			if target == "" || (target != p.old.ID && target != p.name) {
				continue
			}
			dep, err := e.cli.ContainerInspect(ctx, c.ID)
			if err != nil {
				return nil, fmt.Errorf("inspect container %s that shares the network of %s: %w", models.ShortID(c.ID), p.name, err)
			}
			m, err := e.member(ctx, dep, dep.Config.Image, i)
			if err != nil {
				return nil, fmt.Errorf("%s shares the network of %s: %w", strings.TrimPrefix(dep.Name, "/"), p.name, err)
			}
			members = append(members, m)
		}
	}
	return members, nil
}

// describe compares m's old container with the create request specFor made
// for it.
func describe(m *member) models.Preview {
	old, cfg, hc := m.old, m.spec.config, m.spec.host
	p := models.Preview{ID: old.ID, Name: m.name, Current: models.PreviewCurrent{ImageID: old.Image}}
	k, f := &p.Keeps, &p.FromImage
	k.Name = m.name

	// Names only: the values may be secrets.
	for _, kv := range cfg.Env {
		k.Env = append(k.Env, envName(kv))
	}
	for _, kv := range old.Config.Env {
		if !slices.Contains(cfg.Env, kv) {
			f.Env = append(f.Env, envName(kv))
		}
	}
	k.Labels = slices.Sorted(maps.Keys(cfg.Labels))
	for l := range old.Config.Labels {
		if _, ok := cfg.Labels[l]; !ok {
			f.Labels = append(f.Labels, l)
		}
	}

	// Each of these is the user's or the image's.
	hcUser := cfg.Healthcheck != nil
	h := cfg.Healthcheck
	if h == nil {
		h = &container.HealthConfig{}
	}
	for _, s := range []struct {
		name string
		user bool
	}{
		{"entrypoint", len(cfg.Entrypoint) > 0},
		// With an entrypoint of the user's the engine ignores the image's
		// Cmd, so an empty one is no one's.
		{"cmd", len(cfg.Cmd) > 0 || len(cfg.Entrypoint) > 0},
		{"workdir", cfg.WorkingDir != ""},
		{"user", cfg.User != ""},
		{"stopSignal", cfg.StopSignal != ""},
		{"shell", len(cfg.Shell) > 0},
		{"healthcheck.test", len(h.Test) > 0},
		{"healthcheck.interval", h.Interval != 0},
		{"healthcheck.timeout", h.Timeout != 0},
		{"healthcheck.startPeriod", h.StartPeriod != 0},
		{"healthcheck.startInterval", h.StartInterval != 0},
		{"healthcheck.retries", h.Retries != 0},
	} {
		switch {
		case s.name == "cmd" && s.user && len(cfg.Cmd) == 0:
		case !hcUser && strings.HasPrefix(s.name, "healthcheck."):
		case s.user:
			k.Config = append(k.Config, s.name)
		default:
			f.Config = append(f.Config, s.name)
		}
	}
	if !hcUser {
		f.Config = append(f.Config, "healthcheck")
	}
	pinnedMAC := cfg.MacAddress //nolint:staticcheck // where specFor pins it before API 1.44
	if m.spec.net != nil {
		for _, ep := range m.spec.net.EndpointsConfig {
			if ep.MacAddress != "" {
				pinnedMAC = ep.MacAddress
			}
		}
	}
	for _, s := range []struct {
		name string
		set  bool
	}{
		{"hostname", cfg.Hostname != ""},
		{"domainname", cfg.Domainname != ""},
		{"macAddress", pinnedMAC != ""},
		{"tty", cfg.Tty},
		{"openStdin", cfg.OpenStdin},
		{"stopTimeout", cfg.StopTimeout != nil},
	} {
		if s.set {
			k.Config = append(k.Config, s.name)
		}
	}
	for port := range cfg.ExposedPorts {
		k.ExposedPorts = append(k.ExposedPorts, string(port))
	}
	for port := range old.Config.ExposedPorts {
		if _, ok := cfg.ExposedPorts[port]; !ok {
			f.ExposedPorts = append(f.ExposedPorts, string(port))
		}
	}

	for port, bs := range hc.PortBindings {
		for _, b := range bs {
			k.Ports = append(k.Ports, models.PreviewPort{Port: string(port), HostIP: b.HostIP, HostPort: b.HostPort})
		}
	}
	slices.SortFunc(k.Ports, func(a, b models.PreviewPort) int {
		return strings.Compare(a.Port+" "+a.HostIP+" "+a.HostPort, b.Port+" "+b.HostIP+" "+b.HostPort)
	})
	k.RestartPolicy = string(hc.RestartPolicy.Name)
	if k.RestartPolicy == "" {
		k.RestartPolicy = string(container.RestartPolicyDisabled) // what the engine does without one
	}
	if hc.RestartPolicy.IsOnFailure() && hc.RestartPolicy.MaximumRetryCount > 0 {
		k.RestartPolicy += fmt.Sprintf(":%d", hc.RestartPolicy.MaximumRetryCount)
	}
	k.NetworkMode = string(hc.NetworkMode)
	k.Resources = setFields(reflect.ValueOf(hc.Resources))
	k.Host = hostSettings(hc)

	p.Networks = networks(m)
	p.Volumes = volumes(old, hc)
	for _, l := range []*[]string{&k.Env, &k.Config, &k.ExposedPorts, &k.Resources, &k.Host,
		&f.Env, &f.Labels, &f.Config, &f.ExposedPorts} {
		*l = sortedOrEmpty(*l)
	}
	if k.Labels == nil {
		k.Labels = []string{}
	}
	if k.Ports == nil {
		k.Ports = []models.PreviewPort{}
	}
	return p
}

func envName(kv string) string {
	name, _, _ := strings.Cut(kv, "=")
	return name
}

// sortedOrEmpty sorts and dedups l; nil becomes [] so the JSON says "none".
func sortedOrEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	slices.Sort(l)
	return slices.Compact(l)
}

// setFields names the fields of a struct value that are set, in the API's
// spelling with a lower-case first letter. A pointer to a zero value
// counts as unset: inspect reports some limits that way.
func setFields(v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		fv := v.Field(i)
		for fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		if fv.IsZero() || ((fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0) {
			continue
		}
		n := []rune(v.Type().Field(i).Name)
		n[0] = unicode.ToLower(n[0])
		out = append(out, string(n))
	}
	return out
}

// hostSettings names the host settings besides ports, mounts, networks,
// restart policy and limits that the user set and the recreate carries
// over. The engine's own defaults (log driver, cgroup and IPC modes…) are
// carried over too, but are nobody's choice and not listed.
func hostSettings(hc *container.HostConfig) []string {
	var out []string
	for _, s := range []struct {
		name string
		set  bool
	}{
		{"privileged", hc.Privileged},
		{"capAdd", len(hc.CapAdd) > 0},
		{"capDrop", len(hc.CapDrop) > 0},
		{"extraHosts", len(hc.ExtraHosts) > 0},
		{"dns", len(hc.DNS) > 0},
		{"dnsSearch", len(hc.DNSSearch) > 0},
		{"dnsOptions", len(hc.DNSOptions) > 0},
		{"securityOpt", len(hc.SecurityOpt) > 0},
		{"sysctls", len(hc.Sysctls) > 0},
		{"readonlyRootfs", hc.ReadonlyRootfs},
		{"init", hc.Init != nil && *hc.Init},
		{"links", len(hc.Links) > 0},
		{"volumesFrom", len(hc.VolumesFrom) > 0},
		{"groupAdd", len(hc.GroupAdd) > 0},
		{"pidMode", hc.PidMode != ""},
		{"usernsMode", hc.UsernsMode != ""},
		{"logConfig", len(hc.LogConfig.Config) > 0},
	} {
		if s.set {
			out = append(out, s.name)
		}
	}
	return out
}

// networks lists the endpoints specFor sets at create and connects after.
func networks(m *member) []models.PreviewNetwork {
	out := []models.PreviewNetwork{}
	var eps []endpoint
	if m.spec.net != nil {
		for name, ep := range m.spec.net.EndpointsConfig {
			eps = append(eps, endpoint{network: name, settings: ep})
		}
	}
	eps = append(eps, m.spec.connect...)
	for _, ep := range eps {
		n := models.PreviewNetwork{Name: ep.network, Aliases: slices.Clone(ep.settings.Aliases), MacAddress: ep.settings.MacAddress}
		if n.Aliases == nil {
			n.Aliases = []string{}
		}
		if c := ep.settings.IPAMConfig; c != nil {
			n.IPv4Address, n.IPv6Address = c.IPv4Address, c.IPv6Address
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b models.PreviewNetwork) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// volumes lists the mounts of hc, the new container's host config. A volume
// mount that the old one had without a source is an anonymous volume that
// hostConfig mounts by name.
func volumes(old container.InspectResponse, hc *container.HostConfig) []models.PreviewVolume {
	out := []models.PreviewVolume{}
	for _, b := range hc.Binds {
		parts := strings.Split(b, ":")
		v := models.PreviewVolume{Type: string(mount.TypeVolume), Name: parts[0], Destination: parts[1]}
		if strings.HasPrefix(parts[0], "/") {
			v = models.PreviewVolume{Type: string(mount.TypeBind), Source: parts[0], Destination: parts[1]}
		}
		if len(parts) > 2 {
			v.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
		}
		out = append(out, v)
	}
	for _, m := range hc.Mounts {
		v := models.PreviewVolume{Type: string(m.Type), Destination: m.Target, ReadOnly: m.ReadOnly}
		switch m.Type {
		case mount.TypeVolume:
			v.Name = m.Source
			v.Anonymous = !slices.ContainsFunc(old.HostConfig.Mounts, func(u mount.Mount) bool {
				return u.Target == m.Target && u.Source != ""
			})
		default:
			v.Source = m.Source
		}
		out = append(out, v)
	}
	for dst := range hc.Tmpfs {
		out = append(out, models.PreviewVolume{Type: string(mount.TypeTmpfs), Destination: dst})
	}
	slices.SortFunc(out, func(a, b models.PreviewVolume) int { return strings.Compare(a.Destination, b.Destination) })
	return out
}
