package handlers

import (
	"errors"
	"fmt"
	"testing"

	"refit/models"
)

func TestClassifyShowsContractTextsAndNeverRawErrors(t *testing.T) {
	unwritable := models.NewKind("database not writable: disk is full; updates are refused until it is", models.ErrUnavailable)
	for _, tc := range []struct {
		err    error
		status int
		text   string
	}{
		{fmt.Errorf("container %q: %w", "x", models.ErrContainerNotFound), 404, "container not found"},
		{fmt.Errorf("%w (database or disk is full: /secret/path)", unwritable), 503, unwritable.Error()},
		{fmt.Errorf("engine: %w", models.ErrUnavailable), 503, "unavailable"},
		{fmt.Errorf("bad name: %w", models.ErrInvalid), 400, "bad name: invalid input"},
		{errors.New("dial unix /var/run/docker.sock: permission denied"), 500, "internal error"},
	} {
		status, text := classify(tc.err)
		if status != tc.status || text != tc.text {
			t.Errorf("classify(%v) = %d %q, want %d %q", tc.err, status, text, tc.status, tc.text)
		}
	}
}
