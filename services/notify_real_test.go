package services_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/shoutrrr"
	"refit/services/shoutrrr/shoutrrrtest"
)

// The outbox over the real shoutrrr adapter and loopback receivers: a
// webhook that answers 503 twice is sent on the third try; a closed port
// and a listener that never answers are kept as failed after 3 tries with
// their errors, secrets scrubbed; the schedule is the test's.
func TestOutboxRetriesOverRealReceivers(t *testing.T) {
	hook := shoutrrrtest.NewWebhook(t)
	hook.FailNext(2)
	flaky := "generic+http://" + hook.Addr + "/hook/s3cr3t-flaky?template=json"
	closed := "generic+http://" + shoutrrrtest.ClosedPort(t) + "/hook/s3cr3t-closed"
	hung := "generic+http://" + shoutrrrtest.Blackhole(t) + "/hook/s3cr3t-hung"
	db, _, hist := mustStore(t)
	n := services.NewNotifier(db, shoutrrr.New(300*time.Millisecond), nil, quiet, services.NotifyOptions{
		Config: []services.ConfigTarget{{Name: "flaky", URL: flaky}, {Name: "closed", URL: closed}, {Name: "hung", URL: hung}},
		Retry:  []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}})
	hist.Observe(n.Recorded)
	n.Start()
	t.Cleanup(n.Close)
	if err := hist.Add(models.UpdateRecord{Container: "web", Result: "updated", By: "alice", Image: "nginx:1.27"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := n.Outbox(10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]models.Notification{}
	for _, m := range out {
		got[m.Target] = m
	}
	if m := got["flaky"]; m.State != models.NotifySent || m.Attempts != 3 || len(hook.Requests()) != 3 {
		t.Errorf("flaky: %+v after %d requests, want sent on the 3rd", m, len(hook.Requests()))
	}
	for _, name := range []string{"closed", "hung"} {
		m := got[name]
		if m.State != models.NotifyFailed || m.Attempts != 3 || m.Error == "" || strings.Contains(m.Error, "s3cr3t") {
			t.Errorf("%s: %+v, want failed after 3 tries with a scrubbed error", name, m)
		}
		t.Logf("%s: %s after %d tries", name, m.Error, m.Attempts)
	}
}
