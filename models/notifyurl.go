package models

import (
	"net/url"
	"slices"
	"sort"
	"strings"
)

// A shoutrrr URL carries its secrets in different places per service: the
// password, the user (discord's and telegram's token), the host (pushover's
// user key, slack's webhook token), the path (gotify's token, a webhook's
// id) and the query (a header for a generic webhook). The mask keeps what
// tells targets apart and is no secret in any service: the scheme, the
// host where it is a server's name, a user where it is a login, and the
// query values on the list below. Everything else becomes ***.

const masked = "***"

// showsUser are the services whose URL user is a login, not a token.
var showsUser = map[string]bool{"smtp": true, "matrix": true, "ntfy": true, "zulip": true, "mattermost": true,
	"rocketchat": true, "signal": true}

// showsHost are the services whose URL host is a server's name.
var showsHost = map[string]bool{"generic": true, "ntfy": true, "gotify": true, "smtp": true, "matrix": true,
	"mattermost": true, "rocketchat": true, "zulip": true, "signal": true, "opsgenie": true, "pagerduty": true,
	"lark": true, "bark": true, "discord": true, "telegram": true, "googlechat": true, "hangouts": true}

// plainQuery are query keys whose values are settings, never secrets.
var plainQuery = map[string]bool{"disabletls": true, "usestarttls": true, "starttls": true, "encryption": true,
	"auth": true, "template": true, "contenttype": true, "method": true, "requestmethod": true, "title": true,
	"titlekey": true, "messagekey": true, "priority": true, "tags": true, "usehtml": true, "clienthost": true,
	"fromname": true, "fromaddress": true, "from": true, "toaddresses": true, "to": true, "subject": true,
	"requirestarttls": true, "skiptlsverify": true, "timeout": true, "rooms": true, "devices": true,
	"chats": true, "channel": true, "channels": true, "color": true, "icon": true, "username": true,
	"botname": true, "preview": true, "notification": true, "parsemode": true, "host": true, "splitlines": true,
	"disablehtml": true, "scheme": true, "cache": true, "firebase": true, "markdown": true}

// NotifyType is the service a notification URL names: its scheme before
// any "+" (generic+https → generic), lower case; "" when there is none.
func NotifyType(raw string) string {
	scheme, _, ok := strings.Cut(strings.TrimSpace(raw), "://")
	if !ok {
		return ""
	}
	scheme, _, _ = strings.Cut(strings.ToLower(scheme), "+")
	return scheme
}

// MaskNotifyURL returns raw with every part that may be a secret replaced
// by ***, for answers, pages, logs and the audit log.
func MaskNotifyURL(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if t := NotifyType(raw); t != "" {
			return t + "://" + masked
		}
		return masked
	}
	typ := NotifyType(raw)
	var b strings.Builder
	b.WriteString(strings.ToLower(u.Scheme) + "://")
	if u.User != nil {
		if name := u.User.Username(); name != "" && showsUser[typ] {
			b.WriteString(url.PathEscape(name))
		} else if name != "" {
			b.WriteString(masked)
		}
		if _, ok := u.User.Password(); ok {
			b.WriteString(":" + masked)
		}
		b.WriteString("@")
	}
	if showsHost[typ] {
		b.WriteString(u.Host)
	} else if u.Host != "" {
		b.WriteString(masked)
		if p := u.Port(); p != "" {
			b.WriteString(":" + p)
		}
	}
	if p := strings.Trim(u.EscapedPath(), "/"); p != "" {
		b.WriteString("/" + masked)
	} else if u.Path == "/" || u.RawQuery != "" {
		b.WriteString("/")
	}
	if q := u.Query(); len(q) > 0 {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			v := masked
			if plainQuery[strings.ToLower(k)] {
				v = url.QueryEscape(q.Get(k))
			}
			parts = append(parts, url.QueryEscape(k)+"="+v)
		}
		b.WriteString("?" + strings.Join(parts, "&"))
	}
	return b.String()
}

// ScrubNotify replaces in text every part of raw that MaskNotifyURL hides,
// however escaped, so an error a service returns (which may quote its URL)
// can be logged and shown.
func ScrubNotify(text, raw string) string {
	for _, s := range notifySecrets(raw) {
		text = strings.ReplaceAll(text, s, masked)
	}
	return text
}

// notifySecrets are the parts of raw that may be secrets, longest first,
// each as written and as escaped; ones shorter than 3 bytes are left, which
// scrubbing would only garble.
func notifySecrets(raw string) []string {
	raw = strings.TrimSpace(raw)
	set := map[string]bool{raw: true}
	add := func(s string) {
		for _, v := range []string{s, url.PathEscape(s), url.QueryEscape(s)} {
			if len(v) >= 3 {
				set[v] = true
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Unparsable: everything after the scheme may be a secret.
		if _, rest, ok := strings.Cut(raw, "://"); ok {
			add(rest)
			for _, f := range strings.FieldsFunc(rest, func(r rune) bool { return strings.ContainsRune("/@:?&=#", r) }) {
				add(f)
			}
		}
		return sorted(set)
	}
	typ := NotifyType(raw)
	if u.User != nil {
		if !showsUser[typ] {
			add(u.User.Username())
		}
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		if i := strings.Index(raw, "://"); i >= 0 { // the userinfo as written
			if at := strings.LastIndex(strings.SplitN(raw[i+3:], "/", 2)[0], "@"); at >= 0 {
				add(raw[i+3 : i+3+at])
			}
		}
	}
	if !showsHost[typ] {
		add(u.Hostname())
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		add(p)
		add(strings.Trim(u.EscapedPath(), "/"))
		for _, seg := range strings.Split(p, "/") {
			if len(seg) >= 6 { // a token, not a word like hook or api that errors also use
				add(seg)
			}
		}
	}
	for k, vs := range u.Query() {
		if plainQuery[strings.ToLower(k)] {
			continue
		}
		for _, v := range vs {
			add(v)
		}
	}
	return sorted(set)
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
