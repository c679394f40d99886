package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"refit/models"
)

func TestNotifyTargetsFromTheEnvironment(t *testing.T) {
	c, err := parseConfig("serve", nil, env(map[string]string{"REFIT_NOTIFY": "ntfy://:tok@ntfy.sh/topic\n" +
		"  ops=generic+https://hooks.example.com/h?template=json#updated,failed  ntfy://ntfy.example.com/other " +
		"matrix://u:p@matrix.example.com/?rooms=#ops:example.com"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range c.Notify {
		got = append(got, n.Name+" "+strings.Join(n.Events, ","))
	}
	want := []string{"ntfy ", "ops updated,failed", "ntfy-2 ", "matrix "}
	if !slices.Equal(got, want) {
		t.Errorf("targets = %q, want %q", got, want)
	}
	if c.Notify[1].URL != "generic+https://hooks.example.com/h?template=json" || !strings.HasSuffix(c.Notify[3].URL, "#ops:example.com") {
		t.Errorf("URLs = %q, %q: the events fragment goes, a room alias stays", c.Notify[1].URL, c.Notify[3].URL)
	}
}

// A bad entry stops start-up with one line that names it, secrets masked.
func TestInvalidNotifyEntryNamesItMasked(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"nosuch://s3cr3t@host/x", "invalid -notify entry nosuch://***@***/***: unknown service \"nosuch\""},
		{"Bad=ntfy://ntfy.sh/s3cr3t", "invalid -notify entry ntfy://ntfy.sh/***: target \"Bad\": " + models.ErrBadTargetName.Error()},
		{"a=ntfy://ntfy.sh/s3cr3t a=ntfy://ntfy.sh/s3cr3t2", "invalid -notify entry ntfy://ntfy.sh/***: target a is named twice"},
		{"smtp://u:s3cr3t@host:notaport/", "invalid -notify entry smtp://***"},
	} {
		_, err := parseConfig("serve", []string{"-notify", tc.v}, env(nil), &bytes.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("-notify %q: %v, want %q", tc.v, err, tc.want)
		}
	}
}

// -h prints each flag's default: never the environment's secrets.
func TestHelpShowsNoSecretFromTheEnvironment(t *testing.T) {
	var out bytes.Buffer
	getenv := env(map[string]string{"REFIT_NOTIFY": "ntfy://:s3cr3t@ntfy.sh/topic", "REFIT_METRICS_TOKEN": "tok-s3cr3t"})
	if _, err := parseConfig("serve", []string{"-h"}, getenv, &out); err == nil {
		t.Fatal("-h: no error")
	}
	if strings.Contains(out.String(), "s3cr3t") || !strings.Contains(out.String(), "REFIT_NOTIFY") {
		t.Errorf("-h shows a secret, or not the option:\n%s", out.String())
	}
	c, err := parseConfig("serve", nil, getenv, &bytes.Buffer{})
	if err != nil || len(c.Notify) != 1 || c.MetricsToken != "tok-s3cr3t" {
		t.Errorf("the environment's values: %v %+v %q", err, c.Notify, c.MetricsToken)
	}
	c, err = parseConfig("serve", []string{"-metrics-token", "flag-tok"}, getenv, &bytes.Buffer{})
	if err != nil || c.MetricsToken != "flag-tok" {
		t.Errorf("a flag wins over the environment: %v %q", err, c.MetricsToken)
	}
}
