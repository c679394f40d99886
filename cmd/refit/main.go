// Command refit lists running containers grouped by image, tells which are
// behind their registry tag, and updates them. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // the image is FROM scratch, with no zoneinfo: TZ needs the zones built in

	"github.com/gofiber/fiber/v2"

	"refit/handlers"
	"refit/models"
	"refit/services"
	"refit/services/dockerengine"
	"refit/services/metrics"
	"refit/services/oci"
	"refit/services/shoutrrr"
)

// Set at link time by make build (-X): git describe, the commit and its time.
var (
	version   = "dev"
	commit    = ""
	buildTime = ""
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A small daemon that is idle most of the time: collect at half the
		// default heap growth. 2.4 MB less resident with 500 containers, for
		// GC work that rounds to nothing (make bench).
		debug.SetGCPercent(50)
	}
	// Here, not in run: the process's own client, set before anything uses
	// it (tests call run beside their own requests).
	shoutrrr.BoundDefaultClient(time.Minute)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "refit:", err)
			os.Exit(1)
		}
	}
}

// run is refit without the process around it, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "check":
	case "version":
		return versionCommand(args, stdout)
	case "user":
		return userCommand(args, getenv, os.Stdin, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stderr)
	case "self-update":
		return selfUpdateCommand(ctx, args, getenv, stderr)
	default:
		return fmt.Errorf("unknown command %q (see refit --help)", cmd)
	}
	// A compose file written for Watchtower passes its flags (command:
	// --interval 30): they count as the variables they stand for.
	var wtIgnored []string
	if cmd == "serve" {
		var vars map[string]string
		var err error
		if args, vars, wtIgnored, err = watchtowerArgs(args, isOption); err != nil {
			return err
		}
		getenv = watchtowerEnv(getenv, vars)
		if getenv("WATCHTOWER_DISABLE_CONTAINERS") != "" {
			return errors.New("refit does not take WATCHTOWER_DISABLE_CONTAINERS: label those containers com.centurylinklabs.watchtower.enable=false instead")
		}
	}
	cfg, err := parseConfig(cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	cfg.Watchtower.Unknown = append(unknownWatchtower(os.Environ()), wtIgnored...)
	logWatchtower(log, cfg.Watchtower, cfg.AutoUpdateDefault)
	a, err := build(cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	if cmd == "check" {
		return checkOnce(ctx, a, cfg.JSON, stdout)
	}
	return serve(ctx, a, cfg, log)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is every long-lived piece, wired once.
type app struct {
	deps  handlers.Deps
	close func()
	// describe, once serve starts it, reads what new images say of
	// themselves after each check (`refit check` leaves them unread).
	describe *services.Descriptions
}

// connectHosts makes a client per host: the -hosts entries, or one host
// named local from DOCKER_HOST. Each negotiates its own API version when it
// first answers. A bad entry is an error naming it.
func connectHosts(specs []HostSpec) ([]services.Host, func(), error) {
	var engines []*dockerengine.Engine
	closeAll := func() {
		for _, e := range engines {
			e.Close()
		}
	}
	if len(specs) == 0 {
		e, err := dockerengine.New(dockerengine.Options{})
		if err != nil {
			return nil, nil, err
		}
		engines = append(engines, e)
		url := os.Getenv("DOCKER_HOST") // what the client's FromEnv reads
		if url == "" {
			url = "unix:///var/run/docker.sock"
		}
		return []services.Host{{Name: models.LocalHost, URL: dockerengine.MaskURL(url), Engine: e}}, closeAll, nil
	}
	hosts := make([]services.Host, 0, len(specs))
	for _, s := range specs {
		e, err := dockerengine.New(dockerengine.Options{Host: s.URL})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("invalid -hosts entry %s=%s: %w", s.Name, dockerengine.MaskURL(s.URL), err)
		}
		engines = append(engines, e)
		hosts = append(hosts, services.Host{Name: s.Name, URL: dockerengine.MaskURL(s.URL), Engine: e})
	}
	return hosts, closeAll, nil
}

func build(cfg Config, log *slog.Logger) (*app, error) {
	// OpenDB does this too; here to say so once.
	if changed, err := services.SecureDBFile(cfg.DB); err != nil {
		return nil, err
	} else if len(changed) > 0 {
		log.Warn("database files were readable by others; now only by refit's user", "files", changed)
	}
	db, err := services.OpenDB(cfg.DB)
	if err != nil {
		return nil, err
	}
	sqlDB, _ := db.DB()
	hosts, closeHosts, err := connectHosts(cfg.Hosts)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	met := metrics.New(buildInfo())
	reg, err := oci.New(oci.Options{Sent: met.RegistrySent})
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	tog, err := services.NewToggles(db)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	aud := services.NewAudit(db, log, nil).KeepFor(cfg.AuditRetention)
	auth, err := services.NewAuth(db, aud, log, authOptions(cfg))
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	sched, err := services.NewSchedule(services.ScheduleOptions{Every: cfg.CheckInterval, Cron: cfg.Schedule, Window: cfg.UpdateWindow})
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	rules, err := services.NewTagRules(db)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	cands, err := services.NewCandidates(db, time.Now)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	tog.SetDefault(cfg.AutoUpdateDefault)
	ctr := services.NewContainersOn(hosts, reg, tog, log, cfg.CheckConcurrency)
	ctr.FollowTags(rules)
	ctr.OnChecked(met.CheckDone)
	met.Watch(ctr)
	hist := services.NewHistory(db).AuditTo(aud).NameHosts(ctr.Several()).Observe(met.UpdateDone)
	upd := services.NewUpdates(reg, ctr, hist, log, services.UpdateOptions{
		MaxPulls: cfg.MaxPulls, HealthTimeout: cfg.HealthTimeout, Settle: cfg.Settle,
		Journal: services.NewJournal(db), Self: dockerengine.SelfID(), Policies: pol,
		Backups: services.NewBackups(db, cfg.BackupKeep, log),
		MinAge:  cfg.MinAge, Candidates: cands, Window: sched.InWindow,
		Cleanup: cfg.Cleanup,
		Watchtower: services.WatchtowerOptions{Scope: cfg.Watchtower.Scope, APIOnly: cfg.Watchtower.APIOnly(),
			Hooks: cfg.LifecycleHooks, StopTimeout: cfg.Watchtower.StopTimeout, NoPull: cfg.Watchtower.NoPull},
	})
	// Each check also tries a write, so the dashboard's "database not
	// writable" banner goes once there is room again.
	ctr.OnCheck(func([]models.ImageGroup) { _ = hist.Writable() })
	ctr.OnCheck(met.Checked) // a Watchtower scan begins: before the auto-update it counts
	ctr.OnCheck(upd.AutoUpdate)
	var wt handlers.WatchtowerDeps
	if w := cfg.Watchtower; w.APIUpdate || w.APIMetrics {
		wt.Token = w.APIToken
		if w.APIUpdate {
			met.ScanUpdatesBy(services.ByWatchtowerAPI)
			wt.Update = services.NewWatchtowerAPI(ctr, upd, services.WatchtowerAPIOptions{LabelEnable: w.LabelEnable,
				MonitorOnly: w.MonitorOnly, Scanned: met.Scanned, Skipped: met.ScanSkipped})
		}
		if w.APIMetrics {
			wt.Metrics = met.WatchtowerHandler()
		}
	}
	ntf := services.NewNotifier(db, shoutrrr.New(10*time.Second), ctr, log,
		services.NotifyOptions{Config: cfg.Notify, Policies: pol, Observe: met.Notified})
	hist.Observe(ntf.Recorded)
	desc, err := services.NewDescriptions(db, reg, log, services.DescribeOptions{DockerHub: cfg.DescribeRemote})
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	return &app{describe: desc,
		deps: handlers.Deps{Log: log, Containers: ctr, Toggles: tog, Updates: upd, History: hist,
			Schedule: sched,
			Policies: pol, Catalog: services.NewCatalog(ctr, pol, tog, upd), Notifier: ntf,
			Auth: auth, Audit: aud, TrustedProxies: cfg.TrustedProxies,
			AllowedHosts: append(cfg.AllowedHosts, cfg.Addr), // a name in -addr is one of refit's
			Metrics:      met.Handler(), MetricsToken: cfg.MetricsToken, Build: buildInfo(), Watchtower: wt},
		close: func() {
			desc.Close()
			upd.Close()
			ntf.Close() // after the updates: their last records queue messages for the next start
			closeHosts()
			sqlDB.Close()
		},
	}, nil
}

func serve(ctx context.Context, a *app, cfg Config, log *slog.Logger) error {
	if err := a.deps.Auth.Bootstrap(cfg.AdminUser, cfg.AdminPassword); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// Recovery of interrupted updates runs in the background whenever the
	// engine answers, so the server answers at once. Only serve recovers:
	// `refit check` must change nothing.
	a.deps.Containers.OnReachable(a.deps.Updates.RecoverInBackground)
	ctr := a.deps.Containers
	// Only serve announces and delivers: `refit check` must change nothing.
	ctr.OnCheck(a.deps.Notifier.Checked)
	ctr.DescribeWith(a.describe)
	a.deps.Notifier.Start()
	go ctr.Watch(ctx)
	go a.deps.Schedule.Run(ctx, func(ctx context.Context) { checkNow(ctx, ctr, log) },
		func() { a.deps.Updates.AutoUpdate(ctr.Groups()) }) // what waited for the window

	srv := handlers.New(a.deps)
	errc := make(chan error, 2)
	go func() { errc <- srv.Listener(ln) }()
	// The zone schedules and windows run in (TZ), so a zone TZ did not name
	// right shows as UTC here.
	log.Info("refit listening", "addr", ln.Addr().String(), "version", version, "zone", time.Now().Format("MST -07:00"))
	var wsrv *fiber.App
	if wt := a.deps.Watchtower; (wt.Update != nil || wt.Metrics != nil) && cfg.WatchtowerAddr != "off" {
		wln, err := net.Listen("tcp", cfg.WatchtowerAddr)
		if err != nil {
			srv.Shutdown()
			return fmt.Errorf("listen on %s for Watchtower's HTTP API (-watchtower-api-addr): %w", cfg.WatchtowerAddr, err)
		}
		wsrv = handlers.NewWatchtower(a.deps)
		go func() { errc <- wsrv.Listener(wln) }()
		log.Info("watchtower HTTP API listening", "addr", wln.Addr().String(), "token", wt.Token != "")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if wsrv != nil {
		_ = wsrv.ShutdownWithTimeout(time.Second) // its updates are the update engine's, which shutdown ends
	}
	return shutdown(a, srv, cfg.ShutdownTimeout, log)
}

// shutdown stops taking requests and lets the updates end, both within
// timeout, which stays inside the 10 s Docker gives before it kills. What
// cannot end in time is in the journal, which the next start recovers: a
// stop on time is still a clean one, so it exits 0.
func shutdown(a *app, srv *fiber.App, timeout time.Duration, log *slog.Logger) error {
	log.Info("shutting down", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.ShutdownWithContext(ctx) }()
	if err := a.deps.Updates.Shutdown(ctx); err != nil {
		log.Warn("shutdown: updates left running", "error", err)
	}
	if err := <-served; err != nil {
		log.Warn("shutdown: requests left unanswered", "error", err)
	}
	return nil
}

// buildInfo is what refit version and GET /api/version say.
func buildInfo() models.BuildInfo {
	b := models.BuildInfo{Version: version, Commit: commit, Go: runtime.Version(), Built: buildTime}
	if bi, ok := debug.ReadBuildInfo(); ok && b.Commit == "" {
		for _, s := range bi.Settings { // go build without make still knows its commit
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				if b.Built == "" {
					b.Built = s.Value
				}
			}
		}
	}
	return b
}

// versionCommand is `refit version`: one line, or --json.
func versionCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("refit version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the JSON of GET /api/version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b := buildInfo()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(b)
	}
	line := "refit " + b.Version
	if b.Commit != "" {
		line += " (" + b.Commit + ")"
	}
	line += " " + b.Go
	if b.Built != "" {
		line += " built " + b.Built
	}
	_, err := fmt.Fprintln(stdout, line)
	return err
}

