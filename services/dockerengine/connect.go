package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"

	"refit/models"
)

// hostURL is an explicit host's URL, checked.
type hostURL struct {
	scheme string // "unix", "tcp" or "ssh"
	host   string // for client.WithHost: the URL without its query; ssh: the URL as given
	tls    *tlsconfig.Options
}

// CheckHostURL reports whether New can connect to raw as an explicit host,
// with one error naming what is wrong: the scheme, the address, a query
// parameter, a certificate file that cannot be read, or no ssh command. It
// reads the certificate files but connects to nothing. The forms, as in
// DOCKER_HOST:
//
//	unix:///var/run/docker.sock
//	tcp://10.0.0.5:2375                                   plain HTTP
//	tcp://10.0.0.5:2376?ca=/p/ca.pem&cert=/p/cert.pem&key=/p/key.pem
//	tcp://10.0.0.5:2376?ca=/p/ca.pem                      TLS without a client certificate
//	tcp://10.0.0.5:2376?certs=/p                          /p holds ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH)
//	ssh://deploy@vps.example[:22][/run/docker.sock]       ssh runs `docker system dial-stdio` there, as the docker CLI does
//
// TLS always verifies the engine's certificate against ca: there is no
// DOCKER_TLS_VERIFY to leave unset.
func CheckHostURL(raw string) error {
	_, err := hostOpts(raw, nil)
	return err
}

// MaskURL returns raw for display, with the password of its userinfo, if
// any, replaced by "xxxxx". Certificate paths stay readable.
func MaskURL(raw string) string {
	// By hand rather than url.Parse, so that a URL it refuses is masked too
	// and the rest is shown exactly as written. The authority ends at the
	// first '/', '?' or '#'; its userinfo at the last '@' (as url.Parse reads it).
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	end := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = i
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return raw
	}
	return prefix + user + ":xxxxx" + rest[at:]
}

// hostOpts returns the client options that reach raw, an explicit host:
// none from the environment, which describes the local host.
func hostOpts(raw string, sshFlags []string) ([]client.Opt, error) {
	h, err := parseHostURL(raw)
	if err != nil {
		return nil, fmt.Errorf("host URL %s: %w", MaskURL(raw), err)
	}
	switch {
	case h.scheme == "ssh":
		if _, err := exec.LookPath("ssh"); err != nil {
			return nil, fmt.Errorf("host URL %s: ssh:// needs the ssh command: %w", MaskURL(raw), err)
		}
		helper, err := connhelper.GetConnectionHelperWithSSHOpts(h.host, sshFlags)
		if err != nil {
			return nil, fmt.Errorf("host URL %s: %w", MaskURL(raw), err)
		}
		return []client.Opt{
			client.WithHost(helper.Host), // before the HTTP client: it would give the transport the environment's proxy
			withSSHClient,
			client.WithDialContext(helper.Dialer),
		}, nil
	case h.tls != nil:
		// Loaded here only for the error, which client.WithTLSClientConfig
		// words less clearly; it loads them again for each client it makes.
		if _, err := tlsconfig.Client(*h.tls); err != nil {
			return nil, fmt.Errorf("host URL %s: %w", MaskURL(raw), err)
		}
		return []client.Opt{client.WithHost(h.host), client.WithTLSClientConfig(h.tls.CAFile, h.tls.CertFile, h.tls.KeyFile)}, nil
	default:
		return []client.Opt{client.WithHost(h.host)}, nil
	}
}

// withSSHClient gives the client an HTTP client of its own without a proxy,
// as the docker CLI does for a connection helper: the dialer runs ssh
// whatever address it is asked for. A new one per client, because the
// Identity client is made from the same options and the Docker client wraps
// the transport it is given.
func withSSHClient(c *client.Client) error {
	return client.WithHTTPClient(&http.Client{
		Transport: &http.Transport{
			// Each connection is an ssh process: keep few idle, not for long.
			MaxIdleConns:    6,
			IdleConnTimeout: 30 * time.Second,
		},
		CheckRedirect: client.CheckRedirect,
	})(c)
}

