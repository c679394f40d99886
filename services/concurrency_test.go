package services_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

// slowRegistry answers slow.test's references after a pause and every other
// at once, recording when each was asked.
type slowRegistry struct {
	mu    sync.Mutex
	asked map[string]time.Time
}

func (r *slowRegistry) Digest(ctx context.Context, ref string) (string, error) {
	r.mu.Lock()
	r.asked[ref] = time.Now()
	r.mu.Unlock()
	if strings.HasPrefix(ref, "slow.test/") {
		time.Sleep(300 * time.Millisecond)
	}
	return oldDig, nil
}

func (r *slowRegistry) RateLimits() []models.RateLimit { return nil }

func (r *slowRegistry) Tags(context.Context, string) ([]string, error) {
	return nil, models.ErrNotFound
}

// The HEAD concurrency is per registry: a slow registry does not hold back
// the images of another.
func TestCheckConcurrencyIsPerRegistry(t *testing.T) {
	eng := fake.NewEngine()
	for i, ref := range []string{"slow.test/a:1", "slow.test/b:1", "slow.test/c:1", "fast.test/d:1"} {
		id := strings.Repeat(string(rune('a'+i)), 64)
		repo, _, _ := strings.Cut(ref, ":")
		eng.AddImage("sha256:"+id, repo+"@"+oldDig) // pulled, so the registry is asked
		eng.Run(id, "c"+string(rune('a'+i)), ref, "sha256:"+id)
	}
	reg := &slowRegistry{asked: map[string]time.Time{}}
	_, tog, _ := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, quiet, 1)
	start := time.Now()
	if _, err := ctr.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if waited := reg.asked["fast.test/d:1"].Sub(start); waited > 200*time.Millisecond {
		t.Errorf("fast.test was asked %v into the check: it waited for slow.test's requests", waited)
	}
	if took := time.Since(start); took < 850*time.Millisecond {
		t.Errorf("the check took %v: slow.test got more than one request at a time", took)
	}
}
