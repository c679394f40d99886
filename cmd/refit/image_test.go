package main

// The container image (issue 16): built by cmd/mkimage as `make image` builds
// it, checked for what it holds, then loaded into a private engine and run
// the way people run updaters, with the engine's socket mounted.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"refit/models"
	"refit/services/dockerengine/dockertest"
)

// Limits of issue 16.
const (
	imageMaxBytes  = 30e6
	imageMaxLayers = 3
)

// staticBuild builds refit as `make build` and `make image` do (STATIC_BUILD
// in the Makefile): static, SQLite linked in, so it runs FROM scratch.
func staticBuild(t *testing.T, out, goarch, cc string) {
	t.Helper()
	build := exec.Command("go", "build", "-o", out, "-trimpath",
		"-tags", "netgo osusergo sqlite_omit_load_extension",
		"-ldflags", "-s -w -linkmode external -extldflags -static -X main.version=imagetest", ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH="+goarch)
	if cc != "" {
		build.Env = append(build.Env, "CC="+cc)
	}
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build (GOARCH=%s): %v\n%s", goarch, err, b)
	}
}

// builtImage is refit's image for this machine's platform, made by
// cmd/mkimage: the docker load tar and its tag.
type builtImage struct {
	tar, tag string
	img      v1.Image
}

const imageVersion = "imagetest"

// staticOnce builds the static binary once per test binary: the image tests
// and the self-update test share it (a cold build takes minutes).
var staticOnce = struct {
	sync.Once
	dir, bin string
	err      error
}{}

func buildImage(t *testing.T) builtImage { return buildImageVersion(t, imageVersion) }

// buildImageVersion makes refit's image labelled version: the same binary,
// so two versions differ only in their config, as two releases' images do.
func buildImageVersion(t *testing.T, version string) builtImage {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the static binary and the image")
	}
	staticOnce.Do(func() {
		staticOnce.dir, staticOnce.err = os.MkdirTemp("", "refit-image-bin")
		staticOnce.bin = filepath.Join(staticOnce.dir, "refit")
	})
	if staticOnce.err != nil {
		t.Fatal(staticOnce.err)
	}
	if _, err := os.Stat(staticOnce.bin); err != nil {
		staticBuild(t, staticOnce.bin, runtime.GOARCH, "")
	}
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "refit-image.tar")
	mk := exec.Command("go", "run", "refit/cmd/mkimage", "-bin", "linux/"+runtime.GOARCH+"="+staticOnce.bin,
		"-version", version, "-revision", "0123456789abcdef", "-created", "2025-01-02T03:04:05Z",
		"-source", "https://example.invalid/refit", "-tar", tarPath, "-oci", filepath.Join(dir, "oci"))
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("mkimage: %v\n%s", err, b)
	}
	tag := "refit:" + version
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	return builtImage{tar: tarPath, tag: tag, img: img}
}

// imageSize is what the image takes: compressed (a pull, the registry) and
// unpacked (docker images).
func imageSize(t *testing.T, img v1.Image) (compressed, unpacked int64, layers int) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		u, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		unpacked += u
	}
	return compressed, unpacked, len(ls)
}

func TestImage(t *testing.T) {
	bi := buildImage(t)
	t.Run("contents", func(t *testing.T) { checkImageContents(t, bi.img) })
	t.Run("runs with the socket mounted", func(t *testing.T) { runImage(t, bi) })
}

