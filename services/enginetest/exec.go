package enginetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"refit/models"
)

// testExec: what Watchtower's lifecycle hooks need of the engine's exec API.
func testExec(t *testing.T, f Fixture) {
	e := f.Engine()
	id := f.RunWithShell(t, uniqueName("exec"), 1)
	res, err := e.Exec(ctxTimeout(t, 30*time.Second), id, []string{"sh", "-c", "echo out; echo err >&2; exit 3"})
	if err != nil || res.ExitCode != 3 || !strings.Contains(res.Output, "out") || !strings.Contains(res.Output, "err") {
		t.Errorf("Exec = %+v, %v; want exit code 3 with out and err in the output", res, err)
	}
	if res, err := e.Exec(ctxTimeout(t, 30*time.Second), id, []string{"sh", "-c", "exit 75"}); err != nil || res.ExitCode != 75 {
		t.Errorf("Exec exit 75 = %+v, %v", res, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := e.Exec(ctx, id, []string{"sh", "-c", "sleep 5"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec past its deadline = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Exec past its deadline returned after %v, want soon after 300ms", d)
	}
}

func testExecWithoutShell(t *testing.T, f Fixture) {
	e := f.Engine()
	plain := f.RunContainer(t, uniqueName("exec-plain"), 1)
	if _, err := e.Exec(ctxTimeout(t, 30*time.Second), plain, []string{"sh", "-c", "exit 0"}); !errors.Is(err, models.ErrExecNotFound) {
		t.Errorf("Exec of sh in a container without one = %v, want ErrExecNotFound", err)
	}
	f.StopContainer(t, plain)
	if _, err := e.Exec(ctxTimeout(t, 30*time.Second), plain, []string{"sh", "-c", "exit 0"}); !errors.Is(err, models.ErrNotRunning) {
		t.Errorf("Exec in a stopped container = %v, want ErrNotRunning", err)
	}
	if _, err := e.Exec(ctxTimeout(t, 30*time.Second), "enginetest-no-such-container", []string{"sh"}); !errors.Is(err, models.ErrContainerNotFound) {
		t.Errorf("Exec in an unknown container = %v, want ErrContainerNotFound", err)
	}
}
