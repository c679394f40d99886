package models

import (
	"slices"
	"time"
)

// UpdatePolicy is what a user told refit to hold back for one container:
// digests and tags to skip, and a snooze. It is Drydock's updatePolicy, kept
// by host and name so it survives recreates. A new digest or tag after a
// skip is a new candidate; a snooze ends by itself at its time.
type UpdatePolicy struct {
	Host        string     `gorm:"primaryKey" json:"-"`
	Name        string     `gorm:"primaryKey" json:"-"`
	SkipDigests []string   `gorm:"serializer:json" json:"skipDigests"`
	SkipTags    []string   `gorm:"serializer:json" json:"skipTags"`
	SnoozeUntil *time.Time `json:"snoozeUntil,omitempty"`
	UpdatedAt   time.Time  `json:"-"`
}

// Candidate is what an update would bring: the remote digest the check saw
// and, once tags are tracked, the newer tag.
type Candidate struct {
	Digest string
	Tag    string
}

// Snoozed reports whether the policy holds updates back at now.
func (p UpdatePolicy) Snoozed(now time.Time) bool {
	return p.SnoozeUntil != nil && now.Before(*p.SnoozeUntil)
}

// Skips reports whether the policy skips c: its digest or its tag.
func (p UpdatePolicy) Skips(c Candidate) bool {
	return (c.Digest != "" && slices.Contains(p.SkipDigests, c.Digest)) || (c.Tag != "" && slices.Contains(p.SkipTags, c.Tag))
}

// Holds reports whether the policy keeps c from being offered at now:
// skipped or snoozed.
func (p UpdatePolicy) Holds(c Candidate, now time.Time) bool { return p.Skips(c) || p.Snoozed(now) }

// Empty reports whether the policy holds nothing back, whatever the time.
func (p UpdatePolicy) Empty() bool {
	return len(p.SkipDigests) == 0 && len(p.SkipTags) == 0 && p.SnoozeUntil == nil
}

// PolicyAction is the body of PATCH /api/containers/{id}/update-policy.
type PolicyAction struct {
	Action      string     `json:"action"`
	Days        float64    `json:"days,omitempty"`
	SnoozeUntil *time.Time `json:"snoozeUntil,omitempty"`
}

// The policy actions, Drydock's names.
const (
	PolicySkipCurrent = "skip-current"
	PolicyClearSkips  = "clear-skips"
	PolicySnooze      = "snooze"
	PolicyUnsnooze    = "unsnooze"
	PolicyClear       = "clear"
)

// Errors of the policy actions, with the contract's texts.
var (
	ErrUnknownPolicyAction = NewKind("unknown policy action", ErrInvalid)
	ErrNothingToSkip       = NewKind("no update available", ErrInvalid)
	ErrBadSnooze           = NewKind("snooze wants days > 0 or a snoozeUntil in the future", ErrInvalid)
)
