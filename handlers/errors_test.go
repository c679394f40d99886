package handlers

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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

// A body past the routes' limit gets the API's text over a real connection.
// (The server's own BodyLimit stays Fiber's 4 MB: refusing from the
// Content-Length closes the connection while the client still writes, and
// the client then sees a reset instead of the 413.)
func TestLargeBodyGetsTheAPITextOverARealConnection(t *testing.T) {
	ta := newTestApp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ta.app.Listener(ln) }()
	t.Cleanup(func() { _ = ta.app.Shutdown() })
	big := `{"user":"` + strings.Repeat("x", 100<<10) + `","pass":"p"}`
	req, _ := http.NewRequest("POST", "http://localhost"+ln.Addr().String()[strings.LastIndex(ln.Addr().String(), ":"):]+"/api/login", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || string(body) != "request body too large\n" {
		t.Errorf("POST /api/login with 100 KiB = %d %q, want 413 request body too large", resp.StatusCode, body)
	}
}
