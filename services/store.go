package services

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"refit/models"
)

// persisted lists every table refit keeps; OpenDB migrates them at start.
var persisted = []any{&models.Toggle{}, &models.UpdateRecord{}, &models.RecreateState{},
	&models.User{}, &models.Session{}, &models.APIToken{}, &models.AuditEntry{}, &authSecret{}, &writeProbe{}}

// OpenDB opens (creating if needed) the SQLite database at path and migrates
// it. WAL and a busy timeout let update jobs and requests write at once.
func OpenDB(path string) (*gorm.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	db, err := gorm.Open(sqlite.Open("file:"+path+"?"+q.Encode()), &gorm.Config{
		Logger: logger.Default.LogMode(logger.Silent),
	})
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := db.AutoMigrate(persisted...); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return db, nil
}
