// Command mkimage assembles refit's container image from static refit
// binaries with go-containerregistry: no docker build and no base image.
// `make image` and `make push` run it; the tests in cmd/refit run it too.
//
//	mkimage -bin linux/amd64=bin/linux-amd64/refit -bin linux/arm64=bin/linux-arm64/refit \
//	  -version V -revision R -created 2025-01-02T03:04:05Z -source URL \
//	  -tar bin/refit-image.tar -oci bin/refit-oci
//	mkimage push -oci bin/refit-oci registry.example.com/refit:1.2
//
// The tar is `docker save` format for one platform (-load, this machine's by
// default) tagged refit:V and refit:latest; the OCI layout holds one index
// over every -bin platform. The same inputs give the same digests: every file
// has the commit time as its mtime and owner 0:0.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image promises; README "Run with Docker" and compose.yaml say the same.
const (
	port       = "8099"
	dataDir    = "/data"
	binaryPath = "/refit"
	certsPath  = "/etc/ssl/certs/ca-certificates.crt"
)

// healthcheck runs `refit healthcheck` (no shell in the image). Its own
// timeout is 2s; Docker's is longer so refit reports a slow answer itself.
var healthcheck = &v1.HealthConfig{
	Test:        []string{"CMD", binaryPath, "healthcheck"},
	Interval:    30 * time.Second,
	Timeout:     5 * time.Second,
	StartPeriod: 10 * time.Second,
	Retries:     3,
}

// Spec is everything an image is made of besides the binaries.
type Spec struct {
	Version, Revision, Source string
	Created                   time.Time // the commit time: config, history and every file's mtime
	Certs                     []byte    // the CA bundle, PEM
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "push" {
		return push(ctx, args[1:])
	}
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	var bins binFlag
	fs.Var(&bins, "bin", "os/arch=path of a static refit binary (repeat for each platform)")
	var sp Spec
	fs.StringVar(&sp.Version, "version", "", "image version (git describe); tags refit:VERSION")
	fs.StringVar(&sp.Revision, "revision", "", "commit the image is built from")
	fs.StringVar(&sp.Source, "source", "", "URL of the source repository")
	created := fs.String("created", "", "commit time, RFC 3339")
	certs := fs.String("certs", certsPath, "CA bundle to copy into the image")
	tarPath := fs.String("tar", "", "write a docker load tar for the -load platform here")
	load := fs.String("load", "linux/"+runtime.GOARCH, "platform of the -tar image")
	ociPath := fs.String("oci", "", "write an OCI layout with the index of every platform here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(bins) == 0 || sp.Version == "" || *created == "" {
		return errors.New("-bin, -version and -created are required")
	}
	var err error
	if sp.Created, err = time.Parse(time.RFC3339, *created); err != nil {
		return fmt.Errorf("-created: %w", err)
	}
	if sp.Certs, err = os.ReadFile(*certs); err != nil {
		return fmt.Errorf("CA certificates (Debian's ca-certificates package): %w", err)
	}
	images := map[string]v1.Image{}
	for _, b := range bins {
		bin, err := os.ReadFile(b.path)
		if err != nil {
			return err
		}
		if images[b.platform], err = Image(sp, b.platform, bin); err != nil {
			return fmt.Errorf("%s: %w", b.platform, err)
		}
	}
	if *tarPath != "" {
		img, ok := images[*load]
		if !ok {
			return fmt.Errorf("-load %s: no -bin for that platform", *load)
		}
		if err := WriteTar(*tarPath, img, Tags(sp.Version)...); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "mkimage: %s (%s) %s\n", *tarPath, *load, strings.Join(Tags(sp.Version), " "))
	}
	if *ociPath != "" {
		idx, err := Index(sp, images)
		if err != nil {
			return err
		}
		if err := WriteLayout(*ociPath, idx, sp.Version); err != nil {
			return err
		}
		d, _ := idx.Digest()
		fmt.Fprintf(os.Stderr, "mkimage: %s index %s (%d platforms)\n", *ociPath, d, len(images))
	}
	return nil
}

// Tags are the tags the docker load tar carries.
func Tags(version string) []string { return []string{"refit:" + version, "refit:latest"} }

