package fake_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services/fake"
	"refit/services/shoutrrr"
	"refit/services/shoutrrr/shoutrrrtest"
)

// The fake sender refuses what the shoutrrr adapter refuses, and a target
// that never answers ends both sends with the same words at the timeout.
func TestFakeSenderBehavesLikeTheAdapter(t *testing.T) {
	real, fk := shoutrrr.New(300*time.Millisecond), &fake.Sender{Timeout: 300 * time.Millisecond}
	for _, raw := range []string{
		"ntfy://ntfy.example.com/topic", "generic+https://hooks.example.com/x?template=json", "discord://token@123456",
		"smtp://u:p@mail.example.com:587/?fromaddress=a@example.com&toaddresses=b@example.com",
		"nosuch://host/x", "not a url", "",
	} {
		rerr, ferr := real.Check(raw), fk.Check(raw)
		if (rerr == nil) != (ferr == nil) {
			t.Errorf("Check(%s): adapter %v, fake %v", models.MaskNotifyURL(raw), rerr, ferr)
		}
	}
	hung := "generic+http://" + shoutrrrtest.Blackhole(t) + "/hook"
	fk.Hang(hung)
	for name, s := range map[string]interface {
		Send(context.Context, string, models.Message) error
	}{"adapter": real, "fake": fk} {
		start := time.Now()
		err := s.Send(context.Background(), hung, models.Message{Title: "t", Body: "b"})
		if err == nil || !strings.HasPrefix(err.Error(), "no answer within 300ms") || time.Since(start) > 3*time.Second {
			t.Errorf("%s: %v after %s", name, err, time.Since(start))
		}
	}
}
