package oci_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"refit/services/oci"
	"refit/services/oci/ocitest"
)

// TestSentHearsEveryRequestTheRegistryGets: the hook and the registry's own
// counters agree, token exchange, cached ping and retry included.
func TestSentHearsEveryRequestTheRegistryGets(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	reg.Push(t, "test/app:1", ocitest.ImageOpts{Marker: "v1"})
	reg.RequireToken()
	var mu sync.Mutex
	got := map[string]int{}
	c, err := oci.New(oci.Options{Timeout: 5 * time.Second, Sent: func(registry, method string, status int) {
		mu.Lock()
		defer mu.Unlock()
		got[fmt.Sprintf("%s %s %d", registry, method, status)]++
	}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); err != nil {
			t.Fatal(err)
		}
	}
	reg.FailManifests(503, "")
	if _, err := c.Digest(context.Background(), reg.Ref("test/app:1")); err == nil {
		t.Fatal("a 503 twice gave no error")
	}
	n := reg.Counts()
	total := 0
	for _, v := range got {
		total += v
	}
	h := reg.Host()
	// The one more is the HTTPS try that a loopback registry refuses
	// before plain HTTP: it was sent, and got no answer.
	if total != n.Total()+1 || got[h+" GET 0"] != 1 || got[h+" GET 401"] != 1 || got[h+" GET 200"] != 1 || got[h+" HEAD 200"] != 2 || got[h+" HEAD 503"] != 2 {
		t.Errorf("Sent heard %v (%d), registry counted %+v (%d): want a failed HTTPS try, a ping, a token, two HEADs and a 503 sent twice", got, total, n, n.Total())
	}
}
