package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine"
	"refit/services/shoutrrr"
)

// Config is every option refit takes, parsed once here and handed to
// constructors as plain values.
type Config struct {
	Addr string
	// WatchtowerAddr also serves Watchtower's HTTP API, when its settings
	// ask for it ("off": -addr alone).
	WatchtowerAddr   string
	DB               string
	CheckInterval    time.Duration
	Schedule         string        // a cron expression that replaces CheckInterval
	UpdateWindow     string        // when auto-updates may run; "" any time
	MinAge           time.Duration // how long a candidate waits before auto-update
	CheckConcurrency int
	MaxPulls         int
	HealthTimeout    time.Duration
	Settle           time.Duration
	LogLevel         slog.Level
	LogFormat        string
	JSON             bool // refit check --json
	Auth             bool // REFIT_AUTH: on unless "off"
	CookieSecure     bool
	DescribeRemote   bool // read Docker Hub images' config too (a manifest GET counts as a pull there)
	SessionIdle      time.Duration
	SessionMax       time.Duration
	TrustedOrigins   []string
	TrustedProxies   []netip.Prefix
	AllowedHosts     []string // names besides localhost, the machine's and IP literals
	AuditRetention   time.Duration
	MetricsToken     string
	ShutdownTimeout  time.Duration
	BackupKeep       int // image backups kept per container; 0 takes none
	// Hosts are the -hosts entries in their order; none means one host,
	// models.LocalHost, from DOCKER_HOST.
	Hosts []HostSpec
	// Notify are the -notify targets, checked, in their order.
	Notify []services.ConfigTarget
	// AdminUser and AdminPassword create the first admin on first start.
	// Environment only: a password in argv shows in ps.
	AdminUser     string
	AdminPassword string
	// AutoUpdateDefault is what a container without a toggle gets.
	AutoUpdateDefault models.AutoUpdateDefault
	// LifecycleHooks runs the containers' Watchtower lifecycle labels.
	LifecycleHooks bool
	// Cleanup removes the image a container ran after its update, once
	// nothing uses it and no backup keeps it.
	Cleanup bool
	// Watchtower is what the WATCHTOWER_* variables set.
	Watchtower WatchtowerConfig
}

// HostSpec is one -hosts entry: name=url.
type HostSpec struct {
	Name, URL string
}

// option is one flag with its environment fallback.
type option struct {
	name, env, def, usage string
}

