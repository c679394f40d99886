package services_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

const (
	hookAll    = "generic+http://hooks.test/all"
	hookFailed = "generic+http://hooks.test/failed-only"
	newerDig   = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	newerImg   = "sha256:0000000000000000000000000000000000000000000000000000000000000003"
)

// notifyWorld is newFakeWorld with a Notifier over a real SQLite file,
// wired as cmd/refit wires it, and a clock the test moves.
type notifyWorld struct {
	fakeWorld
	path string
	send *fake.Sender
	pol  *services.Policies
	n    *services.Notifier
	now  *clock
}

func newNotifyWorld(t *testing.T, path string, config ...services.ConfigTarget) *notifyWorld {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "refit.db")
	}
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	for _, c := range []struct{ id, name string }{{idA, "a"}, {idB, "b"}, {idC, "c"}} {
		eng.Run(c.id, c.name, ref, oldImg)
	}
	eng.Publish(ref, newImg, newDig)
	reg.Set(ref, newDig)
	w := &notifyWorld{path: path, send: &fake.Sender{Timeout: 300 * time.Millisecond}, now: &clock{t: time.Now()}}
	w.open(t, eng, reg, config)
	return w
}

// open (re)opens the database and builds the services over eng and reg.
func (w *notifyWorld) open(t *testing.T, eng *fake.Engine, reg *fake.Registry, config []services.ConfigTarget) {
	t.Helper()
	db, err := services.OpenDB(w.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sql, _ := db.DB(); sql.Close() })
	tog, err := services.NewToggles(db)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := services.NewPolicies(db, w.now.Now)
	if err != nil {
		t.Fatal(err)
	}
	hist := services.NewHistory(db)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	n := services.NewNotifier(db, w.send, ctr, quiet, services.NotifyOptions{Config: config, Policies: pol,
		Retry: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}})
	hist.Observe(n.Recorded)
	ctr.OnCheck(n.Checked)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond, Policies: pol})
	t.Cleanup(upd.Close)
	t.Cleanup(n.Close)
	w.fakeWorld = fakeWorld{eng: eng, reg: reg, ctr: ctr, tog: tog, upd: upd, hist: hist}
	w.pol, w.n = pol, n
}

func (w *notifyWorld) check(t *testing.T) {
	t.Helper()
	if _, err := w.ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// delivered waits until the outbox has nothing queued and returns what the
// sender got.
func (w *notifyWorld) delivered(t *testing.T) []fake.Sent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.n.Wait(ctx); err != nil {
		t.Fatalf("outbox not empty: %v", err)
	}
	return w.send.Sent()
}

func to(sent []fake.Sent, url string) []fake.Sent {
	var out []fake.Sent
	for _, s := range sent {
		if s.URL == url {
			out = append(out, s)
		}
	}
	return out
}

func TestAvailableIsOneMessagePerTargetListingEveryNewCandidate(t *testing.T) {
	w := newNotifyWorld(t, "",
		services.ConfigTarget{Name: "all", URL: hookAll},
		services.ConfigTarget{Name: "failures", URL: hookFailed, Events: []string{models.EventFailed}})
	w.n.Start()
	w.check(t)
	sent := w.delivered(t)
	all := to(sent, hookAll)
	if len(all) != 1 {
		t.Fatalf("messages to the all target = %d, want 1: %+v", len(all), sent)
	}
	if got := to(sent, hookFailed); len(got) != 0 {
		t.Errorf("the failed-only target got %d messages, want none", len(got))
	}
	m := all[0]
	if m.Title != "refit: 3 updates available" {
		t.Errorf("title = %q", m.Title)
	}
	want := "registry.test/app:1 → " + models.ShortDigest(newDig) + "\n  local: a, b, c"
	if m.Body != want {
		t.Errorf("body = %q, want %q", m.Body, want)
	}
}

func TestAvailableIsNeverRepeatedAcrossChecksAndRestarts(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "all", URL: hookAll})
	w.n.Start()
	w.check(t)
	w.check(t)
	if got := len(w.delivered(t)); got != 1 {
		t.Fatalf("after two checks: %d messages, want 1", got)
	}
	// A restart: the same database file, new services.
	w.n.Close()
	w.open(t, w.eng, w.reg, []services.ConfigTarget{{Name: "all", URL: hookAll}})
	w.n.Start()
	w.check(t)
	if got := len(w.delivered(t)); got != 1 {
		t.Fatalf("after a restart and a check: %d messages, want still 1", got)
	}
	// A newer digest is a new candidate, announced once, for all three.
	w.eng.Publish(ref, newerImg, newerDig)
	w.reg.Set(ref, newerDig)
	w.check(t)
	w.check(t)
	sent := w.delivered(t)
	if len(sent) != 2 || !strings.Contains(sent[1].Body, models.ShortDigest(newerDig)) {
		t.Fatalf("after a newer digest: %+v, want one more message naming it", sent)
	}
}

