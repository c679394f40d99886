package main

// refit updating its own container (issue 16): the running refit container
// must not kill itself half way; a helper container from the new image does
// the swap and removes itself.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"refit/models"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

func TestSelfUpdate(t *testing.T) {
	dockertest.Host(t) // the gate: real-engine tests are on (fails under CI=true without it)
	v1img, v2img := buildImageVersion(t, "selftest-1"), buildImageVersion(t, "selftest-2")
	eng, cli := newPrivateEngine(t)
	ctx := t.Context()

	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("refit:latest")
	push := func(bi builtImage) string {
		t.Helper()
		tag, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, bi.img); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		d, err := bi.img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	push(v1img)
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rc)
	rc.Close()

	port := freePort(t)
	const pass = "cinder-lagoon-trellis-0123"
	const ctrName = "refit-self"
	sock := strings.TrimPrefix(eng.host, "unix://")
	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Env: []string{"REFIT_ADDR=127.0.0.1:" + port, "REFIT_ADMIN_PASSWORD=" + pass, "REFIT_SETTLE=2s"}},
		&container.HostConfig{NetworkMode: "host", Binds: []string{sock + ":/var/run/docker.sock", "refit-self-data:/data"},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}},
		nil, nil, ctrName)
	if err != nil {
		t.Fatal(err)
	}
	oldID := created.ID
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range []string{ctrName, ctrName + "-refit-helper", ctrName + models.OldSuffix} {
			logs, err := cli.ContainerLogs(context.Background(), n, container.LogsOptions{ShowStdout: true, ShowStderr: true})
			if err == nil {
				b, _ := io.ReadAll(logs)
				logs.Close()
				t.Logf("%s's log:\n%s", n, lastLines(string(b), 40))
			}
		}
	})
	if err := cli.ContainerStart(ctx, oldID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + port
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := ""
	call := func(method, path, token string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		if h := resp.Header.Get("X-CSRF-Token"); h != "" {
			csrf = h
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	waitFor(t, 30*time.Second, "refit serves", func() bool { s, _ := call("GET", "/health", "", nil); return s == 200 })
	if s, b := call("POST", "/api/login", "", map[string]string{"user": "admin", "pass": pass}); s != 200 {
		t.Fatalf("login: %d %s", s, b)
	}
	s, b := call("POST", "/api/tokens", "", map[string]string{"name": "self-update test"})
	var tok struct {
		Token string `json:"token"`
	}
	if s != 200 && s != 201 || json.Unmarshal(b, &tok) != nil || tok.Token == "" {
		t.Fatalf("create token: %d %s", s, b)
	}

	want := push(v2img)
	if s, b := call("POST", "/api/check", tok.Token, nil); s != 200 {
		t.Fatalf("check: %d %s", s, b)
	}
	began := time.Now()
	if s, b := call("POST", "/api/images/"+ctrName+"/update", tok.Token, nil); s != 200 || !strings.Contains(string(b), "updating") {
		t.Fatalf("update of refit's own container: %d %s", s, b)
	}

	// The name runs the new image, and only it: the helper and the old
	// container are gone.
	var newID string
	waitFor(t, 4*time.Minute, "refit's container runs the new image and nothing else is left", func() bool {
		in, err := cli.ContainerInspect(ctx, ctrName)
		if err != nil || in.ID == oldID || in.State == nil || !in.State.Running {
			return false
		}
		img, err := cli.ImageInspect(ctx, in.Image)
		if err != nil || !hasDigest(img.RepoDigests, want) && img.ID != want {
			return false
		}
		all, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", ctrName))})
		if err != nil || len(all) != 1 {
			return false
		}
		newID = in.ID
		return true
	})
	t.Logf("refit updated itself in %s", time.Since(began).Round(100*time.Millisecond))
	waitFor(t, 60*time.Second, "the new refit answers the token made before", func() bool {
		s, _ := call("GET", "/api/images", tok.Token, nil)
		return s == 200
	})
	s, b = call("GET", "/api/history", tok.Token, nil)
	var recs []models.UpdateRecord
	if s != 200 || json.Unmarshal(b, &recs) != nil || len(recs) == 0 || recs[0].Container != ctrName || recs[0].Result != "updated" {
		t.Errorf("history after the self-update: %d %s", s, b)
	}
	if in, err := cli.ContainerInspect(ctx, newID); err != nil || len(in.Mounts) < 2 {
		t.Errorf("the new container's mounts: %+v, %v", in.Mounts, err)
	}
}

func hasDigest(repoDigests []string, d string) bool {
	for _, rd := range repoDigests {
		if strings.HasSuffix(rd, "@"+d) {
			return true
		}
	}
	return false
}
