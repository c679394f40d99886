package services

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"refit/models"
)

// persisted lists every table refit keeps; OpenDB migrates them at start.
var persisted = []any{&models.Toggle{}, &models.UpdateRecord{}, &models.RecreateState{}, &models.UpdatePolicy{},
	&models.User{}, &models.Session{}, &models.APIToken{}, &models.AuditEntry{}, &authSecret{}, &writeProbe{},
	&models.Backup{}, &models.NotifyTarget{}, &models.Notification{}, &models.Announcement{}, &models.TagRule{},
	&models.CandidateSeen{}, &models.ImageDescription{}, &models.TagMove{}}

// dbMode is the mode of the database and its -wal and -shm files: they hold
// session keys and password hashes.
const dbMode = 0o600

// SecureDBFile creates the database file at path with mode 0600 if it does
// not exist (SQLite would make it 0644, and gives -wal and -shm the main
// file's mode), and takes group and other access away from the file, -wal
// and -shm that exist. It returns the files it changed, for a caller to
// log.
func SecureDBFile(path string) ([]string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, dbMode)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	f.Close()
	var changed []string
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("database %s: %w", path, err)
		}
		if fi.Mode().Perm()&^dbMode == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&dbMode); err != nil {
			return changed, fmt.Errorf("database %s: %w", path, err)
		}
		changed = append(changed, p)
	}
	return changed, nil
}

// OpenDB opens (creating if needed) the SQLite database at path and migrates
// it. WAL and a busy timeout let update jobs and requests write at once.
func OpenDB(path string) (*gorm.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	if _, err := SecureDBFile(path); err != nil {
		return nil, err
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
	if err := migrateHostKeys(db); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := db.AutoMigrate(persisted...); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	// Records from before hosts, and any written by an older refit since.
	if err := db.Model(&models.UpdateRecord{}).Where("host = '' OR host IS NULL").Update("host", models.LocalHost).Error; err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return db, nil
}

// migrateHostKeys moves the tables that were keyed by container name alone,
// before refit knew of hosts, to a key of host and name, every row to
// models.LocalHost. SQLite cannot change a primary key in place, so each
// table is renamed, created anew and refilled, in one transaction: a crash
// half way leaves the old table as it was.
func migrateHostKeys(db *gorm.DB) error {
	for _, model := range []any{&models.Toggle{}, &models.RecreateState{}} {
		m := db.Migrator()
		if !m.HasTable(model) || m.HasColumn(model, "Host") {
			continue
		}
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(model); err != nil {
			return err
		}
		table, old := stmt.Schema.Table, stmt.Schema.Table+"_before_hosts"
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Migrator().RenameTable(table, old); err != nil {
				return err
			}
			if err := tx.Migrator().CreateTable(model); err != nil {
				return err
			}
			cols, err := tx.Migrator().ColumnTypes(old)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(cols))
			for _, c := range cols {
				names = append(names, "`"+c.Name()+"`")
			}
			list := strings.Join(names, ", ")
			if err := tx.Exec("INSERT INTO `"+table+"` (`host`, "+list+") SELECT ?, "+list+" FROM `"+old+"`", models.LocalHost).Error; err != nil {
				return err
			}
			return tx.Migrator().DropTable(old)
		})
		if err != nil {
			return fmt.Errorf("migrate %s to host keys: %w", table, err)
		}
	}
	return nil
}
