package fake

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"refit/models"
)

// ImageConfig is the part of an image's configuration Preview tells apart
// from the user's settings.
type ImageConfig struct {
	Env    []string // "K=V"
	Labels map[string]string
}

// ContainerConfig is what a user asked for at create, as docker run does:
// the engine merges it over the image's configuration.
type ContainerConfig struct {
	Env     []string          // "K=V"; a K of the image's is overridden
	Labels  map[string]string // merged over the image's
	Cmd     []string
	Volumes map[string]string // named volume → container path
}

// configs holds the configurations set with SetImageConfig and
// SetContainerConfig, per engine, apart from Engine's own fields.
var configs = struct {
	sync.Mutex
	images     map[*Engine]map[string]ImageConfig     // by image ID
	containers map[*Engine]map[string]ContainerConfig // by container ID
}{images: map[*Engine]map[string]ImageConfig{}, containers: map[*Engine]map[string]ContainerConfig{}}

// SetImageConfig sets the configuration of the image imageID.
func (e *Engine) SetImageConfig(imageID string, c ImageConfig) {
	configs.Lock()
	defer configs.Unlock()
	if configs.images[e] == nil {
		configs.images[e] = map[string]ImageConfig{}
	}
	configs.images[e][imageID] = c
}

// SetContainerConfig sets what the user asked for when creating the
// container with that ID or name.
func (e *Engine) SetContainerConfig(idOrName string, c ContainerConfig) {
	e.mu.Lock()
	ct := e.find(idOrName)
	e.mu.Unlock()
	if ct == nil {
		return
	}
	configs.Lock()
	defer configs.Unlock()
	if configs.containers[e] == nil {
		configs.containers[e] = map[string]ContainerConfig{}
	}
	configs.containers[e][ct.ID] = c
}

// Preview implements services.Updater with the adapter's rules on what the
// fake knows: variables and labels equal to the image's come from the new
// image, the rest is kept; a Cmd is kept when the user set one; volumes are
// carried over; no container joins another's network here.
func (e *Engine) Preview(ctx context.Context, id string) (models.Preview, error) {
	e.mu.Lock()
	c, err := e.target("preview", id)
	var ct Container
	if err == nil {
		ct = *c
		ct.Volumes = slices.Clone(c.Volumes)
		ct.Labels = maps.Clone(c.Labels)
	}
	e.mu.Unlock()
	if err != nil {
		return models.Preview{}, err
	}
	configs.Lock()
	img, user := configs.images[e][ct.ImageID], configs.containers[e][ct.ID]
	configs.Unlock()

	p := models.Preview{ID: ct.ID, Name: ct.Name, Current: models.PreviewCurrent{ImageID: ct.ImageID},
		Keeps: models.PreviewKeeps{Name: ct.Name, Env: []string{}, Labels: []string{}, Config: []string{},
			ExposedPorts: []string{}, Ports: []models.PreviewPort{}, RestartPolicy: "no", NetworkMode: "none",
			Resources: []string{}, Host: []string{}},
		FromImage: models.PreviewFromImage{Env: []string{}, Labels: []string{}, ExposedPorts: []string{},
			Config: []string{"entrypoint", "healthcheck", "shell", "stopSignal", "user", "workdir"}},
		Networks: []models.PreviewNetwork{}, Volumes: []models.PreviewVolume{}, Dependents: []models.PreviewDependent{}}

	// The engine's merge, then the adapter's rule: what equals the image's
	// default cannot be told from it, and follows the new image.
	env := map[string]string{}
	for _, kv := range append(slices.Clone(img.Env), user.Env...) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range env {
		if slices.Contains(img.Env, k+"="+v) {
			p.FromImage.Env = append(p.FromImage.Env, k)
		} else {
			p.Keeps.Env = append(p.Keeps.Env, k)
		}
	}
	labels := maps.Clone(img.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, ct.Labels)
	maps.Copy(labels, user.Labels)
	for k, v := range labels {
		if iv, ok := img.Labels[k]; ok && iv == v {
			p.FromImage.Labels = append(p.FromImage.Labels, k)
		} else {
			p.Keeps.Labels = append(p.Keeps.Labels, k)
		}
	}
	if len(user.Cmd) > 0 {
		p.Keeps.Config = append(p.Keeps.Config, "cmd")
	} else {
		p.FromImage.Config = append(p.FromImage.Config, "cmd")
	}
	for name, dst := range user.Volumes {
		p.Volumes = append(p.Volumes, models.PreviewVolume{Type: "volume", Name: name, Destination: dst})
	}
	for i, v := range ct.Volumes {
		// The fake does not track where an anonymous volume is mounted.
		p.Volumes = append(p.Volumes, models.PreviewVolume{Type: "volume", Name: v, Destination: "/anonymous/" + string(rune('a'+i)), Anonymous: true})
	}
	for _, l := range []*[]string{&p.Keeps.Env, &p.Keeps.Labels, &p.Keeps.Config, &p.FromImage.Env, &p.FromImage.Labels, &p.FromImage.Config} {
		slices.Sort(*l)
	}
	slices.SortFunc(p.Volumes, func(a, b models.PreviewVolume) int { return strings.Compare(a.Destination, b.Destination) })
	return p, nil
}
