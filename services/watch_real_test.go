package services_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// A tester's `docker stop $(docker ps -q)` left stopped containers listed
// as running for 30 s and more: the engine sends "die" before its list
// shows the container stopped. The snapshot must follow the engine within
// about a second, whatever the burst.
func TestSnapshotFollowsABurstOfStops(t *testing.T) {
	rc := newRealChecker(t)
	cli := dockertest.Client(t)
	rc.reg.Push(t, "test/burst:1", ocitest.ImageOpts{Marker: "v1"})
	dockertest.Pull(t, cli, rc.reg.Ref("test/burst:1"))
	var ids []string
	names := map[string]string{}
	for range 6 {
		n := dockertest.UniqueName(t, "refit-burst")
		id := dockertest.Run(t, cli, dockertest.RunOpts{Name: n, Image: rc.reg.Ref("test/burst:1")})
		ids = append(ids, id)
		names[id] = n
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go rc.ctr.Watch(ctx)
	waitUntil(t, "all listed", 10*time.Second, func() bool {
		for _, n := range names {
			if !listed(rc.ctr, n) {
				return false
			}
		}
		return true
	})

	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := cli.ContainerStop(context.Background(), id, container.StopOptions{}); err != nil {
				t.Errorf("stop %s: %v", names[id], err)
			}
		})
	}
	wg.Wait()
	stopped := time.Now()
	waitUntil(t, "stopped containers gone from the snapshot", 5*time.Second, func() bool {
		for _, n := range names {
			if listed(rc.ctr, n) {
				return false
			}
		}
		return true
	})
	t.Logf("the snapshot followed %d stops %v after the last one returned", len(ids), time.Since(stopped).Round(time.Millisecond))
}
