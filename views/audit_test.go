package views_test

import (
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// The audit page links its neighbours by the IDs at its ends, and only
// where there is something to see.
func TestNewAuditDataLinks(t *testing.T) {
	page := []models.AuditEntry{{ID: 90}, {ID: 89}, {ID: 41}}
	tests := []struct {
		name         string
		entries      []models.AuditEntry
		older, newer bool
		wantOlder    string
		wantNewer    string
	}{
		{"the newest page", page, true, false, "/audit?before=41", ""},
		{"a middle page", page, true, true, "/audit?before=41", "/audit?after=90"},
		{"the oldest page", page, false, true, "", "/audit?after=90"},
		{"everything on one page", page, false, false, "", ""},
		{"nothing recorded", nil, false, false, "", ""},
		{"past the end", nil, true, false, "", "/audit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := views.NewAuditData(tc.entries, tc.older, tc.newer, time.Now(), views.Viewer{})
			if d.OlderPath != tc.wantOlder || d.NewerPath != tc.wantNewer {
				t.Errorf("NewAuditData: older %q, newer %q; want %q, %q", d.OlderPath, d.NewerPath, tc.wantOlder, tc.wantNewer)
			}
		})
	}
}
