package models

import "time"

// Phase is the coarse step an update is in.
type Phase string

// The phases of an update, in order; it ends in PhaseDone or PhaseFailed.
// A container of a group waits in PhaseQueued for its turn; recovery of an
// interrupted update shows as PhaseRecovering.
const (
	PhaseConnecting Phase = "connecting"
	PhaseQueued     Phase = "queued"
	PhasePulling    Phase = "pulling"
	PhaseRecreating Phase = "recreating"
	PhaseRecovering Phase = "recovering"
	PhaseDone       Phase = "done"
	PhaseFailed     Phase = "failed"
)

// Progress is the snapshot of one container's update that
// GET /api/images/{id}/progress returns. The first five fields are the
// contract; the rest are extras for the UI and scripts.
type Progress struct {
	Layer   string `json:"layer"`   // 12-character ID of the layer that moved last
	Current int64  `json:"current"` // bytes of that layer
	Total   int64  `json:"total"`
	Percent int    `json:"percent"` // 0–100
	Status  string `json:"status"`  // connecting, queued, the engine's words, recreating, waiting for health check, settling 10s, done, error: …

	Phase      Phase  `json:"phase"`
	Container  string `json:"container"`
	Image      string `json:"image"`
	BytesDone  int64  `json:"bytes_done"`      // downloaded, over all layers seen so far
	BytesTotal int64  `json:"bytes_total"`     // over all layers seen so far
	Overall    int    `json:"overall_percent"` // download and extraction of all layers, never going back
	// ContainerID is the 12-character ID of the container the job is about:
	// the old one until the recreate succeeds, then the new one.
	ContainerID string `json:"container_id"`
	RolledBack  bool   `json:"rolled_back,omitempty"` // failed, and the old container runs again
	// CrashLogs reports that the history kept the failed new container's
	// last lines (History.CrashLogs).
	CrashLogs bool `json:"-"`
	// Host is the container's host, set only when refit has several.
	Host string `json:"host,omitempty"`
	// Ref is the job's container; Container is its name.
	Ref       ContainerRef `json:"-"`
	StartedAt time.Time    `json:"started_at"`
	EndedAt   time.Time    `json:"ended_at,omitzero"`
}

// Running reports whether the update is still going on.
func (p Progress) Running() bool {
	return p.Phase != PhaseDone && p.Phase != PhaseFailed
}

// PullEvent is one message of the engine's pull stream.
type PullEvent struct {
	Layer   string // layer ID as the engine gives it (12 characters)
	Status  string // "Downloading", "Extracting", "Pull complete"…
	Current int64
	Total   int64
}
