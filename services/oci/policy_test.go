package oci

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const fallback = time.Minute
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "120", 120 * time.Second},
		{"zero seconds", "0", 0},
		{"spaces", " 7 ", 7 * time.Second},
		{"absent", "", fallback},
		{"garbage", "soon", fallback},
		{"negative", "-5", fallback},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP date in the past", now.Add(-time.Hour).Format(http.TimeFormat), fallback},
		{"too many seconds", "999999999999", maxRetryAfter},
		{"too far a date", now.Add(30 * 24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryAfter(tc.header, now, fallback); got != tc.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}
