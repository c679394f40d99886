package models

import "time"

// UpdateRecord is one finished update, kept in SQLite for GET /api/history.
// Records written before refit knew of hosts belong to LocalHost.
type UpdateRecord struct {
	ID        uint   `gorm:"primaryKey" json:"id"`
	Host      string `gorm:"index" json:"host"`
	Container string `gorm:"index" json:"container"`
	Image     string `json:"image"`
	// FromImage is the image it ran before, when the update moved it onto
	// a newer tag (Image names the new one).
	FromImage  string `json:"from_image,omitempty"`
	FromDigest string `json:"from_digest"`
	ToDigest   string `json:"to_digest"`
	// FromVersion and ToVersion are the images' version labels
	// (org.opencontainers.image.version), when they carry one.
	FromVersion string    `json:"from_version,omitempty"`
	ToVersion   string    `json:"to_version,omitempty"`
	By          string    `json:"by"`     // user name, or "auto"
	Result      string    `json:"result"` // "updated", "uptodate", "rolled back", "failed"
	Error       string    `json:"error,omitempty"`
	StartedAt   time.Time `gorm:"index" json:"started_at"`
	DurationMS  int64     `json:"duration_ms"`
	// Logs are the last lines of the new container a rollback removed,
	// kept until the container's next record (see History.Add).
	Logs string `json:"logs,omitempty"`
}

// The outcomes an UpdateRecord's Result names.
const (
	ResultUpdated    = "updated"
	ResultUpToDate   = "uptodate"
	ResultRolledBack = "rolled back"
	ResultFailed     = "failed"
	ResultRecovered  = "recovered"
	ResultRestored   = "restored"
)

// Results are the outcomes in the order the history page offers them.
var Results = []string{ResultUpdated, ResultRolledBack, ResultFailed, ResultRecovered, ResultRestored, ResultUpToDate}

// HistoryFilter selects update records: of one container (Host and
// Container; Host "" for every host), with one outcome (Result), at most
// Limit of them (0: 100), newest first.
type HistoryFilter struct {
	Host, Container, Result string
	Limit                   int
}
