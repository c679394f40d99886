package fake

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"refit/models"
)

// Sent is one message a Sender delivered.
type Sent struct {
	URL string
	models.Message
}

// Sender is an in-memory services.Sender. Like the shoutrrr adapter it
// refuses unknown services, ends every send within Timeout ("no answer
// within …"), and can be scripted to fail or to hang for a URL.
type Sender struct {
	Timeout time.Duration // 0: 10 s, the adapter's default

	mu    sync.Mutex
	sent  []Sent
	fails map[string][]error // per URL, used up one per try; the last one stays
	hangs map[string]bool
	tries map[string]int
}

// senderServices are the schemes the fake knows: the common ones.
var senderServices = map[string]bool{"generic": true, "ntfy": true, "gotify": true, "discord": true, "slack": true,
	"telegram": true, "smtp": true, "teams": true, "matrix": true, "pushover": true}

// Check refuses what the adapter refuses for the common services: no
// scheme, an unknown service, no host.
func (s *Sender) Check(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("not a URL: want service://…")
	}
	typ := models.NotifyType(raw)
	if !senderServices[typ] {
		return fmt.Errorf("unknown service %q", typ)
	}
	if u.Host == "" {
		return fmt.Errorf("%s URL: no host", typ)
	}
	return nil
}

// FailWith makes the next tries through url fail with errs in turn, and
// every later one with the last.
func (s *Sender) FailWith(url string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails == nil {
		s.fails = map[string][]error{}
	}
	s.fails[url] = errs
}

// Hang makes every send through url wait for the timeout, as a server that
// accepts and never answers does.
func (s *Sender) Hang(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hangs == nil {
		s.hangs = map[string]bool{}
	}
	s.hangs[url] = true
}

// Send delivers m, or fails as scripted.
func (s *Sender) Send(ctx context.Context, raw string, m models.Message) error {
	if err := s.Check(raw); err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	s.mu.Lock()
	if s.tries == nil {
		s.tries = map[string]int{}
	}
	s.tries[raw]++
	hang := s.hangs[raw]
	var err error
	if errs := s.fails[raw]; len(errs) > 0 {
		err = errs[0]
		if len(errs) > 1 {
			s.fails[raw] = errs[1:]
		}
	}
	s.mu.Unlock()
	if hang {
		select {
		case <-ctx.Done():
		case <-time.After(timeout):
		}
		return fmt.Errorf("no answer within %s", timeout)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, Sent{URL: raw, Message: m})
	return nil
}

// Sent returns what was delivered, in order.
func (s *Sender) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Tries returns how often a send through url was tried.
func (s *Sender) Tries(url string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries[url]
}
