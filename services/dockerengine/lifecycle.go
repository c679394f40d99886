package dockerengine

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"

	"refit/models"
)

// inspect resolves the container id names (full ID, short ID or name).
func (e *Engine) inspect(ctx context.Context, op, id string) (container.InspectResponse, error) {
	c, err := e.cli.ContainerInspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return c, fmt.Errorf("%s %s: %w", op, id, models.ErrContainerNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return c, nil
}

// target is inspect for a change. A container being recreated here is
// refused: stopping or removing it would break the recreate's rollback.
func (e *Engine) target(ctx context.Context, op, id string) (container.InspectResponse, error) {
	c, err := e.inspect(ctx, op, id)
	if err != nil {
		return c, err
	}
	name := strings.TrimPrefix(c.Name, "/")
	if e.isBusy(name) || e.isBusy(strings.TrimSuffix(name, OldSuffix)) {
		return c, fmt.Errorf("%s %s: it is being recreated: %w", op, name, models.ErrConflict)
	}
	return c, nil
}

// gone maps an engine's 404 for a container that went after target found it.
func gone(op, id string, err error) error {
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("%s %s: %w", op, id, models.ErrContainerNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, id, err)
}

// Start implements services.Updater. A running container is left alone, as
// the engine does (it answers 304).
func (e *Engine) Start(ctx context.Context, id string) error {
	c, err := e.target(ctx, "start", id)
	if err != nil {
		return err
	}
	if err := e.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return gone("start", id, err)
	}
	return nil
}

// Stop implements services.Updater with the container's own stop signal and
// timeout, as docker stop without -t. Once asked, the engine finishes the
// stop even if ctx ends first.
func (e *Engine) Stop(ctx context.Context, id string) error {
	c, err := e.target(ctx, "stop", id)
	if err != nil {
		return err
	}
	if err := e.cli.ContainerStop(ctx, c.ID, container.StopOptions{}); err != nil {
		return gone("stop", id, err)
	}
	return nil
}

// Restart implements services.Updater: a stop as Stop's, then a start; a
// stopped container is just started. The ID stays.
func (e *Engine) Restart(ctx context.Context, id string) error {
	c, err := e.target(ctx, "restart", id)
	if err != nil {
		return err
	}
	if err := e.cli.ContainerRestart(ctx, c.ID, container.StopOptions{}); err != nil {
		return gone("restart", id, err)
	}
	return nil
}

// Remove implements services.Updater. A running container is first stopped
// as Stop does, so it may shut down cleanly; the remove is then forced in
// case a restart policy brought it back meanwhile. Named volumes always stay.
func (e *Engine) Remove(ctx context.Context, id string, volumes bool) error {
	c, err := e.target(ctx, "remove", id)
	if err != nil {
		return err
	}
	if c.State != nil && (c.State.Running || c.State.Restarting) {
		if err := e.cli.ContainerStop(ctx, c.ID, container.StopOptions{}); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove %s: stop: %w", id, err)
		}
	}
	if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: volumes}); err != nil {
		return gone("remove", id, err)
	}
	return nil
}

// Logs implements services.Updater. Without a TTY the engine multiplexes
// stdout and stderr in one stream, which stdcopy splits; writing both to one
// buffer keeps the engine's order. A TTY's stream is raw, as the terminal
// wrote it ("\r\n" line ends).
func (e *Engine) Logs(ctx context.Context, id string, o models.LogOptions) (string, error) {
	c, err := e.inspect(ctx, "logs of", id)
	if err != nil {
		return "", err
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: o.Timestamps, Tail: "all"}
	if o.Tail > 0 {
		opts.Tail = strconv.Itoa(o.Tail)
	}
	if !o.Since.IsZero() {
		// Seconds with nanoseconds: the engine compares at that precision.
		opts.Since = fmt.Sprintf("%d.%09d", o.Since.Unix(), o.Since.Nanosecond())
	}
	rc, err := e.cli.ContainerLogs(ctx, c.ID, opts)
	if err != nil {
		return "", gone("logs of", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if c.Config != nil && c.Config.Tty {
		_, err = out.ReadFrom(rc)
	} else {
		_, err = stdcopy.StdCopy(&out, &out, rc)
	}
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", id, err)
	}
	return out.String(), nil
}
