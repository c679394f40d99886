package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"refit/models"
	"refit/services"
	"refit/services/fake"
	"refit/views"
)

const (
	envURL  = "ntfy://:s3cr3t-env@ntfy.test/s3cr3t-topic"
	hookURL = "generic+https://hooks.test/s3cr3t-hook?@Authorization=Bearer+s3cr3t-header"
)

// notifyApp is newTestApp with a Notifier over a fake sender the test
// holds, one -notify target, and the log in a buffer.
func notifyApp(t *testing.T) (testApp, *fake.Sender, *bytes.Buffer) {
	t.Helper()
	ta := newTestApp(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	send := &fake.Sender{}
	ta.deps.Log = log
	ta.deps.Notifier = services.NewNotifier(ta.db, send, ta.deps.Containers, log,
		services.NotifyOptions{Config: []services.ConfigTarget{{Name: "env", URL: envURL}}, Policies: ta.deps.Policies})
	ta.app = New(ta.deps)
	return ta, send, logs
}

func TestNotificationTargetsAPIAndNoSecretInAnyAnswerOrLog(t *testing.T) {
	ta, send, logs := notifyApp(t)
	var answers strings.Builder
	call := func(method, path, body string) (int, string) {
		st, b, _ := ta.doJSON(t, method, path, body)
		answers.WriteString(b)
		return st, b
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name":`, errTargetBody.Error() + "\n"},
		{`{"name":"Hook","url":"generic+https://hooks.test/x"}`, models.ErrBadTargetName.Error() + "\n"},
		{`{"name":"hook","url":"generic+https://hooks.test/x","events":["nope"]}`, models.ErrUnknownEvent.Error() + "\n"},
		{`{"name":"hook","url":"nosuch://s3cr3t-u@host/s3cr3t-p"}`, "invalid input: URL nosuch://***@***/***: unknown service \"nosuch\"\n"},
		{`{"name":"env","url":"generic+https://hooks.test/x"}`, models.ErrTargetExists.Error() + "\n"},
	} {
		if st, b := call("POST", "/api/notifications/targets", tc.body); st/100 != 4 || b != tc.want {
			t.Errorf("POST %s = %d %q, want 4xx %q", tc.body, st, b, tc.want)
		}
	}
	body, _ := json.Marshal(models.TargetAdd{Name: "hook", URL: hookURL, Events: []string{models.EventFailed}})
	st, b := call("POST", "/api/notifications/targets", string(body))
	var ti models.TargetInfo
	if err := json.Unmarshal([]byte(b), &ti); st != 201 || err != nil {
		t.Fatalf("add = %d %s", st, b)
	}
	if ti.ID != "generic.hook" || ti.URL != "generic+https://hooks.test/***?%40Authorization=***" || ti.Source != "admin" {
		t.Errorf("added %+v", ti)
	}
	st, b = call("GET", "/api/notifications/targets", "")
	var ts []models.TargetInfo
	if err := json.Unmarshal([]byte(b), &ts); st != 200 || err != nil || len(ts) != 2 || ts[0].Name != "env" || ts[1].Name != "hook" {
		t.Errorf("list = %d %s", st, b)
	}

	send.FailWith(hookURL, errors.New(`Post "https://hooks.test/s3cr3t-hook": dial tcp: connection refused`))
	st, b = call("POST", "/api/notifications/test", "")
	if want := `{"sent":1,"failed":[{"target":"hook","error":"Post \"https://hooks.test/***\": dial tcp: connection refused"}]}`; st != 200 || b != want {
		t.Errorf("test = %d %s, want %s", st, b, want)
	}
	if got := send.Sent(); len(got) != 1 || got[0].Title != "refit: test notification" || got[0].URL != envURL {
		t.Errorf("sent %+v", got)
	}
	st, b = call("GET", "/api/notifications/outbox?limit=10", "")
	var out []models.Notification
	if err := json.Unmarshal([]byte(b), &out); st != 200 || err != nil || len(out) != 2 {
		t.Errorf("outbox = %d %s", st, b)
	}
	if st, b := call("GET", "/api/notifications/outbox?limit=x", ""); st != 400 {
		t.Errorf("outbox?limit=x = %d %s", st, b)
	}
	if st, b := call("DELETE", "/api/notifications/targets/env", ""); st != 409 || b != models.ErrTargetFromFlag.Error()+"\n" {
		t.Errorf("delete env = %d %q", st, b)
	}
	if st, _ := call("DELETE", "/api/notifications/targets/hook", ""); st != 204 {
		t.Errorf("delete hook = %d", st)
	}
	if st, b := call("DELETE", "/api/notifications/targets/hook", ""); st != 404 || b != "notification target not found\n" {
		t.Errorf("delete again = %d %q", st, b)
	}
	_, auditBody := call("GET", "/api/audit", "")
	if !strings.Contains(auditBody, `"notify_target_add"`) || !strings.Contains(auditBody, `"target":"hook"`) {
		t.Errorf("audit lacks the add: %s", auditBody)
	}
	for what, s := range map[string]string{"answers": answers.String(), "log": logs.String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("a secret shows in the %s:\n%s", what, s)
		}
	}
}

