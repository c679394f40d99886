package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"refit/models"
)

// Sender delivers one message through a notification URL. Errors never
// quote the URL's secrets.
type Sender interface {
	// Check reads url as Send would, without sending anything.
	Check(url string) error
	// Send delivers m, and returns within the sender's own timeout.
	Send(ctx context.Context, url string, m models.Message) error
}

// ConfigTarget is a -notify entry: a target that lives in the
// configuration, not in the database.
type ConfigTarget struct {
	Name   string
	URL    string
	Events []string // none means every event
}

// NotifyOptions configure a Notifier.
type NotifyOptions struct {
	Config []ConfigTarget // from -notify, checked already
	// Retry is the wait before each try after the first; a message is
	// failed once they are used up. Default: 1 minute, then 4 (3 tries over
	// about 5 minutes).
	Retry    []time.Duration
	Policies *Policies // skipped and snoozed candidates are not announced
	Now      func() time.Time
	// Observe, when set, sees every message that ended: its event and
	// whether it was sent; metrics count them here.
	Observe func(event string, sent bool)
}

// DefaultRetry is the wait before the second and the third try.
var DefaultRetry = []time.Duration{time.Minute, 4 * time.Minute}

// Notifier turns checks and update outcomes into messages for the targets
// that want them, and keeps them in an outbox in SQLite that one worker
// delivers from: nothing is sent on a check's or an update's path, so a
// dead target never slows either, and what is queued at a stop is sent
// after the next start.
type Notifier struct {
	db     *gorm.DB
	send   Sender
	ctr    *Containers
	log    *slog.Logger
	opts   NotifyOptions
	config []ConfigTarget

	mu     sync.Mutex // targets added and removed; the announce step
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	busyMu sync.Mutex
	busy   map[string]bool // targets a goroutine is sending to

	logMu    sync.Mutex
	loggedAt map[string]time.Time // a target's last logged failure: once an hour
}

// NewNotifier returns a Notifier over db; Start runs its worker.
func NewNotifier(db *gorm.DB, send Sender, ctr *Containers, log *slog.Logger, opts NotifyOptions) *Notifier {
	if opts.Retry == nil {
		opts.Retry = DefaultRetry
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{db: db, send: send, ctr: ctr, log: log, opts: opts, config: opts.Config,
		kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel, busy: map[string]bool{}, loggedAt: map[string]time.Time{}}
}

// target is a target with its secret URL, wherever it comes from.
type target struct {
	models.TargetInfo
	url string
}

func (t target) wants(event string) bool {
	return len(t.Events) == 0 || slices.Contains(t.Events, event)
}

func info(name, raw string, events []string, source string) models.TargetInfo {
	typ := models.NotifyType(raw)
	if len(events) == 0 {
		events = slices.Clone(models.Events)
	}
	return models.TargetInfo{ID: typ + "." + name, Name: name, Type: typ, URL: models.MaskNotifyURL(raw),
		Events: events, Source: source}
}

// targets are the -notify targets, then the admins' in the order added.
func (n *Notifier) targets() ([]target, error) {
	var rows []models.NotifyTarget
	if err := n.db.Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read notification targets: %w", err)
	}
	out := make([]target, 0, len(n.config)+len(rows))
	for _, c := range n.config {
		out = append(out, target{TargetInfo: info(c.Name, c.URL, c.Events, models.TargetFromConfig), url: c.URL})
	}
	for _, r := range rows {
		ti := info(r.Name, r.URL, r.Events, models.TargetFromAdmin)
		ti.CreatedBy, ti.CreatedAt = r.CreatedBy, r.CreatedAt
		out = append(out, target{TargetInfo: ti, url: r.URL})
	}
	return out, nil
}

// Targets lists every target, URLs masked.
func (n *Notifier) Targets() ([]models.TargetInfo, error) {
	ts, err := n.targets()
	if err != nil {
		return nil, err
	}
	out := make([]models.TargetInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.TargetInfo)
	}
	return out, nil
}

