package services

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"refit/models"
)

// outboxKeep is how many ended messages the outbox keeps.
const outboxKeep = 500

// failureLogEvery is how often one target's failures are logged at Warn;
// the others go to Debug, so a dead target does not flood the log.
const failureLogEvery = time.Hour

// enqueue queues m for each target, due now.
func (n *Notifier) enqueue(tx *gorm.DB, ts []target, event string, m models.Message) error {
	now := n.opts.Now().UTC()
	rows := make([]models.Notification, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, models.Notification{Target: t.Name, Event: event, Title: m.Title, Body: m.Body,
			State: models.NotifyQueued, NextAt: now, CreatedAt: now})
	}
	return tx.Create(&rows).Error
}

// wake tells the worker there is something new to send.
func (n *Notifier) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Start runs the worker until Close: it delivers what is due, what an
// earlier run left queued first.
func (n *Notifier) Start() {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.run()
	}()
}

// Close stops the worker and waits for it. A message being sent then stays
// queued, and is sent again after the next start: twice rather than never.
func (n *Notifier) Close() {
	n.cancel()
	n.wg.Wait()
}

func (n *Notifier) run() {
	for {
		if n.ctx.Err() != nil {
			return
		}
		next, err := n.deliverDue()
		if err != nil && n.ctx.Err() == nil {
			n.log.Error("notifications: outbox not read", "error", err)
			next = n.opts.Now().Add(time.Minute)
		}
		// At least once a minute: `refit self-update` and the like write
		// records from another process, which cannot wake this one.
		wait := time.After(time.Minute)
		if !next.IsZero() && next.Sub(n.opts.Now()) < time.Minute {
			wait = time.After(max(0, next.Sub(n.opts.Now())))
		}
		select {
		case <-n.ctx.Done():
			return
		case <-n.kick:
		case <-wait:
		}
	}
}

// deliverDue starts sending every queued message that is due, each
// target's in order on a goroutine of its own, so a slow target holds up
// only its own messages; a target still busy is left until it is done. It
// returns when the next queued message of an idle target is due (zero for
// none).
func (n *Notifier) deliverDue() (time.Time, error) {
	// Read the queue under busyMu: a target's goroutine saves its last
	// message before it releases the target, so a message read here as
	// queued of a target that is not busy has not been sent (read before
	// the lock, it could be one that was sent meanwhile, and go twice).
	n.busyMu.Lock()
	var queued []models.Notification
	if err := n.db.Where("state = ?", models.NotifyQueued).Order("id").Find(&queued).Error; err != nil {
		n.busyMu.Unlock()
		return time.Time{}, err
	}
	now := n.opts.Now().UTC()
	due := map[string][]models.Notification{}
	var next time.Time
	for _, m := range queued {
		switch {
		case n.busy[m.Target]:
		case !m.NextAt.After(now):
			due[m.Target] = append(due[m.Target], m)
		case next.IsZero() || m.NextAt.Before(next):
			next = m.NextAt
		}
	}
	for name := range due {
		n.busy[name] = true
	}
	n.busyMu.Unlock()
	if len(due) == 0 {
		return next, nil
	}
	ts, err := n.targets()
	if err != nil {
		n.release(due)
		return time.Time{}, err
	}
	byName := map[string]target{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	for name, ms := range due {
		t, ok := byName[name]
		n.wg.Go(func() {
			defer func() {
				n.release(map[string][]models.Notification{name: nil})
				n.prune()
				n.wake() // its later messages may be due by now
			}()
			for _, m := range ms {
				if n.ctx.Err() != nil {
					return
				}
				n.try(t, ok, m)
			}
		})
	}
	return next, nil
}

func (n *Notifier) release(targets map[string][]models.Notification) {
	n.busyMu.Lock()
	defer n.busyMu.Unlock()
	for name := range targets {
		delete(n.busy, name)
	}
}

// try sends m once and writes down how it went: sent, queued for its next
// try, or failed with the last error once the tries are used up.
func (n *Notifier) try(t target, exists bool, m models.Notification) {
	var err error
	if exists {
		err = n.send.Send(n.ctx, t.url, models.Message{Title: m.Title, Body: m.Body})
	} else {
		err = errors.New("the target was removed")
	}
	if n.ctx.Err() != nil {
		return // a stop cut it short: the message stays queued for the next start
	}
	m.Attempts++
	now := n.opts.Now().UTC()
	switch {
	case err == nil:
		m.State, m.Error, m.DoneAt = models.NotifySent, "", now
	case !exists || m.Attempts > len(n.opts.Retry):
		m.State, m.DoneAt = models.NotifyFailed, now
	default:
		m.NextAt = now.Add(n.opts.Retry[m.Attempts-1])
	}
	if err != nil {
		m.Error = models.ScrubNotify(err.Error(), t.url)
		if exists {
			n.logFailure(t, errors.New(m.Error), m.Attempts, m.State == models.NotifyFailed)
		}
	}
	if derr := n.db.Save(&m).Error; derr != nil {
		n.log.Error("outbox not updated", "target", m.Target, "error", derr)
	}
	if m.State != models.NotifyQueued {
		n.observe(m.Event, m.State == models.NotifySent)
	}
}

// logFailure logs a target's failure at Warn once an hour per target, and
// at Debug otherwise.
func (n *Notifier) logFailure(t target, err error, attempt int, final bool) {
	n.logMu.Lock()
	now := n.opts.Now()
	loud := now.Sub(n.loggedAt[t.Name]) >= failureLogEvery
	if loud {
		n.loggedAt[t.Name] = now
	}
	n.logMu.Unlock()
	attrs := []any{"target", t.Name, "url", t.URL, "attempt", attempt, "gave_up", final, "error", err}
	if loud {
		n.log.Warn("notification not delivered; further failures of this target are logged at debug for an hour", attrs...)
	} else {
		n.log.Debug("notification not delivered", attrs...)
	}
}

// prune keeps the last outboxKeep ended messages.
func (n *Notifier) prune() {
	var cut models.Notification
	res := n.db.Where("state <> ?", models.NotifyQueued).Order("id desc").Offset(outboxKeep).Limit(1).Find(&cut)
	if res.Error == nil && res.RowsAffected > 0 {
		n.db.Where("state <> ? AND id <= ?", models.NotifyQueued, cut.ID).Delete(&models.Notification{})
	}
}

// Wait blocks until no message is queued or ctx ends; tests and a stop
// that wants the outbox empty use it.
func (n *Notifier) Wait(ctx context.Context) error {
	for {
		var queued int64
		if err := n.db.Model(&models.Notification{}).Where("state = ?", models.NotifyQueued).Count(&queued).Error; err != nil {
			return err
		}
		if queued == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
