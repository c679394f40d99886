package services

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// ImageDescriber reads what an image in a registry says of itself (its
// config's labels), by manifest digest. services/oci implements it.
type ImageDescriber interface {
	Describe(ctx context.Context, ref, digest string) (models.ImageFacts, error)
}

// DescribeOptions configure Descriptions.
type DescribeOptions struct {
	// DockerHub reads Docker Hub images too (-describe-remote): each read
	// is a manifest GET, which Docker Hub counts against the pull limit.
	DockerHub bool
	// Concurrency is how many reads run at once; 2 when 0.
	Concurrency int
}

// describeTimeout bounds one read, its manifest and config GETs.
const describeTimeout = 30 * time.Second

// Descriptions learns what the new image of each outdated group says of
// itself (version, source, build date), so the dashboard can tell what an
// update brings. It reads each new digest once, after a check and off its
// path, a few at a time, and keeps the answer in SQLite; Docker Hub images
// only when DockerHub is set.
type Descriptions struct {
	db   *gorm.DB
	reg  ImageDescriber
	log  *slog.Logger
	opts DescribeOptions
	sem  chan struct{}
	ver  atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	known   map[string]models.ImageFacts // by digest
	reading map[string]bool
}

// NewDescriptions loads what earlier runs read. Close stops the reads.
func NewDescriptions(db *gorm.DB, reg ImageDescriber, log *slog.Logger, opts DescribeOptions) (*Descriptions, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	var rows []models.ImageDescription
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read image descriptions: %w", err)
	}
	d := &Descriptions{db: db, reg: reg, log: log, opts: opts, sem: make(chan struct{}, opts.Concurrency),
		known: make(map[string]models.ImageFacts, len(rows)), reading: map[string]bool{}}
	for _, r := range rows {
		d.known[r.Digest] = r.Facts()
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// Close stops the reads in flight and waits for them.
func (d *Descriptions) Close() {
	d.cancel()
	d.wg.Wait()
}

// Version changes whenever a description is learnt: the dashboard's cache
// keys on it.
func (d *Descriptions) Version() uint64 { return d.ver.Load() }

// skipped reports whether refit does not read image's registry: Docker
// Hub, unless the user opted in.
func (d *Descriptions) skipped(image string) bool {
	ref, err := parseImageRef(image)
	return err != nil || (ref.Registry() == "docker.io" && !d.opts.DockerHub)
}

// Learn starts reading, in the background, the new digest of every
// outdated group not read yet; Containers.OnCheck calls it after a check.
func (d *Descriptions) Learn(groups []models.ImageGroup) {
	for _, g := range groups {
		if g.RemoteFull == "" || g.OutdatedCount() == 0 || d.skipped(g.Image) {
			continue
		}
		d.mu.Lock()
		_, known := d.known[g.RemoteFull]
		busy := d.reading[g.RemoteFull] || d.ctx.Err() != nil
		if !known && !busy {
			d.reading[g.RemoteFull] = true
			d.wg.Add(1)
		}
		d.mu.Unlock()
		if known || busy {
			continue
		}
		go d.read(g.Image, g.RemoteFull)
	}
}

func (d *Descriptions) read(image, digest string) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		delete(d.reading, digest)
		d.mu.Unlock()
	}()
	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-d.ctx.Done():
		return
	}
	ref, err := parseImageRef(image)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, describeTimeout)
	defer cancel()
	f, err := d.reg.Describe(ctx, ref.Remote, digest)
	if err != nil {
		// Asked again after the next check; the row says nothing meanwhile.
		d.log.Debug("image not described", "image", image, "digest", digest, "error", err)
		return
	}
	row := models.ImageDescription{Digest: digest, Version: f.Version, Source: f.Source, Created: f.Created, ReadAt: time.Now()}
	if err := d.db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		d.log.Warn("image description not kept", "digest", digest, "error", err)
	}
	d.mu.Lock()
	d.known[digest] = f
	d.mu.Unlock()
	d.ver.Add(1)
}

// Of is what the group's new image says of itself, when known, and
// otherwise why the row cannot say (models.NoteDockerHub), or "".
func (d *Descriptions) Of(g models.ImageGroup) (models.ImageFacts, string) {
	if d == nil || g.RemoteFull == "" {
		return models.ImageFacts{}, ""
	}
	d.mu.Lock()
	f, ok := d.known[g.RemoteFull]
	d.mu.Unlock()
	if ok {
		return f, ""
	}
	if d.skipped(g.Image) {
		return models.ImageFacts{}, models.NoteDockerHub
	}
	return models.ImageFacts{}, ""
}

// DescribeWith makes Groups tell what each group's new image says of
// itself, from d, and has d learn the new digests after every check. Call
// it before the first check.
func (s *Containers) DescribeWith(d *Descriptions) {
	s.describe = d
	s.OnCheck(d.Learn)
}

// DescribedVersion changes whenever Groups would tell more of a new image.
func (s *Containers) DescribedVersion() uint64 {
	if s.describe == nil {
		return 0
	}
	return s.describe.Version()
}
