package services

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"refit/models"
)

// versionTag is a tag read as a version: v1.2.3-rc.1-alpine is prefix "v",
// three parts, pre-release "rc.1" and family "-alpine". Tags move only
// within their family (same prefix, same number of parts, same suffix):
// 1.2.3-alpine goes to 1.3.0-alpine, never to 1.3.0 or to the floating 1.3.
type versionTag struct {
	prefix string
	parts  int
	padded string // the zero-padded parts' widths: 2024.01.05 is " 2 2"
	pre    string
	family string
	v      *semver.Version
}

var (
	versionRe = regexp.MustCompile(`^([vV]?)(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:[-_.+].*)?)$`)
	// A pre-release is a known word with optional numbers, then the family:
	// -rc1, -rc.2, -beta3-alpine. -alpine itself is a family.
	preRe = regexp.MustCompile(`(?i)^-(alpha|beta|rc|pre|preview|dev|a|b)((?:\.?\d+)*)(-.*)?$`)
)

// parseVersionTag reads tag as a version; ok is false for latest, stable,
// a date or anything else that is not one.
func parseVersionTag(tag string) (versionTag, bool) {
	m := versionRe.FindStringSubmatch(tag)
	if m == nil {
		return versionTag{}, false
	}
	t := versionTag{prefix: m[1], parts: 1, family: m[5], padded: paddedWidths(m[2], m[3], m[4])}
	nums := []string{m[2], "0", "0"}
	for i, p := range []string{m[3], m[4]} {
		if p != "" {
			nums[i+1] = p
			t.parts = i + 2
		}
	}
	if p := preRe.FindStringSubmatch(t.family); p != nil {
		t.pre = strings.ToLower(p[1])
		if n := strings.TrimPrefix(p[2], "."); n != "" {
			t.pre += "." + n // rc1 → rc.1, so rc.10 sorts after rc.2
		}
		t.family = p[3]
	}
	s := strings.Join(nums, ".")
	if t.pre != "" {
		s += "-" + t.pre
	}
	v, err := semver.StrictNewVersion(normalNumbers(s))
	if err != nil {
		return versionTag{}, false
	}
	t.v = v
	return t, true
}

// normalNumbers drops leading zeros (2024.01.05 → 2024.1.5), which strict
// semver refuses.
func normalNumbers(s string) string {
	core, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	for i, p := range parts {
		if n, err := strconv.ParseUint(p, 10, 64); err == nil {
			parts[i] = strconv.FormatUint(n, 10)
		}
	}
	if hasPre {
		return strings.Join(parts, ".") + "-" + pre
	}
	return strings.Join(parts, ".")
}

// sameFamily reports whether t may replace cur: the same prefix, parts,
// zero padding and suffix; a pre-release only when cur is one.
func (t versionTag) sameFamily(cur versionTag) bool {
	return t.prefix == cur.prefix && t.parts == cur.parts && t.padded == cur.padded && t.family == cur.family &&
		(t.pre == "" || cur.pre != "")
}

// paddedWidths is the widths of the zero-padded numbers, blank for others.
func paddedWidths(nums ...string) string {
	var b strings.Builder
	for _, n := range nums {
		b.WriteByte(' ')
		if len(n) > 1 && n[0] == '0' {
			b.WriteString(strconv.Itoa(len(n)))
		}
	}
	return b.String()
}

// within reports whether going from cur to t stays inside bump.
func (t versionTag) within(cur versionTag, bump string) bool {
	switch bump {
	case models.BumpPatch:
		return t.v.Major() == cur.v.Major() && t.v.Minor() == cur.v.Minor()
	case models.BumpMinor:
		return t.v.Major() == cur.v.Major()
	}
	return true
}

// NewerTag picks, among tags, the newest version the rule lets current
// move to: "" when current is the newest. It fails when the rule does not
// compile or current is not a version.
func NewerTag(current string, tags []string, rule models.TagRule) (string, error) {
	include, exclude, err := rule.Compile()
	if err != nil {
		return "", err
	}
	cur, ok := parseVersionTag(current)
	if !ok {
		return "", fmt.Errorf("tag %q is not a version: %w", current, models.ErrBadTagRule)
	}
	best, bestV := "", cur
	for _, t := range tags {
		if !include.MatchString(t) || (exclude != nil && exclude.MatchString(t)) {
			continue
		}
		v, ok := parseVersionTag(t)
		if !ok || !v.sameFamily(cur) || !v.within(cur, rule.BumpOrDefault()) || !v.v.GreaterThan(bestV.v) {
			continue
		}
		best, bestV = t, v
	}
	return best, nil
}
