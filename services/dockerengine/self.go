package dockerengine

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"

	"refit/models"
)

// HelperLabel marks the short-lived container that replaces refit's own
// container; its value is the name of the container it replaces.
const HelperLabel = "refit.helper"

// helperSuffix names the helper after the container it replaces.
const helperSuffix = "-refit-helper"

// selfMount finds the container's own ID in /proc/self/mountinfo: Docker
// bind-mounts each container's hostname, hosts and resolv.conf from
// <data-root>/containers/<id>/, whatever the hostname is set to.
var selfMount = regexp.MustCompile(`/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)\s`)

// SelfID returns the ID of the container this process runs in, or "" when
// it runs on the host.
func SelfID() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return selfIDFrom(string(b))
}

func selfIDFrom(mountinfo string) string {
	if m := selfMount.FindStringSubmatch(mountinfo); m != nil {
		return m[1]
	}
	return ""
}

// HandOver implements services.Updater. refit cannot replace its own
// container from inside: the stop would end it half way. So it starts a
// helper container from that container's reference (the newly pulled
// image), with the same environment and mounts (the Docker socket, the
// database), running cmd. The helper does the recreate with the journal and
// removes itself; it restarts on failure, so a helper killed half way
// recovers what it left.
func (e *Engine) HandOver(ctx context.Context, id string, cmd []string) error {
	old, err := e.cli.ContainerInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("hand over %s: %w", id, models.ErrContainerNotFound)
	}
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", models.ShortID(id), err)
	}
	name := strings.TrimPrefix(old.Name, "/")
	helper := name + helperSuffix
	if err := e.cli.ContainerRemove(ctx, helper, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove the old helper %s: %w", helper, err)
	}
	// A unix socket needs no network; a tcp:// engine is reached the way the
	// container reaches it.
	network := container.NetworkMode("none")
	for _, env := range old.Config.Env {
		if host, ok := strings.CutPrefix(env, "DOCKER_HOST="); ok && !strings.HasPrefix(host, "unix://") {
			network = old.HostConfig.NetworkMode
		}
	}
	cfg := &container.Config{
		Image:       old.Config.Image,
		Cmd:         cmd,
		Env:         old.Config.Env,
		Labels:      map[string]string{HelperLabel: name},
		Healthcheck: &container.HealthConfig{Test: []string{"NONE"}}, // it serves nothing
	}
	hc := &container.HostConfig{
		VolumesFrom:   []string{old.ID},
		NetworkMode:   network,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3},
	}
	resp, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, nil, helper)
	if err != nil {
		return fmt.Errorf("create the helper %s: %w", helper, err)
	}
	if err := e.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		_ = e.cli.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true})
		return fmt.Errorf("start the helper %s: %w", helper, err)
	}
	return nil
}

// Inspect returns one container, running or not, as refit sees it.
func (e *Engine) Inspect(ctx context.Context, id string) (models.Container, error) {
	c, err := e.cli.ContainerInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return models.Container{}, fmt.Errorf("inspect %s: %w", id, models.ErrContainerNotFound)
	}
	if err != nil {
		return models.Container{}, fmt.Errorf("inspect container %s: %w", models.ShortID(id), err)
	}
	out := models.Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), ConfiguredImage: c.Config.Image,
		ImageID: c.Image, Labels: c.Config.Labels}
	if img, err := e.cli.ImageInspect(ctx, c.Image); err == nil {
		out.RepoDigests = img.RepoDigests
	}
	return out, nil
}

// RemoveSelf force-removes the container this process runs in: a helper's
// last act, which ends the process.
func (e *Engine) RemoveSelf(ctx context.Context) error {
	id := SelfID()
	if id == "" {
		return nil
	}
	return e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
}

// helpedNames returns the containers that running self-update helpers other
// than this process are recreating: their updates are not interrupted.
func (e *Engine) helpedNames(ctx context.Context) map[string]bool {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", HelperLabel))})
	if err != nil {
		return nil
	}
	self := SelfID()
	out := map[string]bool{}
	for _, c := range list {
		if c.ID != self {
			out[c.Labels[HelperLabel]] = true
		}
	}
	return out
}

// removeIdleHelpers removes helpers that exited without removing themselves.
func (e *Engine) removeIdleHelpers(ctx context.Context) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", HelperLabel), filters.Arg("status", "exited"))})
	if err != nil {
		return
	}
	for _, c := range list {
		_ = e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{})
	}
}