func TestDrydockTriggersListAndRunUnderBothPrefixes(t *testing.T) {
	ta, send, logs := notifyApp(t)
	for _, p := range []string{"/api/containers", "/api/v1/containers"} {
		st, b, _ := ta.doJSON(t, "GET", p+"/nginx/triggers", "")
		want := `[{"id":"ntfy.env","type":"ntfy","name":"env","configuration":{"events":"available,updated,failed","source":"config","url":"ntfy://:***@ntfy.test/***"}}]`
		if st != 200 || b != want {
			t.Errorf("GET %s/nginx/triggers = %d %s, want %s", p, st, b, want)
		}
		if st, b, _ := ta.doJSON(t, "POST", p+"/nginx/triggers/ntfy/env", ""); st != 200 || b != "{}" {
			t.Errorf("run = %d %s", st, b)
		}
		if st, b, _ := ta.doJSON(t, "POST", p+"/nginx/triggers/slack/env", ""); st != 404 || b != "trigger not found\n" {
			t.Errorf("unknown trigger = %d %q", st, b)
		}
		if st, b, _ := ta.doJSON(t, "GET", p+"/nope/triggers", ""); st != 404 || b != "container not found\n" {
			t.Errorf("unknown container = %d %q", st, b)
		}
	}
	sent := send.Sent()
	if len(sent) != 2 || sent[0].Title != "refit: nginx" || !strings.Contains(sent[0].Body, "status: update available") ||
		!strings.Contains(sent[0].Body, "image: docker.io/library/nginx:latest") {
		t.Fatalf("sent %+v", sent)
	}
	send.FailWith(envURL, errors.New("401 Unauthorized"))
	if st, b, _ := ta.doJSON(t, "POST", "/api/containers/nginx/triggers/ntfy/env", ""); st != 502 || b != "notification not delivered: 401 Unauthorized\n" {
		t.Errorf("refused = %d %q", st, b)
	}
	// refit.notify=false: no trigger applies to it.
	ta.engine.SetLabels(nginxID, map[string]string{models.LabelNotify: "false"})
	if st, b, _ := ta.doJSON(t, "GET", "/api/containers/nginx/triggers", ""); st != 200 || b != "[]" {
		t.Errorf("labelled = %d %s", st, b)
	}
	if st, _, _ := ta.doJSON(t, "POST", "/api/containers/nginx/triggers/ntfy/env", ""); st != 404 {
		t.Errorf("labelled run = %d, want 404", st)
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("a secret shows in the log:\n%s", logs.String())
	}
}

