package services_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"gorm.io/gorm"

	"refit/models"
	"refit/services"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// newRealWatchtower is the whole update path over the real engine as a
// Watchtower user's settings make it: every container auto-updated by
// default, within a scope of the test's own (other tests' containers on
// the engine are outside it, so auto-update never touches them).
// tune, when set, changes the update options further.
func newRealWatchtower(t *testing.T, wt services.WatchtowerOptions, tune ...func(*gorm.DB, *services.UpdateOptions)) realUpdater {
	t.Helper()
	eng := mustRealEngine(t)
	reg := ocitest.NewRegistry(t)
	oc := mustOCI(t, oci.Options{})
	db, tog, hist := mustStore(t)
	tog.SetDefault(models.AutoUpdateAll)
	ctr := services.NewContainers(eng, oc, tog, quiet, 8)
	opts := services.UpdateOptions{Settle: 300 * time.Millisecond, HealthTimeout: 20 * time.Second, Watchtower: wt}
	for _, f := range tune {
		f(db, &opts)
	}
	upd := services.NewUpdates(oc, ctr, hist, quiet, opts)
	t.Cleanup(upd.Close)
	return realUpdater{realChecker: realChecker{reg: reg, ctr: ctr, oci: oc, calls: &ownRequests{n: map[string]int{}}}, eng: eng, upd: upd, hist: hist}
}

// runLabelled pulls ref and runs a container named after base with labels,
// removed at cleanup by name (an update replaces its ID).
func runLabelled(t *testing.T, cli *client.Client, ref, base string, labels map[string]string, o dockertest.RunOpts) (name, id string) {
	t.Helper()
	name = dockertest.UniqueName(t, base)
	o.Name, o.Image, o.Labels = name, ref, labels
	id = dockertest.Run(t, cli, o)
	dockertest.RemoveAtCleanup(t, cli, name)
	return name, id
}

// records is the history by container name, the newest record of each.
func (ru realUpdater) records(t *testing.T) map[string]models.UpdateRecord {
	t.Helper()
	recs, err := ru.hist.Recent(100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]models.UpdateRecord{}
	for i := len(recs) - 1; i >= 0; i-- { // Recent is newest first
		out[recs[i].Container] = recs[i]
	}
	return out
}

// containerEvents are the engine's events of container id between since and
// now, oldest first.
func containerEvents(t *testing.T, cli *client.Client, id string, since time.Time) []events.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	until := time.Now().Add(time.Second)
	msgs, errs := cli.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Until:   fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("container", id)),
	})
	var out []events.Message
	for {
		select {
		case m := <-msgs:
			out = append(out, m)
		case err := <-errs:
			if err != nil && !strings.Contains(err.Error(), "EOF") && ctx.Err() == nil {
				t.Fatalf("events: %v", err)
			}
			return out
		}
	}
}

