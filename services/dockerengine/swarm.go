package dockerengine

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"refit/models"
)

// swarmTaskLabel marks the containers of a Swarm service's tasks. They are
// the service's, not refit's: only the engine's rolling update replaces them.
const swarmTaskLabel = "com.docker.swarm.task.id"

// isSwarmTask reports whether a container with these labels is a task.
func isSwarmTask(labels map[string]string) bool {
	_, ok := labels[swarmTaskLabel]
	return ok
}

// Services implements services.Updater: the Swarm services of a manager,
// each as a models.Container with Service set. An engine that is no manager
// has none.
func (e *Engine) Services(ctx context.Context) ([]models.Container, error) {
	list, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true})
	if errdefs.IsUnavailable(err) || errdefs.IsNotImplemented(err) {
		return nil, nil // not a manager (503): no services here
	}
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := make([]models.Container, 0, len(list))
	for _, s := range list {
		out = append(out, serviceOf(s))
	}
	return out, nil
}

// serviceOf is a service as refit lists it. The manager pins the digest it
// resolved at create or update time: name:tag@sha256:…, which is what the
// check compares with the tag's digest now.
func serviceOf(s swarm.Service) models.Container {
	ref := ""
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
		ref = cs.Image
	}
	configured, pinned, _ := strings.Cut(ref, "@")
	c := models.Container{ID: s.ID, Name: s.Spec.Name, ConfiguredImage: configured, ImageID: pinned,
		Labels: s.Spec.Labels, Created: s.CreatedAt, Service: &models.Service{}}
	if pinned != "" {
		c.RepoDigests = []string{repoOf(configured) + "@" + pinned}
	}
	if s.ServiceStatus != nil {
		c.Service.Running, c.Service.Desired = s.ServiceStatus.RunningTasks, s.ServiceStatus.DesiredTasks
	}
	if u := s.UpdateStatus; u != nil {
		c.Service.Update, c.Service.Message = string(u.State), u.Message
	}
	return c
}

// repoOf is a reference without its tag: "reg:5000/app:1" → "reg:5000/app".
func repoOf(ref string) string {
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon]
	}
	return ref
}

// UpdateService implements services.Updater: it asks the manager for a
// rolling update of the service to image (name:tag@sha256:…), changing
// nothing else of its spec, so the service's own update and rollback config
// (parallelism, delay, failure action, monitor) run it. The manager is told
// not to ask the registry: refit already knows the digest, and the nodes
// pull it themselves.
func (e *Engine) UpdateService(ctx context.Context, id, image string, auth models.RegistryAuth) error {
	s, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect service %s: %w", id, err)
	}
	spec := s.Spec
	if spec.TaskTemplate.ContainerSpec == nil {
		return fmt.Errorf("service %s runs no container: %w", s.Spec.Name, models.ErrInvalid)
	}
	spec.TaskTemplate.ContainerSpec.Image = image
	opts := swarm.ServiceUpdateOptions{}
	if auth != (models.RegistryAuth{}) {
		enc, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: auth.Username, Password: auth.Password,
			IdentityToken: auth.IdentityToken, RegistryToken: auth.RegistryToken, ServerAddress: auth.ServerAddress})
		if err != nil {
			return fmt.Errorf("update service %s: encode credentials: %w", s.Spec.Name, err)
		}
		opts.EncodedRegistryAuth = enc
	} else {
		opts.RegistryAuthFrom = swarm.RegistryAuthFromSpec
	}
	if _, err := e.cli.ServiceUpdate(ctx, s.ID, s.Version, spec, opts); err != nil {
		return fmt.Errorf("update service %s: %w", s.Spec.Name, err)
	}
	return nil
}

// Service implements services.Updater: the service as it is now, for
// following its update.
func (e *Engine) Service(ctx context.Context, id string) (models.Container, error) {
	s, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if errdefs.IsNotFound(err) {
		return models.Container{}, fmt.Errorf("service %s: %w", id, models.ErrNotFound)
	}
	if err != nil {
		return models.Container{}, fmt.Errorf("inspect service %s: %w", id, err)
	}
	c := serviceOf(s)
	// Inspect has no task counts; the list has.
	list, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true, Filters: filters.NewArgs(filters.Arg("id", s.ID))})
	if err == nil {
		for _, l := range list {
			if l.ID == s.ID && l.ServiceStatus != nil {
				c.Service.Running, c.Service.Desired = l.ServiceStatus.RunningTasks, l.ServiceStatus.DesiredTasks
			}
		}
	}
	return c, nil
}
