package services_test

import (
	"testing"
	"time"

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
