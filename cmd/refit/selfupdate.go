package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine"
)

// selfUpdateCommand is `refit self-update -container ID -by NAME`: what the
// helper container runs when refit updates the container it runs in. The
// refit being replaced cannot do it itself, since the stop ends it half
// way. It recreates the container with the journal, as any update, records
// the outcome in the shared database for the new refit to show, and
// removes its own container. Restarted after a crash (its restart policy),
// it finds the journal entry and recovers instead.
func selfUpdateCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("refit self-update", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("container", "", "ID of the refit container to replace")
	by := fs.String("by", "", "who asked for the update, for the history")
	host := fs.String("host", models.LocalHost, "the -hosts name of the host the container runs on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if *target == "" {
		return errors.New("refit self-update: want -container ID")
	}
	cfg, err := parseConfig("self-update", rest, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr).With("helper", "self-update", "container", models.ShortID(*target))
	db, err := services.OpenDB(cfg.DB)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	// The host this helper runs on, as the refit that started it reaches it.
	eopts := dockerengine.Options{}
	for _, h := range cfg.Hosts {
		if h.Name == *host {
			eopts.Host = h.URL
		}
	}
	engine, err := dockerengine.New(eopts)
	if err != nil {
		return err
	}
	defer engine.Close()
	journal, hist := services.NewJournal(db), services.NewHistory(db)
	opts := models.RecreateOptions{HealthTimeout: cfg.HealthTimeout, Settle: cfg.Settle, Journal: journal.On(*host)}
	started := time.Now()

	pending, err := journal.Pending(*host)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		// A restart of this helper: settle what the first run left.
		recs, err := engine.Recover(ctx, models.RecoverOptions{Pending: pending, Settle: cfg.Settle, HealthTimeout: cfg.HealthTimeout})
		for _, r := range recs {
			log.Warn("recovered the interrupted self-update", "action", r.Action, "detail", r.Detail)
			_ = journal.Clear(models.Ref(*host, r.Container))
			result := "recovered"
			if r.Action == models.RecoveryRestored {
				result = "rolled back"
			}
			_ = hist.Add(models.UpdateRecord{Host: *host, Container: r.Container, By: *by, StartedAt: started, Result: result,
				Error: r.Detail, DurationMS: time.Since(started).Milliseconds()})
		}
		if err != nil {
			return err // exit non-zero: the restart policy tries again
		}
		return engine.RemoveSelf(ctx)
	}

	rec := models.UpdateRecord{Host: *host, By: *by, StartedAt: started}
	old, err := engine.Inspect(ctx, *target)
	if errors.Is(err, models.ErrNotFound) {
		log.Info("nothing to do: the container is gone (replaced already)")
		return engine.RemoveSelf(ctx)
	}
	if err != nil {
		return err
	}
	rec.Container, rec.Image = old.Name, old.ConfiguredImage
	rec.FromDigest = firstDigest(old.RepoDigests)
	if fresh, err := engine.Image(ctx, old.ConfiguredImage); err == nil {
		rec.ToDigest = firstDigest(fresh.RepoDigests)
	}
	log.Info("self-update started")
	newID, err := engine.Recreate(ctx, *target, opts)
	rec.DurationMS = time.Since(started).Milliseconds()
	switch {
	case err == nil:
		rec.Result = "updated"
	case newID != "":
		// The new refit runs; only the old container could not be removed.
		rec.Result, rec.Error, err = "updated", err.Error(), nil
	case models.IsRolledBack(err):
		rec.Result, rec.Error = "rolled back", err.Error()
	default:
		rec.Result, rec.Error = "failed", err.Error()
	}
	log.Info("self-update finished", "result", rec.Result, "error", rec.Error)
	if herr := hist.Add(rec); herr != nil {
		log.Error("history not recorded", "error", herr)
	}
	if err != nil && !models.IsRolledBack(err) {
		return fmt.Errorf("self-update: %w", err) // the restart policy runs recovery
	}
	return engine.RemoveSelf(ctx)
}

func firstDigest(rds []string) string {
	for _, rd := range rds {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			return d
		}
	}
	return ""
}
