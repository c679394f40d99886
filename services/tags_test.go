package services

import (
	"errors"
	"testing"

	"refit/models"
)

func TestNewerTag(t *testing.T) {
	tags := []string{"latest", "stable", "1", "1.2", "1.3", "1.2.3", "1.2.4", "1.2.10", "1.3.0", "1.3.1", "2.0.0", "2.1.0-rc1",
		"1.2.3-alpine", "1.2.9-alpine", "1.4.0-alpine", "1.4.0-rc2", "1.4.0-rc10", "1.4.0-rc10-alpine",
		"v1.2.3", "v1.9.0", "v2.0.0-beta.1", "v1.2", "v1.4", "v2.1-rc1", "20240105", "sha-1a2b3c", "1.3.0-amd64", "01.05.0"}
	all := models.TagRule{Include: `.*`}
	for _, tc := range []struct {
		name, current string
		rule          models.TagRule
		want          string
	}{
		{"newest of the family", "1.2.3", all, "2.0.0"},
		{"minor bump stays on major 1", "1.2.3", models.TagRule{Include: `.*`, Bump: "minor"}, "1.3.1"},
		{"patch bump stays on 1.2", "1.2.3", models.TagRule{Include: `.*`, Bump: "patch"}, "1.2.10"},
		{"numbers compare as numbers", "1.2.4", models.TagRule{Include: `^1\.2\.`, Bump: "patch"}, "1.2.10"},
		{"two parts follow two parts", "1.2", all, "1.3"},
		{"one part follows one part", "1", models.TagRule{Include: `^\d{1,3}$`}, ""},
		{"suffix is the family", "1.2.3-alpine", all, "1.4.0-alpine"},
		{"v prefix is the family", "v1.2.3", all, "v1.9.0"},
		{"two parts with a v prefix", "v1.2", all, "v1.4"},
		{"two parts with a v prefix, patch bumps only", "v1.2", models.TagRule{Include: `^v`, Bump: "patch"}, ""},
		{"no pre-release from a release", "1.3.1", models.TagRule{Include: `^1\.`}, ""},
		{"pre-releases from a pre-release", "1.4.0-rc2", all, "2.1.0-rc1"},
		{"rc10 after rc2", "1.4.0-rc2", models.TagRule{Include: `^1\.4`}, "1.4.0-rc10"},
		{"the release after its pre-releases", "1.4.0-rc2-alpine", models.TagRule{Include: `^1\.4`}, "1.4.0-alpine"},
		{"pre-releases in a family", "1.4.0-rc2-alpine", models.TagRule{Include: `^1\.4\.0-rc`}, "1.4.0-rc10-alpine"},
		{"include limits", "1.2.3", models.TagRule{Include: `^1\.2\.`}, "1.2.10"},
		{"exclude removes", "1.2.3", models.TagRule{Include: `.*`, Exclude: `^2\.`}, "1.3.1"},
		{"newest already", "2.0.0", all, ""},
		{"leading zeros", "01.04.0", all, "01.05.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewerTag(tc.current, tags, tc.rule)
			if err != nil || got != tc.want {
				t.Errorf("NewerTag(%q) = %q, %v; want %q", tc.current, got, err, tc.want)
			}
		})
	}
	for _, bad := range []struct {
		current string
		rule    models.TagRule
	}{
		{"latest", all}, {"1.2.3", models.TagRule{Include: `(`}}, {"1.2.3", models.TagRule{Include: `.*`, Exclude: `[`}},
		{"1.2.3", models.TagRule{Include: `.*`, Bump: "huge"}},
	} {
		if _, err := NewerTag(bad.current, tags, bad.rule); !errors.Is(err, models.ErrBadTagRule) || !errors.Is(err, models.ErrInvalid) {
			t.Errorf("NewerTag(%q, %+v) error = %v, want a bad tag rule", bad.current, bad.rule, err)
		}
	}
}

func TestTagRuleFromLabels(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   models.TagRule
	}{
		{map[string]string{"refit.tag.include": `^1\.`, "refit.tag.bump": "minor"}, models.TagRule{Include: `^1\.`, Bump: "minor"}},
		{map[string]string{"wud.tag.include": `^\d+\.\d+\.\d+$`, "wud.tag.exclude": `rc`}, models.TagRule{Include: `^\d+\.\d+\.\d+$`, Exclude: "rc"}},
		{map[string]string{"dd.tag.include": `.*`}, models.TagRule{Include: `.*`}},
		{map[string]string{"refit.tag.include": `a`, "wud.tag.include": `b`}, models.TagRule{Include: `a`}},
		{map[string]string{"com.example": "x"}, models.TagRule{}},
	} {
		got := models.TagRuleFromLabels(tc.labels)
		tc.want.Source = "labels"
		if got != tc.want {
			t.Errorf("TagRuleFromLabels(%v) = %+v, want %+v", tc.labels, got, tc.want)
		}
	}
}
