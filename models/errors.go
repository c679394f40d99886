package models

import (
	"errors"
	"time"
)

// Sentinel errors. Services wrap them with context; handlers map them to
// status codes in exactly one place.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid input")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrRateLimited  = errors.New("registry rate limit reached")
	ErrUnavailable  = errors.New("unavailable")
)

// Kind is an error with its own public text that still matches a broader
// sentinel with errors.Is, so "container not found" is an ErrNotFound.
type Kind struct {
	msg  string
	kind error
}

// NewKind returns an error whose text is msg and which wraps kind.
func NewKind(msg string, kind error) *Kind { return &Kind{msg: msg, kind: kind} }

func (k *Kind) Error() string { return k.msg }
func (k *Kind) Unwrap() error { return k.kind }

// The errors the API names in its contract, with their exact texts.
var (
	ErrContainerNotFound  = NewKind("container not found", ErrNotFound)
	ErrAmbiguousContainer = NewKind("ambiguous container: use host/name", ErrConflict)
	ErrBeingUpdated       = NewKind("container is being updated", ErrConflict)
	// ErrNotRunning: refit checks, updates and rolls back running containers.
	ErrNotRunning         = NewKind("container is not running", ErrConflict)
	ErrNoUpdateAvailable  = NewKind("no update available", ErrInvalid)
	ErrImageNotFound      = NewKind("image not found", ErrNotFound)
	ErrNoProgress         = NewKind("no progress", ErrNotFound)
	ErrInvalidCredentials = NewKind("invalid credentials", ErrUnauthorized)
	ErrTooManyAttempts    = NewKind("too many attempts", ErrRateLimited)
)

// RetryLater is err with when the client may try again; handlers send it as
// Retry-After.
type RetryLater struct {
	Err   error
	After time.Duration
}

func (e *RetryLater) Error() string { return e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }
