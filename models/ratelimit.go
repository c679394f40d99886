package models

import "time"

// RateLimit is the pull budget a registry last reported in its
// ratelimit-limit and ratelimit-remaining headers.
type RateLimit struct {
	Registry   string    `json:"registry"`
	Limit      int       `json:"limit"`
	Remaining  int       `json:"remaining"`
	Window     int       `json:"window_seconds,omitempty"`
	Limited    bool      `json:"limited"`
	RetryAfter time.Time `json:"retry_after,omitzero"`
	SeenAt     time.Time `json:"seen_at"`
}
