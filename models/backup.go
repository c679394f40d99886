package models

import "time"

// BackupRepo is the first path component of every backup tag:
// refit-backup/<host>/<name>:<time>-<id>. A tagged image is never
// dangling, so no prune removes it.
const BackupRepo = "refit-backup"

// AuditRollback is the audit action of a rollback onto a backup.
const AuditRollback = "rollback"

// ErrBackupNotFound is the API's error for a backup id the container has not.
var ErrBackupNotFound = NewKind("backup not found", ErrNotFound)

// Backup is the image a container ran before a recreate, kept under its
// own tag. Keyed by host and name, not ID, so backups follow the container
// through its recreates. The JSON is Drydock's shape.
type Backup struct {
	ID            string `gorm:"primaryKey" json:"id"`
	Host          string `gorm:"index:idx_backup_container" json:"watcher"`
	ContainerName string `gorm:"index:idx_backup_container" json:"containerName"`
	ContainerID   string `json:"containerId"` // at backup time
	// ImageName is the repository it ran: library/nginx on Docker Hub,
	// 127.0.0.1:5000/app elsewhere.
	ImageName   string    `json:"imageName"`
	ImageTag    string    `json:"imageTag"`
	ImageDigest string    `json:"imageDigest"` // the repo digest it ran, "" if none
	ImageID     string    `json:"imageId"`
	BackupRef   string    `json:"backupRef"` // the tag refit made
	Timestamp   time.Time `json:"timestamp"`
	// TriggerName is Drydock's name of what recreates the container:
	// docker.<host>.
	TriggerName string `gorm:"-" json:"triggerName"`
}

// Ref is the container the backup belongs to.
func (b Backup) Ref() ContainerRef { return Ref(b.Host, b.ContainerName) }

// TagMove is the journal entry of a rollback that pointed the container's
// tag at a backup's image: written before the tag moves, removed once the
// rollback ended. Recovery after a crash reads it to move the tag back when
// the container does not run the backup's image, so the tag never names an
// image the container was not left running.
type TagMove struct {
	Host        string `gorm:"primaryKey"`
	Name        string `gorm:"primaryKey"`
	Tag         string // the container's configured reference
	PrevImageID string // what Tag named before; "" when it named nothing
	ToImageID   string // the backup's image
	CreatedAt   time.Time
}
