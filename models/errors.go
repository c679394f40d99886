package models

import "errors"

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
