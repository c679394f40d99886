package services

import (
	"sync"
	"time"
)

// throttle counts failed logins in a sliding window. It refuses a user
// name from one client address, or one address whatever the name, that
// failed too often, and it slows down, never refuses, a user's logins from
// everywhere: refusing a name outright would let anyone lock its owner out.
// It lives in memory: a restart forgets, which is fine for slowing down
// guessing.
type throttle struct {
	window           time.Duration
	perPair, perAddr int
	step, maxDelay   time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time // by throttleKey
}

func newThrottle(window time.Duration, perPair, perAddr int, step, maxDelay time.Duration) *throttle {
	return &throttle{window: window, perPair: perPair, perAddr: perAddr, step: step, maxDelay: maxDelay,
		fails: map[string][]time.Time{}}
}

// The kinds of key the throttle counts under.
const (
	keyPair    = "p:" // a user name from one address: refused past perPair
	keyAddr    = "a:" // an address: refused past perAddr
	keyUser    = "u:" // a user name from anywhere: delayed
	keyRefused = "r:" // a pair's refusals, to audit only the first
)

func throttleKey(kind, name, addr string) string {
	switch kind {
	case keyAddr:
		return kind + addr
	case keyUser:
		return kind + name
	}
	return kind + name + "\x00" + addr
}

// blocked returns how long the user at addr, or addr itself, which failed
// too often lately, must wait until an attempt is allowed again, or 0.
func (t *throttle) blocked(name, addr string, now time.Time) (wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []struct {
		key   string
		limit int
	}{{throttleKey(keyPair, name, addr), t.perPair}, {throttleKey(keyAddr, name, addr), t.perAddr}} {
		if ts := t.recent(k.key, now); len(ts) >= k.limit {
			// Allowed again when enough of these failures leave the window.
			wait = max(wait, ts[len(ts)-k.limit].Add(t.window).Sub(now))
		}
	}
	return wait
}

// firstRefusal reports whether the pair was not refused yet in the window,
// and notes that it is now.
func (t *throttle) firstRefusal(name, addr string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := throttleKey(keyRefused, name, addr)
	if len(t.recent(k, now)) > 0 {
		return false
	}
	t.fails[k] = []time.Time{now}
	return true
}

// delay is how long a login of name waits before its password is checked:
// a step per failure of the name in the window, from any address, up to
// maxDelay. Guessing one user's password from many addresses gets slow;
// its owner waits a few seconds at worst.
func (t *throttle) delay(name string, now time.Time) time.Duration {
	if t.step <= 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return min(time.Duration(len(t.recent(throttleKey(keyUser, name, ""), now)))*t.step, t.maxDelay)
}

func (t *throttle) fail(name, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 10000 { // names and addresses are the client's choice: bound the map
		for k := range t.fails {
			t.recent(k, now)
		}
	}
	for _, kind := range []string{keyPair, keyAddr, keyUser} {
		k := throttleKey(kind, name, addr)
		t.fails[k] = append(t.recent(k, now), now)
	}
}

// reset forgets the pair's failures after a successful login. The
// address's stay, and so do the user's: a login does not undo the delay
// others' guesses earned.
func (t *throttle) reset(name, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, throttleKey(keyPair, name, addr))
	delete(t.fails, throttleKey(keyRefused, name, addr))
}

// recent drops failures older than the window and returns the rest.
func (t *throttle) recent(key string, now time.Time) []time.Time {
	ts := t.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= t.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(t.fails, key)
		return nil
	}
	t.fails[key] = ts
	return ts
}
