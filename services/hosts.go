package services

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"refit/models"
)

// Host is one Docker engine refit talks to, under the name the operator
// gave it.
type Host struct {
	Name   string
	URL    string // for display: credentials masked
	Engine Updater
}

// OneHost is the single host refit has without -hosts: LocalHost.
func OneHost(e Updater) []Host { return []Host{{Name: models.LocalHost, Engine: e}} }

// hostListTimeout bounds one host's container list, so a host that hangs
// (a paused engine, a dropped connection) holds a check back for at most
// this long, and never holds another host's watch at all.
const hostListTimeout = 10 * time.Second

// hostInfoTimeout bounds the version question asked when a host answers.
const hostInfoTimeout = 5 * time.Second

// hostState is what Containers knows of one host. The fields below listMu
// are guarded by Containers.mu.
type hostState struct {
	Host
	listMu sync.Mutex // one list of this host at a time: an older one never overwrites a newer

	containers []models.Container // as last listed
	st         models.EngineState
	reached    bool // the engine has answered at least once
	lastSeen   time.Time
	info       models.HostInfo
	infoErr    string
}

// Hosts reports every host's state, in the order they were configured.
func (s *Containers) Hosts() []models.HostStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]models.HostStatus, 0, len(s.hosts))
	for _, h := range s.hosts {
		hs := models.HostStatus{Name: h.Name, URL: h.URL, Status: models.HostOK, EngineVersion: h.info.EngineVersion,
			APIVersion: h.info.APIVersion, Containers: len(h.containers), LastSeen: h.lastSeen}
		switch {
		case h.st.Down:
			hs.Status, hs.Error, hs.DownSince = models.HostUnreachable, h.st.Reason, h.st.Since
		case !h.reached:
			hs.Status, hs.Error = models.HostUnreachable, "not answered yet"
		}
		out = append(out, hs)
	}
	return out
}

// HostNames lists the hosts' names in the order they were configured.
func (s *Containers) HostNames() []string {
	out := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		out[i] = h.Name
	}
	return out
}

// Several reports whether refit talks to more than one host: container
// items and progress then name their host.
func (s *Containers) Several() bool { return len(s.hosts) > 1 }

// updater returns the engine of the named host.
func (s *Containers) updater(host string) (Updater, error) {
	h := s.byName[host]
	if h == nil {
		return nil, fmt.Errorf("host %q: %w", host, models.ErrNotFound)
	}
	return h.Engine, nil
}

// relistHost lists one host's running containers and puts them in the
// snapshot. With mark set (a check), every reference the list uses is added
// to it and marked in flight in the same step, so a refresh meanwhile does
// not ask about them again.
func (s *Containers) relistHost(ctx context.Context, h *hostState, mark map[string]bool) error {
	return s.listHost(ctx, h, mark, true)
}

// listHost is relistHost; without rebuild the caller rebuilds the groups
// once for all the hosts it lists.
func (s *Containers) listHost(ctx context.Context, h *hostState, mark map[string]bool, rebuild bool) error {
	h.listMu.Lock()
	defer h.listMu.Unlock()
	s.mu.RLock()
	fresh := !h.reached || h.st.Down
	s.mu.RUnlock()
	if fresh || mark != nil {
		// First, so a Swarm manager's services are in its first list; and
		// at every check, for an engine that became one (swarm init) or was
		// upgraded meanwhile.
		s.learnInfo(h)
	}
	lctx, cancel := context.WithTimeout(ctx, hostListTimeout)
	defer cancel()
	cs, err := h.Engine.Running(lctx)
	if err != nil {
		if ctx.Err() == nil {
			s.hostLost(h, err)
		}
		return err
	}
	cs = append(cs, s.services(lctx, h)...)
	for i := range cs {
		cs[i].Host = h.Name
	}
	s.mu.Lock()
	h.containers, h.lastSeen = cs, time.Now()
	if mark != nil {
		for _, r := range uniqueRemotes(cs) {
			mark[r] = true
			s.inFlight[r] = true
		}
	}
	back := s.hostBackLocked(h)
	if rebuild {
		s.rebuildLocked()
	}
	s.mu.Unlock()
	if back {
		s.fireReachable(h.Name)
	}
	return nil
}

