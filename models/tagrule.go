package models

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The labels that opt a container into following version tags. WUD's and
// Drydock's spellings are read too, so their users' labels keep working;
// refit's own wins when both are set.
const (
	LabelTagInclude = "refit.tag.include"
	LabelTagExclude = "refit.tag.exclude"
	LabelTagBump    = "refit.tag.bump"
	// LabelMinAge holds a new candidate back from auto-update until refit
	// has known it this long ("7d", "36h").
	LabelMinAge = "refit.min-age"
)

// tagLabelAliases are the other updaters' labels, in the order read.
var tagLabelAliases = map[string][]string{
	LabelTagInclude: {"wud.tag.include", "dd.tag.include"},
	LabelTagExclude: {"wud.tag.exclude", "dd.tag.exclude"},
}

// The bump limits: the largest jump a tag may take.
const (
	BumpMajor = "major"
	BumpMinor = "minor"
	BumpPatch = "patch"
)

// ErrBadTagRule is the API's error for a tag rule that does not parse.
var ErrBadTagRule = NewKind("bad tag rule", ErrInvalid)

// TagRule says which newer version tags a container may move to: tags
// that Include matches and Exclude does not, at most Bump away. A
// container follows tags when Include is set. Source says where it came
// from: "labels", or "refit" for a setting made in refit, which wins.
type TagRule struct {
	Host      string    `gorm:"primaryKey" json:"-"`
	Name      string    `gorm:"primaryKey" json:"-"`
	Include   string    `json:"include"`
	Exclude   string    `json:"exclude"`
	Bump      string    `json:"bump"`
	Source    string    `gorm:"-" json:"source"`
	UpdatedAt time.Time `json:"-"`
}

// TagRuleFromLabels is the rule a container's labels set; Include is ""
// when they set none.
func TagRuleFromLabels(labels map[string]string) TagRule {
	get := func(key string) string {
		if v := strings.TrimSpace(labels[key]); v != "" {
			return v
		}
		for _, alias := range tagLabelAliases[key] {
			if v := strings.TrimSpace(labels[alias]); v != "" {
				return v
			}
		}
		return ""
	}
	return TagRule{Include: get(LabelTagInclude), Exclude: get(LabelTagExclude), Bump: get(LabelTagBump), Source: "labels"}
}

// Tracks reports whether the rule opts its container in.
func (r TagRule) Tracks() bool { return r.Include != "" }

// BumpOrDefault is the rule's bump limit, major when unset.
func (r TagRule) BumpOrDefault() string {
	if r.Bump == "" {
		return BumpMajor
	}
	return r.Bump
}

// Compile checks the rule and returns its patterns (Exclude nil when unset).
func (r TagRule) Compile() (include, exclude *regexp.Regexp, err error) {
	switch r.Bump {
	case "", BumpMajor, BumpMinor, BumpPatch:
	default:
		return nil, nil, fmt.Errorf("bump %q: want major, minor or patch: %w", r.Bump, ErrBadTagRule)
	}
	if include, err = regexp.Compile(r.Include); err != nil {
		return nil, nil, fmt.Errorf("include: %v: %w", err, ErrBadTagRule)
	}
	if r.Exclude != "" {
		if exclude, err = regexp.Compile(r.Exclude); err != nil {
			return nil, nil, fmt.Errorf("exclude: %v: %w", err, ErrBadTagRule)
		}
	}
	return include, exclude, nil
}

// CandidateSeen is when refit first knew a container's candidate: a
// remote digest of its tag, or a newer tag ("tag:1.3.0"). Minimum age
// counts from it, so a restart does not reset the wait.
type CandidateSeen struct {
	Host      string `gorm:"primaryKey"`
	Name      string `gorm:"primaryKey"`
	Candidate string `gorm:"primaryKey"`
	FirstSeen time.Time
}

// Key is the candidate as CandidateSeen stores it.
func (c Candidate) Key() string {
	if c.Tag != "" {
		return tagKeyPrefix + c.Tag
	}
	return c.Digest
}

const tagKeyPrefix = "tag:"

// IsTagKey reports whether k is the Key of a tag candidate, not a digest's.
func IsTagKey(k string) bool { return strings.HasPrefix(k, tagKeyPrefix) }

// ParseAge reads a duration that may count days: "7d", "36h", "90m".
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("age %q: want a duration such as 7d or 36h: %w", s, ErrInvalid)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("age %q: want a duration such as 7d or 36h: %w", s, ErrInvalid)
	}
	return d, nil
}
