package oci

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// pings answers the puller's GET /v2/ once per registry. go-containerregistry
// pings once per repository before its first request, so a cold check of N
// images of one registry costs N pings and N HEADs one after the other, twice
// the round trips it needs. 200 and 401 answers are kept for pingTTL;
// transport errors (such as the failed HTTPS try before plain HTTP on
// loopback) only briefly, so a registry that was down is asked again soon;
// other answers not at all.
type pings struct {
	base http.RoundTripper
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*ping
}

const (
	pingTTL      = 10 * time.Minute
	pingErrorTTL = 15 * time.Second
)

type ping struct {
	done    chan struct{}
	expires time.Time
	status  int
	header  http.Header
	body    []byte
	err     error
}

func newPings(base http.RoundTripper) *pings {
	return &pings{base: base, now: time.Now, entries: map[string]*ping{}}
}

func (p *pings) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" {
		return p.base.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	p.mu.Lock()
	e := p.entries[key]
	if e != nil {
		select {
		case <-e.done:
			if !p.now().Before(e.expires) {
				e = nil
			}
		default: // in flight: wait for it below
		}
	}
	owner := e == nil
	if owner {
		e = &ping{done: make(chan struct{})}
		p.entries[key] = e
	}
	p.mu.Unlock()

	if owner {
		resp, err := p.base.RoundTrip(req)
		if err == nil {
			e.status, e.header = resp.StatusCode, resp.Header
			e.body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		e.err = err
		// Only the two answers a ping expects are worth keeping; a 429 or
		// 5xx is shared with the pings waiting for it and then forgotten, so
		// the policy's one retry asks the registry again.
		var ttl time.Duration
		switch {
		case err != nil:
			ttl = pingErrorTTL
		case e.status == http.StatusOK || e.status == http.StatusUnauthorized:
			ttl = pingTTL
		}
		e.expires = p.now().Add(ttl)
		if err != nil && req.Context().Err() != nil {
			// Our own caller gave up; that says nothing about the registry.
			p.mu.Lock()
			if p.entries[key] == e {
				delete(p.entries, key)
			}
			p.mu.Unlock()
		}
		close(e.done)
	} else {
		select {
		case <-e.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	return &http.Response{StatusCode: e.status, Status: fmt.Sprintf("%d %s", e.status, http.StatusText(e.status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: e.header.Clone(), Request: req,
		ContentLength: int64(len(e.body)), Body: io.NopCloser(bytes.NewReader(e.body))}, nil
}