var options = []option{
	{"addr", "REFIT_ADDR", ":8099", "address to listen on"},
	{"db", "REFIT_DB", "refit.db", "SQLite database file"},
	{"check-interval", "REFIT_CHECK_INTERVAL", "6h", "time between registry checks (0 turns periodic checks off)"},
	{"schedule", "REFIT_SCHEDULE", "", "when checks run, as a cron expression with seconds (0 0 4 * * *, as Watchtower's) or @daily, @every 6h; replaces -check-interval"},
	{"update-window", "REFIT_UPDATE_WINDOW", "", "when auto-updates may run, e.g. Sat,Sun 02:00-05:00 or Mon-Fri 22:00-06:00, in TZ; checks run at any time and what is due waits for the window"},
	{"min-age", "REFIT_MIN_AGE", "0", "how long refit must have known a new version before auto-updating to it, e.g. 7d (the label refit.min-age overrides it; an update by hand does not wait)"},
	{"check-concurrency", "REFIT_CHECK_CONCURRENCY", "16", "registry HEAD requests in flight to each registry during a check"},
	{"max-pulls", "REFIT_MAX_PULLS", "2", "image pulls running at once on each host"},
	{"hosts", "REFIT_HOSTS", "", "space-separated name=url Docker hosts, url in DOCKER_HOST form: unix:///var/run/docker.sock, tcp://10.0.0.5:2376?certs=/certs/nas (or ?ca=…&cert=…&key=…), ssh://user@host[:port]; none means one host named local from DOCKER_HOST"},
	{"health-timeout", "REFIT_HEALTH_TIMEOUT", "2m", "how long a new container with a healthcheck may take to become healthy"},
	{"settle", "REFIT_SETTLE", "10s", "how long a new container without a healthcheck must keep running"},
	{"log-level", "REFIT_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "REFIT_LOG_FORMAT", "text", "text or json"},
	{"auth", "REFIT_AUTH", "on", "on, or off to let everyone who can reach refit act as an admin"},
	{"cookie-secure", "REFIT_COOKIE_SECURE", "false", "always mark the session cookie Secure (it is anyway over TLS); set it behind a TLS proxy"},
	{"describe-remote", "REFIT_DESCRIBE_REMOTE", "false", "also read what a new Docker Hub image says of itself (version, source, date) for the dashboard; each new digest costs one manifest GET, which Docker Hub counts as a pull (other registries are read anyway)"},
	{"session-idle", "REFIT_SESSION_IDLE", "24h", "sign a browser out after this long without a request"},
	{"session-max", "REFIT_SESSION_MAX", "720h", "sign a browser out this long after login, however busy"},
	{"trusted-origins", "REFIT_TRUSTED_ORIGINS", "", "comma-separated origins, e.g. https://refit.example.com, that may post to refit besides its own Host (a proxy that rewrites Host)"},
	{"audit-retention", "REFIT_AUDIT_RETENTION", "90d", "how long audit log entries are kept (0 keeps them forever)"},
	{"trusted-proxies", "REFIT_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For, -Proto and -Host refit believes"},
	{"metrics-token", "REFIT_METRICS_TOKEN", "", "bearer token that may read /metrics and nothing else, for a Prometheus scraper (a session or an API token may too)"},
	{"shutdown-timeout", "REFIT_SHUTDOWN_TIMEOUT", "8s", "how long a stop (SIGTERM, SIGINT) may take: an update in progress finishes or rolls back within it (keep it under Docker's 10 s stop timeout)"},
	{"backup-keep", "REFIT_BACKUP_KEEP", "3", "image backups kept per container: before each recreate refit tags the image it ran as refit-backup/<host>/<name>:<time>-<id>; older ones beyond this are removed (0 takes none)"},
	{"cleanup", "REFIT_CLEANUP", "false", "after each update, remove the image the container ran once no container uses it and no backup keeps it (a backup pruned beyond -backup-keep takes its image along), as Watchtower's --cleanup"},
	{"notify", "REFIT_NOTIFY", "", "space-separated notification URLs (shoutrrr's: ntfy://ntfy.sh/topic, smtp://user:pass@host:587/?from=…&to=…, generic+https://host/hook…), each [name=]url[#events] with events a comma list of available, updated, failed (default all)"},
	{"auto-update-default", "REFIT_AUTO_UPDATE_DEFAULT", "off", "auto-update for containers never toggled: off, labelled (only those labelled com.centurylinklabs.watchtower.enable=true) or all (all but those labelled enable=false); unset with WATCHTOWER_* variables present, Watchtower's choice"},
	{"lifecycle-hooks", "REFIT_LIFECYCLE_HOOKS", "off", "on runs the containers' com.centurylinklabs.watchtower.lifecycle.* commands with sh -c inside them around checks and updates, as Watchtower's --enable-lifecycle-hooks"},
	{"watchtower-api-addr", "REFIT_WATCHTOWER_API_ADDR", ":8080", "where Watchtower's HTTP API (/v1/update, /v1/metrics) is served besides -addr, when WATCHTOWER_HTTP_API_UPDATE or _METRICS asks for it: Watchtower's own port, which its users' scripts call (off: -addr alone)"},
	{"allowed-hosts", "REFIT_ALLOWED_HOSTS", "", "comma-separated host names, with a port or without, that refit answers to besides localhost, this machine's names and IP addresses (421 for others)"},
}

// secretOptions may hold secrets: their environment value is read after
// the flags, so -h, which prints each flag's default, never shows it.
var secretOptions = map[string]bool{"notify": true, "metrics-token": true}

// boolOptions are the options that also work as bare flags (-cookie-secure).
var boolOptions = map[string]bool{"cookie-secure": true, "describe-remote": true, "cleanup": true}

// boolString is a bool flag that keeps its text, so options stay strings.
type boolString string

func (b *boolString) String() string     { return string(*b) }
func (b *boolString) Set(v string) error { *b = boolString(v); return nil }
func (b *boolString) IsBoolFlag() bool   { return true }

// parseConfig reads flags, falling back to REFIT_* environment variables,
// then to defaults. A bad value is one clear error.
func parseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("refit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, o := range options {
		def := o.def
		if v := getenv(o.env); v != "" && !secretOptions[o.name] {
			def = v
		}
		usage := fmt.Sprintf("%s (env %s, default %q)", o.usage, o.env, o.def)
		if boolOptions[o.name] {
			v := boolString(def)
			fs.Var(&v, o.name, usage)
			vals[o.name] = (*string)(&v)
			continue
		}
		vals[o.name] = fs.String(o.name, def, usage)
	}
	jsonOut := false
	if cmd == "check" {
		fs.BoolVar(&jsonOut, "json", false, "print the result as the JSON of GET /api/images")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: refit [serve|check|user|healthcheck|version] [options]\n\n"+
			"  serve        serve the web UI and JSON API (the default)\n"+
			"  check        check once, print a table (or --json) and exit\n"+
			"  user         add, list and remove users, set passwords and roles (refit user -h)\n"+
			"  healthcheck  exit 0 when the server on -addr answers /health with 200, else 1 (for HEALTHCHECK)\n\nOptions:\n")
		printOptions(stderr, fs)
		fmt.Fprintf(stderr, "\nDocker is reached through DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; registry\n"+
			"credentials come from the Docker config (DOCKER_CONFIG, credential helpers).\n")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, o := range options {
		if v := getenv(o.env); secretOptions[o.name] && !set[o.name] && v != "" {
			*vals[o.name] = v
		}
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see refit --help)", fs.Arg(0))
	}
	wt, err := readWatchtower(getenv, set, vals)
	if err != nil {
		return Config{}, err
	}
	c := Config{Addr: *vals["addr"], DB: *vals["db"], LogFormat: *vals["log-format"], JSON: jsonOut, Watchtower: wt}
	if c.AutoUpdateDefault, err = autoUpdateDefault(*vals["auto-update-default"],
		set["auto-update-default"] || getenv("REFIT_AUTO_UPDATE_DEFAULT") != "", wt); err != nil {
		return Config{}, err
	}
	if c.LifecycleHooks, err = onOff("lifecycle-hooks", *vals["lifecycle-hooks"]); err != nil {
		return Config{}, err
	}
	if c.Cleanup, err = onOff("cleanup", *vals["cleanup"]); err != nil {
		return Config{}, err
	}
	if c.WatchtowerAddr = *vals["watchtower-api-addr"]; c.WatchtowerAddr != "off" {
		if _, _, e := net.SplitHostPort(c.WatchtowerAddr); e != nil {
			return Config{}, fmt.Errorf("invalid -watchtower-api-addr %q: want host:port, :port or off", c.WatchtowerAddr)
		}
	}
	if _, _, e := net.SplitHostPort(c.Addr); e != nil {
		return Config{}, fmt.Errorf("invalid -addr %q: want host:port or :port", c.Addr)
	}
	if c.DB == "" {
		return Config{}, errors.New("invalid -db: empty path")
	}
	if c.CheckInterval, err = duration("check-interval", *vals["check-interval"], true); err != nil {
		return Config{}, err
	}
	c.Schedule, c.UpdateWindow = strings.TrimSpace(*vals["schedule"]), strings.TrimSpace(*vals["update-window"])
	if _, err := services.NewSchedule(services.ScheduleOptions{Cron: c.Schedule}); err != nil {
		return Config{}, fmt.Errorf("invalid -schedule: %w", err)
	}
	if _, err := services.NewSchedule(services.ScheduleOptions{Window: c.UpdateWindow}); err != nil {
		return Config{}, fmt.Errorf("invalid -update-window: %w", err)
	}
	if c.MinAge, err = duration("min-age", *vals["min-age"], true); err != nil {
		return Config{}, err
	}
	if c.HealthTimeout, err = duration("health-timeout", *vals["health-timeout"], false); err != nil {
		return Config{}, err
	}
	if c.Settle, err = duration("settle", *vals["settle"], false); err != nil {
		return Config{}, err
	}
	if c.CheckConcurrency, err = positive("check-concurrency", *vals["check-concurrency"]); err != nil {
		return Config{}, err
	}
	if c.MaxPulls, err = positive("max-pulls", *vals["max-pulls"]); err != nil {
		return Config{}, err
	}
	if c.ShutdownTimeout, err = duration("shutdown-timeout", *vals["shutdown-timeout"], false); err != nil {
		return Config{}, err
	}
	if c.BackupKeep, err = strconv.Atoi(strings.TrimSpace(*vals["backup-keep"])); err != nil || c.BackupKeep < 0 {
		return Config{}, fmt.Errorf("invalid -backup-keep %q: want a whole number, 0 or more", *vals["backup-keep"])
	}
	if c.Hosts, err = parseHosts(*vals["hosts"]); err != nil {
		return Config{}, err
	}
	if c.Notify, err = parseNotify(*vals["notify"]); err != nil {
		return Config{}, err
	}
	c.MetricsToken = strings.TrimSpace(*vals["metrics-token"])
	if err := c.LogLevel.UnmarshalText([]byte(*vals["log-level"])); err != nil {
		return Config{}, fmt.Errorf("invalid -log-level %q: want debug, info, warn or error", *vals["log-level"])
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return Config{}, fmt.Errorf("invalid -log-format %q: want text or json", c.LogFormat)
	}
	if err := c.parseAuth(vals, getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseAuth reads the auth options into c.
func (c *Config) parseAuth(vals map[string]*string, getenv func(string) string) error {
	var err error
	if c.Auth, err = onOff("auth", *vals["auth"]); err != nil {
		return err
	}
	if c.CookieSecure, err = onOff("cookie-secure", *vals["cookie-secure"]); err != nil {
		return err
	}
	if c.DescribeRemote, err = onOff("describe-remote", *vals["describe-remote"]); err != nil {
		return err
	}
	if c.SessionIdle, err = duration("session-idle", *vals["session-idle"], false); err != nil {
		return err
	}
	if c.SessionMax, err = duration("session-max", *vals["session-max"], false); err != nil {
		return err
	}
	if c.SessionMax < c.SessionIdle {
		return fmt.Errorf("invalid -session-max %q: shorter than -session-idle %q", *vals["session-max"], *vals["session-idle"])
	}
	for _, o := range strings.Split(*vals["trusted-origins"], ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("invalid -trusted-origins %q: want origins such as https://refit.example.com", o)
		}
		c.TrustedOrigins = append(c.TrustedOrigins, strings.TrimSuffix(o, "/"))
	}
	if c.AuditRetention, err = duration("audit-retention", *vals["audit-retention"], true); err != nil {
		return err
	}
	for _, p := range strings.Split(*vals["trusted-proxies"], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("invalid -trusted-proxies %q: want addresses or CIDRs such as 10.0.0.2 or 172.16.0.0/12", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	for _, h := range strings.Split(*vals["allowed-hosts"], ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if u, err := url.Parse("http://" + h); err != nil || u.Host != h || u.Hostname() == "" || (strings.Contains(h, ":") && u.Port() == "" && !strings.HasPrefix(h, "[")) {
			return fmt.Errorf("invalid -allowed-hosts %q: want names such as refit.example.com or refit.lan:8099", h)
		}
		c.AllowedHosts = append(c.AllowedHosts, h)
	}
	c.AdminUser, c.AdminPassword = getenv("REFIT_ADMIN_USER"), getenv("REFIT_ADMIN_PASSWORD")
	return nil
}

// parseHosts reads -hosts: name=url entries separated by spaces. A bad
// entry, down to an unreadable certificate, is an error naming it; nothing
// is connected to yet.
func parseHosts(v string) ([]HostSpec, error) {
	var out []HostSpec
	seen := map[string]bool{}
	for _, e := range strings.Fields(v) {
		name, raw, ok := strings.Cut(e, "=")
		switch {
		case !ok || raw == "":
			return nil, fmt.Errorf("invalid -hosts entry %q: want name=url, e.g. nas=tcp://10.0.0.5:2376", dockerengine.MaskURL(e))
		case !models.ValidHostName(name):
			return nil, fmt.Errorf("invalid -hosts entry %q: a host name is lower-case letters, digits and '-', starting with a letter or digit", name)
		case seen[name]:
			return nil, fmt.Errorf("invalid -hosts entry %q: host %s is named twice", name, name)
		}
		if err := dockerengine.CheckHostURL(raw); err != nil {
			return nil, fmt.Errorf("invalid -hosts entry %s=%s: %w", name, dockerengine.MaskURL(raw), err)
		}
		seen[name] = true
		out = append(out, HostSpec{Name: name, URL: raw})
	}
	return out, nil
}

// parseNotify reads -notify: [name=]url[#events] entries separated by
// spaces. A bad entry is an error naming it with its secrets masked. The
// name defaults to the service (ntfy, then ntfy-2…); a fragment is the
// events only when it lists nothing else (a matrix room alias is a #…).
func parseNotify(v string) ([]services.ConfigTarget, error) {
	var out []services.ConfigTarget
	seen, send := map[string]bool{}, shoutrrr.New(0)
	for _, e := range strings.Fields(v) {
		raw, name := e, ""
		if n, rest, ok := strings.Cut(e, "="); ok && !strings.Contains(n, "://") && strings.Contains(rest, "://") {
			name, raw = n, rest
		}
		var events []string
		if i := strings.LastIndex(raw, "#"); i >= 0 {
			evs := strings.Split(raw[i+1:], ",")
			if !slices.ContainsFunc(evs, func(e string) bool { return !slices.Contains(models.Events, e) }) {
				raw, events = raw[:i], evs
			}
		}
		if name == "" {
			name = models.NotifyType(raw)
			for i := 2; seen[name]; i++ {
				name = fmt.Sprintf("%s-%d", models.NotifyType(raw), i)
			}
		}
		if seen[name] {
			return nil, fmt.Errorf("invalid -notify entry %s: target %s is named twice", models.MaskNotifyURL(raw), name)
		}
		if err := send.Check(raw); err != nil {
			return nil, fmt.Errorf("invalid -notify entry %s: %s", models.MaskNotifyURL(raw), models.ScrubNotify(err.Error(), raw))
		}
		if err := services.CheckTarget(send, name, raw, events); err != nil {
			return nil, fmt.Errorf("invalid -notify entry %s: %w", models.MaskNotifyURL(raw), err)
		}
		seen[name] = true
		out = append(out, services.ConfigTarget{Name: name, URL: raw, Events: events})
	}
	return out, nil
}

// onOff parses on/off, true/false, yes/no or 1/0.
func onOff(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid -%s %q: want on or off", name, v)
}

// duration parses a Go duration, or whole days ("90d"), which Go lacks.
func duration(name, v string, zeroOK bool) (time.Duration, error) {
	v = strings.TrimSpace(v)
	d, err := models.ParseAge(v) // Go's durations, and days, which Go lacks
	if err != nil || (d == 0 && !zeroOK) {
		return 0, fmt.Errorf("invalid -%s %q: want a positive duration such as 30s, 6h or 90d", name, v)
	}
	return d, nil
}

func positive(name, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("invalid -%s %q: want a whole number of at least 1", name, v)
	}
	return n, nil
}
