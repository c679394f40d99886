package dockerengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
)

// identityAPI is the first API version whose image inspect says where an
// image came from (Identity). The client library speaks up to 1.51, so a
// second client asks for it, for image inspects only.
const identityAPI = "1.53"

// importedAnnotation marks the descriptor of an image that docker load
// imported into the containerd store; a pulled image's descriptor has no
// annotations.
const importedAnnotation = "io.containerd.image.name"

// imageStore is how the engine keeps images.
type imageStore struct {
	containerd bool           // containerd's image store, not a graph driver
	identity   *client.Client // nil unless the containerd store reports Identity
}

// imageFacts is what an inspect said about one image.
type imageFacts struct {
	listed      string // the list's tags and digests at the time: when they change, inspect again
	repoDigests []string
	originKnown bool
	pulledFrom  []string
}

// imageStore asks the engine once which image store it uses (docker info's
// DriverStatus says "driver-type io.containerd.snapshotter.v1").
func (e *Engine) imageStore(ctx context.Context) (*imageStore, error) {
	e.mu.Lock()
	st := e.store
	e.mu.Unlock()
	if st != nil {
		return st, nil
	}
	info, err := e.cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	st = &imageStore{}
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && strings.HasPrefix(kv[1], "io.containerd.snapshotter") {
			st.containerd = true
		}
	}
	if st.containerd && os.Getenv("DOCKER_API_VERSION") == "" {
		// Only where the user did not fix a version: theirs wins.
		if p, err := e.cli.Ping(ctx); err == nil && versions.GreaterThanOrEqualTo(p.APIVersion, identityAPI) {
			if st.identity, err = client.NewClientWithOpts(append(slices.Clone(e.opts), client.WithVersion(identityAPI))...); err != nil {
				return nil, fmt.Errorf("docker client: %w", err)
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store != nil { // another Running got there first
		if st.identity != nil {
			st.identity.Close()
		}
		return e.store, nil
	}
	e.store = st
	return st, nil
}

// lost forgets the image store and every image, after the engine did not
// answer: it may come back as another engine.
func (e *Engine) lost() {
	e.mu.Lock()
	st := e.store
	e.store = nil
	clear(e.images)
	e.mu.Unlock()
	if st != nil && st.identity != nil {
		st.identity.Close()
	}
}

// imageFacts returns what the engine knows of image id, inspecting it only
// when it is new or its entry in the image list changed. The list alone is
// not enough: on the containerd store it shows one RepoDigest per image even
// when several repositories name it. An image the inspect does not find (it
// went meanwhile) gets what the list says, uncached.
func (e *Engine) imageFacts(ctx context.Context, st *imageStore, id string, listed map[string]image.Summary) imageFacts {
	sum, inList := listed[id]
	key := "-" // not in the list: a dangling image on the containerd store
	if inList {
		key = strings.Join(sum.RepoTags, ",") + "|" + strings.Join(sum.RepoDigests, ",")
	}
	e.mu.Lock()
	f, ok := e.images[id]
	e.mu.Unlock()
	if ok && f.listed == key {
		return f
	}
	f, err := e.inspectImage(ctx, st, id)
	if err != nil {
		return imageFacts{repoDigests: sum.RepoDigests}
	}
	f.listed = key
	e.mu.Lock()
	e.images[id] = f
	e.mu.Unlock()
	return f
}

// inspectImage reads an image's RepoDigests and, on the containerd store,
// where it came from: the Identity an engine with API 1.53 reports, else the
// mark docker load leaves.
func (e *Engine) inspectImage(ctx context.Context, st *imageStore, id string) (imageFacts, error) {
	cli := e.cli
	if st.identity != nil {
		cli = st.identity
	}
	var raw bytes.Buffer
	ii, err := cli.ImageInspect(ctx, id, client.ImageInspectWithRawResponse(&raw))
	if err != nil {
		return imageFacts{}, fmt.Errorf("inspect image %s: %w", id, err)
	}
	f := imageFacts{repoDigests: ii.RepoDigests}
	if !st.containerd {
		return f, nil
	}
	if st.identity != nil {
		var doc struct {
			Identity *struct {
				Pull []struct{ Repository string }
			}
		}
		if err := json.Unmarshal(raw.Bytes(), &doc); err != nil {
			return imageFacts{}, fmt.Errorf("inspect image %s: %w", id, err)
		}
		f.originKnown = true // no Identity at all: built without BuildKit, loaded, or committed here
		if doc.Identity != nil {
			for _, p := range doc.Identity.Pull {
				f.pulledFrom = append(f.pulledFrom, p.Repository)
			}
		}
		return f, nil
	}
	if ii.Descriptor != nil && ii.Descriptor.Annotations[importedAnnotation] != "" {
		f.originKnown = true // loaded, never pulled
	}
	return f, nil
}
