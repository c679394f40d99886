// Package dockertest gives tests a real Docker engine: a client gated on REFIT_TEST_DOCKER_HOST, and helpers that
// pull, load, run and inspect containers and that remove everything they create when the test ends.
//
// The engine is shared by all test packages running in parallel, so every name a test chooses should come from
// UniqueName. Containers run with network mode "none" unless a test asks otherwise: the engines this project tests
// against have no bridge network.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
)

// EnvHost names the environment variable that holds the engine's address, e.g. unix:///tmp/d/docker.sock.
const EnvHost = "REFIT_TEST_DOCKER_HOST"

// cleanupTimeout bounds each removal at the end of a test; the test's own context is already cancelled by then.
const cleanupTimeout = 30 * time.Second

// Host returns the engine address from REFIT_TEST_DOCKER_HOST. Without it the test is skipped, or fails when CI=true,
// because CI must not pass by skipping the real-engine tests.
func Host(tb testing.TB) string {
	tb.Helper()
	h := os.Getenv(EnvHost)
	if h == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("REFIT_TEST_DOCKER_HOST is not set: this test needs a Docker engine")
		}
		tb.Skip("set REFIT_TEST_DOCKER_HOST to run against a real Docker engine")
	}
	return h
}

// Client returns a client for the test engine (see Host), with API version negotiation because the engines range
// from Debian's 20.10 (API 1.41) to releases that refuse anything below 1.44. It fails the test if the engine does
// not answer a ping, and closes the client when the test ends.
func Client(tb testing.TB) *client.Client {
	tb.Helper()
	h := Host(tb)
	cli, err := client.NewClientWithOpts(client.WithHost(h), client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatalf("dockertest: client for %s: %v", h, err)
	}
	tb.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	ping, err := cli.Ping(ctx)
	if err != nil {
		tb.Fatalf("dockertest: ping %s: %v", h, err)
	}
	// Negotiate now rather than on the first call, so ClientVersion is already meaningful to the test.
	cli.NegotiateAPIVersionPing(ping)
	return cli
}

// ContainerdStore reports whether the test engine keeps images in containerd's image store (Docker 29's default), where
// image IDs are manifest or index digests and RepoDigests name the image's tags, rather than in a graph driver.
func ContainerdStore(tb testing.TB, cli *client.Client) bool {
	tb.Helper()
	info, err := cli.Info(tb.Context())
	if err != nil {
		tb.Fatalf("dockertest: info: %v", err)
	}
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && strings.HasPrefix(kv[1], "io.containerd.snapshotter") {
			return true
		}
	}
	return false
}

// ServerAPIVersion returns the highest API version the test engine speaks, which may be above the client's.
func ServerAPIVersion(tb testing.TB, cli *client.Client) string {
	tb.Helper()
	p, err := cli.Ping(tb.Context())
	if err != nil {
		tb.Fatalf("dockertest: ping: %v", err)
	}
	return p.APIVersion
}

// UniqueName returns base plus a short random suffix, for names of containers, networks, volumes and local tags in an
// engine that other test packages use at the same time.
func UniqueName(tb testing.TB, base string) string {
	tb.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := base + "-" + hex.EncodeToString(b)
	owned.Store(name, topTest(tb))
	return name
}

// owned maps each name UniqueName gave out to its top-level test.
var owned sync.Map

func topTest(tb testing.TB) string { return strings.SplitN(tb.Name(), "/", 2)[0] }

// Owned reports which names UniqueName gave to tb's top-level test (its
// subtests included). Tests pass it as dockerengine's RecoverScope, since
// tests in other packages recreate containers on the same engine at once.
func Owned(tb testing.TB) func(name string) bool {
	top := topTest(tb)
	return func(name string) bool {
		t, ok := owned.Load(name)
		return ok && t == top
	}
}