func parseHostURL(raw string) (hostURL, error) {
	if !strings.Contains(raw, "://") {
		return hostURL{}, errors.New("missing scheme: want unix://, tcp:// or ssh://")
	}
	u, err := url.Parse(raw)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return hostURL{}, err
	}
	if u.Fragment != "" {
		return hostURL{}, errors.New("a fragment (#…) is not allowed")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return hostURL{}, fmt.Errorf("query: %w", err)
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return hostURL{}, errors.New("want an absolute socket path, as in unix:///var/run/docker.sock")
		}
		if err := knownParams(q); err != nil {
			return hostURL{}, err
		}
		return hostURL{scheme: "unix", host: "unix://" + u.Path}, nil
	case "tcp":
		if u.User != nil {
			return hostURL{}, errors.New("tcp:// takes no user name or password")
		}
		if u.Hostname() == "" {
			return hostURL{}, errors.New("missing host, as in tcp://10.0.0.5:2376")
		}
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			return hostURL{}, errors.New("missing or bad port, as in tcp://10.0.0.5:2376")
		}
		tls, err := tlsParams(q)
		if err != nil {
			return hostURL{}, err
		}
		return hostURL{scheme: "tcp", host: "tcp://" + u.Host + u.Path, tls: tls}, nil
	case "ssh":
		if u.Hostname() == "" {
			return hostURL{}, errors.New("missing host, as in ssh://deploy@vps.example")
		}
		if _, ok := u.User.Password(); ok {
			return hostURL{}, errors.New("ssh:// takes no password: use a key, in ssh-agent or ~/.ssh/config")
		}
		if err := knownParams(q); err != nil {
			return hostURL{}, err
		}
		return hostURL{scheme: "ssh", host: raw}, nil
	case "":
		return hostURL{}, errors.New("missing scheme: want unix://, tcp:// or ssh://")
	default:
		return hostURL{}, fmt.Errorf("unsupported scheme %q: want unix://, tcp:// or ssh://", u.Scheme)
	}
}

// tlsParams reads the TLS query parameters of a tcp:// URL; nil means plain
// HTTP.
func tlsParams(q url.Values) (*tlsconfig.Options, error) {
	if err := knownParams(q, "ca", "cert", "key", "certs"); err != nil {
		return nil, err
	}
	get := func(k string) (string, error) {
		switch v := q[k]; {
		case len(v) > 1:
			return "", fmt.Errorf("query parameter %s given %d times", k, len(v))
		case len(v) == 1 && v[0] == "":
			return "", fmt.Errorf("query parameter %s is empty", k)
		case len(v) == 1:
			return v[0], nil
		}
		return "", nil
	}
	var vals [4]string
	for i, k := range []string{"ca", "cert", "key", "certs"} {
		v, err := get(k)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	ca, cert, key, dir := vals[0], vals[1], vals[2], vals[3]
	switch {
	case dir != "" && (ca != "" || cert != "" || key != ""):
		return nil, errors.New("certs= is a directory of ca.pem, cert.pem and key.pem: give it alone, or ca=, cert= and key=")
	case dir != "":
		ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	case (cert == "") != (key == ""):
		return nil, errors.New("cert= and key= go together")
	case cert != "" && ca == "":
		// Docker's engines have certificates from their own CA; without it
		// the system's roots would be trusted instead, which is never meant.
		return nil, errors.New("ca= is needed with cert= and key=")
	case ca == "":
		return nil, nil
	}
	// ExclusiveRootPools as client.WithTLSClientConfig sets it: ca alone is trusted.
	return &tlsconfig.Options{CAFile: ca, CertFile: cert, KeyFile: key, ExclusiveRootPools: true}, nil
}

// knownParams returns an error naming the query parameters not in known.
func knownParams(q url.Values, known ...string) error {
	var unknown []string
	for k := range q {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	if len(known) == 0 {
		return fmt.Errorf("unknown query parameters: %s (this scheme takes none)", strings.Join(unknown, ", "))
	}
	return fmt.Errorf("unknown query parameters: %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// Info returns the engine's version, the API version negotiated with it and
// whether it is a Swarm manager.
func (e *Engine) Info(ctx context.Context) (models.HostInfo, error) {
	info, err := e.cli.Info(ctx) // negotiates first, so ClientVersion is the negotiated one
	if err != nil {
		return models.HostInfo{}, fmt.Errorf("docker engine: %w", err)
	}
	return models.HostInfo{
		EngineVersion: info.ServerVersion,
		APIVersion:    e.cli.ClientVersion(),
		SwarmManager:  info.Swarm.ControlAvailable,
	}, nil
}
