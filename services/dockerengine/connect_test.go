package dockerengine_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

func TestCheckHostURLAccepts(t *testing.T) {
	p := newPKI(t)
	for _, raw := range []string{
		"unix:///var/run/docker.sock",
		"tcp://10.0.0.5:2375",
		"tcp://[fd00::5]:2375",
		"tcp://10.0.0.5:2376?ca=" + p.ca,
		"tcp://10.0.0.5:2376?ca=" + p.ca + "&cert=" + p.cert + "&key=" + p.key,
		"tcp://10.0.0.5:2376?certs=" + p.dir,
		"ssh://vps.example",
		"ssh://deploy@vps.example:2222",
		"ssh://deploy@vps.example/run/user/1000/docker.sock",
	} {
		if _, err := exec.LookPath("ssh"); err != nil && strings.HasPrefix(raw, "ssh:") {
			t.Logf("%s not checked: %v", raw, err)
			continue
		}
		if err := dockerengine.CheckHostURL(raw); err != nil {
			t.Errorf("CheckHostURL(%q) = %v, want nil", raw, err)
		}
	}
}

func TestCheckHostURLWantsTheSSHCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := dockerengine.CheckHostURL("ssh://deploy@vps.example")
	if want := `host URL ssh://deploy@vps.example: ssh:// needs the ssh command: exec: "ssh": executable file not found in $PATH`; err == nil || err.Error() != want {
		t.Errorf("CheckHostURL without ssh on PATH = %v, want %s", err, want)
	}
}

func TestCheckHostURLRefuses(t *testing.T) {
	p := newPKI(t)
	for _, c := range []struct{ raw, want string }{
		{"", "missing scheme"},
		{"10.0.0.5:2376", "missing scheme"},
		{"http://10.0.0.5:2375", `unsupported scheme "http"`},
		{"npipe:////./pipe/docker_engine", `unsupported scheme "npipe"`},
		{"unix://", "absolute socket path"},
		{"unix://docker.sock", "absolute socket path"},
		{"unix:///run/docker.sock?ca=/p/ca.pem", "unknown query parameters: ca (this scheme takes none)"},
		{"tcp://", "missing host"},
		{"tcp://:2376", "missing host"},
		{"tcp://10.0.0.5", "port"},
		{"tcp://10.0.0.5:0", "port"},
		{"tcp://10.0.0.5:docker", "port"},
		{"tcp://admin:s3cret@10.0.0.5:2376", "takes no user name or password"},
		{"tcp://10.0.0.5:2376?ca=/p/ca.pem&tlsverify=1&foo=2", "unknown query parameters: foo, tlsverify (known: ca, cert, key, certs)"},
		{"tcp://10.0.0.5:2376?ca=/p/ca.pem#x", "fragment"},
		{"tcp://10.0.0.5:2376?ca=", "query parameter ca is empty"},
		{"tcp://10.0.0.5:2376?ca=/a&ca=/b", "query parameter ca given 2 times"},
		{"tcp://10.0.0.5:2376?ca=/p/ca.pem&cert=/p/cert.pem", "cert= and key= go together"},
		{"tcp://10.0.0.5:2376?cert=/p/cert.pem&key=/p/key.pem", "ca= is needed"},
		{"tcp://10.0.0.5:2376?certs=/p&ca=/p/ca.pem", "give it alone"},
		{"tcp://10.0.0.5:2376?ca=/nonexistent/ca.pem", "/nonexistent/ca.pem"},
		{"tcp://10.0.0.5:2376?certs=/nonexistent", "/nonexistent/ca.pem"},
		{"tcp://10.0.0.5:2376?ca=" + p.key, p.key},                                                      // not a certificate
		{"tcp://10.0.0.5:2376?ca=" + p.ca + "&cert=" + p.cert + "&key=" + p.serverKey, "X509 key pair"}, // another cert's key
		{"tcp://admin:s3cret@10.0.0.5%zz:2376", "invalid URL escape"},
		{"ssh://", "missing host"},
		{"ssh://deploy:s3cret@vps.example", "ssh:// takes no password"},
		{"ssh://deploy@vps.example?port=22", "unknown query parameters: port"},
		{"ssh://deploy:s3cret@vps%zz.example", "invalid URL escape"},
	} {
		err := dockerengine.CheckHostURL(c.raw)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckHostURL(%q) = %v, want an error containing %q", c.raw, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("CheckHostURL(%q) = %v: shows the password", c.raw, err)
		}
		if want := "host URL " + dockerengine.MaskURL(c.raw) + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckHostURL(%q) = %v, want it to start %q", c.raw, err, want)
		}
		// New refuses what CheckHostURL refuses, with the same words.
		if _, nerr := dockerengine.New(dockerengine.Options{Host: c.raw}); c.raw != "" && (nerr == nil || nerr.Error() != err.Error()) {
			t.Errorf("New(%q) = %v, want %v", c.raw, nerr, err)
		}
	}
}