func TestNotificationsPageAddsTestsAndRemovesTargets(t *testing.T) {
	ta, send, _ := notifyApp(t)
	st, doc, _ := ta.getHTML(t, views.NotificationsPath)
	if st != 200 || doc.Find("#"+views.TargetRowID("env")).Length() != 1 || doc.Find("#"+views.AddTargetFormID).Length() != 1 {
		t.Fatalf("page = %d", st)
	}
	if html, _ := doc.Html(); strings.Contains(html, "s3cr3t") || !strings.Contains(html, "ntfy://:***@ntfy.test/***") {
		t.Errorf("the page shows the URL unmasked or not at all")
	}
	form := url.Values{"name": {"hook"}, "url": {hookURL}, "events": {"updated", "failed"}}
	if st, _, h := ta.postForm(t, views.NotificationsPath, form, false); st != 303 || h.Get("Location") != views.NotificationsPath {
		t.Fatalf("add = %d %v", st, h)
	}
	// A refused form keeps the name and shows the error, not the URL.
	bad := url.Values{"name": {"hook"}, "url": {"generic+https://hooks.test/s3cr3t"}, "events": {"failed"}}
	st, doc, _ = ta.postForm(t, views.NotificationsPath, bad, false)
	if html, _ := doc.Html(); st != 409 || !strings.Contains(html, models.ErrTargetExists.Error()) || strings.Contains(html, "s3cr3t") {
		t.Errorf("taken name = %d", st)
	}
	if st, _, _ := ta.postForm(t, views.NotificationsPath, url.Values{"name": {"x"}, "url": {hookURL}}, false); st != 400 {
		t.Errorf("no events = %d, want 400", st)
	}
	st, doc, _ = ta.postForm(t, views.NotificationsTestPath, url.Values{}, false)
	if st != 200 || !strings.Contains(doc.Find("#"+views.TestResultID).Text(), "Test message sent to 2 targets") {
		t.Errorf("test = %d %q", st, doc.Find("#"+views.TestResultID).Text())
	}
	if len(send.Sent()) != 2 || doc.Find("#"+views.OutboxTableID+" tbody tr").Length() != 2 {
		t.Errorf("sent %d, outbox rows %d", len(send.Sent()), doc.Find("#"+views.OutboxTableID+" tbody tr").Length())
	}
	if doc.Find("#"+views.TargetRowID("env")+" form").Length() != 0 {
		t.Error("a -notify target offers Remove")
	}
	if st, _, _ := ta.postForm(t, views.TargetRemovePath("hook"), url.Values{}, false); st != 303 {
		t.Errorf("remove = %d", st)
	}
	if _, doc, _ = ta.getHTML(t, views.NotificationsPath); doc.Find("#"+views.TargetRowID("hook")).Length() != 0 {
		t.Error("removed target still listed")
	}
}

// Bad input is a clear 4xx, never a 500.
func TestNotificationRoutesRefuseBadInputWith4xx(t *testing.T) {
	ta, _, _ := notifyApp(t)
	long := strings.Repeat("a", 5000)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/notifications/targets", `null`},
		{"POST", "/api/notifications/targets", `[]`},
		{"POST", "/api/notifications/targets", `{"name":1}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":""}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":"   "}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":"://"}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":"ntfy://a b"}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":"ntfy://h/\u0000"}`},
		{"POST", "/api/notifications/targets", `{"name":"` + long + `","url":"ntfy://h/t"}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":"ntfy://h/t","events":[null]}`},
		{"POST", "/api/notifications/targets", `{"name":"x","url":"ntfy://h/t","events":"failed"}`},
		{"DELETE", "/api/notifications/targets/%00", ""},
		{"DELETE", "/api/notifications/targets/" + long, ""},
		{"GET", "/api/notifications/outbox?limit=-1", ""},
		{"GET", "/api/notifications/outbox?limit=99999999999999999999", ""},
		{"POST", "/api/containers/%25zz/triggers/ntfy/env", ""},
		{"POST", "/api/containers/nginx/triggers/%00/env", ""},
		{"POST", "/api/v1/containers/nginx/triggers/ntfy/" + long, ""},
		{"GET", "/api/v1/containers/" + long + "/triggers", ""},
	} {
		st, b, _ := ta.doJSON(t, tc.method, tc.path, tc.body)
		if st/100 != 4 || b == "" || strings.Contains(b, "internal error") {
			t.Errorf("%s %.80s %.60s = %d %q, want a clear 4xx", tc.method, tc.path, tc.body, st, b)
		}
	}
}
