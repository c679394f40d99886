package services

import (
	"testing"

	"refit/models"
)

func TestApplyPullEventFollowsTheLayerThatMovedLast(t *testing.T) {
	j := &job{layers: map[string]*layer{}}
	steps := []struct {
		ev                  models.PullEvent
		status, layer       string
		current, total      int64
		percent             int
		bytesDone, bytesAll int64
	}{
		{models.PullEvent{Layer: "1", Status: "Pulling from test/app"}, "Pulling from test/app", "", 0, 0, 0, 0, 0},
		{models.PullEvent{Layer: "a3ed95caeb02", Status: "Pulling fs layer"}, "Pulling fs layer", "a3ed95caeb02", 0, 0, 0, 0, 0},
		{models.PullEvent{Layer: "b3ed95caeb02", Status: "Waiting"}, "Waiting", "b3ed95caeb02", 0, 0, 0, 0, 0},
		{models.PullEvent{Layer: "a3ed95caeb02", Status: "Downloading", Current: 1048576, Total: 8388608}, "Downloading", "a3ed95caeb02", 1048576, 8388608, 12, 1048576, 8388608},
		{models.PullEvent{Layer: "b3ed95caeb02", Status: "Downloading", Current: 50, Total: 100}, "Downloading", "b3ed95caeb02", 50, 100, 50, 1048626, 8388708},
		{models.PullEvent{Layer: "a3ed95caeb02", Status: "Download complete"}, "Download complete", "a3ed95caeb02", 8388608, 8388608, 100, 8388658, 8388708},
		{models.PullEvent{Layer: "a3ed95caeb02", Status: "Extracting", Current: 4194304, Total: 8388608}, "Extracting", "a3ed95caeb02", 4194304, 8388608, 50, 8388658, 8388708},
		{models.PullEvent{Layer: "a3ed95caeb02", Status: "Pull complete"}, "Pull complete", "a3ed95caeb02", 8388608, 8388608, 100, 8388658, 8388708},
		{models.PullEvent{Status: "Digest: sha256:abc"}, "Digest: sha256:abc", "a3ed95caeb02", 8388608, 8388608, 100, 8388658, 8388708},
	}
	overall := 0
	for i, s := range steps {
		applyPullEvent(j, s.ev)
		p := j.p
		if p.Overall < overall || p.Overall > 100 {
			t.Fatalf("step %d: overall %d after %d; want it never to go back", i, p.Overall, overall)
		}
		overall = p.Overall
		if p.Status != s.status || p.Layer != s.layer || p.Current != s.current || p.Total != s.total ||
			p.Percent != s.percent || p.BytesDone != s.bytesDone || p.BytesTotal != s.bytesAll || p.Phase != models.PhasePulling {
			t.Fatalf("step %d (%+v): got %+v", i, s.ev, p)
		}
	}
	if overall != 99 { // layer a done, layer b half downloaded
		t.Errorf("overall = %d, want 99", overall)
	}
}

func TestPercentIsClamped(t *testing.T) {
	for _, tc := range []struct {
		cur, total int64
		want       int
	}{{0, 0, 0}, {5, 0, 0}, {1, 3, 33}, {3, 3, 100}, {4, 3, 100}, {-1, 3, 0}} {
		if got := percent(tc.cur, tc.total); got != tc.want {
			t.Errorf("percent(%d, %d) = %d, want %d", tc.cur, tc.total, got, tc.want)
		}
	}
}

// The tester's pull: a small layer done while a 40 MB one waits for its
// turn. The bar must move with the big layer's bytes, not stand at the
// percent the small one reached.
func TestOverallFollowsTheBytesOfALateBigLayer(t *testing.T) {
	j := &job{layers: map[string]*layer{}}
	const big = 40 << 20
	for _, ev := range []models.PullEvent{
		{Layer: "aaaaaaaaaaaa", Status: "Pulling fs layer"},
		{Layer: "bbbbbbbbbbbb", Status: "Waiting"},
		{Layer: "aaaaaaaaaaaa", Status: "Downloading", Current: 1 << 20, Total: 1 << 20},
		{Layer: "aaaaaaaaaaaa", Status: "Pull complete"},
	} {
		applyPullEvent(j, ev)
	}
	if j.p.Overall > 50 {
		t.Errorf("overall %d%% with one of two layers done and the other not started", j.p.Overall)
	}
	last := -1
	for cur := int64(8 << 20); cur <= big; cur += 8 << 20 {
		applyPullEvent(j, models.PullEvent{Layer: "bbbbbbbbbbbb", Status: "Downloading", Current: cur, Total: big})
		if j.p.Overall <= last {
			t.Fatalf("at %d MB of the big layer overall is %d%%, was %d%%: it stands still while bytes move", cur>>20, j.p.Overall, last)
		}
		last = j.p.Overall
	}
	applyPullEvent(j, models.PullEvent{Layer: "bbbbbbbbbbbb", Status: "Pull complete"})
	if j.p.Overall != 100 {
		t.Errorf("overall %d%% after the last layer, want 100", j.p.Overall)
	}
}
