package services

import (
	"context"

	"refit/models"
)

// Engine is the part of the Docker Engine API that services use.
type Engine interface {
	// Running lists the running containers (all=false), each with its
	// Config.Image and the RepoDigests of the image it runs.
	Running(ctx context.Context) ([]models.Container, error)
	// Events streams container events until ctx ends. The error channel gets
	// one value when the stream breaks; callers reconnect.
	Events(ctx context.Context) (<-chan models.EngineEvent, <-chan error)
	// Info tells the engine's version and the API version negotiated with
	// it, for the hosts page.
	Info(ctx context.Context) (models.HostInfo, error)
	// Services lists a Swarm manager's services, each with Service set
	// (see models.Service); an engine that is no manager has none. Running
	// never lists their tasks.
	Services(ctx context.Context) ([]models.Container, error)
}

// Registry reports the digest a tag currently resolves to.
type Registry interface {
	// Digest answers the digest of ref's manifest or index with exactly one
	// HEAD request: a GET counts against Docker Hub's pull limit. It returns
	// an error wrapping models.ErrRateLimited on 429.
	Digest(ctx context.Context, ref string) (string, error)
	// Tags lists repo's tags ("docker.io/library/nginx"), every page of
	// them; a tag list is no pull, and reads no manifest.
	Tags(ctx context.Context, repo string) ([]string, error)
	// RateLimits returns the pull budgets registries last reported.
	RateLimits() []models.RateLimit
}

// Updater is the part of the Docker Engine API the update engine uses. The
// adapter owns the recreate steps, so rollback works in Docker's own terms.
type Updater interface {
	Engine
	// Pull pulls ref and reports each message of the engine's stream. An
	// error message inside a 200 stream is returned as an error.
	Pull(ctx context.Context, ref string, auth models.RegistryAuth, progress func(models.PullEvent)) error
	// Image inspects a local image by reference or ID. Returns an error
	// wrapping models.ErrNotFound when there is none.
	Image(ctx context.Context, ref string) (models.ImageInfo, error)
	// Recreate replaces the container (ID or name) with a new one from
	// opts.Image that keeps everything the user set, waits for it to come up,
	// and removes the old one. On failure it rolls back and returns a
	// *models.RecreateError. Returns the new container's ID.
	Recreate(ctx context.Context, id string, opts models.RecreateOptions) (string, error)
	// Recover finishes or undoes recreates interrupted by a crash: those in
	// opts.Pending (the journal) and any container left parked under
	// models.OldSuffix. It returns what it did for each name it settled.
	Recover(ctx context.Context, opts models.RecoverOptions) ([]models.Recovery, error)
	// HandOver starts a helper container that runs cmd from the container's
	// own, newly pulled image with its environment and mounts: how refit
	// replaces the container it runs in. The helper outlives this process.
	HandOver(ctx context.Context, id string, cmd []string) error
	// UpdateService asks a Swarm manager for its own rolling update of the
	// service to image, keeping the rest of its spec (its update and
	// rollback config among it). Service reads the service back, with its
	// update state.
	UpdateService(ctx context.Context, id, image string, auth models.RegistryAuth) error
	Service(ctx context.Context, id string) (models.Container, error)

	// The methods below take a container's full ID, its 12-character ID or
	// its name. An unknown one is an error wrapping
	// models.ErrContainerNotFound; one this engine is recreating right now
	// is refused with models.ErrConflict (Logs excepted).

	// All lists every container, running or not, with its State and the
	// same fields as Running. Swarm tasks are left out, as in Running.
	All(ctx context.Context) ([]models.Container, error)
	// Start starts a container; one that runs already is left alone.
	Start(ctx context.Context, id string) error
	// Stop stops a container with its own stop signal and timeout (docker
	// stop without -t), returning once it no longer runs; one that does not
	// run is left alone. A stop, once asked for, finishes even if ctx ends.
	Stop(ctx context.Context, id string) error
	// Restart stops a container as Stop does and starts it again, keeping
	// its ID; a stopped one is just started.
	Restart(ctx context.Context, id string) error
	// Remove deletes a container, stopping it first as Stop does if it
	// runs. Its anonymous volumes go too only when volumes is true; named
	// volumes always stay.
	Remove(ctx context.Context, id string, volumes bool) error
	// Logs returns a container's stdout and stderr interleaved as the
	// engine stored them, as docker logs prints them.
	Logs(ctx context.Context, id string, o models.LogOptions) (string, error)
	// Exec runs cmd inside a running container and waits for it to exit
	// or for ctx to end (the command then goes on inside; the error wraps
	// ctx's). A container that does not run is refused with
	// models.ErrNotRunning; an executable it lacks is an error wrapping
	// models.ErrExecNotFound. Output keeps the first few KiB.
	Exec(ctx context.Context, id string, cmd []string) (models.ExecResult, error)
	// Preview tells what Recreate would keep, take from the new image and
	// recreate with the container, changing nothing and asking no registry.
	// It fills the engine's part: neither digests nor UpdateAvailable. A
	// container Recreate would refuse is refused with the same error.
	Preview(ctx context.Context, id string) (models.Preview, error)

	// TagImage makes target (repository:tag) name the local image source
	// (a reference or an image ID) names; an unknown source is an error
	// wrapping models.ErrImageNotFound.
	TagImage(ctx context.Context, source, target string) error
	// UntagImage removes the tag ref, and the image with it when no other
	// tag names it and no container uses it (removed tells); an image in
	// use stays, nameless but for its repo digests. An engine that refuses
	// (the last name of an image in use that has no repo digest) answers
	// models.ErrConflict; an unknown ref is an error wrapping
	// models.ErrImageNotFound.
	UntagImage(ctx context.Context, ref string) (removed bool, err error)
	// RemoveImage removes the local image id (an image ID) when no tag
	// names it and no container, running or not, uses it (removed tells);
	// one still named or used stays. An unknown ID is an error wrapping
	// models.ErrImageNotFound.
	RemoveImage(ctx context.Context, id string) (removed bool, err error)
}

// Authenticator resolves registry credentials for a pull.
type Authenticator interface {
	Auth(ctx context.Context, ref string) (models.RegistryAuth, error)
}
