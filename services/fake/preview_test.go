package fake_test

import (
	"testing"

	"refit/services/enginetest"
	"refit/services/fake"
)

func (f *fixture) RunConfigured(t *testing.T, name string, v int, c enginetest.Configured) string {
	id := f.RunContainer(t, name, v)
	ct, _ := f.e.Container(id)
	f.e.SetImageConfig(ct.ImageID, fake.ImageConfig{Env: c.ImageEnv, Labels: c.ImageLabels})
	vols := map[string]string{}
	if c.Volume != "" {
		vols[c.Volume] = c.VolumeTarget
	}
	f.e.SetContainerConfig(id, fake.ContainerConfig{Env: c.Env, Labels: c.Labels, Cmd: c.Cmd, Volumes: vols})
	return id
}

func TestPreviewConformance(t *testing.T) {
	enginetest.RunPreview(t, func(t *testing.T) enginetest.PreviewFixture { return &fixture{e: fake.NewEngine()} })
}
