package dockertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// PrivateEngine starts a dockerd of the test's own (REFIT_TEST_DOCKERD, else
// the system's) through .ci/dockerd with extraArgs added to its flags, and
// returns a client of its unix socket; the engine is stopped when the test
// ends. For what the shared engine must not see: a TLS listener, Swarm mode.
// Without a dockerd the test is skipped, or fails under CI=true.
func PrivateEngine(tb testing.TB, extraArgs string) *client.Client {
	tb.Helper()
	Host(tb) // the gate: real-engine tests are on
	env := os.Environ()
	bin := os.Getenv("REFIT_TEST_DOCKERD")
	if bin == "" {
		bin = "dockerd"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		NoEngine(tb, fmt.Sprintf("no dockerd: %v", err))
	}
	if os.Getenv("REFIT_TEST_DOCKERD") != "" {
		env = append(env, "DOCKERD_BIN="+filepath.Dir(path)) // and the containerd and runc next to it
	}
	env = append(env, "DOCKERD_EXTRA_ARGS="+extraArgs)
	// Short: the socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "refit-engine-")
	if err != nil {
		tb.Fatal(err)
	}
	script := filepath.Join(repoRoot(), ".ci", "dockerd")
	tb.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			tb.Errorf("stop the private engine: %v\n%s", err, out)
		}
	})
	start := exec.Command(script, "start", dir)
	start.Env = env
	var stderr bytes.Buffer
	start.Stderr = &stderr
	out, err := start.Output()
	if err != nil {
		NoEngine(tb, fmt.Sprintf("%s start: %v\n%s", script, err, stderr.String()))
	}
	cli, err := client.NewClientWithOpts(client.WithHost(strings.TrimSpace(string(out))), client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cli.Close() })
	if _, err := cli.Ping(tb.Context()); err != nil { // negotiates, so ClientVersion is the engine's
		tb.Fatal(err)
	}
	return cli
}

// Swarm starts a private engine and makes it a single-node Swarm manager on
// loopback, as these machines allow: services without published ports.
func Swarm(tb testing.TB) *client.Client {
	tb.Helper()
	cli := PrivateEngine(tb, "")
	addr := FreeAddr(tb)
	if _, err := cli.SwarmInit(tb.Context(), swarm.InitRequest{ListenAddr: addr, AdvertiseAddr: "127.0.0.1"}); err != nil {
		tb.Fatalf("swarm init: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := cli.Info(tb.Context())
		if err == nil && info.Swarm.ControlAvailable && info.Swarm.LocalNodeState == swarm.LocalNodeStateActive {
			return cli
		}
		if time.Now().After(deadline) {
			tb.Fatalf("swarm not active after 30s: %v %+v", err, info.Swarm)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// NoEngine skips a test that cannot start what it needs, or fails it under
// CI=true: CI must not pass by skipping.
func NoEngine(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("cannot start a private Docker engine: %s", why)
	}
	tb.Skipf("cannot start a private Docker engine: %s", why)
}

// FreeAddr returns 127.0.0.1 and a port nothing listens on just now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// repoRoot is the repository's top directory, from this file's place in it.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// CreateService creates a replicated service of image on a Swarm manager, as
// `docker service create` does: the manager asks the registry and pins the
// tag's digest. upd and rb may be nil. It returns the service's ID.
func CreateService(tb testing.TB, cli *client.Client, name, image string, replicas uint64, upd, rb *swarm.UpdateConfig) string {
	tb.Helper()
	created, err := cli.ServiceCreate(tb.Context(), swarm.ServiceSpec{
		Annotations:    swarm.Annotations{Name: name},
		TaskTemplate:   swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		UpdateConfig:   upd,
		RollbackConfig: rb,
	}, swarm.ServiceCreateOptions{QueryRegistry: true})
	if err != nil {
		tb.Fatalf("service create %s: %v", name, err)
	}
	return created.ID
}
