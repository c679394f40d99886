package shoutrrr_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services/shoutrrr"
)

var msg = models.Message{Title: "refit: web updated", Body: "container: web on local\nimage: nginx:1.27"}

// Request is what a loopback webhook receiver got.
type request struct {
	Path, ContentType string
	Body              []byte
}

// MustReceiver is a loopback HTTP server that records every request.
func mustReceiver(t *testing.T) (*httptest.Server, func() []request) {
	t.Helper()
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: b})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request { mu.Lock(); defer mu.Unlock(); return append([]request(nil), got...) }
}

func TestGenericWebhookPostsTitleAndMessageAsJSON(t *testing.T) {
	srv, got := mustReceiver(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
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
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
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
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	hole := mustBlackhole(t)
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

// mustBlackhole accepts connections and never answers.
func mustBlackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
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

// smtpServer is a tiny SMTP server on loopback: it takes AUTH PLAIN and
// every mail, and keeps what it got.
type smtpServer struct {
	Addr string

	mu    sync.Mutex
	auths []string // user\x00pass as decoded
	mails []string // the DATA of each mail
}

func mustSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpServer{Addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 refit-test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-refit-test")
			say("250 AUTH PLAIN")
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line)[len("AUTH PLAIN "):])
			s.mu.Lock()
			s.auths = append(s.auths, strings.TrimPrefix(string(b), "\x00"))
			s.mu.Unlock()
			say("235 2.7.0 accepted")
		case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"), strings.HasPrefix(cmd, "RSET"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			s.mu.Lock()
			s.mails = append(s.mails, data.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not here")
		}
	}
}

func TestSMTPSendsTheTitleAsSubjectWithPlainAuth(t *testing.T) {
	srv := mustSMTP(t)
	s := shoutrrr.New(5 * time.Second)
	raw := "smtp://refit:s3cr3t-pw@" + srv.Addr + "/?fromaddress=refit@example.com&toaddresses=ops@example.com&encryption=none&usestarttls=no&auth=plain"
	if err := s.Check(raw); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), raw, msg); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.auths) != 1 || srv.auths[0] != "refit\x00s3cr3t-pw" {
		t.Errorf("auth = %q", srv.auths)
	}
	if len(srv.mails) != 1 {
		t.Fatalf("mails = %d, want 1", len(srv.mails))
	}
	m := srv.mails[0]
	for _, want := range []string{"Subject: " + msg.Title, "To: ops@example.com", "container: web on local"} {
		if !strings.Contains(m, want) {
			t.Errorf("mail lacks %q:\n%s", want, m)
		}
	}
}
