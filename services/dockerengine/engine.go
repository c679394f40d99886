// Package dockerengine implements services.Engine and services.Updater over
// the Docker Engine API.
// It is the only package that imports the Docker client. The API version is
// negotiated with the daemon, never pinned: Debian's 20.10 speaks 1.41 while
// Docker 29 refuses clients below 1.44.
package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"refit/models"
)

// Options configure an Engine.
type Options struct {
	// Host is one explicit host, a URL of a form CheckHostURL accepts, e.g.
	// "unix:///run/docker.sock" or "ssh://deploy@vps.example"; the
	// environment's DOCKER_* variables are not read for it. Empty means the
	// local host: DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
	Host string
	// SSHFlags are extra ssh(1) arguments for an ssh:// Host, such as
	// "-i", "key". For tests and special setups: users configure keys and
	// known hosts in ~/.ssh/config, as for the docker CLI.
	SSHFlags []string
	// RecoverScope, when set, limits Recover to the original container names
	// it accepts. refit leaves it nil; tests that share one engine scope
	// recovery to their own containers.
	RecoverScope func(name string) bool
}

// Engine talks to one Docker engine.
type Engine struct {
	cli          *client.Client
	opts         []client.Opt // how cli was made, for the Identity client
	recoverScope func(name string) bool

	mu         sync.Mutex
	configured map[string]string     // container ID → Config.Image; fixed for a container's life
	busy       map[string]bool       // names of containers being recreated
	store      *imageStore           // nil until asked, and again after the engine failed to answer
	images     map[string]imageFacts // by image ID, while a running container uses it
}

// New connects to the engine named by opts (lazily: the first call
// negotiates the API version). An explicit Host that CheckHostURL refuses is
// refused with the same error.
func New(opts Options) (*Engine, error) {
	o := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		// Not FromEnv: DOCKER_CERT_PATH and DOCKER_API_VERSION belong to the local host.
		h, err := hostOpts(opts.Host, opts.SSHFlags)
		if err != nil {
			return nil, err
		}
		o = append([]client.Opt{client.WithAPIVersionNegotiation()}, h...)
	}
	cli, err := client.NewClientWithOpts(o...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Engine{cli: cli, opts: o, recoverScope: opts.RecoverScope, configured: map[string]string{},
		busy: map[string]bool{}, images: map[string]imageFacts{}}, nil
}

// Close releases the clients' connections.
func (e *Engine) Close() error {
	e.mu.Lock()
	st := e.store
	e.store = nil
	e.mu.Unlock()
	if st != nil && st.identity != nil {
		st.identity.Close()
	}
	return e.cli.Close()
}

// Ping checks that the engine answers and returns its API version.
func (e *Engine) Ping(ctx context.Context) (string, error) {
	p, err := e.cli.Ping(ctx)
	if err != nil {
		return "", fmt.Errorf("docker engine: %w", err)
	}
	return p.APIVersion, nil
}

// Running lists running containers with the reference each was created from
// and what the engine knows of the image each runs. It costs one list of
// containers and one list of images; an image is inspected only when it is
// new or its tags changed (the list shows only one RepoDigest per image on
// the containerd store), and a container only when the list shows it by image
// ID (it does when the tag has moved to a newer image).
func (e *Engine) Running(ctx context.Context) ([]models.Container, error) {
	return e.list(ctx, false)
}

// All implements services.Updater: Running's list with the containers that
// do not run, at the same cost.
func (e *Engine) All(ctx context.Context) ([]models.Container, error) {
	return e.list(ctx, true)
}

func (e *Engine) list(ctx context.Context, all bool) ([]models.Container, error) {
	out, err := e.listOnce(ctx, all)
	if err != nil {
		e.lost() // the engine may come back changed: a restart can switch its image store
	}
	return out, err
}

