package services

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"refit/models"
)

// available is one container that newly has a candidate: a new digest of
// its tag, or a newer tag.
type available struct {
	image, digest, tag string
	ref                models.ContainerRef
}

// to is what the candidate brings, as the message shows it.
func (a available) to() string {
	if a.tag != "" {
		return "tag " + a.tag
	}
	return models.ShortDigest(a.digest)
}

// availableMessage lists every container of one check that newly has a
// candidate, by image and candidate, then by host.
func availableMessage(as []available, several bool) models.Message {
	byHead := map[string][]available{}
	var heads []string
	for _, a := range as {
		head := a.image + " → " + a.to()
		if _, ok := byHead[head]; !ok {
			heads = append(heads, head)
		}
		byHead[head] = append(byHead[head], a)
	}
	slices.Sort(heads)
	var b strings.Builder
	for i, head := range heads {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(head + "\n")
		byHost := map[string][]string{}
		var hosts []string
		for _, a := range byHead[head] {
			if _, ok := byHost[a.ref.Host]; !ok {
				hosts = append(hosts, a.ref.Host)
			}
			byHost[a.ref.Host] = append(byHost[a.ref.Host], a.ref.Name)
		}
		slices.Sort(hosts)
		for _, h := range hosts {
			names := byHost[h]
			slices.Sort(names)
			fmt.Fprintf(&b, "  %s: %s\n", h, strings.Join(names, ", "))
		}
	}
	title := fmt.Sprintf("refit: %d updates available", len(as))
	if len(as) == 1 {
		title = "refit: update available for " + shownRef(as[0].ref, several)
	}
	return models.Message{Title: title, Body: strings.TrimRight(b.String(), "\n")}
}

func shownRef(ref models.ContainerRef, several bool) string {
	if several {
		return ref.String()
	}
	return ref.Name
}

// recordMessage is the message of one update's outcome: its event, and ok
// false for an outcome that is announced to nobody (nothing to update).
func recordMessage(rec models.UpdateRecord, several bool) (string, models.Message, bool) {
	name := shownRef(models.Ref(rec.Host, rec.Container), several)
	var event, title, outcome string
	switch {
	case rec.Result == "updated":
		event, title = models.EventUpdated, "refit: "+name+" updated"
	case rec.Result == "restored":
		event, title = models.EventUpdated, "refit: "+name+" rolled back to a backup"
	case rec.Result == "recovered":
		event, title = models.EventFailed, "refit: interrupted update of "+name+" finished by recovery"
		outcome = "refit was stopped during the update; at its next start recovery kept the new container, which passed its health check."
	case rec.Result == "rolled back" && strings.HasPrefix(rec.Error, models.ErrTextInterrupted):
		event, title = models.EventFailed, "refit: interrupted update of "+name+" restored by recovery"
		outcome = "refit was stopped during the update; recovery restored the old container, which runs again."
	case rec.Result == "rolled back":
		event, title = models.EventFailed, "refit: update of "+name+" failed, rolled back"
		outcome = "The old container runs again."
	case rec.Result == "failed" && strings.Contains(rec.Error, models.ErrTextRollbackFailed):
		event, title = models.EventFailed, "refit: update of "+name+" failed"
		outcome = "The rollback failed too: the old container does not run again yet; refit keeps recovering it."
	case rec.Result == "failed":
		event, title = models.EventFailed, "refit: update of "+name+" failed"
		outcome = "The update stopped before replacing the container: the old container was left as it was."
	default:
		return "", models.Message{}, false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "container: %s on %s\n", rec.Container, rec.Host)
	if rec.Image != "" {
		fmt.Fprintf(&b, "image: %s\n", rec.Image)
	}
	if rec.FromDigest != "" || rec.ToDigest != "" {
		fmt.Fprintf(&b, "digest: %s → %s\n", short(rec.FromDigest), short(rec.ToDigest))
	}
	if rec.Error != "" {
		fmt.Fprintf(&b, "reason: %s\n", rec.Error)
	}
	if outcome != "" {
		b.WriteString(outcome + "\n")
	}
	fmt.Fprintf(&b, "took %s, started by %s", (time.Duration(rec.DurationMS) * time.Millisecond).Round(100*time.Millisecond), rec.By)
	return event, models.Message{Title: title, Body: b.String()}, true
}

// short is a digest's short form, "(none)" for none.
func short(d string) string {
	if d == "" {
		return "(none)"
	}
	return models.ShortDigest(d)
}

// stateMessage is a container's current state, for a trigger run by hand.
func stateMessage(c models.DrydockContainer, several bool) models.Message {
	name := shownRef(models.Ref(c.Watcher, c.Name), several)
	var b strings.Builder
	fmt.Fprintf(&b, "container: %s on %s (%s)\n", c.Name, c.Watcher, c.Status)
	img := c.Image.Name
	if c.Image.Tag.Value != "" {
		img += ":" + c.Image.Tag.Value
	}
	if c.Image.Registry.URL != "" {
		img = c.Image.Registry.URL + "/" + img
	}
	fmt.Fprintf(&b, "image: %s\n", img)
	fmt.Fprintf(&b, "local digest: %s\n", short(c.Image.Digest.Repo))
	if c.Result != nil {
		fmt.Fprintf(&b, "registry digest: %s\n", models.ShortDigest(c.Result.Digest))
	}
	state := string(c.CheckStatus)
	if c.UpdateAvailable {
		state = "update available"
	}
	if c.CheckReason != "" {
		state += " (" + c.CheckReason + ")"
	}
	fmt.Fprintf(&b, "status: %s", state)
	return models.Message{Title: "refit: " + name, Body: b.String()}
}

func testMessage(now time.Time) models.Message {
	return models.Message{Title: "refit: test notification",
		Body: "A test message from refit, sent " + now.UTC().Format(time.RFC3339) + ". This target works."}
}
