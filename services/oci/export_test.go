package oci

import "time"

// SetClock makes c read the time from now, so tests can step past a
// Retry-After without waiting for it.
func SetClock(c *Client, now func() time.Time) { c.policy.now = now }

// SetRetryPause sets how long c waits before it resends a 408 or 5xx.
func SetRetryPause(c *Client, d time.Duration) { c.policy.pause = d }
