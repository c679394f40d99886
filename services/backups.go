package services

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/distribution/reference"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// DefaultBackupKeep is how many backups each container keeps by default.
const DefaultBackupKeep = 3

// Backups keeps the image a container ran before each recreate under a tag
// of its own, and a row per backup in SQLite, keyed by host and name so
// they follow the container through its recreates.
type Backups struct {
	db   *gorm.DB
	keep int
	log  *slog.Logger
	now  func() time.Time
}

// NewBackups returns the backups kept in db, keep per container; keep < 1
// takes none.
func NewBackups(db *gorm.DB, keep int, log *slog.Logger) *Backups {
	return &Backups{db: db, keep: keep, log: log, now: time.Now}
}

// List returns the container's backups, newest first.
func (b *Backups) List(ref models.ContainerRef) ([]models.Backup, error) {
	out := []models.Backup{}
	err := b.db.Where("host = ? AND container_name = ?", ref.Host, ref.Name).
		Order("timestamp DESC").Order("rowid DESC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("backups of %s: %w", ref, err)
	}
	for i := range out {
		out[i].TriggerName = "docker." + out[i].Host // Drydock's: the docker trigger that recreates it
	}
	return out, nil
}

// Find returns the container's backup id, or its newest for "".
func (b *Backups) Find(ref models.ContainerRef, id string) (models.Backup, error) {
	all, err := b.List(ref)
	if err != nil {
		return models.Backup{}, err
	}
	for _, bk := range all {
		if id == "" || bk.ID == id {
			return bk, nil
		}
	}
	return models.Backup{}, fmt.Errorf("backup %q of %s: %w", id, ref, models.ErrBackupNotFound)
}

// take tags the image it runs and records it, then prunes the container's
// backups beyond keep. A container that runs an image it has a backup of
// already gets that one restamped, not a second tag.
func (b *Backups) take(ctx context.Context, e Updater, it models.ContainerItem) (models.Backup, error) {
	if b.keep < 1 {
		return models.Backup{}, nil
	}
	now := b.now().UTC()
	all, err := b.List(it.Ref)
	if err != nil {
		return models.Backup{}, err
	}
	for _, bk := range all {
		if img, err := e.Image(ctx, bk.BackupRef); bk.ImageID == it.ImageID && err == nil && img.ID == it.ImageID {
			bk.Timestamp, bk.ContainerID = now, it.FullID
			if err := b.db.Save(&bk).Error; err != nil {
				return models.Backup{}, fmt.Errorf("backup of %s: %w", it.Ref, err)
			}
			b.prune(ctx, e, it.Ref)
			return bk, nil
		}
	}
	bk := models.Backup{ID: backupID(), Host: it.Ref.Host, ContainerName: it.Ref.Name, ContainerID: it.FullID,
		ImageDigest: it.LocalFull, ImageID: it.ImageID, Timestamp: now}
	bk.ImageName, bk.ImageTag = repoAndTag(it.Configured)
	bk.BackupRef = backupRef(it.Ref, now, bk.ID)
	if err := e.TagImage(ctx, it.ImageID, bk.BackupRef); err != nil {
		return models.Backup{}, fmt.Errorf("backup of %s: %w", it.Ref, err)
	}
	if err := b.db.Create(&bk).Error; err != nil {
		_, _ = e.UntagImage(ctx, bk.BackupRef) // no row, no tag: nothing would ever prune it
		return models.Backup{}, fmt.Errorf("backup of %s: %w", it.Ref, err)
	}
	b.prune(ctx, e, it.Ref)
	return bk, nil
}

// prune removes the container's backups beyond keep, newest kept: the tag,
// and the image with it when nothing else holds it. One the engine refuses
// stays, row and tag, and is tried again after the next backup.
func (b *Backups) prune(ctx context.Context, e Updater, ref models.ContainerRef) {
	all, err := b.List(ref)
	if err != nil || len(all) <= b.keep {
		return
	}
	b.drop(ctx, e, ref, all[b.keep:])
}

