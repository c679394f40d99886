package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// busyboxPath is where Debian's busybox-static puts its static binary.
const busyboxPath = "/bin/busybox"

var shellLayer struct {
	once  sync.Once
	layer v1.Layer
	err   error
}

// mustShellLayer is a layer with bin/busybox and bin/sh linked to it. The
// busybox of Debian's static build runs its applets (sleep, cat) without
// links of their own, so sh -c scripts work in an otherwise empty image.
func mustShellLayer(tb testing.TB) v1.Layer {
	tb.Helper()
	shellLayer.once.Do(func() {
		bin, err := os.ReadFile(busyboxPath)
		if err != nil {
			shellLayer.err = err
			return
		}
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		for _, h := range []*tar.Header{
			{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755},
			{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))},
			{Typeflag: tar.TypeSymlink, Name: "bin/sh", Linkname: "busybox", Mode: 0o777},
		} {
			h.ModTime, h.Format = created, tar.FormatPAX
			if err := tw.WriteHeader(h); err != nil {
				shellLayer.err = err
				return
			}
			if h.Typeflag == tar.TypeReg {
				tw.Write(bin)
			}
		}
		tw.Close()
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		zw.Write(tb.Bytes())
		zw.Close()
		blob := gz.Bytes()
		shellLayer.layer, shellLayer.err = tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(blob)), nil
		})
	})
	if shellLayer.err != nil {
		tb.Fatalf("ocitest: a shell needs %s (apt-get install busybox-static): %v", busyboxPath, shellLayer.err)
	}
	return shellLayer.layer
}
