package dockerengine

import (
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/google/go-cmp/cmp"

	"refit/models"
)

func TestPublishedPortsOncePerBindingAndNotExposed(t *testing.T) {
	got := publishedPorts([]container.Port{
		{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		{IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		{IP: "127.0.0.1", PrivatePort: 53, PublicPort: 5353, Type: "udp"},
		{PrivatePort: 9000, Type: "tcp"}, // exposed only
	})
	want := []models.Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Proto: "udp"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("publishedPorts (-want +got):\n%s", diff)
	}
}