// Pull pulls ref, reads the progress stream to its end and fails the test if the stream reports an error (a failed
// pull can still answer HTTP 200). The image is removed, if nothing else uses it, when the test ends.
func Pull(tb testing.TB, cli *client.Client, ref string) {
	tb.Helper()
	rc, err := cli.ImagePull(tb.Context(), ref, image.PullOptions{})
	if err != nil {
		tb.Fatalf("dockertest: pull %s: %v", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		tb.Fatalf("dockertest: pull %s: %v", ref, err)
	}
	removeImageAtCleanup(tb, cli, ref)
}

// Load loads a `docker save`-format tarball (see ocitest.Tarball), like an image built on the host: with graph drivers
// it has no RepoDigests (the containerd store gives it one per tag). Tag it with a UniqueName: the tag is removed when
// the test ends.
func Load(tb testing.TB, cli *client.Client, tar []byte) {
	tb.Helper()
	// Docker 29's containerd store can lose the lease of a load while
	// other loads run ("lease does not exist"): the engine's race, not the
	// test's, so such a load is tried again.
	for try := 1; ; try++ {
		err := load(tb, cli, tar)
		if err == nil {
			break
		}
		if try == 3 || !strings.Contains(err.Error(), "lease does not exist") {
			tb.Fatalf("dockertest: load: %v", err)
		}
		tb.Logf("dockertest: load: %v; trying again", err)
		time.Sleep(time.Duration(try) * 200 * time.Millisecond)
	}
	// The tarball's manifest names what was loaded more reliably than the stream's messages.
	tags, err := tarTags(tar)
	if err != nil {
		tb.Fatalf("dockertest: load: %v", err)
	}
	for _, tag := range tags {
		removeImageAtCleanup(tb, cli, tag)
	}
}

func load(tb testing.TB, cli *client.Client, tar []byte) error {
	resp, err := cli.ImageLoad(tb.Context(), bytes.NewReader(tar), client.ImageLoadWithQuiet(true))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil)
}

// Build builds an image tagged tag with the engine's classic builder, which needs no base image and no network, from a
// context of files (name → content, mode 0755) and a Dockerfile, like `docker build` on the host: such an image came
// from no registry. The tag is removed when the test ends.
func Build(tb testing.TB, cli *client.Client, tag string, files map[string][]byte, dockerfile string) {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, content []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatalf("dockertest: build context: %v", err)
		}
		if _, err := tw.Write(content); err != nil {
			tb.Fatalf("dockertest: build context: %v", err)
		}
	}
	add("Dockerfile", []byte(dockerfile))
	for name, content := range files {
		add(name, content)
	}
	if err := tw.Close(); err != nil {
		tb.Fatalf("dockertest: build context: %v", err)
	}
	resp, err := cli.ImageBuild(tb.Context(), &buf, build.ImageBuildOptions{Tags: []string{tag}, Version: build.BuilderV1,
		Remove: true, ForceRemove: true})
	if err != nil {
		tb.Fatalf("dockertest: build %s: %v", tag, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		tb.Fatalf("dockertest: build %s: %v", tag, err)
	}
	removeImageAtCleanup(tb, cli, tag)
}

func removeImageAtCleanup(tb testing.TB, cli *client.Client, ref string) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		// Not forced: a container of another test may still use it, and then it stays.
		cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	})
}

// RunOpts describes a test container. Only Image is required.
type RunOpts struct {
	Name   string // "" lets the engine choose; use UniqueName otherwise
	Image  string
	Env    []string
	Labels map[string]string
	Cmd    []string
	// NetworkMode is "none" by default, or the first of Networks (in name order) when Networks is set.
	NetworkMode string
	// Networks connects the container to user-defined networks with these endpoint settings (aliases, static
	// addresses). The NetworkMode network is set at create; the others are connected before start, as API versions
	// before 1.44 accept only one network at create.
	Networks      map[string]*network.EndpointSettings
	Binds         []string // "/host:/ctr", "volname:/ctr[:ro]"
	Volumes       []string // anonymous volumes: container paths
	RestartPolicy string   // "no", "always", "unless-stopped", "on-failure[:N]"
	Hostname      string
	ExtraHosts    []string // "name:1.2.3.4"
	Healthcheck   *container.HealthConfig
	// NoStart leaves the container created but not started.
	NoStart bool
}

