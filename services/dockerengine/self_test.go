package dockerengine

import "testing"

func TestSelfIDFromMountinfo(t *testing.T) {
	id := "3d4c5b6a7f8e0123456789abcdef0123456789abcdef0123456789abcdef0123"
	in := "612 590 0:61 / / rw,relatime master:226 - overlay overlay rw\n" +
		"640 612 254:1 /var/lib/docker/containers/" + id + "/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw\n" +
		"641 612 254:1 /srv/d/root/containers/" + id + "/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n"
	if got := selfIDFrom(in); got != id {
		t.Errorf("selfIDFrom = %q, want %s", got, id)
	}
	if got := selfIDFrom("22 1 0:21 / /proc rw - proc proc rw\n"); got != "" {
		t.Errorf("on the host selfIDFrom = %q, want none", got)
	}
}
