package models

import "time"

// Phase is the coarse step an update is in.
type Phase string

// The phases of an update, in order; it ends in PhaseDone or PhaseFailed.
const (
	PhaseConnecting Phase = "connecting"
	PhasePulling    Phase = "pulling"
	PhaseRecreating Phase = "recreating"
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
	Status  string `json:"status"`  // connecting, the engine's words, recreating, done, error: …

	Phase      Phase     `json:"phase"`
	Container  string    `json:"container"`
	Image      string    `json:"image"`
	BytesDone  int64     `json:"bytes_done"`      // downloaded, over all layers seen so far
	BytesTotal int64     `json:"bytes_total"`     // over all layers seen so far
	Overall    int       `json:"overall_percent"` // download and extraction of all layers, never going back
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
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
