// Package shoutrrrtest has loopback receivers for notification tests: a
// webhook server, a tiny SMTP server, a listener that accepts and never
// answers, and a port nothing listens on.
package shoutrrrtest

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request a Webhook got.
type Request struct {
	Path, ContentType string
	Body              string
}

// Webhook is a loopback HTTP server that records every request and answers
// 200, or 503 while FailNext says so.
type Webhook struct {
	Addr string // host:port

	mu   sync.Mutex
	reqs []Request
	fail int // answer this many requests 503
}

// FailNext makes the next n requests get 503 Service Unavailable; they are
// recorded too.
func (w *Webhook) FailNext(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fail = n
}

// NewWebhook starts a Webhook, closed at the test's end.
func NewWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.reqs = append(w.reqs, Request{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: string(b)})
		failing := w.fail > 0
		if failing {
			w.fail--
		}
		w.mu.Unlock()
		if failing {
			http.Error(rw, "try later", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	w.Addr = strings.TrimPrefix(srv.URL, "http://")
	return w
}

// Requests returns what the Webhook got, in order.
func (w *Webhook) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.reqs...)
}

// SMTP is a loopback SMTP server: it takes AUTH PLAIN and every mail.
type SMTP struct {
	Addr string

	mu    sync.Mutex
	auths []string // "user\x00pass"
	mails []string // each mail's DATA, headers and body
}

// NewSMTP starts an SMTP server, closed at the test's end.
func NewSMTP(t testing.TB) *SMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &SMTP{Addr: ln.Addr().String()}
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

// Auths returns the credentials clients signed in with.
func (s *SMTP) Auths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// Mails returns the mails received, in order.
func (s *SMTP) Mails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mails...)
}

func (s *SMTP) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
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
		case strings.HasPrefix(cmd, "AUTH PLAIN "):
			b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line)[len("AUTH PLAIN "):])
			s.mu.Lock()
			s.auths = append(s.auths, strings.TrimPrefix(string(b), "\x00"))
			s.mu.Unlock()
			say("235 2.7.0 accepted")
		case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"), cmd == "RSET", cmd == "NOOP":
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
				data.WriteString(strings.TrimPrefix(l, ".")) // dot-stuffing
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

// Blackhole accepts connections and never answers, as a hung server does;
// it returns its host:port.
func Blackhole(t testing.TB) string {
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

// ClosedPort is a loopback host:port nothing listens on: a connection is
// refused at once.
func ClosedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
