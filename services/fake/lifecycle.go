package fake

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"refit/models"
)

// logTime is how the engine writes a log line's time (docker logs -t): RFC
// 3339 with all nine digits of the nanoseconds.
const logTime = "2006-01-02T15:04:05.000000000Z07:00"

// logLine is one line of a container's log, as the engine received it.
type logLine struct {
	at   time.Time
	text string
}

// Create adds a container that was created and never started ("created").
func (e *Engine) Create(id, name, configured, imageID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.containers[id] = &Container{Container: models.Container{ID: id, Name: name,
		ConfiguredImage: configured, ImageID: imageID, Created: time.Now()}}
}

// SetLogs makes lines the log of the container with that ID or name, each
// received now, in order, with times that never repeat.
func (e *Engine) SetLogs(idOrName string, lines ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.find(idOrName)
	if c == nil {
		return
	}
	c.logs = c.logs[:0]
	var last time.Time
	for _, l := range lines {
		at := time.Now()
		if !at.After(last) {
			at = last.Add(time.Nanosecond)
		}
		last = at
		c.logs = append(c.logs, logLine{at: at, text: l})
	}
}

// SetTTY gives the container a terminal, as docker run -t does.
func (e *Engine) SetTTY(idOrName string, tty bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(idOrName); c != nil {
		c.TTY = tty
	}
}

// AddVolume gives the container a new anonymous volume and returns its name.
func (e *Engine) AddVolume(idOrName string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.find(idOrName)
	if c == nil {
		return ""
	}
	v := newID()
	c.Volumes = append(c.Volumes, v)
	e.volumes[v] = true
	return v
}

// VolumeExists reports whether the anonymous volume is still there.
func (e *Engine) VolumeExists(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.volumes[name]
}

// All implements services.Updater.
func (e *Engine) All(ctx context.Context) ([]models.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ListErr != nil {
		return nil, e.ListErr
	}
	out := make([]models.Container, 0, len(e.containers))
	for _, c := range e.containers {
		out = append(out, e.listed(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// target resolves id for op as the adapter does: unknown is
// models.ErrContainerNotFound, one being recreated models.ErrConflict.
// Called with e.mu held.
func (e *Engine) target(op, id string) (*Container, error) {
	if e.ListErr != nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, e.ListErr)
	}
	c := e.find(id)
	if c == nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, models.ErrContainerNotFound)
	}
	if e.busy[c.Name] || e.busy[strings.TrimSuffix(c.Name, OldSuffix)] {
		return nil, fmt.Errorf("%s %s: it is being recreated: %w", op, c.Name, models.ErrConflict)
	}
	return c, nil
}

// stopped waits for the stop asked for c to end, or for ctx; the stop goes on
// without its caller, as in the engine.
func (e *Engine) stopped(ctx context.Context, op string, c *Container) error {
	select {
	case <-e.stopAsync(c.ID):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", op, c.Name, ctx.Err())
	}
}

// Start implements services.Updater. A running container is left alone; a
// stop in flight ends first.
func (e *Engine) Start(ctx context.Context, id string) error {
	e.mu.Lock()
	c, err := e.target("start", id)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.waitStop(ctx, "start", c); err != nil {
		return err
	}
	e.start(c.ID)
	return nil
}

// waitStop waits for a stop already in flight, without asking for one.
func (e *Engine) waitStop(ctx context.Context, op string, c *Container) error {
	e.mu.Lock()
	done := c.stopping
	e.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", op, c.Name, ctx.Err())
	}
}

// Stop implements services.Updater: it takes the container's StopTime. A
// stopped container is left alone.
func (e *Engine) Stop(ctx context.Context, id string) error {
	e.mu.Lock()
	c, err := e.target("stop", id)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.stopped(ctx, "stop", c)
}

// Restart implements services.Updater: Stop, then start, keeping the ID.
func (e *Engine) Restart(ctx context.Context, id string) error {
	e.mu.Lock()
	c, err := e.target("restart", id)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.stopped(ctx, "restart", c); err != nil {
		return err
	}
	e.start(c.ID)
	return nil
}

// Remove implements services.Updater: a running container is stopped first,
// taking its StopTime; its anonymous volumes go only with volumes.
func (e *Engine) Remove(ctx context.Context, id string, volumes bool) error {
	e.mu.Lock()
	c, err := e.target("remove", id)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.stopped(ctx, "remove", c); err != nil {
		return err
	}
	e.mu.Lock()
	if e.containers[c.ID] != c {
		e.mu.Unlock()
		return fmt.Errorf("remove %s: %w", id, models.ErrContainerNotFound)
	}
	if volumes {
		for _, v := range c.Volumes {
			if !e.mountedElsewhere(v, c) {
				delete(e.volumes, v)
			}
		}
	}
	e.mu.Unlock()
	e.remove(c.ID)
	return nil
}

// mountedElsewhere reports whether a container other than c mounts volume
// v; the engine keeps such a volume. Called with e.mu held.
func (e *Engine) mountedElsewhere(v string, c *Container) bool {
	for _, o := range e.containers {
		if o != c && slices.Contains(o.Volumes, v) {
			return true
		}
	}
	return false
}

// Logs implements services.Updater over the lines SetLogs gave: the last
// Tail, then those at or after Since, as the engine's json-file log does.
func (e *Engine) Logs(ctx context.Context, id string, o models.LogOptions) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ListErr != nil {
		return "", fmt.Errorf("logs of %s: %w", id, e.ListErr)
	}
	c := e.find(id)
	if c == nil {
		return "", fmt.Errorf("logs of %s: %w", id, models.ErrContainerNotFound)
	}
	lines := c.logs
	if o.Tail > 0 && o.Tail < len(lines) {
		lines = lines[len(lines)-o.Tail:]
	}
	end := "\n"
	if c.TTY {
		end = "\r\n" // the terminal's line discipline
	}
	var b strings.Builder
	for _, l := range lines {
		if !o.Since.IsZero() && l.at.Before(o.Since) {
			continue
		}
		if o.Timestamps {
			b.WriteString(l.at.UTC().Format(logTime) + " ")
		}
		b.WriteString(l.text + end)
	}
	return b.String(), nil
}