// checkNow is one scheduled check; a failure is logged, not returned.
func checkNow(ctx context.Context, ctr *services.Containers, log *slog.Logger) {
	if _, err := ctr.Check(ctx); err != nil && ctx.Err() == nil {
		if ctr.EngineState().Down {
			log.Debug("check skipped: docker engine not reachable", "error", err) // the outage is logged once
		} else {
			log.Warn("check failed", "error", err)
		}
	}
	// A check is the one burst of an idle refit; without this the runtime
	// keeps its garbage resident until a GC that an idle process rarely needs.
	debug.FreeOSMemory()
}

// checkOnce is `refit check`: one check, printed, for cron and scripts.
func checkOnce(ctx context.Context, a *app, asJSON bool, w io.Writer) error {
	groups, err := a.deps.Containers.Check(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(groups)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	several := a.deps.Containers.Several()
	if several {
		fmt.Fprintln(tw, "IMAGE\tHOST\tCONTAINER\tID\tLOCAL\tREMOTE\tSTATUS")
	} else {
		fmt.Fprintln(tw, "IMAGE\tCONTAINER\tID\tLOCAL\tREMOTE\tSTATUS")
	}
	for _, g := range groups {
		for _, c := range g.Containers {
			name := c.ContainerName
			if several {
				name = c.Host + "\t" + name
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g.Image, name, c.ContainerID, c.LocalDigest, g.RemoteDigest, c.Status)
		}
		if g.Reason != "" && g.Status == "unknown" {
			pad := "\t\t\t\t\t"
			if several {
				pad += "\t"
			}
			fmt.Fprintf(tw, "%s%s(%s)\n", g.Image, pad, g.Reason)
		}
	}
	return tw.Flush()
}