func TestMaskURL(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"ssh://deploy:s3cret@vps.example:22", "ssh://deploy:xxxxx@vps.example:22"},
		{"ssh://:s3cret@vps.example", "ssh://:xxxxx@vps.example"},
		{"ssh://deploy@vps.example:22", "ssh://deploy@vps.example:22"},
		{"ssh://de%40ploy:s3:cr@et@vps.example/run/docker.sock", "ssh://de%40ploy:xxxxx@vps.example/run/docker.sock"},
		{"tcp://u:s3cret@10.0.0.5:2376/x@y?ca=/p@q/ca.pem", "tcp://u:xxxxx@10.0.0.5:2376/x@y?ca=/p@q/ca.pem"},
		{"tcp://10.0.0.5:2376?ca=/p/ca.pem&cert=/p/cert.pem&key=/p/key.pem", "tcp://10.0.0.5:2376?ca=/p/ca.pem&cert=/p/cert.pem&key=/p/key.pem"},
		{"unix:///var/run/docker.sock", "unix:///var/run/docker.sock"},
		{"ssh://deploy:s3cret@vps%zz.example", "ssh://deploy:xxxxx@vps%zz.example"}, // url.Parse refuses it
		{"deploy:s3cret@vps.example", "deploy:xxxxx@vps.example"},
		{"", ""},
	} {
		if got := dockerengine.MaskURL(c.raw); got != c.want {
			t.Errorf("MaskURL(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}

// An explicit host reads none of the environment's DOCKER_* variables, which
// describe the local host, and negotiates the API version even when
// DOCKER_API_VERSION would pin one.
func TestConnectExplicitHostIgnoresTheEnvironment(t *testing.T) {
	api := &dockertest.API{APIVersion: "1.45",
		Info: system.Info{ServerVersion: "fake-27.0", Swarm: swarm.Info{ControlAvailable: true}}}
	srv := httptest.NewServer(api) // plain HTTP on 127.0.0.1
	t.Cleanup(srv.Close)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("DOCKER_CERT_PATH", t.TempDir()) // no certificates in it
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	t.Setenv("DOCKER_API_VERSION", "1.30")

	if _, err := dockerengine.New(dockerengine.Options{}); err == nil {
		t.Fatal("the local host started without the certificates DOCKER_CERT_PATH names; the test proves nothing")
	}
	eng, err := dockerengine.New(dockerengine.Options{Host: "tcp://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	info, err := eng.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := (models.HostInfo{EngineVersion: "fake-27.0", APIVersion: "1.45", SwarmManager: true}); info != want {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
}

// A private engine listening on tcp://127.0.0.1 with --tlsverify: reached
// with ca, cert and key or a certificate directory; refused without the
// client certificate or with another CA.
func TestConnectTLS(t *testing.T) {
	dockertest.Host(t) // the gate: real-engine tests are on (fails under CI=true without it)
	p := newPKI(t)
	addr, cli := startTLSEngine(t, p)
	name := runTestContainer(t, cli, "connect-tls")

	for _, c := range []struct{ name, query string }{
		{"ca cert key", "?ca=" + p.ca + "&cert=" + p.cert + "&key=" + p.key},
		{"certs dir", "?certs=" + p.dir},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkEngine(t, dockerengine.Options{Host: "tcp://" + addr + c.query}, cli, name)
		})
	}

	other := newPKI(t)
	for _, c := range []struct {
		name, query string
		want        []string // one of them
	}{
		// TLS 1.2 says bad certificate, and the client adds a hint; 1.3 says certificate required.
		{"no client certificate", "?ca=" + p.ca, []string{"tls: bad certificate", "tls: certificate required"}},
		{"another CA", "?certs=" + other.dir, []string{"x509: certificate signed by unknown authority"}},
		// DOCKER_CERT_PATH would have made this a TLS client that gets in.
		{"plain HTTP despite DOCKER_CERT_PATH", "", []string{"Client sent an HTTP request to an HTTPS server"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("DOCKER_CERT_PATH", p.dir)
			t.Setenv("DOCKER_TLS_VERIFY", "1")
			eng, err := dockerengine.New(dockerengine.Options{Host: "tcp://" + addr + c.query})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Close() })
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			_, err = eng.Info(ctx)
			if err == nil || !slices.ContainsFunc(c.want, func(w string) bool { return strings.Contains(err.Error(), w) }) {
				t.Fatalf("Info = %v, want an error containing one of %q", err, c.want)
			}
			t.Logf("refused: %v", err)
			if _, err := eng.Running(ctx); err == nil {
				t.Error("Running succeeded where Info was refused")
			}
		})
	}
}

// The engine behind REFIT_TEST_DOCKER_HOST reached through a loopback sshd,
// whose side runs `docker system dial-stdio` as the docker CLI does.
func TestConnectSSH(t *testing.T) {
	host := dockertest.Host(t)
	sock, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		t.Skipf("the remote side reaches the engine by its unix socket; %s is not one", host)
	}
	cli := dockertest.Client(t)
	s := startSSHD(t, sock)
	name := runTestContainer(t, cli, "connect-ssh")

	t.Run("user host port", func(t *testing.T) {
		checkEngine(t, dockerengine.Options{Host: fmt.Sprintf("ssh://%s@127.0.0.1:%d", s.user, s.port), SSHFlags: s.flags}, cli, name)
	})
	t.Run("socket path", func(t *testing.T) {
		// The path becomes the remote CLI's --host, over the DOCKER_HOST its session has.
		checkEngine(t, dockerengine.Options{Host: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, s.port, sock), SSHFlags: s.flags}, cli, name)
		eng, err := dockerengine.New(dockerengine.Options{Host: fmt.Sprintf("ssh://%s@127.0.0.1:%d/nonexistent/docker.sock", s.user, s.port), SSHFlags: s.flags})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		// The client words it as for any engine that does not answer, with the helper's dummy host.
		if _, err := eng.Info(t.Context()); err == nil || !strings.Contains(err.Error(), "Cannot connect to the Docker daemon") {
			t.Errorf("Info through a socket path that does not exist = %v, want the client's Cannot connect", err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		flags := append([]string{"-i", filepath.Join(t.TempDir(), "none")}, s.flags[2:]...) // s.flags starts -i key
		eng, err := dockerengine.New(dockerengine.Options{Host: fmt.Sprintf("ssh://%s@127.0.0.1:%d", s.user, s.port), SSHFlags: flags})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		_, err = eng.Info(t.Context())
		if err == nil || !strings.Contains(err.Error(), "Permission denied") {
			t.Fatalf("Info without the key = %v, want ssh's Permission denied", err)
		}
		t.Logf("refused: %v", err)
	})
}

// checkEngine connects with opts and checks that Running lists the
// container name and that Info says what cli, on the same engine, says.
func checkEngine(t *testing.T, opts dockerengine.Options, cli *client.Client, name string) {
	t.Helper()
	eng, err := dockerengine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	info, err := eng.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	sv, err := cli.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (models.HostInfo{EngineVersion: sv.Version, APIVersion: cli.ClientVersion()}); info != want {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	cs, err := eng.Running(ctx)
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+name+" ") {
		t.Errorf("Running = %v, want %s among them", names, name)
	}
	t.Logf("%s: Info %+v, %d running, in %s", dockerengine.MaskURL(opts.Host), info, len(cs), time.Since(start).Round(time.Millisecond))
}

// runTestContainer loads a test image and runs a container of it, both
// removed when the test ends, and returns the container's name.
func runTestContainer(t *testing.T, cli *client.Client, base string) string {
	t.Helper()
	tag := "local/" + dockertest.UniqueName(t, base) + ":1"
	dockertest.Load(t, cli, ocitest.Tarball(t, tag, ocitest.ImageOpts{Marker: base}))
	name := dockertest.UniqueName(t, base)
	dockertest.Run(t, cli, dockertest.RunOpts{Name: name, Image: tag})
	return name
}

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, laid out as DOCKER_CERT_PATH wants (ca.pem, cert.pem,
// key.pem) plus server-cert.pem and server-key.pem.
type pki struct {
	dir, ca, cert, key, serverCert, serverKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	p := pki{dir: dir, ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"),
		serverCert: filepath.Join(dir, "server-cert.pem"), serverKey: filepath.Join(dir, "server-key.pem")}
	caKey := newKey(t)
	caTmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: "refit test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	issue := func(certPath, keyPath string, tmpl *x509.Certificate) {
		k := newKey(t)
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial(t), caTmpl.NotBefore, caTmpl.NotAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
		kDER, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, keyPath, "PRIVATE KEY", kDER)
	}
	issue(p.serverCert, p.serverKey, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	issue(p.cert, p.key, &x509.Certificate{Subject: pkix.Name{CommonName: "refit"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startTLSEngine starts a private engine (REFIT_TEST_DOCKERD, else dockerd
// on PATH) with .ci/dockerd, listening on its unix socket and, with
// --tlsverify and p's server certificate, on a free port of 127.0.0.1. It
// returns that address and a client of the unix socket; the engine is
// stopped when the test ends.
func startTLSEngine(t *testing.T, p pki) (string, *client.Client) {
	t.Helper()
	addr := dockertest.FreeAddr(t)
	cli := dockertest.PrivateEngine(t, fmt.Sprintf("--host tcp://%s --tlsverify --tlscacert %s --tlscert %s --tlskey %s",
		addr, p.ca, p.serverCert, p.serverKey))
	return addr, cli
}

type sshServer struct {
	user  string
	port  int
	flags []string // for Options.SSHFlags: -i key first
}

// startSSHD runs Debian's sshd on a free port of 127.0.0.1 until the test
// ends, letting in the current user with a key of the test's own. Its
// sessions have DOCKER_HOST=unix://sock and the docker CLI on PATH: sshd
// builds their environment afresh.
func startSSHD(t *testing.T, sock string) sshServer {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd" // not on a user's PATH
	}
	docker, derr := exec.LookPath("docker")
	keygen, kerr := exec.LookPath("ssh-keygen")
	_, cerr := exec.LookPath("ssh")
	for _, err := range []error{derr, kerr, cerr} {
		if err != nil {
			noSSHD(t, err.Error())
		}
	}
	if _, err := os.Stat(sshd); err != nil {
		noSSHD(t, err.Error())
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// sshd running as root wants its privilege separation directory, which
	// the Debian service creates at each start.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			noSSHD(t, err.Error())
		}
	}

	dir := t.TempDir()
	for _, k := range []string{"host_key", "client_key"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "refit-test", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	authorized := fmt.Sprintf(`environment="PATH=%s:/usr/bin:/bin",environment="DOCKER_HOST=unix://%s" %s`,
		filepath.Dir(docker), sock, pub)
	writeFile(t, filepath.Join(dir, "authorized_keys"), authorized)
	addr := dockertest.FreeAddr(t)
	_, portStr, _ := net.SplitHostPort(addr)
	writeFile(t, filepath.Join(dir, "sshd_config"), strings.Join([]string{
		"ListenAddress " + addr,
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"AllowUsers " + me.Username,
		"StrictModes no", // the temporary directory is not the user's home
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"PermitUserEnvironment PATH,DOCKER_HOST",
		"AllowTcpForwarding no",
		"X11Forwarding no",
		"",
	}, "\n"))

	var log bytes.Buffer
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		noSSHD(t, err.Error())
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("sshd exited: %s", log.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("sshd did not listen on %s within 10s: %s", addr, log.String())
		}
	}
	port := 0
	fmt.Sscan(portStr, &port)
	return sshServer{user: me.Username, port: port, flags: []string{
		"-i", filepath.Join(dir, "client_key"),
		"-F", "/dev/null", // neither the user's nor the system's ssh_config
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
	}}
}

func noSSHD(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot start a loopback sshd (.ci/run installs openssh-server): %s", why)
	}
	t.Skipf("cannot start a loopback sshd (openssh-server): %s", why)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
