package enginetest

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"refit/models"
)

// Configured describes a container with settings of its own over an image
// with defaults of its own, for the preview.
type Configured struct {
	ImageEnv     []string // the image's defaults, "K=V"
	ImageLabels  map[string]string
	Env          []string // set at create; a "K=V" equal to an image default cannot be told from it
	Labels       map[string]string
	Cmd          []string // arguments the container's entrypoint accepts and ignores
	Volume       string   // a named volume, mounted at VolumeTarget
	VolumeTarget string
}

// PreviewFixture is a Fixture that can also run a Configured container.
type PreviewFixture interface {
	Fixture
	// RunConfigured publishes version v as an image with c's defaults,
	// makes it the local image of Ref, and starts a container named name
	// with c's settings. It returns the container's ID.
	RunConfigured(t *testing.T, name string, v int, c Configured) (id string)
}

// RunPreview checks Preview on the Updater that newFixture provides.
func RunPreview(t *testing.T, newFixture func(t *testing.T) PreviewFixture) {
	for name, fn := range map[string]func(*testing.T, PreviewFixture){
		"PreviewClassifiesWithoutValues":  testPreviewClassifies,
		"PreviewOfUnknownIDIsNotFound":    testPreviewUnknown,
		"PreviewRefusesARecreatingOne":    testPreviewDuringRecreate,
		"PreviewOfAPlainContainerIsEmpty": testPreviewPlain,
		"RunningTellsImageLabelsAndState": testRunningFacts,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t))
		})
	}
}

// secret is a value that must never leave the engine through a preview.
const secret = "s3cr3t-value-of-the-user"

func testPreviewClassifies(t *testing.T, f PreviewFixture) {
	name := uniqueName("preview")
	vol := uniqueName("preview-data")
	id := f.RunConfigured(t, name, 1, Configured{
		ImageEnv:     []string{"PREVIEW_DEFAULT=from-the-image", "PREVIEW_MODE=production"},
		ImageLabels:  map[string]string{"org.example.image": "yes"},
		Env:          []string{"PREVIEW_TOKEN=" + secret, "PREVIEW_MODE=" + secret + "-mode"},
		Labels:       map[string]string{"org.example.owner": "ops"},
		Cmd:          []string{"serve"},
		Volume:       vol,
		VolumeTarget: "/data",
	})
	e := f.Engine()
	before, _ := inAll(t, e, id)

	p, err := e.Preview(ctxTimeout(t, time.Minute), name)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), secret) || strings.Contains(string(b), "from-the-image") {
		t.Errorf("the preview shows an environment value: %s", b)
	}
	if p.ID != id || p.Name != name || p.Keeps.Name != name || p.Current.ImageID != before.ImageID {
		t.Errorf("Preview names %s %q (keeps %q, image %s), want %s %q running %s", p.ID, p.Name, p.Keeps.Name,
			p.Current.ImageID, id, name, before.ImageID)
	}
	for _, c := range []struct {
		what string
		list []string
		want string
	}{
		{"keeps.env", p.Keeps.Env, "PREVIEW_TOKEN"},
		{"keeps.env (set over a default)", p.Keeps.Env, "PREVIEW_MODE"},
		{"fromImage.env", p.FromImage.Env, "PREVIEW_DEFAULT"},
		{"keeps.labels", p.Keeps.Labels, "org.example.owner"},
		{"fromImage.labels", p.FromImage.Labels, "org.example.image"},
		{"keeps.config", p.Keeps.Config, "cmd"},
		{"fromImage.config", p.FromImage.Config, "workdir"},
	} {
		if !slices.Contains(c.list, c.want) {
			t.Errorf("%s = %q, want %s in it", c.what, c.list, c.want)
		}
	}
	for _, c := range []struct {
		what string
		list []string
		not  string
	}{
		{"fromImage.env", p.FromImage.Env, "PREVIEW_TOKEN"},
		{"fromImage.env", p.FromImage.Env, "PREVIEW_MODE"},
		{"keeps.env", p.Keeps.Env, "PREVIEW_DEFAULT"},
		{"keeps.labels", p.Keeps.Labels, "org.example.image"},
		{"fromImage.config", p.FromImage.Config, "cmd"},
	} {
		if slices.Contains(c.list, c.not) {
			t.Errorf("%s = %q, want no %s in it", c.what, c.list, c.not)
		}
	}
	i := slices.IndexFunc(p.Volumes, func(v models.PreviewVolume) bool { return v.Name == vol })
	if i < 0 || p.Volumes[i].Destination != "/data" || p.Volumes[i].Anonymous || p.Volumes[i].Type != "volume" {
		t.Errorf("volumes = %+v, want the named volume %s at /data", p.Volumes, vol)
	}
	if p.Dependents == nil || len(p.Dependents) != 0 || p.Networks == nil {
		t.Errorf("dependents = %#v, networks = %#v; want [] and a list", p.Dependents, p.Networks)
	}

	// A dry run: the container is as it was.
	if after, ok := inAll(t, e, id); !ok || after.State != "running" || after.Name != name || after.ImageID != before.ImageID {
		t.Errorf("after Preview the container is %+v (found %v), want it as before: %+v", after, ok, before)
	}
}

