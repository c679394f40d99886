package views

import (
	"context"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"refit/models"
)

// NameParts splits a container name after each separator ("-", "_", ".")
// so that it wraps there, with a <wbr> between the parts, and never inside
// a word.
func NameParts(name string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c == '-' || c == '_' || c == '.') && i+1 < len(name) {
			parts = append(parts, name[start:i+1])
			start = i + 1
		}
	}
	return append(parts, name[start:])
}

// wrappedName is a container name with a <wbr> between its NameParts, so
// that it wraps at its separators and never inside a word; written in one
// piece, as templ would put spaces between the parts.
func wrappedName(name string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		for i, p := range NameParts(name) {
			if i > 0 {
				if _, err := io.WriteString(w, "<wbr>"); err != nil {
					return err
				}
			}
			if _, err := io.WriteString(w, html.EscapeString(p)); err != nil {
				return err
			}
		}
		return nil
	})
}

// UptimeText is the engine's status text without its health, lower case:
// "up 3 hours" of "Up 3 hours (healthy)".
func UptimeText(status string) string {
	if i := strings.LastIndex(status, " ("); i > 0 && strings.HasSuffix(status, ")") && strings.HasPrefix(status, "Up ") {
		status = status[:i]
	}
	return strings.ToLower(status) // "up less than a second"
}

// PublishedText is one published port as "8080→80" (with the address when it is
// bound to one, and the protocol when it is not TCP).
func PublishedText(p models.Port) string {
	s := strconv.Itoa(int(p.HostPort)) + "→" + strconv.Itoa(int(p.ContainerPort))
	if p.HostIP != "" {
		s = p.HostIP + ":" + s
	}
	if p.Proto != "" && p.Proto != "tcp" {
		s += "/" + p.Proto
	}
	return s
}

// PortsText is the published ports, at most three, then "+N".
func PortsText(ps []models.Port) string {
	const most = 3
	texts := make([]string, 0, min(len(ps), most))
	for i, p := range ps {
		if i == most {
			texts = append(texts, "+"+strconv.Itoa(len(ps)-most))
			break
		}
		texts = append(texts, PublishedText(p))
	}
	return strings.Join(texts, " ")
}

// ShowState reports whether the row names the engine's state: only when it
// is not plainly running (restarting, paused).
func (r RowData) ShowState() bool { return r.Item.State != "" && r.Item.State != "running" }

// TagOf is the tag of a normalised reference ("1.25" of
// "docker.io/library/nginx:1.25"), "" for none.
func TagOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ""
}

// Pinned reports whether the container was created from a digest, not a tag.
func (r RowData) Pinned() bool { return models.Pinned(r.Item.Configured) }

// LocalVersion is what the row calls the image it runs: its version label,
// else the tag.
func (r RowData) LocalVersion() string {
	if v := r.Item.Local.Version; v != "" {
		return v
	}
	return TagOf(r.Image)
}

// NewVersion is what the row calls the image the registry has now: its
// version label when refit read it, else "newer <tag>" (the tag moved).
func (r RowData) NewVersion() string {
	if v := r.Remote.Version; v != "" {
		return v
	}
	if t := TagOf(r.Image); t != "" {
		return "newer " + t
	}
	return "newer image"
}

// SourceURL links to the image's source or release notes: the new image's,
// else the local one's.
func (r RowData) SourceURL() string {
	if r.Remote.Source != "" {
		return r.Remote.Source
	}
	return r.Item.Local.Source
}

// ShowVersion reports whether RowVersion has anything to say.
func (r RowData) ShowVersion() bool {
	return r.Pinned() || r.Item.Status == models.StatusOutdated || r.Item.Local.Version != ""
}

// DateText is t as a date, "2024-05-01" (UTC; the tooltip shows the
// browser's zone).
func DateText(t time.Time) string { return t.UTC().Format("2006-01-02") }
