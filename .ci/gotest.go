//go:build ignore

// gotest runs `go test -json` with the given arguments and prints what a
// plain `go test` would (package results, and the output of failed tests),
// then one last line that counts the tests skipped for want of a Docker
// engine, so that a run without REFIT_TEST_DOCKER_HOST cannot pass for a
// full one. It exits with go test's status.
//
//	go run .ci/gotest.go -race -count=1 ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// event is one line of test2json output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// engineSkip is what dockertest.Host says when it skips a test.
const engineSkip = "REFIT_TEST_DOCKER_HOST"

func main() {
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}

	buf := map[string][]string{} // output so far by package and test
	var ran, engineSkips, otherSkips, failed int
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			fmt.Println(sc.Text()) // not JSON: pass it on
			continue
		}
		key := ev.Package + " " + ev.Test
		switch {
		case ev.Action == "build-output":
			fmt.Print(ev.Output)
		case ev.Action == "output" && ev.Test == "":
			// Package lines: ok/FAIL, coverage, and output outside tests (a panic, a timeout).
			if !strings.HasPrefix(ev.Output, "=== ") && ev.Output != "PASS\n" {
				fmt.Print(ev.Output)
			}
		case ev.Action == "output":
			buf[key] = append(buf[key], ev.Output)
		case ev.Test == "":
			if ev.Action == "fail" {
				// Tests of a package that died mid-way (panic, timeout) never ended: show what they said.
				for k, lines := range buf {
					if strings.HasPrefix(k, ev.Package+" ") {
						printTest(lines)
						delete(buf, k)
					}
				}
			}
		case ev.Action == "pass":
			ran++
			delete(buf, key)
		case ev.Action == "skip":
			if strings.Contains(strings.Join(buf[key], ""), engineSkip) {
				engineSkips++
			} else {
				otherSkips++
			}
			delete(buf, key)
		case ev.Action == "fail":
			ran++
			failed++
			printTest(buf[key])
			delete(buf, key)
		}
	}
	err = cmd.Wait()
	status := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		status = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		status = 2
	}

	summary := fmt.Sprintf("%s ran, %d failed", plural(ran), failed)
	if otherSkips > 0 {
		summary += fmt.Sprintf(", %d skipped", otherSkips)
	}
	if engineSkips > 0 {
		fmt.Printf("%s; %s skipped: no Docker engine (REFIT_TEST_DOCKER_HOST unset); "+
			"run `make test-docker` or `bash .ci/run` for all of them\n", summary, plural(engineSkips))
	} else {
		fmt.Println(summary)
	}
	os.Exit(status)
}

// printTest prints a test's output the way go test does without -v.
func printTest(lines []string) {
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "=== ") {
			continue
		}
		fmt.Print(l)
	}
}

func plural(n int) string {
	if n == 1 {
		return "1 test"
	}
	return fmt.Sprintf("%d tests", n)
}
