package models

import "time"

// Toggle is the persisted auto-update flag of one container. It is keyed by
// host and container name because a recreate changes the ID. Rows written
// before refit knew of hosts are migrated to LocalHost.
type Toggle struct {
	Host       string `gorm:"primaryKey"`
	Name       string `gorm:"primaryKey"`
	AutoUpdate bool
	UpdatedAt  time.Time
}

// Ref is the toggle's container.
func (t Toggle) Ref() ContainerRef { return ContainerRef{Host: t.Host, Name: t.Name} }
