package shoutrrr_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services/shoutrrr"
	"refit/services/shoutrrr/shoutrrrtest"
)

var msg = models.Message{Title: "refit: web updated", Body: "container: web on local\nimage: nginx:1.27"}

func TestGenericWebhookPostsTitleAndMessageAsJSON(t *testing.T) {
	hook := shoutrrrtest.NewWebhook(t)
	addr, got := hook.Addr, hook.Requests
	s := shoutrrr.New(5 * time.Second)
	raw := "generic+http://" + addr + "/hook/s3cr3t?template=json"
	if err := s.Check(raw); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := s.Send(context.Background(), raw, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil {
		t.Fatalf("body %q: %v", reqs[0].Body, err)
	}
	if reqs[0].Path != "/hook/s3cr3t" || body["title"] != msg.Title || body["message"] != msg.Body || reqs[0].ContentType != "application/json" {
		t.Errorf("got %s %q %v", reqs[0].Path, reqs[0].ContentType, body)
	}
	// Without a template the body is the message as plain text.
	if err := s.Send(context.Background(), "generic+http://"+addr+"/plain", msg); err != nil {
		t.Fatal(err)
	}
	if r := got()[1]; string(r.Body) != msg.Body || r.ContentType != "text/plain" {
		t.Errorf("plain: %q %q", r.ContentType, r.Body)
	}
}

// A target that is down answers quickly with an error; one that accepts
// and never answers is cut off at the timeout. Neither error quotes the
// URL's secrets.
func TestDeadTargetsFailWithinTheTimeoutAndNameNoSecret(t *testing.T) {
	closedAddr, hole := shoutrrrtest.ClosedPort(t), shoutrrrtest.Blackhole(t)
	s := shoutrrr.New(700 * time.Millisecond)
	for _, raw := range []string{
		"generic+http://" + closedAddr + "/hook/s3cr3t?token=s3cr3t-q",
		"generic+http://" + hole + "/hook/s3cr3t?token=s3cr3t-q",
		"smtp://refit:s3cr3t-pw@" + hole + "/?fromaddress=a@example.com&toaddresses=b@example.com&encryption=none&usestarttls=no",
	} {
		start := time.Now()
		err := s.Send(context.Background(), raw, msg)
		d := time.Since(start)
		if err == nil {
			t.Errorf("%s: sent", models.MaskNotifyURL(raw))
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error names a secret: %v", err)
		}
		if d > 3*time.Second {
			t.Errorf("%s took %s, want the 700ms timeout", models.MaskNotifyURL(raw), d)
		}
		t.Logf("%s: %v after %s", models.MaskNotifyURL(raw), err, d.Round(time.Millisecond))
	}
}

func TestCheckRefusesUnknownAndMalformedURLsWithoutTheirSecrets(t *testing.T) {
	s := shoutrrr.New(time.Second)
	for _, raw := range []string{"nosuch://s3cr3t@host", "ntfy://%zz:s3cr3t@ntfy.sh/topic", "just-s3cr3t", "smtp://u:s3cr3t@host:notaport/"} {
		err := s.Check(raw)
		if err == nil {
			t.Errorf("Check(%s) = nil", models.MaskNotifyURL(raw))
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Check error names a secret: %v", err)
		}
	}
	for _, raw := range []string{"ntfy://ntfy.sh/topic", "discord://token@123456", "telegram://123:abc@telegram?chats=@c",
		"gotify://gotify.example.com/Atoken", "pushover://shoutrrr:tok@user/", "matrix://u:p@matrix.example.com/",
		"slack://hook:WNA3PBYV6-F20DUQND3RQ-Webc4MAvoacrpPakR8phF0zi@webhook",
		"teams://11111111-4444-4444-8444-cccccccccccc@22222222-4444-4444-8444-cccccccccccc/33333333012222222222333333333344/44444444-4444-4444-8444-cccccccccccc/V2ESyij_gAljSoUQHvZoZYzlpAoAXExyOl26dlf1xHEx05?host=contoso.webhook.office.com"} {
		if err := s.Check(raw); err != nil {
			t.Errorf("Check(%s) = %v", models.MaskNotifyURL(raw), err)
		}
	}
}

func TestSMTPSendsTheTitleAsSubjectWithPlainAuth(t *testing.T) {
	srv := shoutrrrtest.NewSMTP(t)
	s := shoutrrr.New(5 * time.Second)
	raw := "smtp://refit:s3cr3t-pw@" + srv.Addr + "/?fromaddress=refit@example.com&toaddresses=ops@example.com&encryption=none&usestarttls=no&auth=plain"
	if err := s.Check(raw); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), raw, msg); err != nil {
		t.Fatal(err)
	}
	if auths := srv.Auths(); len(auths) != 1 || auths[0] != "refit\x00s3cr3t-pw" {
		t.Errorf("auth = %q", auths)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("mails = %d, want 1", len(mails))
	}
	m := mails[0]
	for _, want := range []string{"Subject: " + msg.Title, "To: ops@example.com", "container: web on local"} {
		if !strings.Contains(m, want) {
			t.Errorf("mail lacks %q:\n%s", want, m)
		}
	}
}

