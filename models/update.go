package models

import (
	"errors"
	"fmt"
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

// The steps of a recreate, in order, as RecreateOptions.Step, Hook and
// Journal see them. A failure after renaming rolls back.
const (
	StepRenaming    = "renaming"
	StepCreating    = "creating"
	StepStopping    = "stopping"
	StepStarting    = "starting"
	StepWaiting     = "waiting"
	StepRemovingOld = "removing old"
	StepRollingBack = "rolling back"
	// StepDone clears a container's journal entry: nothing is left to recover.
	StepDone = "done"
)

// The words a record's Error starts with, or holds, for the outcomes the
// notifications tell apart: recovery restored an interrupted update, and a
// recreate whose rollback failed too. One place, so writer and reader agree.
const (
	ErrTextInterrupted    = "interrupted update"
	ErrTextRollbackFailed = "rollback failed"
)

// RecreateState is the journal entry of one container being recreated,
// written before each engine call so that recovery after a crash knows
// what may still be in flight. Keyed by the container's host and name; the
// adapter, which talks to one host, leaves Host to the caller.
type RecreateState struct {
	Host        string `gorm:"primaryKey"`
	Name        string `gorm:"primaryKey"`
	Step        string // the step about to be taken, or being taken
	OldID       string
	NewID       string // "" until the create answered
	Image       string // the reference the new container is created from
	MustRun     bool   // the old container ran when the recreate began
	StopSent    bool   // a stop of the old container was asked for: it may finish after a crash
	StopTimeout int    // seconds the engine may take to stop the old container
	UpdatedAt   time.Time
}

// RecoverOptions tune Recover. Settle and HealthTimeout are the recreate's
// own "is up" rule, so recovery keeps a new container only when an update
// would have kept it.
type RecoverOptions struct {
	// Pending is the journal: every recreate that had not finished.
	Pending       []RecreateState
	Settle        time.Duration
	HealthTimeout time.Duration
}

// RecreateOptions tune one recreate.
type RecreateOptions struct {
	// Image is the reference the new container is created from; the
	// container's own Config.Image when empty.
	Image string
	// StopSignal stops the old container instead of its own stop signal
	// (Watchtower's stop-signal label), e.g. "SIGINT"; "" keeps its own.
	StopSignal string
	// StopTimeout is how long the old container may take to stop before it
	// is killed (WATCHTOWER_TIMEOUT); 0 keeps its own (Docker's 10 s when
	// it sets none). The engine counts it in whole seconds.
	StopTimeout time.Duration
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
	// Waiting, when set, is told as the wait for the new container begins
	// whether it has a healthcheck to pass; without one it must settle.
	Waiting func(healthcheck bool)
	// Journal, when set, is given each container's state before every
	// engine call, and StepDone once nothing is left to recover. An error
	// aborts the recreate before that call (rolling back what was done).
	Journal func(RecreateState) error
}

// Note writes st to the journal, if one is set.
func (o RecreateOptions) Note(st RecreateState) error {
	if o.Journal == nil {
		return nil
	}
	if err := o.Journal(st); err != nil {
		return fmt.Errorf("journal %s at %s: %w", st.Name, st.Step, err)
	}
	return nil
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
	// Logs are the last CrashLogLines lines the new container wrote before
	// the rollback removed it ("" when it wrote none or never ran): once it
	// is gone they are what is left to see why it failed.
	Logs string
}

// CrashLogLines is how many of a failed new container's last lines a
// rollback keeps.
const CrashLogLines = 100

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

// Recovery is what recovery did about an update that refit was killed in.
type Recovery struct {
	Container string // the original name
	// Action is RecoveryFinished (new container kept), RecoveryRestored (old
	// container back) or RecoveryUntouched (the crash came before anything
	// changed).
	Action string
	Detail string
}

// The actions a Recovery reports.
const (
	RecoveryFinished  = "finished"
	RecoveryRestored  = "restored"
	RecoveryUntouched = "untouched"
)

// ImageInfo is what the engine knows of a local image.
type ImageInfo struct {
	ID           string
	RepoDigests  []string
	Architecture string            // e.g. "amd64", from the image's config
	OS           string            // e.g. "linux"
	Created      time.Time         // when the image was built, as its config says
	Labels       map[string]string // the config's labels: its version, source, build date
}