// Monitor-only, enable=false and another scope hold a container back from
// auto-update; it is still checked, and an update by hand goes through.
func TestWatchtowerRealLabelsHoldAutoUpdate(t *testing.T) {
	scope := dockertest.UniqueName(t, "scope")
	ru := newRealWatchtower(t, services.WatchtowerOptions{Scope: scope})
	cli := dockertest.Client(t)
	ref := ru.reg.Ref("test/wtlabels:1")
	ru.reg.Push(t, "test/wtlabels:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ref)
	in := func(more map[string]string) map[string]string {
		l := map[string]string{models.LabelWTScope: scope}
		for k, v := range more {
			l[k] = v
		}
		return l
	}
	plain, _ := runLabelled(t, cli, ref, "plain", in(nil), dockertest.RunOpts{})
	monitor, monitorID := runLabelled(t, cli, ref, "monitor", in(map[string]string{models.LabelWTMonitorOnly: "true"}), dockertest.RunOpts{})
	excluded, excludedID := runLabelled(t, cli, ref, "excluded", in(map[string]string{models.LabelWTEnable: "false"}), dockertest.RunOpts{})
	other, otherID := runLabelled(t, cli, ref, "other", map[string]string{models.LabelWTScope: scope + "-not"}, dockertest.RunOpts{})
	ru.reg.Push(t, "test/wtlabels:1", ocitest.ImageOpts{Marker: "v2"})

	g := ru.check(t)["test/wtlabels:1"]
	if st := statuses(g); st[monitor] != models.StatusOutdated || st[excluded] != models.StatusOutdated || st[other] != models.StatusOutdated {
		t.Fatalf("statuses %v: the held containers must still be checked", st)
	}
	ru.upd.AutoUpdate(ru.ctr.Groups())
	if p, _ := ru.waitDone(t, plain, time.Minute); p.Phase != models.PhaseDone {
		t.Fatalf("plain ended %+v, want auto-updated", p)
	}
	for name, id := range map[string]string{monitor: monitorID, excluded: excludedID, other: otherID} {
		if _, err := ru.upd.Progress(local(name)); err == nil {
			t.Errorf("%s was auto-updated", name)
		}
		if ins := dockertest.Inspect(t, cli, name); ins.ID != id {
			t.Errorf("%s runs %s, want the old %s", name, ins.ID, id)
		}
	}
	for _, name := range []string{monitor, excluded} {
		if _, err := ru.upd.StartContainer(name, "test"); err != nil {
			t.Fatal(err)
		}
		if p, _ := ru.waitDone(t, name, time.Minute); p.Phase != models.PhaseDone {
			t.Errorf("%s by hand ended %+v, want updated", name, p)
		}
	}
	if recs := ru.records(t); recs[monitor].Result != models.ResultUpdated || recs[excluded].Result != models.ResultUpdated {
		t.Errorf("records %+v, want the two updated by hand", recs)
	}
}

// depends-on: a dependency is recreated before its dependent (whose own
// pull is quicker), and a running dependent that is not outdated is
// restarted once its dependency was recreated, keeping its ID.
func TestWatchtowerRealDependsOnOrderAndRestart(t *testing.T) {
	ru := newRealWatchtower(t, services.WatchtowerOptions{})
	cli := dockertest.Client(t)
	for _, r := range []string{"test/wtdb:1", "test/wtapp:1", "test/wtside:1"} {
		ru.reg.Push(t, r, ocitest.ImageOpts{Marker: r + " v1"})
		dockertest.Pull(t, cli, ru.reg.Ref(r))
	}
	db, _ := runLabelled(t, cli, ru.reg.Ref("test/wtdb:1"), "db", nil, dockertest.RunOpts{})
	dep := map[string]string{models.LabelWTDependsOn: db}
	app, _ := runLabelled(t, cli, ru.reg.Ref("test/wtapp:1"), "app", dep, dockertest.RunOpts{})
	_, sideID := runLabelled(t, cli, ru.reg.Ref("test/wtside:1"), "side", dep, dockertest.RunOpts{})
	sideStarted := dockertest.Inspect(t, cli, sideID).State.StartedAt
	ru.reg.Push(t, "test/wtdb:1", ocitest.ImageOpts{Marker: "test/wtdb:1 v2", ExtraLayerSize: 2 << 20})
	ru.reg.Push(t, "test/wtapp:1", ocitest.ImageOpts{Marker: "test/wtapp:1 v2"})
	ru.check(t)

	ru.reg.SetBlobRate(4 << 20) // db's pull takes about half a second, app's almost none
	// The dependent first: the order asked for must not matter.
	if n, err := ru.upd.StartOutdated([]models.ContainerRef{local(app), local(db)}, "test"); err != nil || n != 2 {
		t.Fatalf("StartOutdated = %d, %v; want 2", n, err)
	}
	for _, n := range []string{db, app} {
		if p, _ := ru.waitDone(t, n, time.Minute); p.Phase != models.PhaseDone {
			t.Fatalf("%s ended %+v", n, p)
		}
	}
	dbIns, appIns := dockertest.Inspect(t, cli, db), dockertest.Inspect(t, cli, app)
	if dbIns.State.StartedAt >= appIns.State.StartedAt {
		t.Errorf("new db started at %s, new app at %s: want the dependency first", dbIns.State.StartedAt, appIns.State.StartedAt)
	}
	sideIns := dockertest.WaitFor(t, cli, sideID, 30*time.Second, "restarted", func(c container.InspectResponse) bool {
		return c.State.Running && c.State.StartedAt != sideStarted
	})
	if sideIns.State.StartedAt <= dbIns.State.StartedAt {
		t.Errorf("side restarted at %s, before the new db started at %s", sideIns.State.StartedAt, dbIns.State.StartedAt)
	}
	if sideIns.ID != sideID {
		t.Errorf("side is %s, want restarted in place (%s)", sideIns.ID, sideID)
	}
}

// The stop-signal label stops the old container with that signal, and
// WATCHTOWER_TIMEOUT bounds the wait before the kill: the engine's kill
// events say which signal went, and when.
func TestWatchtowerRealStopSignalAndTimeout(t *testing.T) {
	ru := newRealWatchtower(t, services.WatchtowerOptions{StopTimeout: time.Second})
	cli := dockertest.Client(t)
	ref := ru.reg.Ref("test/wtstop:1")
	ru.reg.Push(t, "test/wtstop:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ref)
	// The test app exits on SIGINT and ignores SIGUSR2; its own stop signal
	// would be SIGTERM, which it also exits on.
	intName, intID := runLabelled(t, cli, ref, "sigint", map[string]string{models.LabelWTStopSignal: "SIGINT"}, dockertest.RunOpts{})
	usrName, usrID := runLabelled(t, cli, ref, "sigusr2", map[string]string{models.LabelWTStopSignal: "SIGUSR2"}, dockertest.RunOpts{})
	ru.reg.Push(t, "test/wtstop:1", ocitest.ImageOpts{Marker: "v2"})
	ru.check(t)
	since := time.Now().Add(-time.Second)
	for _, n := range []string{intName, usrName} {
		if _, err := ru.upd.StartContainer(n, "test"); err != nil {
			t.Fatal(err)
		}
		if p, _ := ru.waitDone(t, n, time.Minute); p.Phase != models.PhaseDone {
			t.Fatalf("%s ended %+v", n, p)
		}
	}
	for _, tc := range []struct {
		id, signal string
		min, max   time.Duration
	}{
		{intID, "2", 0, 900 * time.Millisecond},                        // SIGINT: out at once
		{usrID, "12", 900 * time.Millisecond, 3500 * time.Millisecond}, // SIGUSR2 ignored: killed after 1 s, not 10
	} {
		var kills []string
		var firstKill, die time.Time
		for _, m := range containerEvents(t, cli, tc.id, since) {
			switch m.Action {
			case events.ActionKill:
				if firstKill.IsZero() {
					firstKill = time.Unix(0, m.TimeNano)
				}
				kills = append(kills, m.Actor.Attributes["signal"])
			case events.ActionDie:
				die = time.Unix(0, m.TimeNano)
			}
		}
		if len(kills) == 0 || kills[0] != tc.signal {
			t.Errorf("old %s got kill signals %v, want %s first", models.ShortID(tc.id), kills, tc.signal)
			continue
		}
		if took := die.Sub(firstKill); took < tc.min || took > tc.max {
			t.Errorf("old %s died %s after signal %s, want %s to %s", models.ShortID(tc.id), took, tc.signal, tc.min, tc.max)
		}
	}
}

// Lifecycle hooks with sh -c inside the container: pre-update in the old
// one, post-update in the new one, pre-check and post-check around each
// check; pre-update exit 75 skips the update, another failure is noted and
// the update goes on, and a container without a shell is updated with the
// missing shell said in its history.
func TestWatchtowerRealLifecycleHooks(t *testing.T) {
	ru := newRealWatchtower(t, services.WatchtowerOptions{Hooks: true})
	cli := dockertest.Client(t)
	ref, bare := ru.reg.Ref("test/wthook:1"), ru.reg.Ref("test/wtbare:1")
	ru.reg.Push(t, "test/wthook:1", ocitest.ImageOpts{Marker: "v1", Shell: true})
	ru.reg.Push(t, "test/wtbare:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ref)
	dockertest.Pull(t, cli, bare)
	hook := func(name string) string { return models.LabelWTHookPrefix + name }
	// read and echo are shell builtins: the image has sh and nothing else.
	note := func(what string) string { return "read h < /etc/hostname; echo " + what + " $h >> /hooks/log" }
	vol := dockertest.RunOpts{Volumes: []string{"/hooks"}} // anonymous: the new container mounts it too
	a, aID := runLabelled(t, cli, ref, "hooks", map[string]string{
		hook(models.HookPreCheck): note("pre-check"), hook(models.HookPostCheck): note("post-check"),
		hook(models.HookPreUpdate): note("pre-update"), hook(models.HookPostUpdate): note("post-update"),
	}, vol)
	skip, skipID := runLabelled(t, cli, ref, "skip", map[string]string{hook(models.HookPreUpdate): "echo busy; exit 75"}, vol)
	failing, _ := runLabelled(t, cli, ref, "failing", map[string]string{hook(models.HookPreUpdate): "echo cannot flush; exit 3"}, vol)
	noShell, _ := runLabelled(t, cli, bare, "noshell", map[string]string{hook(models.HookPreUpdate): "echo hi"}, dockertest.RunOpts{})
	ru.reg.Push(t, "test/wthook:1", ocitest.ImageOpts{Marker: "v2", Shell: true})
	ru.reg.Push(t, "test/wtbare:1", ocitest.ImageOpts{Marker: "v2"})
	ru.check(t)
	old := models.ShortID(aID)
	if got, want := dockertest.Exec(t, cli, a, "sh", "-c", "read l < /hooks/log; echo $l"), "pre-check "+old; strings.TrimSpace(got) != want {
		t.Errorf("after the check /hooks/log begins %q, want %q", got, want)
	}

	for _, n := range []string{a, skip, failing, noShell} {
		if _, err := ru.upd.StartContainer(n, "test"); err != nil {
			t.Fatal(err)
		}
		ru.waitDone(t, n, time.Minute)
	}
	newA := dockertest.Inspect(t, cli, a)
	log := dockertest.Exec(t, cli, a, "sh", "-c", "while read l; do echo $l; done < /hooks/log")
	want := strings.Join([]string{"pre-check " + old, "post-check " + old, "pre-update " + old, "post-update " + models.ShortID(newA.ID)}, "\n")
	if strings.TrimSpace(log) != want {
		t.Errorf("/hooks/log =\n%s\nwant\n%s", log, want)
	}
	recs := ru.records(t)
	if ins := dockertest.Inspect(t, cli, skip); ins.ID != skipID || !strings.Contains(recs[skip].Error, "exited 75") {
		t.Errorf("skip runs %s (was %s), record %+v; want untouched, the skip said", ins.ID, skipID, recs[skip])
	}
	if r := recs[failing]; r.Result != models.ResultUpdated || !strings.Contains(r.Error, "pre-update hook exited 3: cannot flush") {
		t.Errorf("failing's record = %+v, want updated with the hook's failure", r)
	}
	if r := recs[noShell]; r.Result != models.ResultUpdated || !strings.Contains(r.Error, "no shell") {
		t.Errorf("noshell's record = %+v, want updated, the missing shell said", r)
	}
}

// no-pull: the update pulls nothing; with the registry ahead but the local
// tag unchanged it ends up to date, and once someone pulled the tag it moves
// the container onto that image.
func TestWatchtowerRealNoPull(t *testing.T) {
	ru := newRealWatchtower(t, services.WatchtowerOptions{})
	cli := dockertest.Client(t)
	ref := ru.reg.Ref("test/wtnopull:1")
	ru.reg.Push(t, "test/wtnopull:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, ref)
	name, oldID := runLabelled(t, cli, ref, "nopull", map[string]string{models.LabelWTNoPull: "true"}, dockertest.RunOpts{})
	v2 := ru.reg.Push(t, "test/wtnopull:1", ocitest.ImageOpts{Marker: "v2"})
	ru.check(t)

	// update updates name by hand and checks that nothing was pulled.
	update := func() {
		t.Helper()
		ru.reg.Reset()
		if _, err := ru.upd.StartContainer(name, "test"); err != nil {
			t.Fatal(err)
		}
		if p, _ := ru.waitDone(t, name, time.Minute); p.Phase != models.PhaseDone {
			t.Fatalf("ended %+v", p)
		}
		if c := ru.reg.Counts(); c.GetManifest+c.GetBlob > 0 {
			t.Errorf("registry counts %+v: no-pull pulled", c)
		}
	}
	update()
	if ins := dockertest.Inspect(t, cli, name); ins.ID != oldID || ru.records(t)[name].Result != models.ResultUpToDate {
		t.Errorf("%s is %s, record %+v; want the old container, uptodate", name, ins.ID, ru.records(t)[name])
	}

	dockertest.Pull(t, cli, ref) // by someone else
	update()
	r := ru.records(t)[name]
	if ins := dockertest.Inspect(t, cli, name); ins.ID == oldID || r.Result != models.ResultUpdated || r.ToDigest != v2 {
		t.Errorf("%s is %s, record %+v; want recreated onto %s", name, ins.ID, r, v2)
	}
}

// Cleanup removes the image a container ran once the update moved it off
// it; with backups, only the image of a backup pruned beyond the kept ones.
func TestWatchtowerRealCleanupRemovesTheOldImage(t *testing.T) {
	for _, keep := range []int{0, 1} {
		t.Run(fmt.Sprintf("backups=%d", keep), func(t *testing.T) {
			ru := newRealWatchtower(t, services.WatchtowerOptions{}, func(db *gorm.DB, o *services.UpdateOptions) {
				o.Cleanup = true
				if keep > 0 {
					o.Backups = services.NewBackups(db, keep, quiet)
				}
			})
			cli := dockertest.Client(t)
			ref := ru.reg.Ref("test/wtclean:1")
			marker := dockertest.UniqueName(t, "clean") // an image ID no other test holds
			version := func(v int) ocitest.ImageOpts { return ocitest.ImageOpts{Marker: fmt.Sprintf("%s v%d", marker, v)} }
			ru.reg.Push(t, "test/wtclean:1", version(1))
			dockertest.Pull(t, cli, ref)
			name, _ := runLabelled(t, cli, ref, "clean", nil, dockertest.RunOpts{})
			var images []string // what the container ran, update after update
			update := func(v int) {
				t.Helper()
				images = append(images, dockertest.Inspect(t, cli, name).Image)
				ru.reg.Push(t, "test/wtclean:1", version(v))
				ru.check(t)
				if _, err := ru.upd.StartContainer(name, "test"); err != nil {
					t.Fatal(err)
				}
				if p, _ := ru.waitDone(t, name, time.Minute); p.Phase != models.PhaseDone {
					t.Fatalf("update to v%d ended %+v", v, p)
				}
			}
			exists := func(id string) bool {
				_, err := cli.ImageInspect(t.Context(), id)
				return err == nil
			}
			update(2)
			if got := exists(images[0]); got != (keep > 0) {
				t.Errorf("after the first update v1 exists = %v, want %v (kept only by its backup)", got, keep > 0)
			}
			if keep == 0 {
				return
			}
			update(3)
			if exists(images[0]) || !exists(images[1]) {
				t.Errorf("after the second update v1 exists = %v, v2 = %v; want v1 gone with its pruned backup, v2 kept by its own",
					exists(images[0]), exists(images[1]))
			}
		})
	}
}
