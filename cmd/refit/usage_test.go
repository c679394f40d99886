package main

import (
	"bytes"
	"strings"
	"testing"
)

// refit -h says each option's default once, in its usage line.
func TestHelpSaysEachDefaultOnce(t *testing.T) {
	var out bytes.Buffer
	parseConfig("serve", []string{"-h"}, func(string) string { return "" }, &out)
	text := out.String()
	if !strings.Contains(text, `-addr string`) || !strings.Contains(text, `(env REFIT_ADDR, default ":8099")`) {
		t.Fatalf("help does not describe -addr:\n%s", text)
	}
	if strings.Contains(text, "\") (default ") { // flag.PrintDefaults' own, after ours
		t.Errorf("help repeats a default:\n%s", text)
	}
	if !strings.Contains(text, "  -cookie-secure\n") {
		t.Errorf("a bool flag shows a type:\n%s", text)
	}
}
