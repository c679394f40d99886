// Package benchtest is what the benchmark reports of every package share (see `make bench`): the REFIT_BENCH gate
// and the markdown file they append to. No test asserts a time; a report states numbers and ratios.
package benchtest

import (
	"fmt"
	"os"
	"testing"
)

// Require skips tb unless REFIT_BENCH is set: benchmarks run from `make bench`, not `make test`.
func Require(tb testing.TB) {
	tb.Helper()
	if os.Getenv("REFIT_BENCH") == "" {
		tb.Skip("set REFIT_BENCH=1 (make bench) to run the benchmarks")
	}
}

// Write appends a report's markdown to $REFIT_BENCH_OUT, or prints it.
func Write(tb testing.TB, md string) {
	tb.Helper()
	path := os.Getenv("REFIT_BENCH_OUT")
	if path == "" {
		fmt.Print(md)
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(md); err != nil {
		tb.Fatal(err)
	}
}
