package services_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

const (
	otherRef = "registry.test/other:2"
	otherOld = "sha256:0000000000000000000000000000000000000000000000000000000000000003"
	otherNew = "sha256:0000000000000000000000000000000000000000000000000000000000000004"
	otherDig = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	otherNow = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	idD      = "d000000000000000000000000000000000000000000000000000000000000000"
)

// wtWorld has a and b (monitor-only) on registry.test/app:1 and c and d on
// registry.test/other:2, all outdated, auto-update off until toggled; the
// update window is closed and only the API may update, as with
// WATCHTOWER_HTTP_API_UPDATE alone.
type wtWorld struct {
	eng *fake.Engine
	tog *services.Toggles
	upd *services.Updates
	api *services.WatchtowerAPI
}

func newWTWorld(t *testing.T, opts services.WatchtowerAPIOptions, settle time.Duration) wtWorld {
	t.Helper()
	eng, reg := fake.NewEngine(), fake.NewRegistry()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig)
	eng.Tag(ref, oldImg)
	eng.AddImage(otherOld, "registry.test/other@"+otherDig)
	eng.Tag(otherRef, otherOld)
	eng.Run(idA, "a", ref, oldImg)
	eng.Run(idB, "b", ref, oldImg)
	eng.Run(idC, "c", otherRef, otherOld)
	eng.Run(idD, "d", otherRef, otherOld)
	eng.SetLabels(idB, map[string]string{models.LabelWTMonitorOnly: "true"})
	eng.Publish(ref, newImg, newDig)
	eng.Publish(otherRef, otherNew, otherNow)
	reg.Set(ref, newDig)
	reg.Set(otherRef, otherNow)
	_, tog, hist := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: settle,
		Window: func(time.Time) bool { return false }, Watchtower: services.WatchtowerOptions{APIOnly: true}})
	t.Cleanup(upd.Close)
	ctr.OnCheck(upd.AutoUpdate)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return wtWorld{eng: eng, tog: tog, upd: upd, api: services.NewWatchtowerAPI(ctr, upd, opts)}
}

// runs reports which of the names run their new image.
func (w wtWorld) updated(t *testing.T, names ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, n := range names {
		c, ok := w.eng.Container(n)
		out[n] = ok && (c.ImageID == newImg || c.ImageID == otherNew)
	}
	return out
}

// Without image: a check, then what auto-update would start, the closed
// window and API-only mode aside; answered once it has ended.
func TestWatchtowerAPIFullUpdatesWhatAutoUpdateWould(t *testing.T) {
	w := newWTWorld(t, services.WatchtowerAPIOptions{}, time.Millisecond)
	if err := w.tog.Set(local("c"), true); err != nil {
		t.Fatal(err)
	}
	if err := w.tog.Set(local("b"), true); err != nil { // monitor-only holds it anyway
		t.Fatal(err)
	}
	res, err := w.api.Update(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (services.WatchtowerResult{Scanned: 4, Updated: 1}); res != want {
		t.Errorf("Update(nil) = %+v, want %+v", res, want)
	}
	if got := w.updated(t, "a", "b", "c", "d"); !got["c"] || got["a"] || got["b"] || got["d"] {
		t.Errorf("updated = %v, want c alone", got)
	}
}

// With image: the containers of those images, toggle off or not, but not
// those the labels hold; names match by repository however written.
func TestWatchtowerAPITargetedIgnoresTheToggleNotTheLabels(t *testing.T) {
	w := newWTWorld(t, services.WatchtowerAPIOptions{}, time.Millisecond)
	for _, miss := range [][]string{{}, {""}, {"registry.test/app:2"}, {"registry.test/ap"}, {"app"}} {
		if res, err := w.api.Update(context.Background(), miss); err != nil || res.Updated != 0 || res.Scanned != 0 {
			t.Errorf("Update(%q) = %+v, %v; want nothing", miss, res, err)
		}
	}
	if _, err := w.api.Update(context.Background(), []string{"Not An Image"}); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("Update(bad name) = %v, want ErrInvalid", err)
	}
	res, err := w.api.Update(context.Background(), []string{"registry.test/app"})
	if want := (services.WatchtowerResult{Scanned: 2, Updated: 1}); err != nil || res != want {
		t.Errorf("Update(registry.test/app) = %+v, %v; want %+v", res, err, want)
	}
	if got := w.updated(t, "a", "b", "c", "d"); !got["a"] || got["b"] || got["c"] || got["d"] {
		t.Errorf("updated = %v, want a alone", got)
	}
	res, err = w.api.Update(context.Background(), []string{" registry.test/other:2", "nothing/here"})
	if want := (services.WatchtowerResult{Scanned: 2, Updated: 2}); err != nil || res != want {
		t.Errorf("Update(registry.test/other:2) = %+v, %v; want %+v", res, err, want)
	}
}

// WATCHTOWER_LABEL_ENABLE and WATCHTOWER_MONITOR_ONLY keep a container
// out of a targeted update as in Watchtower, unless refit's toggle is on.
func TestWatchtowerAPITargetedFollowsLabelEnableAndMonitorOnly(t *testing.T) {
	w := newWTWorld(t, services.WatchtowerAPIOptions{LabelEnable: true}, time.Millisecond)
	w.eng.SetLabels(idD, map[string]string{models.LabelWTEnable: "true"})
	if res, err := w.api.Update(context.Background(), []string{"registry.test/other"}); err != nil || res.Updated != 1 {
		t.Errorf("Update = %+v, %v; want d alone", res, err)
	}
	if got := w.updated(t, "c", "d"); got["c"] || !got["d"] {
		t.Errorf("with label-enable, updated = %v, want d alone", got)
	}

	w = newWTWorld(t, services.WatchtowerAPIOptions{MonitorOnly: true}, time.Millisecond)
	if err := w.tog.Set(local("c"), true); err != nil {
		t.Fatal(err)
	}
	if res, err := w.api.Update(context.Background(), []string{"registry.test/other"}); err != nil || res.Updated != 1 {
		t.Errorf("Update = %+v, %v; want c alone", res, err)
	}
	if got := w.updated(t, "c", "d"); !got["c"] || got["d"] {
		t.Errorf("with monitor-only, updated = %v, want c (toggled on) alone", got)
	}
}

// One API update at a time, as Watchtower's lock: a full one finding
// another running is skipped at once, a targeted one waits for it.
func TestWatchtowerAPIUpdatesOneAtATime(t *testing.T) {
	var skipped atomic.Int32
	w := newWTWorld(t, services.WatchtowerAPIOptions{Skipped: func() { skipped.Add(1) }}, 300*time.Millisecond)
	if err := w.tog.Set(local("c"), true); err != nil {
		t.Fatal(err)
	}
	first := make(chan services.WatchtowerResult, 1)
	go func() {
		res, _ := w.api.Update(context.Background(), nil)
		first <- res
	}()
	for !w.upd.Busy() {
		time.Sleep(5 * time.Millisecond)
	}
	if res, err := w.api.Update(context.Background(), nil); err != nil || !res.Skipped || skipped.Load() != 1 {
		t.Errorf("full update while one runs = %+v, %v (skipped %d), want skipped", res, err, skipped.Load())
	}
	res, err := w.api.Update(context.Background(), []string{"registry.test/app"})
	select {
	case f := <-first:
		if f.Updated != 1 {
			t.Errorf("first update = %+v", f)
		}
	default:
		t.Errorf("the targeted update (%+v, %v) answered before the running one ended", res, err)
	}
	if err != nil || res.Updated != 1 {
		t.Errorf("targeted update after the wait = %+v, %v", res, err)
	}
}
