// Package shoutrrr sends notifications through shoutrrr URLs (ntfy,
// gotify, discord, slack, telegram, smtp, teams, matrix, pushover, generic
// webhooks…). It is the only importer of github.com/nicholas-fedor/shoutrrr.
// No error it returns quotes a secret of its URL.
package shoutrrr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"refit/models"
)

// Sender delivers messages; the zero value is not usable, call New.
type Sender struct {
	timeout time.Duration
}

// New returns a Sender whose every send ends within timeout (10 s for 0).
func New(timeout time.Duration) *Sender {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Sender{timeout: timeout}
}

// BoundDefaultClient gives http.DefaultClient a timeout when it has none.
// The generic webhook, googlechat, opsgenie and notifiarr services post
// with it on a context that is never cancelled: a server that accepts and
// never answers would hold a goroutine and a connection for good after
// Send gave up on it. refit itself does not use that client; main calls
// this once.
func BoundDefaultClient(d time.Duration) {
	if http.DefaultClient.Timeout == 0 {
		http.DefaultClient.Timeout = d
	}
}

// Check reads raw as Send would, without sending: an unknown service or a
// malformed URL is an error.
func (s *Sender) Check(raw string) error {
	u, err := parse(raw)
	if err != nil {
		return err
	}
	if strings.HasPrefix(u.Scheme, "matrix") {
		// Matrix's Initialize logs in over the network; a check must not
		// wait on a server, so the syntax is all that is checked.
		if u.Host == "" {
			return errors.New("matrix URL without a server")
		}
		return nil
	}
	_, err = s.service(raw, u)
	return err
}

// Send delivers m through raw within the Sender's timeout, or ctx's if it
// ends first. The title becomes the mail subject or the push title; a
// service without titles gets the body alone.
func (s *Sender) Send(ctx context.Context, raw string, m models.Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { // the services take no context: a hung one is left to its own timeout
		u, err := parse(raw)
		if err == nil {
			var svc types.Service
			if svc, err = s.service(raw, u); err == nil {
				params := types.Params{}
				if m.Title != "" {
					params.SetTitle(m.Title)
				}
				if err = svc.Send(m.Body, &params); err != nil {
					err = errors.New(models.ScrubNotify(err.Error(), raw))
				}
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", s.timeout)
	}
}

// parse reads raw; its error never quotes raw, as url.Parse's would.
func parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("malformed URL: %s", models.ScrubNotify(ue.Err.Error(), raw))
		}
		return nil, errors.New("malformed URL")
	}
	if u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		return nil, errors.New("not a URL: want service://…")
	}
	return u, nil
}

// service initialises the service raw names, as the router does, but keeps
// the service's own reason when it refuses the URL (the router drops it).
func (s *Sender) service(raw string, u *url.URL) (types.Service, error) {
	scheme, _, custom := strings.Cut(strings.ToLower(u.Scheme), "+")
	svc, err := (&router.ServiceRouter{}).NewService(scheme)
	if err != nil {
		return nil, fmt.Errorf("unknown service %q", scheme)
	}
	if custom {
		cs, ok := svc.(types.CustomURLService)
		if !ok {
			return nil, fmt.Errorf("service %q takes no %s+ URL", scheme, scheme)
		}
		if u, err = cs.GetConfigURLFromCustom(u); err != nil {
			return nil, fmt.Errorf("%s URL: %s", scheme, models.ScrubNotify(err.Error(), raw))
		}
	}
	if err := svc.Initialize(u, nil); err != nil {
		return nil, fmt.Errorf("%s URL: %s", scheme, models.ScrubNotify(err.Error(), raw))
	}
	return svc, nil
}
