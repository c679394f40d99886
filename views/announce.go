package views

import (
	"encoding/json"
	"strconv"
	"strings"

	"refit/models"
)

// Screen readers hear an update start and end through the polite live
// region AnnouncerID. Answers about rows (a poll, an update started) swap
// messages into it out of band, but only for what changed since the asking
// element was rendered: that element sends ShownField, the state of each of
// its containers' updates as it showed them. Announcing on every poll would
// repeat the same words every second.

// ShownField carries what a polling element or an Update form shows of its
// containers' updates: "name=state" tokens, space-separated (Docker names
// have neither "=" nor spaces).
const ShownField = "shown"

// The states of an update that announcements tell apart.
const (
	markUpdating   = "updating"
	markUpdated    = "updated"
	markRolledBack = "rolledback"
	markFailed     = "failed"
)

// mark is one container's update as the page shows it; start tells one job
// from the next, so a second update that ends as the first did is still new.
type mark struct {
	state string // "" without a job
	start int64  // the job's StartedAt, Unix milliseconds
}

func markOf(p *models.Progress) mark {
	if p == nil {
		return mark{}
	}
	m := mark{}
	if !p.StartedAt.IsZero() {
		m.start = p.StartedAt.UnixMilli()
	}
	switch {
	case p.Running():
		m.state = markUpdating
	case p.Phase == models.PhaseDone:
		m.state = markUpdated
	case p.RolledBack:
		m.state = markRolledBack
	default:
		m.state = markFailed
	}
	return m
}

func (m mark) token() string {
	if m.state == "" {
		return "-"
	}
	return m.state + "." + strconv.FormatInt(m.start, 10)
}

func parseMark(s string) mark {
	state, start, _ := strings.Cut(s, ".")
	if state == "-" {
		return mark{}
	}
	n, _ := strconv.ParseInt(start, 10, 64)
	return mark{state: state, start: n}
}

// ShownValue is the ShownField value for rows as they are rendered now.
func ShownValue(rows ...RowData) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.Item.Ref.String())
		b.WriteByte('=')
		b.WriteString(markOf(r.Progress).token())
	}
	return b.String()
}

// shownVals is the hx-vals of a polling element holding rows.
func shownVals(rows ...RowData) string {
	b, _ := json.Marshal(map[string]string{ShownField: ShownValue(rows...)})
	return string(b)
}

// Announcements is what the live region should say about rows, given what
// the asking element showed (its ShownField): "Updating web" when an update
// appears, then "web updated", "web rolled back: …" or "web update failed:
// …" when it ends. Containers the element did not show are left out, so a
// request without ShownField announces nothing.
func Announcements(rows []RowData, shown string) []string {
	if shown == "" {
		return nil
	}
	seen := map[string]mark{}
	for _, tok := range strings.Fields(shown) {
		if name, m, ok := strings.Cut(tok, "="); ok {
			seen[name] = parseMark(m)
		}
	}
	var out []string
	for _, r := range rows {
		name := Who(r.Item)
		prev, ok := seen[r.Item.Ref.String()]
		cur := markOf(r.Progress)
		if !ok || cur.state == "" || cur == prev {
			continue
		}
		if prev.state == "" || prev.start != cur.start { // none of this job was shown yet
			out = append(out, "Updating "+name)
		}
		switch cur.state {
		case markUpdated:
			out = append(out, name+" updated")
		case markRolledBack:
			out = append(out, name+" rolled back: "+FailureText(*r.Progress))
		case markFailed:
			out = append(out, name+" update failed: "+FailureText(*r.Progress))
		}
	}
	return out
}
