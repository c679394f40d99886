package dockerengine_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"refit/models"
	"refit/services/dockerengine"
)

// fakeDaemon answers the version ping and POST /images/create with body,
// and records the X-Registry-Auth header of the pull.
func fakeDaemon(t *testing.T, status int, body string) (*dockerengine.Engine, *string) {
	t.Helper()
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/images/create"):
			auth = r.Header.Get("X-Registry-Auth")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	e, err := dockerengine.New(dockerengine.Options{Host: "tcp://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, &auth
}

func TestPullReportsEachMessageAndSendsCredentials(t *testing.T) {
	stream := `{"status":"Pulling from test/app","id":"1"}
{"status":"Pulling fs layer","progressDetail":{},"id":"a3ed95caeb02"}
{"status":"Downloading","progressDetail":{"current":512,"total":1024},"progress":"[==>  ]","id":"a3ed95caeb02"}
{"status":"Pull complete","progressDetail":{},"id":"a3ed95caeb02"}
{"status":"Digest: sha256:abc"}
`
	e, auth := fakeDaemon(t, http.StatusOK, stream)
	var got []models.PullEvent
	creds := models.RegistryAuth{Username: "u", Password: "s3cret", ServerAddress: "registry.test"}
	if err := e.Pull(t.Context(), "registry.test/test/app:1", creds, func(ev models.PullEvent) { got = append(got, ev) }); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	want := []models.PullEvent{
		{Layer: "1", Status: "Pulling from test/app"},
		{Layer: "a3ed95caeb02", Status: "Pulling fs layer"},
		{Layer: "a3ed95caeb02", Status: "Downloading", Current: 512, Total: 1024},
		{Layer: "a3ed95caeb02", Status: "Pull complete"},
		{Status: "Digest: sha256:abc"},
	}
	if len(got) != len(want) {
		t.Fatalf("events = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	raw, err := base64.URLEncoding.DecodeString(*auth)
	if err != nil {
		t.Fatalf("X-Registry-Auth %q is not base64url: %v", *auth, err)
	}
	var ac struct{ Username, Password, ServerAddress string }
	if err := json.Unmarshal(raw, &ac); err != nil || ac.Username != "u" || ac.Password != "s3cret" || ac.ServerAddress != "registry.test" {
		t.Errorf("X-Registry-Auth decodes to %s (%v), want the credentials", raw, err)
	}
}

func TestPullWithoutCredentialsSendsNoAuthHeader(t *testing.T) {
	e, auth := fakeDaemon(t, http.StatusOK, `{"status":"Status: Image is up to date"}`)
	if err := e.Pull(t.Context(), "registry.test/app:1", models.RegistryAuth{}, nil); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if *auth != "" {
		t.Errorf("X-Registry-Auth = %q, want none", *auth)
	}
}

func TestPullReturnsAnErrorInsideA200Stream(t *testing.T) {
	stream := `{"status":"Pulling fs layer","progressDetail":{},"id":"a3ed95caeb02"}
{"errorDetail":{"message":"toomanyrequests: rate limit"},"error":"toomanyrequests: rate limit"}
`
	e, _ := fakeDaemon(t, http.StatusOK, stream)
	n := 0
	err := e.Pull(t.Context(), "registry.test/app:1", models.RegistryAuth{}, func(models.PullEvent) { n++ })
	if err == nil || !strings.Contains(err.Error(), "toomanyrequests") {
		t.Fatalf("Pull = %v, want the stream's error", err)
	}
	if n != 1 {
		t.Errorf("%d events before the error, want 1", n)
	}
}

func TestPullOfUnknownTagIsNotFound(t *testing.T) {
	e, _ := fakeDaemon(t, http.StatusNotFound, `{"message":"manifest for registry.test/app:9 not found: manifest unknown"}`)
	err := e.Pull(t.Context(), "registry.test/app:9", models.RegistryAuth{}, nil)
	if !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Pull = %v, want models.ErrNotFound", err)
	}
}
