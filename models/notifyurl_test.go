package models

import (
	"strings"
	"testing"
)

// The URL forms of the shoutrrr docs for each common service, every secret
// spelled with "s3cr3t" so one search finds a leak.
func TestMaskNotifyURLHidesEverySecret(t *testing.T) {
	cases := []struct {
		raw, want string
	}{
		{"ntfy://:s3cr3t-tok@ntfy.sh/s3cr3t-topic", "ntfy://:***@ntfy.sh/***"},
		{"ntfy://alice:s3cr3t-pass@ntfy.example.com/s3cr3t-topic?priority=high", "ntfy://alice:***@ntfy.example.com/***?priority=high"},
		{"gotify://gotify.example.com/As3cr3tToken?title=refit", "gotify://gotify.example.com/***?title=refit"},
		{"gotify://gotify.example.com:8080/message?token=As3cr3t.D4iJLVa&disabletls=yes", "gotify://gotify.example.com:8080/***?disabletls=yes&token=***"},
		{"teams://s3cr3t-g@s3cr3t-t/s3cr3t-a/s3cr3t-o/s3cr3t-e?host=contoso.webhook.office.com", "teams://***@***/***?host=contoso.webhook.office.com"},
		{"discord://s3cr3t-token@123456789012", "discord://***@123456789012"},
		{"slack://hook:T0s3cr3t-B0s3cr3t-X0s3cr3t@webhook", "slack://***:***@***"},
		{"slack://refit@T00s3cr3t/B00s3cr3t/XXs3cr3t", "slack://***@***/***"},
		{"telegram://110201543:AAHs3cr3tQUDAGJ@telegram?chats=@refitchan,-100123", "telegram://***:***@telegram/?chats=%40refitchan%2C-100123"},
		{"smtp://refit%40example.com:s3cr3t-pw@smtp.example.com:587/?fromaddress=refit@example.com&toaddresses=ops@example.com",
			"smtp://refit@example.com:***@smtp.example.com:587/?fromaddress=refit%40example.com&toaddresses=ops%40example.com"},
		{"teams://s3cr3t-group@s3cr3t-tenant/s3cr3t-alt/s3cr3t-owner?host=org.webhook.office.com", "teams://***@***/***?host=org.webhook.office.com"},
		{"matrix://refit:s3cr3t-pw@matrix.example.com/?rooms=!room:example.com", "matrix://refit:***@matrix.example.com/?rooms=%21room%3Aexample.com"},
		{"pushover://shoutrrr:s3cr3t-apitoken@s3cr3t-userkey/?devices=phone", "pushover://***:***@***/?devices=phone"},
		{"generic+https://hooks.example.com/s3cr3t-hook?@Authorization=Bearer+s3cr3t&template=json", "generic+https://hooks.example.com/***?%40Authorization=***&template=json"},
		{"generic://127.0.0.1:8080/api/webhook/s3cr3t?token=s3cr3t-q", "generic://127.0.0.1:8080/***?token=***"},
		{"not a url s3cr3t", "***"},
		{"ntfy://%zz:s3cr3t@ntfy.sh", "ntfy://***"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			got := MaskNotifyURL(tc.raw)
			if got != tc.want {
				t.Errorf("MaskNotifyURL(%q) = %q, want %q", tc.raw, got, tc.want)
			}
			if strings.Contains(strings.ToLower(got), "s3cr3t") {
				t.Errorf("mask %q keeps a secret", got)
			}
			// An error that quotes the URL in any of its forms is scrubbed.
			for _, quoted := range []string{tc.raw, `Post "` + strings.Replace(tc.raw, "generic+", "", 1) + `": dial tcp: refused`} {
				if s := ScrubNotify("failed: "+quoted, tc.raw); strings.Contains(strings.ToLower(s), "s3cr3t") {
					t.Errorf("ScrubNotify kept a secret: %q", s)
				}
			}
		})
	}
}

func TestNotifyType(t *testing.T) {
	for raw, want := range map[string]string{"generic+https://x/y": "generic", "NTFY://x": "ntfy", "smtp://h": "smtp", "x": ""} {
		if got := NotifyType(raw); got != want {
			t.Errorf("NotifyType(%q) = %q, want %q", raw, got, want)
		}
	}
}