// What was announced is kept while it is the container's candidate: a
// check the registry failed keeps it (no repeat once it answers again);
// a candidate the registry moved past is forgotten, so the table stays as
// small as what is current, and a tag moved back is news again.
func TestAnnouncementsAreKeptWhileCurrent(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "all", URL: hookAll})
	w.n.Start()
	db, err := services.OpenDB(w.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sql, _ := db.DB(); sql.Close() })
	rows := func() (out []string) {
		t.Helper()
		var as []models.Announcement
		if err := db.Order("name").Find(&as).Error; err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			out = append(out, a.Name+"@"+models.ShortDigest(a.Digest))
		}
		return out
	}
	w.check(t)
	if got := len(w.delivered(t)); got != 1 {
		t.Fatalf("first check: %d messages, want 1", got)
	}
	w.reg.Fail(ref, errors.New("toomanyrequests"))
	w.check(t)
	if got := rows(); len(got) != 3 {
		t.Fatalf("after a failed check the announcements are %v, want the 3 kept", got)
	}
	w.reg.Set(ref, newDig)
	w.check(t)
	if got := len(w.delivered(t)); got != 1 {
		t.Fatalf("the registry back: %d messages, want still 1", got)
	}

	w.eng.Publish(ref, newerImg, newerDig)
	w.reg.Set(ref, newerDig)
	w.check(t)
	want := models.ShortDigest(newerDig)
	if got := rows(); len(got) != 3 || got[0] != "a@"+want || got[2] != "c@"+want {
		t.Fatalf("after a newer digest the announcements are %v, want a, b and c at %s alone", got, want)
	}
	w.reg.Set(ref, newDig) // the tag moved back
	w.check(t)
	if sent := w.delivered(t); len(sent) != 3 || !strings.Contains(sent[2].Body, models.ShortDigest(newDig)) {
		t.Fatalf("the tag moved back: %+v, want a third message naming %s", sent, models.ShortDigest(newDig))
	}
}

func TestSkippedSnoozedAndLabelledContainersAreNotAnnounced(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "all", URL: hookAll})
	w.eng.SetLabels(idC, map[string]string{models.LabelNotify: "false"})
	if _, err := w.pol.Apply(local("a"), models.PolicyAction{Action: models.PolicySkipCurrent}, models.Candidate{Digest: newDig}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pol.Apply(local("b"), models.PolicyAction{Action: models.PolicySnooze, Days: 7}, models.Candidate{}); err != nil {
		t.Fatal(err)
	}
	w.n.Start()
	w.check(t)
	if sent := w.delivered(t); len(sent) != 0 {
		t.Fatalf("skipped, snoozed and refit.notify=false: %+v, want nothing", sent)
	}
	// The snooze ends: b is announced at the next check, a stays skipped.
	w.now.Add(8 * 24 * time.Hour)
	w.check(t)
	sent := w.delivered(t)
	if len(sent) != 1 || sent[0].Title != "refit: update available for b" {
		t.Fatalf("after the snooze: %+v, want one message for b", sent)
	}
}

func TestUpdatedAndFailedMessagesFollowEachOutcome(t *testing.T) {
	w := newNotifyWorld(t, "",
		services.ConfigTarget{Name: "all", URL: hookAll, Events: []string{models.EventUpdated, models.EventFailed}},
		services.ConfigTarget{Name: "failures", URL: hookFailed, Events: []string{models.EventFailed}})
	w.n.Start()
	w.check(t)
	if _, err := w.upd.StartContainer(idA, "alice"); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "a")
	w.eng.FailStep("b", models.StepStarting, errors.New("port is already allocated"))
	if _, err := w.upd.StartContainer(idB, "bob"); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "b")
	sent := w.delivered(t)
	all := to(sent, hookAll)
	if len(all) != 2 {
		t.Fatalf("all target: %+v, want updated and failed", all)
	}
	up := all[0]
	if up.Title != "refit: a updated" {
		t.Errorf("updated title = %q", up.Title)
	}
	for _, s := range []string{"container: a on local", "image: registry.test/app:1",
		models.ShortDigest(oldDig) + " → " + models.ShortDigest(newDig), "started by alice", "took "} {
		if !strings.Contains(up.Body, s) {
			t.Errorf("updated body %q lacks %q", up.Body, s)
		}
	}
	failed := to(sent, hookFailed)
	if len(failed) != 1 || failed[0].Title != "refit: update of b failed, rolled back" {
		t.Fatalf("failed-only target: %+v", failed)
	}
	for _, s := range []string{"reason: ", "port is already allocated", "The old container runs again.", "started by bob"} {
		if !strings.Contains(failed[0].Body, s) {
			t.Errorf("failed body %q lacks %q", failed[0].Body, s)
		}
	}
}

