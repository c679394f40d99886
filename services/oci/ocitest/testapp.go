package ocitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// testAppPkg is the import path of the program every test image runs.
const testAppPkg = "refit/services/oci/ocitest/testapp"

var testApp struct {
	once sync.Once
	bin  []byte
	err  string
}

// MustTestApp returns the testapp binary (static, linux/amd64), building it once per test process.
func MustTestApp(tb testing.TB) []byte {
	tb.Helper()
	testApp.once.Do(func() {
		testApp.bin, testApp.err = buildTestApp()
	})
	if testApp.err != "" {
		tb.Fatal(testApp.err)
	}
	return testApp.bin
}

// buildTestApp compiles testapp into a fresh directory and returns its bytes. The directory is not a t.TempDir
// because the result outlives the test that first asked for it; it is removed once the bytes are in memory.
func buildTestApp() ([]byte, string) {
	dir, err := os.MkdirTemp("", "ocitest-testapp-")
	if err != nil {
		return nil, "ocitest: " + err.Error()
	}
	defer os.RemoveAll(dir)

	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, "ocitest: the go command is needed to build testapp: " + err.Error()
	}
	out := filepath.Join(dir, "testapp")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, testAppPkg)
	// The images say linux/amd64, and the binary must run in an empty filesystem: no cgo, no dynamic loader.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, "ocitest: go build " + testAppPkg + ": " + err.Error() + "\n" + string(b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, "ocitest: " + err.Error()
	}
	return bin, ""
}