// Image is refit's image for one platform ("linux/arm64"), in three layers
// ordered by how often they change: /etc (CA bundle, passwd), the empty
// directories, the binary.
func Image(sp Spec, platform string, binary []byte) (v1.Image, error) {
	osName, arch, ok := strings.Cut(platform, "/")
	if !ok {
		return nil, fmt.Errorf("platform %q: want os/arch", platform)
	}
	// root: refit talks to the Docker socket, which only root (or the docker
	// group, whose members are root in all but name) may use. A passwd file
	// so that USER root resolves and HOME is /root, where a mounted
	// .docker/config.json gives registry credentials.
	etc := []file{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, body: []byte("root:x:0:0:root:/root:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: strings.TrimPrefix(certsPath, "/"), mode: 0o644, body: sp.Certs},
	}
	dirs := []file{
		{name: "data/", mode: 0o700}, // the database holds session keys
		{name: "root/", mode: 0o700},
		{name: "tmp/", mode: 0o1777},
	}
	bin := []file{{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, body: binary}}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range []struct {
		files []file
		what  string
	}{
		{etc, "CA certificates (" + certsPath + "), /etc/passwd"},
		{dirs, "directories " + dataDir + ", /root, /tmp"},
		{bin, binaryPath},
	} {
		layer, err := Layer(l.files, sp.Created)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
			Created: v1.Time{Time: sp.Created}, CreatedBy: "mkimage: " + l.what, Comment: "refit " + sp.Version,
		}})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = osName, arch
	cf.Created = v1.Time{Time: sp.Created}
	cf.Config = v1.Config{
		User:         "root",
		Entrypoint:   []string{binaryPath},
		Cmd:          []string{"serve"},
		Env:          []string{"REFIT_DB=" + dataDir + "/refit.db", "REFIT_ADDR=:" + port},
		ExposedPorts: map[string]struct{}{port + "/tcp": {}},
		Volumes:      map[string]struct{}{dataDir: {}},
		Healthcheck:  healthcheck,
		StopSignal:   "SIGTERM",
		Labels:       Labels(sp),
	}
	return mutate.ConfigFile(img, cf)
}

// Labels are the OCI annotations refit's image carries, as config labels and
// on the index.
func Labels(sp Spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":    "refit",
		"org.opencontainers.image.source":   sp.Source,
		"org.opencontainers.image.version":  sp.Version,
		"org.opencontainers.image.revision": sp.Revision,
		"org.opencontainers.image.created":  sp.Created.UTC().Format(time.RFC3339),
	}
	for k, v := range l {
		if v == "" {
			delete(l, k)
		}
	}
	return l
}

// Index is the multi-platform index over images (keyed "os/arch").
func Index(sp Spec, images map[string]v1.Image) (v1.ImageIndex, error) {
	platforms := make([]string, 0, len(images))
	for p := range images {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms) // the same index for the same inputs
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		cf, err := images[p].ConfigFile()
		if err != nil {
			return nil, err
		}
		pl := &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}
		if pl.Architecture == "arm64" {
			pl.Variant = "v8"
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: images[p], Descriptor: v1.Descriptor{Platform: pl}})
	}
	return mutate.Annotations(idx, Labels(sp)).(v1.ImageIndex), nil
}

// WriteTar writes img as a `docker load` tar under tags.
func WriteTar(p string, img v1.Image, tags ...string) error {
	refs := map[name.Reference]v1.Image{}
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return err
		}
		refs[tag] = img
	}
	return tarball.MultiRefWriteToFile(p, refs)
}

// WriteLayout replaces dir with an OCI layout holding idx.
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version}))
}

// push sends the index of an OCI layout to a registry, with the credentials
// of the Docker config (docker login, credential helpers).
func push(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mkimage push", flag.ContinueOnError)
	ociPath := fs.String("oci", "bin/refit-oci", "OCI layout written by mkimage -oci")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: mkimage push [-oci DIR] REGISTRY/NAME:TAG")
	}
	ref, err := name.ParseReference(fs.Arg(0))
	if err != nil {
		return err
	}
	idx, err := LayoutIndex(*ociPath)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return err
	}
	d, _ := idx.Digest()
	fmt.Fprintf(os.Stderr, "mkimage: pushed %s@%s\n", ref, d)
	return nil
}

// LayoutIndex is the one index WriteLayout put in dir.
func LayoutIndex(dir string) (v1.ImageIndex, error) {
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := root.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("%s: want one image index, found %d manifests", dir, len(m.Manifests))
	}
	return root.ImageIndex(m.Manifests[0].Digest)
}

// file is one entry of a layer; a name ending in / is a directory.
type file struct {
	name string
	mode int64
	body []byte
}

// Layer is a gzipped tar of files, owned by 0:0 with mtime, compressed once
// (best compression: it is done once per build, downloaded many times).
func Layer(files []file, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: mtime, Format: tar.FormatPAX,
			Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		} else if path.Clean(f.name) != f.name {
			return nil, fmt.Errorf("layer entry %q: not a clean path", f.name)
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// binFlag collects -bin os/arch=path.
type binFlag []struct{ platform, path string }

func (b *binFlag) String() string { return fmt.Sprint(*b) }
func (b *binFlag) Set(v string) error {
	p, file, ok := strings.Cut(v, "=")
	if !ok || !strings.Contains(p, "/") || file == "" {
		return fmt.Errorf("%q: want os/arch=path", v)
	}
	*b = append(*b, struct{ platform, path string }{p, file})
	return nil
}
