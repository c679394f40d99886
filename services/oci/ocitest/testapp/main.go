// Command testapp is the entrypoint of every ocitest image: a tiny static program that behaves like a well-mannered
// service, so containers need no base image.
//
//	testapp [args...]      print "ready", then sleep until SIGTERM or SIGINT and exit 0
//	testapp health         exit 0 if TESTAPP_UNHEALTHY is empty, else 1 (for HEALTHCHECK CMD)
//	testapp cat PATH       print the file at PATH (for docker exec)
//
// Environment, read by the default mode:
//
//	TESTAPP_EXIT=CODE            exit with CODE at once
//	TESTAPP_WRITE=PATH=CONTENT   write CONTENT to PATH (creating its directories) before sleeping
//	TESTAPP_PRINT=LINES          print these newline-separated lines instead of "ready"; a line that begins with "!"
//	                             goes to stderr, without the "!"
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "health":
			if os.Getenv("TESTAPP_UNHEALTHY") != "" {
				os.Exit(1)
			}
			os.Exit(0)
		case "cat":
			if len(os.Args) != 3 {
				fail("usage: testapp cat PATH")
			}
			b, err := os.ReadFile(os.Args[2])
			if err != nil {
				fail(err.Error())
			}
			os.Stdout.Write(b)
			os.Exit(0)
		}
	}

	if s := os.Getenv("TESTAPP_EXIT"); s != "" {
		code, err := strconv.Atoi(s)
		if err != nil {
			fail("TESTAPP_EXIT: " + err.Error())
		}
		os.Exit(code)
	}
	if s := os.Getenv("TESTAPP_WRITE"); s != "" {
		path, content, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			fail("TESTAPP_WRITE: want PATH=CONTENT")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fail(err.Error())
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			fail(err.Error())
		}
	}

	// Subscribe before saying ready, so a stop right after "ready" is never lost. As PID 1 in a container, a signal
	// without a handler would be ignored and docker stop would wait for its timeout.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if s, ok := os.LookupEnv("TESTAPP_PRINT"); ok {
		for _, l := range strings.Split(s, "\n") {
			if e, ok := strings.CutPrefix(l, "!"); ok {
				fmt.Fprintln(os.Stderr, e)
			} else {
				fmt.Println(l)
			}
		}
	} else {
		fmt.Println("ready")
	}
	<-sig
	os.Exit(0)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "testapp:", msg)
	os.Exit(2)
}
