package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageOpts describes a test image. The zero value is an image that runs /testapp with no arguments.
type ImageOpts struct {
	Env          []string
	Cmd          []string
	Entrypoint   []string // default ["/testapp"]
	Labels       map[string]string
	Volumes      []string // container paths, e.g. "/data"
	ExposedPorts []string // "8080" (tcp) or "53/udp"
	WorkingDir   string
	// Healthcheck is the HEALTHCHECK test, e.g. {"CMD", "/testapp", "health"}.
	Healthcheck []string
	// HealthInterval is the time between health checks; 0 means 1s, since Docker's own default of 30s is too slow
	// for a test.
	HealthInterval time.Duration
	// ExtraLayerSize adds a layer of that many random bytes (0: none), for pulls that take a while.
	ExtraLayerSize int
	// Marker adds a small layer with this content, so a "new version" of an image gets a new digest.
	Marker string
	// Shell adds /bin/sh: the host's static busybox (Debian's busybox-static), for what runs sh -c inside a
	// container, such as Watchtower's lifecycle hooks.
	Shell bool
}

// created is the fixed creation time of every test image's layers, so equal options give equal layer digests.
var created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// configCreated is the images' own creation time: fixed within a test binary, so equal options give equal image IDs
// there, but different in every one. Test packages run in parallel against one engine, and an image ID they shared
// could lose its last tag to one package's cleanup while another package loads or pulls it.
var configCreated = created.Add(time.Duration(mrand.Int64N(365*24*3600)) * time.Second)

var testAppLayer struct {
	once  sync.Once
	layer v1.Layer
	err   error
}

