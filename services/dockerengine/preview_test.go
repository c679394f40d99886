package dockerengine_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/enginetest"
	"refit/services/oci/ocitest"
)

func (f *fixture) RunConfigured(t *testing.T, name string, v int, c enginetest.Configured) string {
	labels := map[string]string{"refit.test.version": fmt.Sprint(v)}
	maps.Copy(labels, c.ImageLabels)
	f.reg.Push(t, "enginetest/app:latest", ocitest.ImageOpts{Marker: fmt.Sprintf("configured v%d", v),
		Labels: labels, Env: c.ImageEnv})
	dockertest.Pull(t, f.cli, f.Ref())
	var binds []string
	if c.Volume != "" {
		binds = append(binds, c.Volume+":"+c.VolumeTarget)
		t.Cleanup(func() { // after the container's removal, registered next
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f.cli.VolumeRemove(ctx, c.Volume, true)
		})
	}
	id := dockertest.Run(t, f.cli, dockertest.RunOpts{Name: name, Image: f.Ref(), Env: c.Env, Labels: c.Labels, Cmd: c.Cmd, Binds: binds})
	dockertest.RemoveAtCleanup(t, f.cli, name)
	dockertest.RemoveAtCleanup(t, f.cli, name+dockerengine.OldSuffix)
	return id
}

func TestPreviewConformance(t *testing.T) {
	enginetest.RunPreview(t, func(t *testing.T) enginetest.PreviewFixture { return newFixture(t) })
}
