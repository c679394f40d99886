package dockerengine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"

	"refit/models"
)

// maxExecOutput bounds what Exec keeps of a command's output: a hook that
// prints without end must not fill refit's memory or its history.
const maxExecOutput = 4 << 10

// Exec implements services.Updater through the engine's exec API: create,
// attach, read to the end, then inspect for the exit code. A missing
// executable shows up differently across engine versions (an error from
// the start, or exit code 126/127 with the runtime's message in the
// stream); both become models.ErrExecNotFound.
func (e *Engine) Exec(ctx context.Context, id string, cmd []string) (models.ExecResult, error) {
	c, err := e.inspect(ctx, "exec in", id)
	if err != nil {
		return models.ExecResult{}, err
	}
	if c.State == nil || !c.State.Running {
		return models.ExecResult{}, fmt.Errorf("exec in %s: %w", id, models.ErrNotRunning)
	}
	cr, err := e.cli.ContainerExecCreate(ctx, c.ID, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return models.ExecResult{}, execError(id, cmd, gone("exec in", id, err))
	}
	hj, err := e.cli.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{})
	if err != nil {
		return models.ExecResult{}, execError(id, cmd, gone("exec in", id, err))
	}
	var out limited
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&out, &out, hj.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		hj.Close() // the command goes on inside; we stop waiting, as Watchtower's timeout does
		<-done
		return models.ExecResult{Output: out.String()}, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
	hj.Close()
	if err != nil && err != io.EOF {
		return models.ExecResult{Output: out.String()}, fmt.Errorf("exec in %s: %w", id, err)
	}
	ins, err := e.cli.ContainerExecInspect(ctx, cr.ID)
	if err != nil {
		return models.ExecResult{Output: out.String()}, fmt.Errorf("exec in %s: %w", id, err)
	}
	res := models.ExecResult{ExitCode: ins.ExitCode, Output: out.String()}
	if (res.ExitCode == 126 || res.ExitCode == 127) && notFound(res.Output) {
		return res, fmt.Errorf("exec in %s: %s: %w", id, cmd[0], models.ErrExecNotFound)
	}
	return res, nil
}

// execError maps an engine's refusal to start a missing executable.
func execError(id string, cmd []string, err error) error {
	if notFound(err.Error()) && !errdefs.IsNotFound(err) {
		return fmt.Errorf("exec in %s: %s: %w", id, cmd[0], models.ErrExecNotFound)
	}
	return err
}

func notFound(s string) bool {
	return strings.Contains(s, "executable file not found") || strings.Contains(s, "no such file or directory")
}

// limited keeps the first maxExecOutput bytes and drops the rest.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxExecOutput - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