func checkImageContents(t *testing.T, img v1.Image) {
	compressed, unpacked, layers := imageSize(t, img)
	t.Logf("image: %d layers, %.1f MB compressed, %.1f MB unpacked", layers, float64(compressed)/1e6, float64(unpacked)/1e6)
	if layers > imageMaxLayers {
		t.Errorf("%d layers, want at most %d", layers, imageMaxLayers)
	}
	if unpacked > imageMaxBytes {
		t.Errorf("image is %d bytes unpacked, want at most %d", unpacked, int64(imageMaxBytes))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if !slices.Equal(c.Entrypoint, []string{"/refit"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q, cmd %q", c.Entrypoint, c.Cmd)
	}
	if c.User != "root" || c.StopSignal != "SIGTERM" {
		t.Errorf("user %q, stop signal %q", c.User, c.StopSignal)
	}
	if hc := c.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", "/refit", "healthcheck"}) ||
		hc.Interval <= 0 || hc.Timeout <= healthcheckTimeout {
		t.Errorf("healthcheck %+v", hc)
	}
	if _, ok := c.Volumes["/data"]; !ok || len(c.Volumes) != 1 {
		t.Errorf("volumes %v", c.Volumes)
	}
	if _, ok := c.ExposedPorts["8099/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	for _, e := range []string{"REFIT_DB=/data/refit.db", "REFIT_ADDR=:8099"} {
		if !slices.Contains(c.Env, e) {
			t.Errorf("env %q lacks %s", c.Env, e)
		}
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.source":   "https://example.invalid/refit",
		"org.opencontainers.image.version":  imageVersion,
		"org.opencontainers.image.revision": "0123456789abcdef",
		"org.opencontainers.image.created":  "2025-01-02T03:04:05Z",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
}

// loadBuiltImage loads refit's image into the engine under a loopback
// registry's name, which it returns: refit checks its own container too,
// and its HEAD must not leave the machine.
func loadBuiltImage(t *testing.T, cli *client.Client, bi builtImage) string {
	t.Helper()
	f, err := os.Open(bi.tar)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := cli.ImageLoad(t.Context(), f, client.ImageLoadWithQuiet(true))
	if err != nil {
		t.Fatalf("docker load: %v", err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if bytes.Contains(out, []byte(`"error"`)) {
		t.Fatalf("docker load: %s", out)
	}
	ref := "127.0.0.1:1/refit:" + imageVersion
	if err := cli.ImageTag(t.Context(), bi.tag, ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// runImage loads the image into a private engine (its socket is mounted into
// the container, so the test's engine stays as it was) and runs it as the
// README says, on the host network with a free port.
func runImage(t *testing.T, bi builtImage) {
	dockertest.Host(t) // the gate: real-engine tests are on (fails under CI=true without it)
	eng, cli := newPrivateEngine(t)
	ctx := t.Context()
	if sv, err := cli.ServerVersion(ctx); err == nil {
		t.Logf("private engine: Docker %s (API %s)", sv.Version, sv.APIVersion)
	}

	ref := loadBuiltImage(t, cli, bi)

	port := freePort(t)
	const pass = "cinder-lagoon-trellis-0123"
	sock := strings.TrimPrefix(eng.host, "unix://")
	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Env: []string{"REFIT_ADDR=127.0.0.1:" + port, "REFIT_ADMIN_PASSWORD=" + pass,
			"TZ=Europe/Berlin"}}, // no zoneinfo in the image: the zones built into refit
		&container.HostConfig{NetworkMode: "host", Binds: []string{sock + ":/var/run/docker.sock"}},
		nil, nil, "refit-image-test")
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	t.Cleanup(func() {
		if t.Failed() {
			logs, err := cli.ContainerLogs(context.Background(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
			if err == nil {
				b, _ := io.ReadAll(logs)
				logs.Close()
				t.Logf("refit's log:\n%s", lastLines(string(b), 30))
			}
		}
	})
	began := time.Now()
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}

	base := "http://127.0.0.1:" + port
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	waitHealthy(t, hc, base)
	t.Logf("/health 200 after %s", time.Since(began).Round(100*time.Millisecond))
	var logs string
	waitFor(t, 10*time.Second, "the start-up line in the log", func() bool {
		logs = containerLog(t, cli, id)
		return strings.Contains(logs, "refit listening")
	})
	if !strings.Contains(logs, `zone="CET +01:00"`) && !strings.Contains(logs, `zone="CEST +02:00"`) {
		t.Errorf("TZ=Europe/Berlin: the start-up line names another zone:\n%s", lastLines(logs, 10))
	}

	// Auth is on: sign in as the admin REFIT_ADMIN_PASSWORD made; the
	// session lands in the /data volume's database.
	login, _ := json.Marshal(map[string]string{"user": "admin", "pass": pass})
	resp, err := hc.Post(base+"/api/login", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/login: %s", resp.Status)
	}
	// Through the mounted socket refit sees the engine, its own container included.
	waitFor(t, 15*time.Second, "GET /api/images lists refit's own container", func() bool {
		resp, err := hc.Get(base + "/api/images")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var groups []models.ImageGroup
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&groups) != nil {
			return false
		}
		for _, g := range groups {
			for _, c := range g.Containers {
				if c.ContainerName == "refit-image-test" {
					return true
				}
			}
		}
		return false
	})

	// The image's HEALTHCHECK, run by the engine inside the container (no
	// shell there): the first probe comes one interval after the start.
	waitFor(t, 90*time.Second, "the engine reports the container healthy", func() bool {
		in, err := cli.ContainerInspect(ctx, id)
		if err != nil || in.State == nil || in.State.Health == nil {
			return false
		}
		if in.State.Health.Status == "unhealthy" {
			t.Fatalf("unhealthy: %+v", in.State.Health.Log)
		}
		return in.State.Health.Status == "healthy"
	})
	t.Logf("healthy after %s", time.Since(began).Round(100*time.Millisecond))

	// docker stop: SIGTERM to refit as PID 1, which must end it well before
	// the 10s after which the engine kills.
	stopBegan := time.Now()
	if err := cli.ContainerStop(ctx, id, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(stopBegan)
	in, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("docker stop took %s, exit code %d", took.Round(10*time.Millisecond), in.State.ExitCode)
	if in.State.ExitCode != 0 || took >= 10*time.Second {
		t.Errorf("docker stop: exit code %d after %s, want 0 in under 10s", in.State.ExitCode, took)
	}
}

// containerLog is what the container id wrote so far.
func containerLog(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	logs, err := cli.ContainerLogs(t.Context(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	b, _ := io.ReadAll(logs)
	return string(b)
}

// waitHealthy waits until refit at base answers /health with 200.
func waitHealthy(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	waitFor(t, 30*time.Second, base+"/health answers 200", func() bool {
		resp, err := hc.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %s: %s", limit, what)
		}
	}
}

// TestArm64BinaryIsStatic cross-compiles refit as `make image` does for its
// linux/arm64 image, with Debian's gcc-aarch64-linux-gnu.
func TestArm64BinaryIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles refit")
	}
	need := func(tool, pkg string) {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: CI must install Debian's %s", tool, pkg)
			}
			t.Skipf("%s not found (Debian's %s)", tool, pkg)
		}
	}
	need("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
	need("file", "file")
	bin := filepath.Join(t.TempDir(), "refit")
	staticBuild(t, bin, "arm64", "aarch64-linux-gnu-gcc")
	out, err := exec.Command("file", "-b", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file: %s", out)
	if s := string(out); !strings.Contains(s, "ARM aarch64") || !strings.Contains(s, "statically linked") {
		t.Errorf("file says %q, want ARM aarch64 and statically linked", s)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if staticOnce.dir != "" {
		os.RemoveAll(staticOnce.dir)
	}
	os.Exit(code)
}