// Run creates and starts a container and returns its ID. The container, with its anonymous volumes, is removed when
// the test ends.
func Run(tb testing.TB, cli *client.Client, o RunOpts) string {
	tb.Helper()
	cfg := &container.Config{
		Image:       o.Image,
		Env:         o.Env,
		Labels:      o.Labels,
		Cmd:         o.Cmd,
		Hostname:    o.Hostname,
		Healthcheck: o.Healthcheck,
	}
	if len(o.Volumes) > 0 {
		cfg.Volumes = make(map[string]struct{}, len(o.Volumes))
		for _, v := range o.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	}
	rp, err := parseRestartPolicy(o.RestartPolicy)
	if err != nil {
		tb.Fatalf("dockertest: %v", err)
	}
	netNames := make([]string, 0, len(o.Networks))
	for n := range o.Networks {
		netNames = append(netNames, n)
	}
	slices.Sort(netNames)
	mode := o.NetworkMode
	if mode == "" {
		mode = "none"
		if len(netNames) > 0 {
			mode = netNames[0]
		}
	}
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode(mode),
		Binds:         o.Binds,
		RestartPolicy: rp,
		ExtraHosts:    o.ExtraHosts,
	}
	var nc *network.NetworkingConfig
	if ep, ok := o.Networks[mode]; ok {
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{mode: ep}}
	}
	id := create(tb, cli, o.Name, cfg, hc, nc)
	for _, n := range netNames {
		if n == mode {
			continue
		}
		if err := cli.NetworkConnect(tb.Context(), n, id, o.Networks[n]); err != nil {
			tb.Fatalf("dockertest: connect %s to %s: %v", o.Name, n, err)
		}
	}
	if !o.NoStart {
		Start(tb, cli, id)
	}
	return id
}

// Run2 creates and starts a container from raw configuration, for what RunOpts does not cover. A nil hc means
// network mode "none". The container is removed when the test ends.
func Run2(tb testing.TB, cli *client.Client, name string, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) string {
	tb.Helper()
	if hc == nil {
		hc = &container.HostConfig{NetworkMode: "none"}
	}
	id := create(tb, cli, name, cfg, hc, nc)
	Start(tb, cli, id)
	return id
}

func create(tb testing.TB, cli *client.Client, name string, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) string {
	tb.Helper()
	resp, err := cli.ContainerCreate(tb.Context(), cfg, hc, nc, nil, name)
	if err != nil {
		tb.Fatalf("dockertest: create %s from %s: %v", name, cfg.Image, err)
	}
	RemoveAtCleanup(tb, cli, resp.ID)
	return resp.ID
}

// RemoveAtCleanup force-removes the container with its anonymous volumes when the test ends, for containers that
// the code under test created (a recreated container gets a new ID). A container already gone is fine.
func RemoveAtCleanup(tb testing.TB, cli *client.Client, id string) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			tb.Errorf("dockertest: remove container %s: %v", id, err)
		}
	})
}

// Start starts a created or stopped container.
func Start(tb testing.TB, cli *client.Client, id string) {
	tb.Helper()
	if err := cli.ContainerStart(tb.Context(), id, container.StartOptions{}); err != nil {
		tb.Fatalf("dockertest: start %s: %v", id, err)
	}
}

// Stop stops a container (SIGTERM, then SIGKILL after 10s; testapp exits at once on SIGTERM).
func Stop(tb testing.TB, cli *client.Client, id string) {
	tb.Helper()
	timeout := 10
	if err := cli.ContainerStop(tb.Context(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		tb.Fatalf("dockertest: stop %s: %v", id, err)
	}
}

// Inspect returns the engine's view of a container.
func Inspect(tb testing.TB, cli *client.Client, id string) container.InspectResponse {
	tb.Helper()
	c, err := cli.ContainerInspect(tb.Context(), id)
	if err != nil {
		tb.Fatalf("dockertest: inspect %s: %v", id, err)
	}
	return c
}

// Exec runs cmd in a running container and returns its standard output; a non-zero exit fails the test. With
// testapp images, Exec(tb, cli, id, "/testapp", "cat", path) reads a file.
func Exec(tb testing.TB, cli *client.Client, id string, cmd ...string) string {
	tb.Helper()
	ctx := tb.Context()
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		tb.Fatalf("dockertest: exec %v in %s: %v", cmd, id, err)
	}
	hj, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		tb.Fatalf("dockertest: exec %v in %s: attach: %v", cmd, id, err)
	}
	defer hj.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, hj.Reader); err != nil {
		tb.Fatalf("dockertest: exec %v in %s: read output: %v", cmd, id, err)
	}
	st, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		tb.Fatalf("dockertest: exec %v in %s: inspect: %v", cmd, id, err)
	}
	if st.ExitCode != 0 {
		tb.Fatalf("dockertest: exec %v in %s: exit code %d: %s", cmd, id, st.ExitCode, strings.TrimSpace(stderr.String()))
	}
	return stdout.String()
}

