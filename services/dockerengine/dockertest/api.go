package dockertest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
)

// API stands in for the Docker Engine's HTTP API, answering the reads refit makes while it watches an engine (ping,
// version, info, container and image lists and inspects, the event stream) from the documents it holds. It lets the
// footprint benchmark run the real refit binary over hundreds of containers without running them. It writes nothing:
// pulls and recreates answer 501. TestAPIReadsLikeTheEngine keeps it honest against a real engine.
type API struct {
	APIVersion string                               // default "1.41", Debian's engine 20.10
	Containers []container.Summary                  // the list, running or not
	Images     []image.Summary                      // the image list
	Inspects   map[string]container.InspectResponse // by full ID; otherwise made from the summary
	// Info answers GET /info; its zero value says a graph driver, as 20.10's does.
	Info system.Info
	// ImageInspects are the engine's own image inspect documents by image ID; otherwise made from the list.
	ImageInspects map[string]json.RawMessage

	mu       sync.Mutex
	requests map[string]int // by method and path without the version prefix
}

// Serve answers on a unix socket in a temporary directory until the test ends and returns its DOCKER_HOST.
func (a *API) Serve(tb testing.TB) string {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatalf("dockertest: fake API: %v", err)
	}
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

// Requests returns how many requests of "METHOD /path" (version prefix removed) the API answered.
func (a *API) Requests(methodPath string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[methodPath]
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := "/" + strings.TrimPrefix(versionPrefix.ReplaceAllString(r.URL.Path, "/"), "/")
	a.mu.Lock()
	if a.requests == nil {
		a.requests = map[string]int{}
	}
	a.requests[r.Method+" "+path]++
	a.mu.Unlock()
	apiVersion := a.APIVersion
	if apiVersion == "" {
		apiVersion = "1.41"
	}
	w.Header().Set("Api-Version", apiVersion)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusNotImplemented, "the fake API only reads")
		return
	}
	switch {
	case path == "/_ping":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("OK"))
	case path == "/version":
		writeJSON(w, types.Version{Version: "fake", APIVersion: apiVersion, MinAPIVersion: "1.12", Os: "linux"})
	case path == "/info":
		writeJSON(w, a.Info)
	case path == "/containers/json":
		a.listContainers(w, r)
	case path == "/images/json":
		writeJSON(w, a.Images)
	case path == "/events":
		// Nothing ever happens; the stream stays open like the engine's.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		<-r.Context().Done()
	case strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json"):
		a.inspectContainer(w, strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json"))
	case strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/json"):
		a.inspectImage(w, strings.TrimSuffix(strings.TrimPrefix(path, "/images/"), "/json"))
	default:
		apiError(w, http.StatusNotImplemented, "not in the fake API: "+path)
	}
}

// listContainers answers GET /containers/json: running containers, or all with all=1, narrowed by the "name" filter
// (a substring of any name, as the engine matches it).
func (a *API) listContainers(w http.ResponseWriter, r *http.Request) {
	all := r.URL.Query().Get("all")
	var f map[string]map[string]bool
	if s := r.URL.Query().Get("filters"); s != "" {
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			apiError(w, http.StatusBadRequest, "bad filters: "+err.Error())
			return
		}
	}
	out := []container.Summary{}
	for _, c := range a.Containers {
		if (all == "" || all == "0" || all == "false") && c.State != container.StateRunning {
			continue
		}
		if !matchesNames(c.Names, f["name"]) {
			continue
		}
		out = append(out, c)
	}
	writeJSON(w, out)
}

func matchesNames(names []string, want map[string]bool) bool {
	for sub := range want {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, sub) }) {
			return false
		}
	}
	return true
}

func (a *API) inspectContainer(w http.ResponseWriter, idOrName string) {
	for _, c := range a.Containers {
		if c.ID != idOrName && !strings.HasPrefix(c.ID, idOrName) && !slices.Contains(c.Names, "/"+idOrName) {
			continue
		}
		if ci, ok := a.Inspects[c.ID]; ok {
			writeJSON(w, ci)
			return
		}
		name := ""
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		writeJSON(w, container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: c.ID, Name: name, Image: c.ImageID,
				State: &container.State{Status: c.State, Running: c.State == container.StateRunning}},
			Config: &container.Config{Image: c.Image, Labels: c.Labels},
		})
		return
	}
	apiError(w, http.StatusNotFound, "No such container: "+idOrName)
}

func (a *API) inspectImage(w http.ResponseWriter, id string) {
	if doc, ok := a.ImageInspects[id]; ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
		return
	}
	for _, im := range a.Images {
		if im.ID == id || strings.TrimPrefix(im.ID, "sha256:") == id || slices.Contains(im.RepoTags, id) {
			writeJSON(w, image.InspectResponse{ID: im.ID, RepoTags: im.RepoTags, RepoDigests: im.RepoDigests})
			return
		}
	}
	apiError(w, http.StatusNotFound, "No such image: "+id)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// apiError answers like the engine: {"message": ...} with the status.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// AddImage lists an image tagged ref with the repository digest repoDigest ("host/repo@sha256:…") and returns its ID,
// derived from both.
func (a *API) AddImage(ref, repoDigest string) string {
	id := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(ref+" "+repoDigest)))
	a.Images = append(a.Images, image.Summary{ID: id, RepoTags: []string{ref}, RepoDigests: []string{repoDigest},
		Created: time.Now().Add(-48 * time.Hour).Unix(), Size: 80 << 20})
	return id
}

// AddRunning lists a container named name running image imageID, created from ref (network mode "none", up two days),
// and returns its ID, derived from the name.
func (a *API) AddRunning(name, ref, imageID string, labels map[string]string) string {
	c := container.Summary{
		ID:      fmt.Sprintf("%x", sha256.Sum256([]byte("container "+name))),
		Names:   []string{"/" + name},
		Image:   ref,
		ImageID: imageID,
		Command: "/app",
		Created: time.Now().Add(-48 * time.Hour).Unix(),
		State:   container.StateRunning,
		Status:  "Up 2 days",
		Labels:  labels,
	}
	c.HostConfig.NetworkMode = "none"
	a.Containers = append(a.Containers, c)
	return c.ID
}