// forget removes every backup of a container that was deleted: nothing
// could roll back onto them, and their tags keep any prune from the images.
func (b *Backups) forget(ctx context.Context, e Updater, ref models.ContainerRef) {
	if all, err := b.List(ref); err == nil {
		b.drop(ctx, e, ref, all)
	}
}

// drop removes backups of ref: the tag, and the image with it when nothing
// else holds it.
func (b *Backups) drop(ctx context.Context, e Updater, ref models.ContainerRef, bks []models.Backup) {
	for _, bk := range bks {
		removed, err := e.UntagImage(ctx, bk.BackupRef)
		if err != nil && !errors.Is(err, models.ErrImageNotFound) {
			b.log.Info("old backup kept: the engine refused to untag it", "container", ref.String(), "backup", bk.BackupRef, "error", err)
			continue
		}
		if err := b.db.Delete(&models.Backup{}, "id = ?", bk.ID).Error; err != nil {
			b.log.Warn("old backup's row not removed", "container", ref.String(), "backup", bk.BackupRef, "error", err)
			continue
		}
		b.log.Info("old backup removed", "container", ref.String(), "backup", bk.BackupRef, "image_removed", removed)
	}
}

// backupRef is refit-backup/<host>/<name>:<UTC time>-<id>: the host and
// name made into valid path components, the id making the tag unique
// whatever the name became.
func backupRef(ref models.ContainerRef, at time.Time, id string) string {
	return models.BackupRepo + "/" + pathComponent(ref.Host) + "/" + pathComponent(ref.Name) + ":" +
		at.UTC().Format("20060102-150405") + "-" + id
}

var notAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// pathComponent is s lower-cased with every run of other characters one
// "-": always [a-z0-9]+(-[a-z0-9]+)*, a valid reference path component
// (Docker allows "." and "_" only in some runs; container names have any).
func pathComponent(s string) string {
	c := strings.Trim(notAlnum.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(c) > 64 {
		c = strings.TrimRight(c[:64], "-")
	}
	if c == "" {
		return "x"
	}
	return c
}

// repoAndTag is the repository and tag of a configured reference as
// Drydock names them: library/nginx on Docker Hub, 127.0.0.1:5000/app
// elsewhere; the tag "latest" when none is written, "" when it is pinned
// by digest alone.
func repoAndTag(configured string) (string, string) {
	named, err := reference.ParseNormalizedNamed(configured)
	if err != nil {
		return configured, ""
	}
	repo := reference.Path(named)
	if d := reference.Domain(named); d != "docker.io" {
		repo = d + "/" + repo
	}
	if t, ok := named.(reference.Tagged); ok {
		return repo, t.Tag()
	}
	if _, ok := named.(reference.Digested); ok {
		return repo, ""
	}
	return repo, "latest"
}

func backupID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// noteTagMove journals that a rollback is about to point m.Tag at a
// backup's image, before it does.
func (b *Backups) noteTagMove(m models.TagMove) error {
	if err := b.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&m).Error; err != nil {
		return fmt.Errorf("journal tag move of %s: %w", models.Ref(m.Host, m.Name), err)
	}
	return nil
}

// clearTagMove removes the container's tag-move entry: the rollback ended
// with the tag where it should be.
func (b *Backups) clearTagMove(ref models.ContainerRef) error {
	if err := b.db.Delete(&models.TagMove{}, "host = ? AND name = ?", ref.Host, ref.Name).Error; err != nil {
		return fmt.Errorf("clear tag move of %s: %w", ref, err)
	}
	return nil
}

// tagMoves returns the tag moves of rollbacks on host that never ended.
func (b *Backups) tagMoves(host string) ([]models.TagMove, error) {
	var out []models.TagMove
	if err := b.db.Where("host = ?", host).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read tag moves: %w", err)
	}
	return out, nil
}