func testPreviewPlain(t *testing.T, f PreviewFixture) {
	name := uniqueName("preview-plain")
	f.RunContainer(t, name, 1)
	p, err := f.Engine().Preview(ctxTimeout(t, time.Minute), name)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	// Lists, never null: a script may range over them.
	for what, l := range map[string][]string{"keeps.env": p.Keeps.Env, "keeps.labels": p.Keeps.Labels,
		"keeps.config": p.Keeps.Config, "fromImage.env": p.FromImage.Env, "fromImage.config": p.FromImage.Config} {
		if l == nil {
			t.Errorf("%s is null, want a list", what)
		}
	}
	if p.Volumes == nil || p.Networks == nil || p.Dependents == nil || p.Keeps.Ports == nil {
		t.Errorf("Preview = %+v, want lists, not nulls", p)
	}
	if slices.Contains(p.Keeps.Config, "cmd") || !slices.Contains(p.FromImage.Config, "cmd") {
		t.Errorf("keeps.config = %q, fromImage.config = %q; want the image's cmd", p.Keeps.Config, p.FromImage.Config)
	}
}

func testPreviewUnknown(t *testing.T, f PreviewFixture) {
	if _, err := f.Engine().Preview(ctxTimeout(t, time.Minute), uniqueName("nosuch")); !errors.Is(err, models.ErrContainerNotFound) {
		t.Errorf("Preview of an unknown container = %v, want models.ErrContainerNotFound", err)
	}
}

// In the middle of a recreate the container is two, and neither is what
// an update would start from.
func testPreviewDuringRecreate(t *testing.T, f PreviewFixture) {
	e := f.Engine()
	name := uniqueName("preview-busy")
	id := f.RunContainer(t, name, 1)
	f.PushVersion(t, 2)
	pull(t, e, f.Ref())
	opts := recreateOpts
	var checked bool
	opts.Hook = func(step string) error {
		if step != models.StepCreating {
			return nil
		}
		checked = true
		if _, err := e.Preview(ctxTimeout(t, time.Minute), name); !errors.Is(err, models.ErrConflict) {
			t.Errorf("Preview during a recreate = %v, want models.ErrConflict", err)
		}
		return nil
	}
	if _, err := e.Recreate(ctxTimeout(t, 2*time.Minute), id, opts); err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	if !checked {
		t.Fatal("the hook never ran at creating")
	}
}

// testRunningFacts: the list says what the dashboard shows of a row at no
// extra request: the image's labels and build date, the engine's status
// text and the health it names.
func testRunningFacts(t *testing.T, f PreviewFixture) {
	name := uniqueName("facts")
	f.RunConfigured(t, name, 1, Configured{ImageLabels: map[string]string{
		models.LabelVersion: "1.2.3", models.LabelSource: "https://example.test/app"}})
	c, ok := byName(t, f.Engine(), name)
	if !ok {
		t.Fatalf("Running does not list %s", name)
	}
	if c.ImageLabels[models.LabelVersion] != "1.2.3" || c.ImageLabels[models.LabelSource] != "https://example.test/app" {
		t.Errorf("ImageLabels = %v, want the image's version and source", c.ImageLabels)
	}
	if c.ImageCreated.IsZero() {
		t.Error("ImageCreated is zero")
	}
	// Image says the same of the image, as the history's versions need.
	if img, err := f.Engine().Image(ctxTimeout(t, 30*time.Second), c.ImageID); err != nil || img.Labels[models.LabelVersion] != "1.2.3" {
		t.Errorf("Image(%s) labels = %v (%v), want the image's version", c.ImageID, img.Labels, err)
	}
	if !strings.HasPrefix(c.StatusText, "Up ") || c.Health != "" {
		t.Errorf("StatusText %q, Health %q; want \"Up …\" and no health without a healthcheck", c.StatusText, c.Health)
	}
	if len(c.Ports) != 0 {
		t.Errorf("Ports = %v, want none published", c.Ports)
	}
}