func TestRetriesThenKeepsTheFailureInTheOutbox(t *testing.T) {
	w := newNotifyWorld(t, "",
		services.ConfigTarget{Name: "flaky", URL: hookAll},
		services.ConfigTarget{Name: "dead", URL: hookFailed})
	w.send.FailWith(hookAll, errors.New("503 Service Unavailable"))
	w.send.FailWith(hookFailed, errors.New("connection refused"))
	w.n.Start()
	w.check(t)
	// The flaky one comes back after two tries.
	time.Sleep(10 * time.Millisecond)
	w.send.FailWith(hookAll, errors.New("503 Service Unavailable"), nil)
	w.delivered(t)
	out, err := w.n.Outbox(10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]models.Notification{}
	for _, m := range out {
		got[m.Target] = m
	}
	if m := got["dead"]; m.State != models.NotifyFailed || m.Attempts != 3 || m.Error != "connection refused" {
		t.Errorf("dead target's message = %+v, want failed after 3 tries with the error", m)
	}
	if m := got["flaky"]; m.State != models.NotifySent || m.Attempts < 2 || m.Attempts > 3 {
		t.Errorf("flaky target's message = %+v, want sent on a later try", m)
	}
	if n := w.send.Tries(hookFailed); n != 3 {
		t.Errorf("tries of the dead target = %d, want 3", n)
	}
}

// A target that never answers costs an update nothing: delivery is off
// its path.
func TestAHangingTargetDoesNotDelayAnUpdate(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "dead", URL: hookAll})
	w.send.Timeout = 5 * time.Second
	w.send.Hang(hookAll)
	w.n.Start()
	start := time.Now()
	w.check(t)
	if _, err := w.upd.StartContainer(idA, "alice"); err != nil {
		t.Fatal(err)
	}
	if p := w.wait(t, "a"); p.Phase != models.PhaseDone {
		t.Fatalf("update ended %s", p.Status)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("check and update took %s with a hanging target, want well under its 5 s timeout", d)
	}
}

func TestQueuedMessagesAreSentAfterARestart(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "all", URL: hookAll})
	w.check(t) // no worker: the message stays queued, as at a stop
	w.n.Close()
	if len(w.send.Sent()) != 0 {
		t.Fatal("sent without a worker")
	}
	w.open(t, w.eng, w.reg, []services.ConfigTarget{{Name: "all", URL: hookAll}})
	w.n.Start()
	if sent := w.delivered(t); len(sent) != 1 {
		t.Fatalf("after the restart: %d messages, want the queued one", len(sent))
	}
}

