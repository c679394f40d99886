package models

import (
	"errors"
	"time"
)

// RegistryAuth is the credential a pull sends (X-Registry-Auth). It comes
// from the same keychain the checker uses. Never log it.
type RegistryAuth struct {
	Username      string
	Password      string
	IdentityToken string
	RegistryToken string
	ServerAddress string
}

// OldSuffix is appended to a container's name while its replacement comes
// up. It is fixed so that recovery finds what a crash left behind.
const OldSuffix = "-refit-old"

// RecreateOptions tune one recreate.
type RecreateOptions struct {
	// Image is the reference the new container is created from; the
	// container's own Config.Image when empty.
	Image string
	// HealthTimeout bounds the wait for a container with a healthcheck to
	// become healthy.
	HealthTimeout time.Duration
	// Settle is how long a container without a healthcheck must run without
	// exiting or restarting before it counts as up.
	Settle time.Duration
	// Step, when set, is told each step as it starts ("renaming", "creating",
	// "stopping", "starting", "waiting", "removing old", "rolling back").
	Step func(step string)
	// Hook, when set, runs after each step has finished; tests use it to
	// kill an update half way. A non-nil error aborts as a failure would.
	Hook func(step string) error
}

// Started tells Step, if set, that step starts.
func (o RecreateOptions) Started(step string) {
	if o.Step != nil {
		o.Step(step)
	}
}

// Finished runs Hook, if set, after step; its error aborts the recreate.
func (o RecreateOptions) Finished(step string) error {
	if o.Hook != nil {
		return o.Hook(step)
	}
	return nil
}

// RecreateError is a failed recreate. RolledBack tells whether the old
// container runs again under its name.
type RecreateError struct {
	Reason     string
	RolledBack bool
}

func (e *RecreateError) Error() string {
	if e.RolledBack {
		return e.Reason + " (rolled back)"
	}
	return e.Reason
}

// IsRolledBack reports whether err is a recreate that was rolled back.
func IsRolledBack(err error) bool {
	var re *RecreateError
	return errors.As(err, &re) && re.RolledBack
}

// Recovery is what start-up did about an update that refit was killed in.
type Recovery struct {
	Container string // the original name
	Action    string // "finished" (new container kept) or "restored" (old container back)
	Detail    string
}

// ImageInfo is what the engine knows of a local image.
type ImageInfo struct {
	ID          string
	RepoDigests []string
}
