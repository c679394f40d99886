package main

// Notifications through the refit binary on a private engine, with
// images from an ocitest registry and loopback receivers: a webhook
// (generic+http), an SMTP server (smtp://), a listener that accepts and
// never answers and a closed port, all four in REFIT_NOTIFY. The start-up
// check announces both outdated containers in one message (not the one
// labelled refit.notify=false), a second check and a restart announce
// nothing again, a real update says updated and a real failing one (the
// new image exits) says failed and rolled back, by webhook and by mail,
// while the dead targets cost the checks and the updates nothing. No
// answer and no log line names a secret.

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
	"refit/services/shoutrrr/shoutrrrtest"
)

// hookMessage is what refit posts to a generic webhook with template=json.
type hookMessage struct {
	Title   string `json:"title"`
	Message string `json:"message"`
}

func hookMessages(t *testing.T, w *shoutrrrtest.Webhook) []hookMessage {
	t.Helper()
	var out []hookMessage
	for _, r := range w.Requests() {
		var m hookMessage
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			t.Fatalf("webhook body %q: %v", r.Body, err)
		}
		out = append(out, m)
	}
	return out
}

func titled(ms []hookMessage, prefix string) []hookMessage {
	var out []hookMessage
	for _, m := range ms {
		if strings.HasPrefix(m.Title, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func TestNotificationsThroughTheBinaryOnTheRealEngine(t *testing.T) {
	dockertest.Host(t)
	t.Parallel()
	began := time.Now()
	eng, cli, bin := ddEngineAndBinary(t)
	reg := ocitest.NewRegistry(t)
	hook, mail := shoutrrrtest.NewWebhook(t), shoutrrrtest.NewSMTP(t)
	hole, closed := shoutrrrtest.Blackhole(t), shoutrrrtest.ClosedPort(t)

	// web and quiet follow nt/app:1, crashy nt/bad:1; then both tags move.
	// crashy's new image exits at once: its update rolls back.
	reg.Push(t, "nt/app:1", ocitest.ImageOpts{Marker: "nt app v1"})
	reg.Push(t, "nt/bad:1", ocitest.ImageOpts{Marker: "nt bad v1"})
	appRef, badRef := reg.Ref("nt/app:1"), reg.Ref("nt/bad:1")
	crashPull(t, cli, appRef)
	crashPull(t, cli, badRef)
	dockertest.Run(t, cli, dockertest.RunOpts{Name: "web", Image: appRef})
	dockertest.Run(t, cli, dockertest.RunOpts{Name: "quiet", Image: appRef, Labels: map[string]string{models.LabelNotify: "false"}})
	dockertest.Run(t, cli, dockertest.RunOpts{Name: "crashy", Image: badRef})
	appV2 := reg.Push(t, "nt/app:1", ocitest.ImageOpts{Marker: "nt app v2"})
	reg.Push(t, "nt/bad:1", ocitest.ImageOpts{Marker: "nt bad v2", Env: []string{"TESTAPP_EXIT=3"}})

	const secret = "s3cr3t"
	notify := strings.Join([]string{
		"hook=generic+http://" + hook.Addr + "/hook/" + secret + "-path?template=json",
		"mail=smtp://refit:" + secret + "-pw@" + mail.Addr + "/?fromaddress=refit@example.com&toaddresses=ops@example.com&encryption=None&usestarttls=no&auth=Plain#updated,failed",
		"hole=generic+http://" + hole + "/hook/" + secret + "-hole",
		"closed=generic+http://" + closed + "/hook/" + secret + "-closed",
	}, " ")
	dir := t.TempDir()
	db := filepath.Join(dir, "refit.db")
	start := func() *refitChild {
		return startRefitChild(t, bin, dir, db, eng.host, time.Second, "REFIT_NOTIFY="+notify, "REFIT_LOG_LEVEL=debug")
	}
	p := start()
	setup := time.Since(began)

	waitUntil(t, 30*time.Second, "the start-up check's message at the webhook", p, func() bool {
		return len(titled(hookMessages(t, hook), "refit: 2 updates available")) == 1
	})
	avail := titled(hookMessages(t, hook), "refit: 2 updates available")[0]
	for _, want := range []string{reg.Ref("nt/app:1") + " → " + models.ShortDigest(appV2) + "\n  local: web", "\n  local: crashy"} {
		if !strings.Contains(avail.Message, want) {
			t.Errorf("available message lacks %q:\n%s", want, avail.Message)
		}
	}
	if strings.Contains(avail.Message, "quiet") {
		t.Errorf("refit.notify=false container announced:\n%s", avail.Message)
	}

	// Checks while two dead targets hold their messages: as fast as ever,
	// and nothing announced twice.
	var checks []time.Duration
	for range 3 {
		t0 := time.Now()
		if st, b := crashPost(t, p.base+"/api/check"); st != 200 {
			t.Fatalf("POST /api/check = %d %s", st, b)
		}
		checks = append(checks, time.Since(t0))
	}

	// A real update, and a real one that fails and rolls back.
	update := func(name string) (int, time.Duration) {
		t0 := time.Now()
		st, b := crashPost(t, p.base+"/api/containers/"+name+"/update")
		t.Logf("update %s: %d after %s", name, st, time.Since(t0).Round(time.Millisecond))
		if name == "web" && st != 200 || name == "crashy" && st != 500 {
			t.Errorf("update %s = %d %s", name, st, b)
		}
		return st, time.Since(t0)
	}
	_, webTook := update("web")
	_, crashyTook := update("crashy")
	waitUntil(t, 30*time.Second, "updated and failed at the webhook and by mail", p, func() bool {
		ms := hookMessages(t, hook)
		return len(titled(ms, "refit: web updated")) == 1 && len(titled(ms, "refit: update of crashy failed")) == 1 && len(mail.Mails()) == 2
	})
	ms := hookMessages(t, hook)
	up := titled(ms, "refit: web updated")[0].Message
	for _, want := range []string{"container: web on local", "image: " + reg.Ref("nt/app:1"), "→ " + models.ShortDigest(appV2), "started by anonymous", "took "} {
		if !strings.Contains(up, want) {
			t.Errorf("updated message lacks %q:\n%s", want, up)
		}
	}
	failed := titled(ms, "refit: update of crashy failed")[0]
	if failed.Title != "refit: update of crashy failed, rolled back" || !strings.Contains(failed.Message, "The old container runs again.") ||
		!strings.Contains(failed.Message, "reason: ") {
		t.Errorf("failed message: %+v", failed)
	}
	mails := mail.Mails()
	if !strings.Contains(mails[0]+mails[1], "Subject: refit: web updated") || !strings.Contains(mails[0]+mails[1], "Subject: refit: update of crashy failed, rolled back") {
		t.Errorf("mails:\n%s\n---\n%s", mails[0], mails[1])
	}
	if auths := mail.Auths(); len(auths) == 0 || auths[0] != "refit\x00"+secret+"-pw" {
		t.Errorf("SMTP auth = %q", auths)
	}

	// The outbox: the dead targets' messages wait for their next try, with
	// the reason, secrets scrubbed; the live ones are sent.
	st, body := crashGet(t, p.base+"/api/notifications/outbox?limit=50")
	var out []models.Notification
	if err := json.Unmarshal(body, &out); st != 200 || err != nil {
		t.Fatalf("outbox = %d %s", st, body)
	}
	states := map[string]string{}
	for _, m := range out {
		states[m.Target] += m.State + " "
	}
	if !strings.Contains(states["closed"], "queued") || strings.Contains(states["hook"], "queued") || strings.Contains(states["hook"], "failed") {
		t.Errorf("outbox states = %v", states)
	}

	// A restart: what was announced stays announced; crashy is still
	// outdated with the same candidate.
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	firstLog := p.logs.String()
	p = start()
	waitUntil(t, 30*time.Second, "the check after the restart", p, func() bool {
		st, b := crashGet(t, p.base+"/api/images")
		return st == 200 && strings.Contains(string(b), `"outdated"`)
	})
	if st, b := crashPost(t, p.base+"/api/check"); st != 200 {
		t.Fatalf("POST /api/check = %d %s", st, b)
	}
	// A check queues what it announces before it answers: the outbox says
	// at once whether anything was announced again.
	st, body = crashGet(t, p.base+"/api/notifications/outbox?limit=100")
	out = nil
	if err := json.Unmarshal(body, &out); st != 200 || err != nil {
		t.Fatalf("outbox = %d %s", st, body)
	}
	announced := 0
	for _, m := range out {
		if m.Event == models.EventAvailable {
			announced++
		}
	}
	if announced != 3 { // hook, hole and closed want available; mail does not
		t.Errorf("available messages after the restart's checks = %d, want the first check's 3", announced)
	}
	if n := len(titled(hookMessages(t, hook), "refit: ")); n != 3 {
		t.Errorf("webhook got %d messages after the restart, want still 3 (available, updated, failed): %+v", n, hookMessages(t, hook))
	}

	// No answer, page or log line names a secret.
	var answers strings.Builder
	for _, path := range []string{"/api/notifications/targets", "/api/notifications/outbox", "/api/containers/web/triggers", "/notifications", "/api/audit"} {
		_, b := crashGet(t, p.base+path)
		answers.Write(b)
	}
	_, b := crashPost(t, p.base+"/api/notifications/test")
	answers.Write(b)
	var res models.TestResult
	if err := json.Unmarshal(b, &res); err != nil || res.Sent != 2 || len(res.Failed) != 2 {
		t.Errorf("test = %s", b)
	}
	for what, s := range map[string]string{"answers": answers.String(), "log": firstLog + p.logs.String()} {
		if strings.Contains(s, secret) {
			i := strings.Index(s, secret)
			t.Errorf("the %s name a secret: …%s…", what, s[max(0, i-200):min(len(s), i+50)])
		}
	}
	// The refused target failed three messages before the restart: one
	// warning, the rest at debug. The hung one failed the test message.
	warn := `level=WARN msg="notification not delivered; further failures of this target are logged at debug for an hour" target=`
	if n := strings.Count(firstLog, warn+"closed"); n != 1 || strings.Count(firstLog, "target=closed") < 3 {
		t.Errorf("refused target: %d warnings, want 1 of %d failures", n, strings.Count(firstLog, "target=closed"))
	}
	if !strings.Contains(p.logs.String(), warn+"hole") {
		t.Errorf("the hung target's failure was not logged")
	}
	for _, d := range append(checks, webTook, crashyTook) {
		if d > 9*time.Second {
			t.Errorf("a check or an update took %s with dead targets, near their 10 s timeout", d)
		}
	}
	// The same checks without any target, for comparison.
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	p = startRefitChild(t, bin, dir, db, eng.host, time.Second)
	var bare []time.Duration
	for range 3 {
		t0 := time.Now()
		if st, b := crashPost(t, p.base+"/api/check"); st != 200 {
			t.Fatalf("POST /api/check = %d %s", st, b)
		}
		bare = append(bare, time.Since(t0))
	}
	t.Logf("checks with a hung and a refused target: %v, without targets: %v; update web %s, crashy (rolled back) %s; setup %s, all %s",
		checks, bare, webTook.Round(time.Millisecond), crashyTook.Round(time.Millisecond), setup.Round(100*time.Millisecond),
		time.Since(began).Round(100*time.Millisecond))
}