func TestTargetsAddTestRemoveAndNeverShowTheirSecret(t *testing.T) {
	var logs bytes.Buffer
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "env", URL: "ntfy://:s3cr3t@ntfy.test/topic-s3cr3t"})
	w.n = services.NewNotifier(mustDB(t, filepath.Join(t.TempDir(), "other.db")), w.send, w.ctr, slog.New(slog.NewTextHandler(&logs, nil)),
		services.NotifyOptions{Config: []services.ConfigTarget{{Name: "env", URL: "ntfy://:s3cr3t@ntfy.test/topic-s3cr3t"}}})
	if _, err := w.n.AddTarget("admin", models.TargetAdd{Name: "Bad Name", URL: hookAll}); !errors.Is(err, models.ErrBadTargetName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := w.n.AddTarget("admin", models.TargetAdd{Name: "x", URL: "nosuch://s3cr3t@h"}); !errors.Is(err, models.ErrInvalid) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := w.n.AddTarget("admin", models.TargetAdd{Name: "x", URL: hookAll, Events: []string{"nope"}}); !errors.Is(err, models.ErrUnknownEvent) {
		t.Errorf("unknown event: %v", err)
	}
	if _, err := w.n.AddTarget("admin", models.TargetAdd{Name: "env", URL: hookAll}); !errors.Is(err, models.ErrTargetExists) {
		t.Errorf("taken name: %v", err)
	}
	hook := "generic+http://hooks.test/s3cr3t-hook"
	ti, err := w.n.AddTarget("admin", models.TargetAdd{Name: "hook", URL: hook, Events: []string{models.EventFailed}})
	if err != nil {
		t.Fatal(err)
	}
	if ti.ID != "generic.hook" || ti.URL != "generic+http://hooks.test/***" || ti.CreatedBy != "admin" {
		t.Errorf("added = %+v", ti)
	}
	w.send.FailWith(hook, errors.New(`Post "http://hooks.test/s3cr3t-hook": refused`))
	res, err := w.n.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1 || len(res.Failed) != 1 || res.Failed[0].Target != "hook" || strings.Contains(res.Failed[0].Error, "s3cr3t") {
		t.Errorf("test = %+v", res)
	}
	if err := w.n.RemoveTarget("env"); !errors.Is(err, models.ErrTargetFromFlag) {
		t.Errorf("remove a -notify target: %v", err)
	}
	if err := w.n.RemoveTarget("hook"); err != nil {
		t.Fatal(err)
	}
	if err := w.n.RemoveTarget("hook"); !errors.Is(err, models.ErrTargetNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	ts, _ := w.n.Targets()
	out, _ := w.n.Outbox(10)
	for _, s := range []string{logs.String(), func() string {
		b := ""
		for _, t := range ts {
			b += t.URL
		}
		return b
	}(),
		func() string {
			b := ""
			for _, m := range out {
				b += m.Error + m.Body
			}
			return b
		}()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("a secret shows: %q", s)
		}
	}
	if !strings.Contains(logs.String(), "notification not delivered") {
		t.Errorf("the failure was not logged: %q", logs.String())
	}
}

// A target that never answers holds up only its own messages.
func TestAHangingTargetDoesNotDelayTheOthers(t *testing.T) {
	w := newNotifyWorld(t, "",
		services.ConfigTarget{Name: "dead", URL: hookFailed},
		services.ConfigTarget{Name: "live", URL: hookAll})
	w.send.Timeout = 5 * time.Second
	w.send.Hang(hookFailed)
	w.n.Start()
	start := time.Now()
	w.check(t) // available, to both
	if _, err := w.upd.StartContainer(idA, "alice"); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "a") // updated, to both, while dead still hangs on the first
	for end := time.Now().Add(4 * time.Second); len(to(w.send.Sent(), hookAll)) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("live target got %d messages, want 2 before the dead one's timeout", len(to(w.send.Sent(), hookAll)))
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the live target's two messages took %s", d)
	}
}

// An interrupted update that recovery finished or restored is a failed
// message; so is a rollback that failed. An up-to-date pull is nobody's.
func TestRecoveryAndRollbackOutcomesAreFailedMessages(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "all", URL: hookAll, Events: []string{models.EventFailed, models.EventUpdated}})
	w.n.Start()
	for _, rec := range []models.UpdateRecord{
		{Container: "a", Result: "recovered", By: "recovery"},
		{Container: "b", Result: "rolled back", Error: "interrupted update: the old container was started again", By: "recovery"},
		{Container: "c", Result: "failed", Error: "start: port is busy; rollback failed: no such container; c-refit-old is stopped", By: "auto"},
		{Container: "a", Result: "failed", Error: "pull: manifest unknown", By: "alice"},
		{Container: "a", Result: "uptodate", By: "alice"},
		{Container: "a", Result: "restored", By: "alice", Image: ref, FromDigest: newDig, ToDigest: oldDig},
	} {
		rec.Host = models.LocalHost
		if err := w.hist.Add(rec); err != nil {
			t.Fatal(err)
		}
	}
	sent := w.delivered(t)
	want := []struct{ title, says string }{
		{"refit: interrupted update of a finished by recovery", "recovery kept the new container"},
		{"refit: interrupted update of b restored by recovery", "recovery restored the old container, which runs again"},
		{"refit: update of c failed", "the old container does not run again yet"},
		{"refit: update of a failed", "the old container was left as it was"},
		{"refit: a rolled back to a backup", models.ShortDigest(newDig) + " → " + models.ShortDigest(oldDig)},
	}
	if len(sent) != len(want) {
		t.Fatalf("sent %d messages, want %d: %+v", len(sent), len(want), sent)
	}
	for i, w := range want {
		if sent[i].Title != w.title || !strings.Contains(sent[i].Body, w.says) {
			t.Errorf("message %d = %q %q, want %q saying %q", i, sent[i].Title, sent[i].Body, w.title, w.says)
		}
	}
}

