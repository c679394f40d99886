package fake

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"refit/models"
)

// SetShell gives the container (ID or name) /bin/sh, or takes it away.
func (e *Engine) SetShell(idOrName string, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(idOrName); c != nil {
		c.Shell = on
	}
}

// File returns what scripts in the container appended to path.
func (e *Engine) File(idOrName, path string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(idOrName); c != nil {
		return c.Files[path]
	}
	return ""
}

// Exec implements services.Updater for sh -c scripts of a few commands
// joined by ; (echo, with >&2 or >> file; sleep; exit), which is what the
// conformance suite and the hook tests run. Any other executable is missing,
// as in an image with nothing but its program.
func (e *Engine) Exec(ctx context.Context, id string, cmd []string) (models.ExecResult, error) {
	e.mu.Lock()
	if e.ListErr != nil {
		e.mu.Unlock()
		return models.ExecResult{}, fmt.Errorf("exec in %s: %w", id, e.ListErr)
	}
	c := e.find(id)
	switch {
	case c == nil:
		e.mu.Unlock()
		return models.ExecResult{}, fmt.Errorf("exec in %s: %w", id, models.ErrContainerNotFound)
	case !c.Running:
		e.mu.Unlock()
		return models.ExecResult{}, fmt.Errorf("exec in %s: %w", id, models.ErrNotRunning)
	case len(cmd) == 0 || !c.Shell || cmd[0] != "sh" || len(cmd) != 3 || cmd[1] != "-c":
		e.mu.Unlock()
		name := "?"
		if len(cmd) > 0 {
			name = cmd[0]
		}
		return models.ExecResult{}, fmt.Errorf("exec in %s: %s: %w", id, name, models.ErrExecNotFound)
	}
	e.mu.Unlock()
	var out strings.Builder
	for _, stmt := range strings.Split(cmd[2], ";") {
		f := strings.Fields(stmt)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "exit":
			n, _ := strconv.Atoi(f[1])
			return models.ExecResult{ExitCode: n, Output: out.String()}, nil
		case "sleep":
			s, _ := strconv.ParseFloat(f[1], 64)
			select {
			case <-time.After(time.Duration(s * float64(time.Second))):
			case <-ctx.Done():
				return models.ExecResult{Output: out.String()}, fmt.Errorf("exec in %s: %w", id, ctx.Err())
			}
		case "echo":
			args := f[1:]
			if n := len(args); n >= 2 && args[n-2] == ">>" {
				e.mu.Lock()
				if c.Files == nil {
					c.Files = map[string]string{}
				}
				c.Files[args[n-1]] += strings.Join(args[:n-2], " ") + "\n"
				e.mu.Unlock()
				continue
			}
			if n := len(args); n >= 1 && args[n-1] == ">&2" {
				args = args[:n-1]
			}
			out.WriteString(strings.Join(args, " ") + "\n")
		default:
			return models.ExecResult{ExitCode: 127, Output: out.String() + "sh: " + f[0] + ": not found\n"}, nil
		}
	}
	return models.ExecResult{Output: out.String()}, nil
}
