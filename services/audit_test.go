package services_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"refit/models"
	"refit/services"
)

// The audit log keeps what is younger than its retention, on a real SQLite
// file, whatever zone the clock is in; 0 keeps everything.
func TestAuditRetention(t *testing.T) {
	for _, keep := range []time.Duration{90 * 24 * time.Hour, 0} {
		db, _, _ := mustStore(t)
		now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
		aud := services.NewAudit(db, quiet, func() time.Time { return now }).KeepFor(keep)
		aud.Record(models.AuditEntry{Actor: "a", Action: models.AuditLogin})
		now = now.Add(50 * 24 * time.Hour)
		aud.Record(models.AuditEntry{Actor: "b", Action: models.AuditLogin})
		now = now.Add(50 * 24 * time.Hour) // a is 100 days old, b 50
		aud.Record(models.AuditEntry{Actor: "c", Action: models.AuditLogin})
		es, err := aud.Recent(100)
		if err != nil {
			t.Fatal(err)
		}
		var actors string
		for _, e := range es {
			actors += e.Actor
		}
		want := "cb"
		if keep == 0 {
			want = "cba"
		}
		if actors != want {
			t.Errorf("retention %v: entries %q, want %q", keep, actors, want)
		}
	}
}

// An entry's fields are clipped on a character boundary, with a marker
// saying how much was left out, so that no client can make one large.
func TestAuditClipsLongFields(t *testing.T) {
	db, _, _ := mustStore(t)
	aud := services.NewAudit(db, quiet, nil)
	tests := []struct {
		target string
		want   string // prefix of the stored target
		max    int
	}{
		{"short", "short", 5},
		{strings.Repeat("a", 300), strings.Repeat("a", 300), 300},
		{strings.Repeat("a", 301), strings.Repeat("a", 280), 300},
		{strings.Repeat("é", 3<<20), "éé", 300},
	}
	for _, tc := range tests {
		aud.Record(models.AuditEntry{Actor: strings.Repeat("n", 1000), Action: models.AuditLoginFailed, Target: tc.target})
		es, err := aud.Recent(1)
		if err != nil {
			t.Fatal(err)
		}
		e := es[0]
		if !strings.HasPrefix(e.Target, tc.want) || len(e.Target) > tc.max || !utf8.ValidString(e.Target) || len(e.Actor) > 100 {
			t.Errorf("target of %d bytes stored as %.60q… (%d bytes), actor %d bytes; want %.60q…, at most %d bytes",
				len(tc.target), e.Target, len(e.Target), len(e.Actor), tc.want, tc.max)
		}
		if len(tc.target) > 300 && !strings.HasSuffix(e.Target, " bytes)") {
			t.Errorf("clipped target %q has no marker", e.Target[len(e.Target)-30:])
		}
	}
}