func (e *Engine) listOnce(ctx context.Context, all bool) ([]models.Container, error) {
	st, err := e.imageStore(ctx)
	if err != nil {
		return nil, err
	}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: all})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	imgs, err := e.cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	listed := make(map[string]image.Summary, len(imgs))
	for _, im := range imgs {
		listed[im.ID] = im
	}
	out := make([]models.Container, 0, len(list))
	seen := make(map[string]bool, len(list))
	used := make(map[string]bool, len(list))
	for _, c := range list {
		if isSwarmTask(c.Labels) {
			continue // its service is listed instead (Services)
		}
		seen[c.ID] = true
		ref, err := e.configuredImage(ctx, c)
		if errdefs.IsNotFound(err) {
			continue // removed between list and inspect
		}
		if err != nil {
			return nil, err
		}
		used[c.ImageID] = true
		im := e.imageFacts(ctx, st, c.ImageID, listed)
		sum := listed[c.ImageID]
		out = append(out, models.Container{
			ID:              c.ID,
			Name:            containerName(c.Names),
			State:           string(c.State),
			ConfiguredImage: ref,
			ImageID:         c.ImageID,
			RepoDigests:     im.repoDigests,
			Labels:          c.Labels,
			Created:         time.Unix(c.Created, 0),
			ContainerdStore: st.containerd,
			OriginKnown:     im.originKnown,
			PulledFrom:      im.pulledFrom,
			StatusText:      c.Status,
			Health:          models.HealthFromStatus(c.Status),
			Ports:           publishedPorts(c.Ports),
			ImageLabels:     sum.Labels,
			ImageCreated:    unixTime(sum.Created),
		})
	}
	e.forget(seen, used)
	return out, nil
}

// configuredImage returns Config.Image. The list's Image field equals it
// unless the engine substituted the image ID, so inspect only then.
func (e *Engine) configuredImage(ctx context.Context, c container.Summary) (string, error) {
	if !looksLikeID(c.Image, c.ImageID) {
		return c.Image, nil
	}
	e.mu.Lock()
	ref, ok := e.configured[c.ID]
	e.mu.Unlock()
	if ok {
		return ref, nil
	}
	ci, err := e.cli.ContainerInspect(ctx, c.ID)
	if err != nil {
		return "", fmt.Errorf("inspect container %s: %w", models.ShortID(c.ID), err)
	}
	e.mu.Lock()
	e.configured[c.ID] = ci.Config.Image
	e.mu.Unlock()
	return ci.Config.Image, nil
}

// forget drops what it knows of containers no longer listed and of images
// no listed container uses.
func (e *Engine) forget(running, used map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id := range e.configured {
		if !running[id] {
			delete(e.configured, id)
		}
	}
	for id := range e.images {
		if !used[id] {
			delete(e.images, id)
		}
	}
}

// publishedPorts are the list's ports that are bound on the host, once
// each: the engine lists a port bound on 0.0.0.0 and on :: twice.
func publishedPorts(ps []container.Port) []models.Port {
	var out []models.Port
	seen := map[models.Port]bool{}
	for _, p := range ps {
		if p.PublicPort == 0 {
			continue // exposed only
		}
		ip := p.IP
		if ip == "0.0.0.0" || ip == "::" {
			ip = ""
		}
		mp := models.Port{HostIP: ip, HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Proto: p.Type}
		if !seen[mp] {
			seen[mp] = true
			out = append(out, mp)
		}
	}
	return out
}

func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

func looksLikeID(s, imageID string) bool {
	return strings.HasPrefix(s, "sha256:") || (len(s) >= 12 && strings.HasPrefix(strings.TrimPrefix(imageID, "sha256:"), s))
}

// containerName picks the container's own name; the list also carries
// link aliases such as "/web/db".
func containerName(names []string) string {
	for _, n := range names {
		if strings.Count(n, "/") == 1 {
			return strings.TrimPrefix(n, "/")
		}
	}
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return ""
}

// Events streams container lifecycle events until ctx ends. The error channel
// yields one error when the stream breaks.
func (e *Engine) Events(ctx context.Context) (<-chan models.EngineEvent, <-chan error) {
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))
	for _, a := range []string{"start", "die", "destroy", "rename", "health_status", "pause", "unpause", "update"} {
		f.Add("event", a)
	}
	msgs, errs := e.cli.Events(ctx, events.ListOptions{Filters: f})
	out := make(chan models.EngineEvent)
	outErr := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case m := <-msgs:
				ev := models.EngineEvent{Action: string(m.Action), ContainerID: m.Actor.ID}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if err == nil || errors.Is(err, context.Canceled) {
					err = ctx.Err()
				}
				if err != nil {
					outErr <- err
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, outErr
}
