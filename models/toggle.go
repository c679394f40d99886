package models

import "time"

// Toggle is the persisted auto-update flag of one container. It is keyed by
// container name because a recreate changes the ID.
type Toggle struct {
	Name       string `gorm:"primaryKey"`
	AutoUpdate bool
	UpdatedAt  time.Time
}
