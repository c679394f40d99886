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
}

// Registry reports the digest a tag currently resolves to.
type Registry interface {
	// Digest answers the digest of ref's manifest or index with exactly one
	// HEAD request: a GET counts against Docker Hub's pull limit. It returns
	// an error wrapping models.ErrRateLimited on 429.
	Digest(ctx context.Context, ref string) (string, error)
	// RateLimits returns the pull budgets registries last reported.
	RateLimits() []models.RateLimit
}