// Watchtower's notifications from before URLs, converted as Watchtower
// converts them, deliver to loopback receivers: a mail with AUTH PLAIN,
// and a Gotify message over plain HTTP with the app token.
func TestLegacyWatchtowerNotificationsDeliver(t *testing.T) {
	srv := shoutrrrtest.NewSMTP(t)
	host, port, _ := strings.Cut(srv.Addr, ":")
	p, _ := strconv.Atoi(port)
	raw, err := shoutrrr.LegacyURL(models.WatchtowerNotification{Kind: "email", EmailFrom: "watchtower@example.com",
		EmailTo: "ops@example.com", EmailServer: host, EmailPort: p, EmailUser: "refit", EmailPassword: "s3cr3t-pw",
		TLSSkipVerify: true}) // the loopback server speaks no TLS
	if err != nil {
		t.Fatal(err)
	}
	s := shoutrrr.New(5 * time.Second)
	if err := s.Send(context.Background(), raw, msg); err != nil {
		t.Fatalf("email: %v", err)
	}
	if auths := srv.Auths(); len(auths) != 1 || auths[0] != "refit\x00s3cr3t-pw" {
		t.Errorf("auth = %q", auths)
	}
	if mails := srv.Mails(); len(mails) != 1 || !strings.Contains(mails[0], "To: ops@example.com") || !strings.Contains(mails[0], "Subject: "+msg.Title) {
		t.Errorf("mails = %q", mails)
	}

	// Gotify answers the message it stored, as JSON.
	var mu sync.Mutex
	var got []string
	gotify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("X-Gotify-Key")+r.URL.Query().Get("token")+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1}`)
	}))
	t.Cleanup(gotify.Close)
	raw, err = shoutrrr.LegacyURL(models.WatchtowerNotification{Kind: "gotify", GotifyURL: gotify.URL, GotifyToken: "Aabcdefghijklmn"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), raw, msg); err != nil {
		t.Fatalf("gotify: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "/message Aabcdefghijklmn ") || !strings.Contains(got[0], msg.Title) {
		t.Errorf("gotify requests = %q", got)
	}
}

// Slack's and Teams' webhooks become their shoutrrr URLs, Discord's
// Slack-compatible one a discord URL; what is missing is said without the
// secret.
func TestLegacyWatchtowerNotificationURLs(t *testing.T) {
	s := shoutrrr.New(time.Second)
	for _, tc := range []struct {
		n      models.WatchtowerNotification
		scheme string
	}{
		{models.WatchtowerNotification{Kind: "slack", HookURL: "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", Identifier: "watchtower"}, "slack"},
		{models.WatchtowerNotification{Kind: "slack", HookURL: "https://discord.com/api/webhooks/123456789/abcdefTOKEN/slack"}, "discord"},
		{models.WatchtowerNotification{Kind: "msteams", HookURL: "https://example.webhook.office.com/webhookb2/11111111-2222-3333-4444-555555555555@66666666-7777-8888-9999-000000000000/IncomingWebhook/abcdef0123456789abcdef0123456789/77777777-8888-9999-aaaa-bbbbbbbbbbbb/V2abcdef"}, "teams"},
	} {
		raw, err := shoutrrr.LegacyURL(tc.n)
		if err != nil {
			t.Errorf("%s: %v", tc.n.Kind, err)
			continue
		}
		if !strings.HasPrefix(raw, tc.scheme+"://") {
			t.Errorf("%s = %s, want %s://…", tc.n.Kind, raw, tc.scheme)
		}
		if err := s.Check(raw); err != nil {
			t.Errorf("%s: the adapter refuses its own URL %s: %v", tc.n.Kind, raw, err)
		}
	}
	for _, n := range []models.WatchtowerNotification{
		{Kind: "email", EmailServer: "mail.example.com", EmailPassword: "hunter2"},
		{Kind: "gotify", GotifyURL: "https://gotify.example.com"},
		{Kind: "msteams"},
		{Kind: "pager"},
	} {
		if _, err := shoutrrr.LegacyURL(n); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: err = %v, want one without the password", n.Kind, err)
		}
	}
}