func (n *Notifier) find(name string) (target, error) {
	ts, err := n.targets()
	if err != nil {
		return target{}, err
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return target{}, fmt.Errorf("target %q: %w", name, models.ErrTargetNotFound)
}

// CheckTarget validates a target before it is kept: its name, its events
// and its URL, as the sender reads it. The error names the URL masked.
func CheckTarget(send Sender, name, raw string, events []string) error {
	if !models.ValidHostName(name) || len(name) > 64 {
		return fmt.Errorf("target %q: %w", name, models.ErrBadTargetName)
	}
	for _, e := range events {
		if !slices.Contains(models.Events, e) {
			return fmt.Errorf("event %q: %w", e, models.ErrUnknownEvent)
		}
	}
	if strings.TrimSpace(raw) == "" {
		return fmt.Errorf("%w: target %s: empty URL", models.ErrInvalid, name)
	}
	if err := send.Check(raw); err != nil {
		return fmt.Errorf("%w: URL %s: %s", models.ErrInvalid, models.MaskNotifyURL(raw), models.ScrubNotify(err.Error(), raw))
	}
	return nil
}

// AddTarget keeps a new target that by (an admin) added.
func (n *Notifier) AddTarget(by string, add models.TargetAdd) (models.TargetInfo, error) {
	add.Name, add.URL = strings.TrimSpace(add.Name), strings.TrimSpace(add.URL)
	if err := CheckTarget(n.send, add.Name, add.URL, add.Events); err != nil {
		return models.TargetInfo{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.find(add.Name); err == nil {
		return models.TargetInfo{}, fmt.Errorf("target %q: %w", add.Name, models.ErrTargetExists)
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.TargetInfo{}, err
	}
	row := models.NotifyTarget{Name: add.Name, URL: add.URL, Events: add.Events, CreatedBy: by, CreatedAt: n.opts.Now().UTC()}
	if err := n.db.Create(&row).Error; err != nil {
		return models.TargetInfo{}, fmt.Errorf("add notification target: %w", err)
	}
	ti := info(row.Name, row.URL, row.Events, models.TargetFromAdmin)
	ti.CreatedBy, ti.CreatedAt = row.CreatedBy, row.CreatedAt
	return ti, nil
}

// RemoveTarget removes an admin's target; its queued messages fail.
func (n *Notifier) RemoveTarget(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.find(name)
	if err != nil {
		return err
	}
	if t.Source == models.TargetFromConfig {
		return fmt.Errorf("target %q: %w", name, models.ErrTargetFromFlag)
	}
	if err := n.db.Delete(&models.NotifyTarget{}, "name = ?", name).Error; err != nil {
		return fmt.Errorf("remove notification target: %w", err)
	}
	return nil
}

// Outbox returns the last limit messages, newest first.
func (n *Notifier) Outbox(limit int) ([]models.Notification, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	out := []models.Notification{}
	if err := n.db.Order("id desc").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// Test sends a test message to every target now, in parallel, and says
// which did not take it. The messages are kept in the outbox.
func (n *Notifier) Test(ctx context.Context) (models.TestResult, error) {
	ts, err := n.targets()
	if err != nil {
		return models.TestResult{}, err
	}
	m := testMessage(n.opts.Now())
	res := models.TestResult{Failed: []models.TargetFailure{}}
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() { errs[i] = n.sendNow(ctx, t, models.EventTest, m) })
	}
	wg.Wait()
	for i, t := range ts {
		if errs[i] != nil {
			res.Failed = append(res.Failed, models.TargetFailure{Target: t.Name, Error: errs[i].Error()})
		} else {
			res.Sent++
		}
	}
	return res, nil
}

// sendNow sends m through t at once and keeps it in the outbox as sent or
// failed. The error is the scrubbed reason.
func (n *Notifier) sendNow(ctx context.Context, t target, event string, m models.Message) error {
	row := models.Notification{Target: t.Name, Event: event, Title: m.Title, Body: m.Body, Attempts: 1,
		CreatedAt: n.opts.Now().UTC()}
	err := n.send.Send(ctx, t.url, m)
	row.DoneAt = n.opts.Now().UTC()
	row.State = models.NotifySent
	if err != nil {
		err = errors.New(models.ScrubNotify(err.Error(), t.url))
		row.State, row.Error = models.NotifyFailed, err.Error()
		n.logFailure(t, err, 1, true)
	}
	if derr := n.db.Create(&row).Error; derr != nil {
		n.log.Error("outbox not recorded", "target", t.Name, "error", derr)
	}
	n.observe(event, err == nil)
	return err
}

func (n *Notifier) observe(event string, sent bool) {
	if n.opts.Observe != nil {
		n.opts.Observe(event, sent)
	}
}

// Triggers are the targets that apply to a container, as Drydock lists
// them: none for one labelled refit.notify=false.
func (n *Notifier) Triggers(c models.DrydockContainer) ([]models.DrydockTrigger, error) {
	out := []models.DrydockTrigger{}
	if c.Labels[models.LabelNotify] == "false" {
		return out, nil
	}
	ts, err := n.targets()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out = append(out, trigger(t))
	}
	return out, nil
}

func trigger(t target) models.DrydockTrigger {
	return models.DrydockTrigger{ID: t.ID, Type: t.Type, Name: t.Name, Configuration: map[string]string{
		"url": t.URL, "events": strings.Join(t.Events, ","), "source": t.Source}}
}

// RunTrigger sends the container's current state through the target of
// that type and name now. Returns models.ErrTriggerNotFound for none, and
// an error wrapping models.ErrNotDelivered when the service refused it.
func (n *Notifier) RunTrigger(ctx context.Context, c models.DrydockContainer, typ, name string) error {
	ts, err := n.Triggers(c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ts, func(t models.DrydockTrigger) bool { return t.Type == typ && t.Name == name }) {
		return fmt.Errorf("trigger %s.%s: %w", typ, name, models.ErrTriggerNotFound)
	}
	t, err := n.find(name)
	if err != nil {
		return fmt.Errorf("trigger %s.%s: %w", typ, name, models.ErrTriggerNotFound)
	}
	if err := n.sendNow(ctx, t, models.EventTrigger, stateMessage(c, n.several())); err != nil {
		return models.NewKind("notification not delivered: "+err.Error(), models.ErrNotDelivered)
	}
	return nil
}

func (n *Notifier) several() bool { return n.ctr != nil && n.ctr.Several() }

// Checked is the OnCheck hook: it announces every container that newly
// has a candidate, in one message per target that wants available,
// skipping held candidates and containers labelled refit.notify=false. A
// candidate announced once is never announced again.
func (n *Notifier) Checked(groups []models.ImageGroup) {
	n.mu.Lock()
	defer n.mu.Unlock()
	seen, err := n.announced(groups)
	if err != nil {
		n.log.Error("notifications: announcements not read", "error", err)
		return
	}
	ts, err := n.targets()
	if err != nil {
		n.log.Error("notifications: targets not read", "error", err)
		return
	}
	ts = slices.DeleteFunc(ts, func(t target) bool { return !t.wants(models.EventAvailable) })
	if len(ts) == 0 {
		return // nothing is announced, so nothing is marked
	}
	// This check's candidates: a new digest of the tag a container follows,
	// and a newer version tag its tag rule lets it move to (announced by
	// its tag alone: the same tag pushed again is no new candidate).
	var fresh []available
	var marks []models.Announcement
	now := n.opts.Now().UTC()
	for _, g := range groups {
		for _, it := range g.Containers {
			if it.Labels[models.LabelNotify] == "false" {
				continue
			}
			for _, cd := range candidatesOf(g, it) {
				a := models.Announcement{Host: it.Ref.Host, Name: it.Ref.Name, Digest: cd.Digest, Tag: cd.Tag}
				if (cd.Tag != "" && it.Kind == models.KindService) || seen[a] ||
					(n.opts.Policies != nil && n.opts.Policies.Holds(it.Ref, cd)) {
					continue
				}
				seen[a] = true
				fresh = append(fresh, available{image: g.Image, digest: cd.Digest, tag: cd.Tag, ref: it.Ref})
				a.At = now
				marks = append(marks, a)
			}
		}
	}
	if len(fresh) == 0 {
		return
	}
	m := availableMessage(fresh, n.several())
	err = n.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&marks).Error; err != nil {
			return err
		}
		return n.enqueue(tx, ts, models.EventAvailable, m)
	})
	if err != nil {
		n.log.Error("notifications: not queued", "event", models.EventAvailable, "error", err)
		return
	}
	n.wake()
}