// services lists a Swarm manager's services. When the list fails the ones
// last seen stay: the host answered, so it is not down.
func (s *Containers) services(ctx context.Context, h *hostState) []models.Container {
	s.mu.RLock()
	manager := h.info.SwarmManager
	var last []models.Container
	for _, c := range h.containers {
		if c.Service != nil {
			last = append(last, c)
		}
	}
	s.mu.RUnlock()
	if !manager {
		return nil
	}
	svcs, err := h.Engine.Services(ctx)
	if err != nil {
		s.log.Info("swarm services not listed; showing them as last seen", "host", h.Name, "error", err)
		return last
	}
	return svcs
}

// relistAll lists every host at once and puts what they answered in the
// snapshot. It fails only when no host answered: a host that did not stays
// listed as last seen, marked unknown.
func (s *Containers) relistAll(ctx context.Context, mark map[string]bool) error {
	errs := make([]error, len(s.hosts))
	var wg sync.WaitGroup
	for i, h := range s.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.listHost(ctx, h, mark, len(s.hosts) == 1)
		}()
	}
	wg.Wait()
	if len(s.hosts) > 1 { // one rebuild for all the lists: each costs as much as the snapshot is big
		s.mu.Lock()
		s.rebuildLocked()
		s.mu.Unlock()
	}
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	if len(s.hosts) == 1 {
		return errs[0]
	}
	for i, h := range s.hosts {
		errs[i] = fmt.Errorf("%s: %w", h.Name, errs[i])
	}
	return errors.Join(errs...)
}

// learnInfo asks a host that answered for its versions, for /api/hosts.
func (s *Containers) learnInfo(h *hostState) {
	ctx, cancel := context.WithTimeout(context.Background(), hostInfoTimeout)
	defer cancel()
	info, err := h.Engine.Info(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		h.infoErr = err.Error()
		return
	}
	if h.info != info {
		s.log.Info("docker engine", "host", h.Name, "version", info.EngineVersion, "api_version", info.APIVersion)
	}
	h.info, h.infoErr = info, ""
}

// hostLost records that a host did not answer. Only the first failure of an
// outage is logged: its containers stay listed as last seen meanwhile.
func (s *Containers) hostLost(h *hostState, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &h.st
	if !st.Down {
		st.Down, st.Since = true, time.Now()
		s.log.Warn("docker engine not reachable", "host", h.Name, "error", err)
		st.Reason = err.Error()
		s.rebuildLocked() // its containers turn unknown
		return
	}
	if st.Reason != err.Error() {
		st.Reason = err.Error()
		s.version.Add(1) // the dashboard shows the state
	}
}

// hostBackLocked records that a host answered, logging the end of an outage
// once. It reports whether the host is back (or here for the first time),
// for fireReachable once the lock is released.
func (s *Containers) hostBackLocked(h *hostState) bool {
	back := !h.reached || h.st.Down
	if h.st.Down {
		s.log.Info("docker engine reachable again", "host", h.Name, "down_for", time.Since(h.st.Since).Round(time.Second))
	}
	h.st, h.reached = models.EngineState{}, true
	return back
}

// EngineState reports whether the engines answered their last list, and
// since when they have not. With several hosts it names those out of reach,
// since the first of them went.
func (s *Containers) EngineState() models.EngineState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.hosts) == 1 {
		return s.hosts[0].st
	}
	var out models.EngineState
	var down, reasons []string
	for _, h := range s.hosts {
		if !h.st.Down {
			continue
		}
		if !out.Down || h.st.Since.Before(out.Since) {
			out.Since = h.st.Since
		}
		out.Down = true
		down = append(down, h.Name)
		reasons = append(reasons, h.Name+": "+h.st.Reason)
	}
	out.Hosts, out.Reason = strings.Join(down, ", "), strings.Join(reasons, "; ")
	return out
}

// downReasonLocked is why the containers of h are unknown, or "" while h
// answers. With one host the banner alone says it, as before hosts: its
// containers keep the status last seen.
func (s *Containers) downReasonLocked(h *hostState) string {
	if !h.st.Down || len(s.hosts) == 1 {
		return ""
	}
	return models.HostDownReason(h.st.Since)
}