// Image builds a linux/amd64 image: the testapp layer (the same bytes always give the same digest, so registries
// and engines share it), then the optional extra and marker layers, then the configuration from opts.
func Image(tb testing.TB, opts ImageOpts) v1.Image {
	tb.Helper()
	bin := MustTestApp(tb)
	testAppLayer.once.Do(func() {
		testAppLayer.layer, testAppLayer.err = fileLayer("testapp", 0o755, bin)
	})
	if testAppLayer.err != nil {
		tb.Fatalf("ocitest: testapp layer: %v", testAppLayer.err)
	}

	adds := []mutate.Addendum{{
		Layer:   testAppLayer.layer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "COPY testapp /testapp"},
	}}
	if opts.ExtraLayerSize > 0 {
		b := make([]byte, opts.ExtraLayerSize)
		rand.Read(b)
		l, err := fileLayer("extra.bin", 0o644, b)
		if err != nil {
			tb.Fatalf("ocitest: extra layer: %v", err)
		}
		adds = append(adds, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "COPY extra.bin /extra.bin"},
		})
	}
	if opts.Shell {
		adds = append(adds, mutate.Addendum{
			Layer:   mustShellLayer(tb),
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "COPY /bin/busybox /bin/sh"},
		})
	}
	if opts.Marker != "" {
		l, err := fileLayer("marker", 0o644, []byte(opts.Marker))
		if err != nil {
			tb.Fatalf("ocitest: marker layer: %v", err)
		}
		adds = append(adds, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "COPY marker /marker"},
		})
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		tb.Fatalf("ocitest: append layers: %v", err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatalf("ocitest: config file: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = "amd64"
	cf.Created = v1.Time{Time: configCreated}
	cf.Config = v1.Config{
		Env:        opts.Env,
		Cmd:        opts.Cmd,
		Entrypoint: opts.Entrypoint,
		Labels:     opts.Labels,
		WorkingDir: opts.WorkingDir,
	}
	if cf.Config.Entrypoint == nil {
		cf.Config.Entrypoint = []string{"/testapp"}
	}
	if len(opts.Volumes) > 0 {
		cf.Config.Volumes = make(map[string]struct{}, len(opts.Volumes))
		for _, v := range opts.Volumes {
			cf.Config.Volumes[v] = struct{}{}
		}
	}
	if len(opts.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = make(map[string]struct{}, len(opts.ExposedPorts))
		for _, p := range opts.ExposedPorts {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if len(opts.Healthcheck) > 0 {
		interval := opts.HealthInterval
		if interval == 0 {
			interval = time.Second
		}
		cf.Config.Healthcheck = &v1.HealthConfig{Test: opts.Healthcheck, Interval: interval}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		tb.Fatalf("ocitest: set config: %v", err)
	}
	return img
}

// fileLayer returns a gzipped layer holding one regular file at /name. It compresses the tar itself so the blob
// bytes, and with them the layer digest, depend only on the content.
func fileLayer(name string, mode int64, content []byte) (v1.Layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     mode,
		Size:     int64(len(content)),
		ModTime:  created,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	blob := gzBuf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	})
}

// Push builds an image from opts, pushes it as r.Host()+"/"+repoTag (repoTag like "test/app:1") and returns its
// manifest digest ("sha256:…").
func (r *Registry) Push(tb testing.TB, repoTag string, opts ImageOpts) string {
	tb.Helper()
	return r.PushImage(tb, repoTag, r.Image(tb, opts))
}

// Image builds the image Push pushes for opts: a marker is salted with the
// registry's host, so tests running in parallel on one engine never share an
// image ID. Shared, one test's cleanup untagging its last reference races
// another's pull of the same ID, and the image vanishes under the second test.
func (r *Registry) Image(tb testing.TB, opts ImageOpts) v1.Image {
	tb.Helper()
	if opts.Marker != "" {
		opts.Marker += " @" + r.host
	}
	return Image(tb, opts)
}

// PushImage pushes any image as r.Host()+"/"+repoTag and returns its manifest digest.
func (r *Registry) PushImage(tb testing.TB, repoTag string, img v1.Image) string {
	tb.Helper()
	ref := r.parse(tb, repoTag)
	if err := remote.Write(ref, img, r.remoteOpts(tb)...); err != nil {
		tb.Fatalf("ocitest: push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatalf("ocitest: digest of %s: %v", ref, err)
	}
	return d.String()
}

// PushIndex pushes a multi-arch tag: an OCI image index with linux/amd64 and linux/arm64 entries that both carry the
// image built from opts. It returns the index digest, which is what a HEAD of the tag answers and what docker pull
// records in RepoDigests.
func (r *Registry) PushIndex(tb testing.TB, repoTag string, opts ImageOpts) string {
	tb.Helper()
	img := r.Image(tb, opts)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref := r.parse(tb, repoTag)
	if err := remote.WriteIndex(ref, idx, r.remoteOpts(tb)...); err != nil {
		tb.Fatalf("ocitest: push index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		tb.Fatalf("ocitest: digest of index %s: %v", ref, err)
	}
	return d.String()
}

// Tag gives the manifest of repoTag more tags in its repository ("1.2.4", "1.3.0"…): a manifest PUT each, no blobs.
func (r *Registry) Tag(tb testing.TB, repoTag string, tags ...string) {
	tb.Helper()
	src := r.parse(tb, repoTag)
	desc, err := remote.Get(src, r.remoteOpts(tb)...)
	if err != nil {
		tb.Fatalf("ocitest: get %s: %v", src, err)
	}
	for _, t := range tags {
		if err := remote.Tag(src.Context().Tag(t), desc, r.remoteOpts(tb)...); err != nil {
			tb.Fatalf("ocitest: tag %s as %s: %v", src, t, err)
		}
	}
}

func (r *Registry) remoteOpts(tb testing.TB) []remote.Option {
	return []remote.Option{
		remote.WithContext(tb.Context()),
		remote.WithTransport(setupTransport{base: remote.DefaultTransport}),
	}
}

func (r *Registry) parse(tb testing.TB, repoTag string) name.Reference {
	tb.Helper()
	ref, err := name.ParseReference(r.Ref(repoTag), name.Insecure)
	if err != nil {
		tb.Fatalf("ocitest: reference %q: %v", repoTag, err)
	}
	return ref
}

// Tarball returns a `docker load`-able tarball of the image built from opts, tagged tag (e.g. "local/app:1"). A
// loaded image has no RepoDigests, like one built on the host.
func Tarball(tb testing.TB, tag string, opts ImageOpts) []byte {
	tb.Helper()
	t, err := name.NewTag(tag)
	if err != nil {
		tb.Fatalf("ocitest: tag %q: %v", tag, err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(t, Image(tb, opts), &buf); err != nil {
		tb.Fatalf("ocitest: tarball %s: %v", tag, err)
	}
	return buf.Bytes()
}