// Logs returns a container's standard output and error so far.
func Logs(tb testing.TB, cli *client.Client, id string) string {
	tb.Helper()
	rc, err := cli.ContainerLogs(tb.Context(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		tb.Fatalf("dockertest: logs of %s: %v", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		tb.Fatalf("dockertest: logs of %s: %v", id, err)
	}
	return out.String()
}

// WaitFor polls the container every 100ms until cond holds, failing the test after timeout with what it saw last.
func WaitFor(tb testing.TB, cli *client.Client, id string, timeout time.Duration, what string, cond func(container.InspectResponse) bool) container.InspectResponse {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := Inspect(tb, cli, id)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			state := "<no state>"
			if c.State != nil {
				state = c.State.Status
				if c.State.Health != nil {
					state += ", health " + c.State.Health.Status
				}
			}
			tb.Fatalf("dockertest: %s not %s after %v (state %s)", id, what, timeout, state)
		}
		select {
		case <-tb.Context().Done():
			tb.Fatalf("dockertest: waiting for %s to be %s: %v", id, what, tb.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitHealth waits until the container's health status is status ("starting", "healthy", "unhealthy").
func WaitHealth(tb testing.TB, cli *client.Client, id, status string, timeout time.Duration) {
	tb.Helper()
	WaitFor(tb, cli, id, timeout, status, func(c container.InspectResponse) bool {
		return c.State != nil && c.State.Health != nil && c.State.Health.Status == status
	})
}

// NetworkOpts describes a user-defined test network. The zero value is a bridge network with an engine-chosen
// subnet.
type NetworkOpts struct {
	Name     string // base name; a random suffix is added
	Subnet   string // e.g. "10.123.0.0/24", needed for static container addresses
	Internal bool
}

// CreateNetwork creates a network and returns its (unique) name. It is removed when the test ends, after the
// containers created later in the test.
func CreateNetwork(tb testing.TB, cli *client.Client, o NetworkOpts) string {
	tb.Helper()
	base := o.Name
	if base == "" {
		base = "refit-test"
	}
	name := UniqueName(tb, base)
	opts := network.CreateOptions{Driver: "bridge", Internal: o.Internal}
	if o.Subnet != "" {
		opts.IPAM = &network.IPAM{Config: []network.IPAMConfig{{Subnet: o.Subnet}}}
	}
	resp, err := cli.NetworkCreate(tb.Context(), name, opts)
	if err != nil {
		tb.Fatalf("dockertest: create network %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := cli.NetworkRemove(ctx, resp.ID); err != nil && !isNotFound(err) {
			tb.Errorf("dockertest: remove network %s: %v", name, err)
		}
	})
	return name
}

func parseRestartPolicy(s string) (container.RestartPolicy, error) {
	if s == "" {
		return container.RestartPolicy{}, nil
	}
	mode, count, _ := strings.Cut(s, ":")
	rp := container.RestartPolicy{Name: container.RestartPolicyMode(mode)}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return rp, fmt.Errorf("restart policy %q: %w", s, err)
		}
		rp.MaximumRetryCount = n
	}
	return rp, nil
}

// isNotFound reports an engine 404. It matches on the NotFound() method that both the containerd and the legacy
// Docker error definitions implement, so this package needs neither.
func isNotFound(err error) bool {
	var nf interface{ NotFound() }
	return errors.As(err, &nf) || errdefs.IsNotFound(err) || strings.Contains(err.Error(), "No such container")
}

// tarTags returns the RepoTags listed in a docker save tarball's manifest.json.
func tarTags(b []byte) ([]string, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("tarball has no manifest.json")
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			return nil, fmt.Errorf("tarball manifest.json: %w", err)
		}
		var tags []string
		for _, e := range m {
			tags = append(tags, e.RepoTags...)
		}
		return tags, nil
	}
}
