package dockerengine_test

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"refit/models"
	"refit/services/dockerengine"
	"refit/services/dockerengine/dockertest"
	"refit/services/oci/ocitest"
)

// A Swarm manager's service is listed by its spec's tag and pinned digest,
// its tasks are no containers of refit's, and UpdateService runs the
// engine's own rolling update, keeping the service's update and rollback
// config; a new image whose tasks fail is rolled back by the engine.
func TestSwarmServiceRollsThroughTheEngine(t *testing.T) {
	cli := dockertest.Swarm(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.Ref("swarm/app:1")
	v1 := reg.Push(t, "swarm/app:1", ocitest.ImageOpts{Marker: "v1"})
	upd := &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionRollback, Monitor: 3 * time.Second, Order: swarm.UpdateOrderStopFirst}
	rb := &swarm.UpdateConfig{Parallelism: 2, FailureAction: swarm.UpdateFailureActionPause}
	id := dockertest.CreateService(t, cli, "web", ref, 2, upd, rb)
	eng, err := dockerengine.New(dockerengine.Options{Host: cli.DaemonHost()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	svc := waitService(t, eng, id, "tasks to run", func(s models.Container) bool { return s.Service.Running == 2 })
	if svc.Name != "web" || svc.ConfiguredImage != ref || svc.ImageID != v1 {
		t.Errorf("service = %+v, want web of %s pinned to %s", svc, ref, v1)
	}
	if info, err := eng.Info(t.Context()); err != nil || !info.SwarmManager {
		t.Errorf("Info = %+v, %v; want a Swarm manager", info, err)
	}
	list, err := eng.Services(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("Services = %+v, %v", list, err)
	}
	if cs, err := eng.Running(t.Context()); err != nil || len(cs) != 0 {
		t.Errorf("Running = %+v, %v; want no containers: the tasks are the service's", cs, err)
	}
	if cs, err := eng.All(t.Context()); err != nil || len(cs) != 0 {
		t.Errorf("All = %+v, %v; want no containers: the tasks are the service's", cs, err)
	}

	v2 := reg.Push(t, "swarm/app:1", ocitest.ImageOpts{Marker: "v2"})
	if err := eng.UpdateService(t.Context(), id, ref+"@"+v2, models.RegistryAuth{}); err != nil {
		t.Fatal(err)
	}
	svc = waitService(t, eng, id, "the update to complete", func(s models.Container) bool { return s.Service.Update == "completed" })
	if svc.ImageID != v2 || svc.Service.Running != 2 {
		t.Errorf("after the update: %+v, want 2 tasks of %s", svc, v2)
	}
	assertConfigKept(t, cli, id, upd, rb)

	v3 := reg.Push(t, "swarm/app:1", ocitest.ImageOpts{Marker: "v3", Env: []string{"TESTAPP_EXIT=1"}})
	if err := eng.UpdateService(t.Context(), id, ref+"@"+v3, models.RegistryAuth{}); err != nil {
		t.Fatal(err)
	}
	svc = waitService(t, eng, id, "the engine to roll back", func(s models.Container) bool {
		ended, _ := models.ServiceUpdateEnded(s.Service.Update)
		return ended
	})
	if svc.Service.Update != "rollback_completed" || svc.ImageID != v2 {
		t.Errorf("after a failing image: %+v %+v, want rolled back to %s", svc, svc.Service, v2)
	}
	assertConfigKept(t, cli, id, upd, rb)
}

func waitService(t *testing.T, eng *dockerengine.Engine, id, what string, ok func(models.Container) bool) models.Container {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		s, err := eng.Service(t.Context(), id)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %+v %+v %v", what, s, s.Service, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func assertConfigKept(t *testing.T, cli *client.Client, id string, upd, rb *swarm.UpdateConfig) {
	t.Helper()
	s, _, err := cli.ServiceInspectWithRaw(t.Context(), id, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, gotRB := s.Spec.UpdateConfig, s.Spec.RollbackConfig
	if got == nil || got.Parallelism != upd.Parallelism || got.FailureAction != upd.FailureAction || got.Monitor != upd.Monitor ||
		gotRB == nil || gotRB.Parallelism != rb.Parallelism || gotRB.FailureAction != rb.FailureAction {
		t.Errorf("update config %+v, rollback %+v; want %+v and %+v kept", got, gotRB, upd, rb)
	}
}