// announced reads what was announced on the checked hosts, in one query
// (the check waits for this hook), and drops the announcements of
// candidates a container no longer has (it updated, or the registry moved
// on), so the table holds what is current, not every version ever
// announced. What this check could not tell (a 429, a failed tag list)
// stays, as it does for the minimum age, and so do containers the check
// did not list (stopped, or deleted, whose rows are few). The rest is
// returned as a set, At zeroed.
func (n *Notifier) announced(groups []models.ImageGroup) (map[models.Announcement]bool, error) {
	type key struct {
		ref models.ContainerRef
		cd  models.Candidate
	}
	listed := map[models.ContainerRef]Unknown{}
	current := map[key]bool{}
	var hosts []string
	for _, g := range groups {
		for _, it := range g.Containers {
			if !slices.Contains(hosts, it.Ref.Host) {
				hosts = append(hosts, it.Ref.Host)
			}
			listed[it.Ref] = unknownOf(it)
			for _, cd := range candidatesOf(g, it) {
				current[key{it.Ref, cd}] = true
			}
		}
	}
	seen := map[models.Announcement]bool{}
	if len(hosts) == 0 {
		return seen, nil
	}
	var rows []models.Announcement
	if err := n.db.Where("host IN ?", hosts).Find(&rows).Error; err != nil {
		return nil, err
	}
	var gone []models.Announcement
	for _, a := range rows {
		ref, cd := models.Ref(a.Host, a.Name), models.Candidate{Digest: a.Digest, Tag: a.Tag}
		if unknown, ok := listed[ref]; ok && !current[key{ref, cd}] && !unknown.keeps(cd.Key()) {
			gone = append(gone, a)
			continue
		}
		a.At = time.Time{}
		seen[a] = true
	}
	if len(gone) > 0 {
		if err := n.db.Delete(&gone).Error; err != nil {
			n.log.Error("notifications: announcements not pruned", "error", err)
		}
	}
	return seen, nil
}

// Recorded is the History observer: each update's outcome becomes an
// updated or a failed message for the targets that want it.
func (n *Notifier) Recorded(rec models.UpdateRecord) {
	event, m, ok := recordMessage(rec, n.several())
	if !ok {
		return
	}
	if n.ctr != nil {
		if it, _, err := n.ctr.FindRef(models.Ref(rec.Host, rec.Container)); err == nil && it.Labels[models.LabelNotify] == "false" {
			return
		}
	}
	ts, err := n.targets()
	if err != nil {
		n.log.Error("notifications: targets not read", "error", err)
		return
	}
	ts = slices.DeleteFunc(ts, func(t target) bool { return !t.wants(event) })
	if len(ts) == 0 {
		return
	}
	if err := n.enqueue(n.db, ts, event, m); err != nil {
		n.log.Error("notifications: not queued", "event", event, "error", err)
		return
	}
	n.wake()
}
