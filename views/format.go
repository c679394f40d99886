package views

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"refit/models"
)

// HumanBytes formats n in decimal units, as the docker CLI shows pulls:
// "512 B", "1.5 kB", "12.3 MB".
func HumanBytes(n int64) string {
	if n < 1000 {
		if n < 0 {
			n = 0
		}
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n) / 1000
	i := 0
	for v >= 999.95 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// RelativeTime says how long before now t was, or how long after for a
// future t: "just now", "2 min ago", "3 h ago", "1 day ago", "in 5 min".
// A zero t is "never".
func RelativeTime(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		days := int(d / (24 * time.Hour))
		s = fmt.Sprintf("%d day", days)
		if days != 1 {
			s += "s"
		}
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// Timestamp is the machine-readable form of t for <time datetime>.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ClockTime is t for a tooltip: "2026-01-02 15:04:05 UTC".
func ClockTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") }

// ClampPercent keeps p within 0–100 for <progress value>.
func ClampPercent(p int) int { return min(max(p, 0), 100) }

// Percent formats p as "12%", clamped to 0–100.
func Percent(p int) string { return fmt.Sprintf("%d%%", ClampPercent(p)) }

// StatusWord is what a status badge says.
func StatusWord(s models.Status) string {
	switch s {
	case models.StatusUpToDate:
		return "up to date"
	case models.StatusOutdated:
		return "outdated"
	case models.StatusPartial:
		return "partly outdated"
	default:
		return "unknown"
	}
}

// PhaseWords describes where a running update is, beside its progress bar:
// the engine's own words while pulling ("Downloading"), else the phase.
func PhaseWords(p models.Progress) string {
	if p.Phase == models.PhasePulling && p.Status != "" && !strings.HasPrefix(p.Status, "error") {
		return p.Status
	}
	if p.Phase != "" {
		return string(p.Phase)
	}
	return "starting"
}

// JobWord is what a badge says while an update runs, in place of the
// container's status: the phase, or during the recreate the job's own
// status ("waiting for health check", "settling 10s", "rolling back"). The
// new container may already run the new image then, but the update can
// still roll back, so "up to date" would be premature.
func JobWord(p models.Progress) string {
	switch p.Phase {
	case models.PhaseRecreating:
		if p.Status != "" && !strings.HasPrefix(p.Status, "error") {
			return p.Status
		}
		return string(models.PhaseRecreating)
	case "":
		return "updating"
	default:
		return string(p.Phase)
	}
}

// FailureText is the error of a failed update without the "error: " prefix
// the progress contract puts in Status, and for a rolled-back one without
// the "(rolled back)" the UI says in its own words.
func FailureText(p models.Progress) string {
	s := strings.TrimSpace(strings.TrimPrefix(p.Status, "error:"))
	if p.RolledBack {
		s = strings.TrimSpace(strings.TrimSuffix(s, "(rolled back)"))
	}
	if s == "" || s == string(models.PhaseFailed) {
		return "update failed"
	}
	return s
}

// ShortText is s on one line, cut at a word boundary to at most n runes
// with an ellipsis: engine errors can carry whole request URLs.
func ShortText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}

// ClockMinute is t as the server's local wall clock, "21:04", with the date
// in front when t is not on now's day: "2026-01-01 21:04".
func ClockMinute(t, now time.Time) string {
	t, now = t.In(time.Local), now.In(time.Local)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// rateLimitClass colours a registry's pull budget: red when limited, amber
// under a tenth left, else calm.
func rateLimitClass(rl models.RateLimit) string {
	switch {
	case rl.Limited:
		return "badge badge-error"
	case rl.Limit > 0 && rl.Remaining*10 < rl.Limit:
		return "badge badge-outdated"
	default:
		return "badge badge-unknown"
	}
}

// RateLimitText is the wording of a RateLimitBadge.
func RateLimitText(rl models.RateLimit, now time.Time) string {
	switch {
	case rl.Limited && !rl.RetryAfter.IsZero() && rl.RetryAfter.After(now):
		return fmt.Sprintf("%s: rate limited, retry %s", rl.Registry, RelativeTime(rl.RetryAfter, now))
	case rl.Limited:
		return rl.Registry + ": rate limited"
	case rl.Limit > 0:
		return fmt.Sprintf("%s: %d/%d pulls left", rl.Registry, rl.Remaining, rl.Limit)
	default:
		return rl.Registry + ": no limit reported"
	}
}

func pageTitle(title string) string {
	if title == "" {
		return "refit"
	}
	return title + " · refit"
}

func statusCode(status int) string { return strconv.Itoa(status) }

// statusText is the reason phrase of status, or "Error" for odd codes.
func statusText(status int) string {
	if s := http.StatusText(status); s != "" {
		return s
	}
	return "Error"
}

// plural is "1 image" or "3 images".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// barPercent is what the progress bar shows: the whole pull's share, which
// never goes back. A layer's own percent restarts at extraction and jumps
// between layers, so it is never shown.
func barPercent(p models.Progress) int { return ClampPercent(p.Overall) }

// Who names a container for people: its name, and its host when refit has
// several ("web on nas").
func Who(it models.ContainerItem) string {
	if it.Host == "" {
		return it.ContainerName
	}
	return it.ContainerName + " on " + it.Host
}

// ServiceTasks is a service's running and desired tasks: "2/3 tasks".
func ServiceTasks(st models.Service) string {
	return strconv.FormatUint(st.Running, 10) + "/" + strconv.FormatUint(st.Desired, 10) + " tasks"
}