// A newer version tag is a candidate too, announced once by its tag; a
// skipped tag is not, and a tag newer still is a new candidate.
func TestNewerTagsAreAnnouncedOnceEach(t *testing.T) {
	const (
		v123 = "registry.test/app:1.2.3"
		dig3 = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
		dig4 = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	)
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(v123, oldImg)
	eng.Run(idA, "web", v123, oldImg)
	eng.SetLabels(idA, map[string]string{models.LabelTagInclude: `^\d+\.\d+\.\d+$`})
	eng.Run(idB, "pinned", v123, oldImg)
	eng.SetLabels(idB, map[string]string{models.LabelTagInclude: `^\d+\.\d+\.\d+$`})
	reg.Set(v123, oldDig)
	reg.Set("registry.test/app:1.3.0", dig3)
	db, tog, _ := mustStore(t)
	pol, err := services.NewPolicies(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Apply(local("pinned"), models.PolicyAction{Action: models.PolicySkipCurrent}, models.Candidate{Tag: "1.3.0"}); err != nil {
		t.Fatal(err)
	}
	send := &fake.Sender{}
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	n := services.NewNotifier(db, send, ctr, quiet, services.NotifyOptions{Config: []services.ConfigTarget{{Name: "all", URL: hookAll}}, Policies: pol})
	ctr.OnCheck(n.Checked)
	n.Start()
	t.Cleanup(n.Close)
	check := func() []fake.Sent {
		t.Helper()
		if _, err := ctr.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		return send.Sent()
	}
	sent := check()
	if len(sent) != 1 || sent[0].Title != "refit: update available for web" || sent[0].Body != v123+" → tag 1.3.0\n  local: web" {
		t.Fatalf("first check: %+v", sent)
	}
	if sent = check(); len(sent) != 1 {
		t.Fatalf("second check announced again: %+v", sent)
	}
	reg.Set("registry.test/app:1.4.0", dig4)
	sent = check()
	if len(sent) != 2 || sent[1].Body != v123+" → tag 1.4.0\n  local: pinned, web" {
		t.Fatalf("after 1.4.0: %+v", sent)
	}
}

// A dead target's failures are a warning once an hour, on the notifier's
// own clock; the ones between are debug lines.
func TestADeadTargetWarnsOncePerHour(t *testing.T) {
	db, _, _ := mustStore(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	send := &fake.Sender{}
	send.FailWith(hookFailed, errors.New("connection refused"))
	clk := &clock{t: time.Now()}
	n := services.NewNotifier(db, send, services.NewContainers(fake.NewEngine(), fake.NewRegistry(), nil, quiet, 1), log,
		services.NotifyOptions{Config: []services.ConfigTarget{{Name: "dead", URL: hookFailed}}, Now: clk.Now})
	t.Cleanup(n.Close)
	warns := func() int { return strings.Count(logs.String(), "level=WARN") }
	for range 3 {
		if _, err := n.Test(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := warns(); got != 1 {
		t.Fatalf("warnings after 3 failures in a minute = %d, want 1:\n%s", got, logs.String())
	}
	clk.Add(61 * time.Minute)
	if _, err := n.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := warns(); got != 2 {
		t.Errorf("warnings after an hour = %d, want 2", got)
	}
}

// Without a retry schedule of its own, a message is tried 3 times over
// about 5 minutes: after 1 and 4 more.
func TestDefaultRetryIsThreeTriesOverAboutFiveMinutes(t *testing.T) {
	if got := services.DefaultRetry; len(got) != 2 || got[0] != time.Minute || got[0]+got[1] != 5*time.Minute {
		t.Errorf("DefaultRetry = %v, want [1m 4m]", got)
	}
}

// refit.notify=false leaves a container out of the updated and failed
// messages too, not only the available ones.
func TestLabelledContainersGetNoUpdatedOrFailedMessage(t *testing.T) {
	w := newNotifyWorld(t, "", services.ConfigTarget{Name: "all", URL: hookAll})
	w.eng.SetLabels(idA, map[string]string{models.LabelNotify: "false"})
	w.eng.SetLabels(idB, map[string]string{models.LabelNotify: "false"})
	w.n.Start()
	w.check(t)
	w.delivered(t) // the available message, for c alone
	before := len(w.send.Sent())
	if _, err := w.upd.StartContainer(idA, "alice"); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "a")
	w.eng.FailStep("b", models.StepStarting, errors.New("port is already allocated"))
	if _, err := w.upd.StartContainer(idB, "bob"); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "b")
	if sent := w.delivered(t)[before:]; len(sent) != 0 {
		t.Errorf("labelled containers got messages: %+v", sent)
	}
}
