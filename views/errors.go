package views

import (
	"net/http"
	"strings"
)

// ErrorTitle says in words what a status means for the person who met it.
func ErrorTitle(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "That request could not be used"
	case http.StatusUnauthorized:
		return "Sign in first"
	case http.StatusForbidden:
		return "Your role may not do this"
	case http.StatusNotFound:
		return "There is nothing here"
	case http.StatusConflict:
		return "That clashes with something already going on"
	case http.StatusTooManyRequests:
		return "Too many attempts"
	case http.StatusServiceUnavailable:
		return "Not available right now"
	case http.StatusRequestEntityTooLarge:
		return "That was too much to send"
	}
	if status >= 500 {
		return "Something went wrong in refit"
	}
	return statusText(status)
}

// ErrorSaysMore reports whether the service's text adds to the title: not
// when it only repeats the status ("forbidden", "not found").
func ErrorSaysMore(status int, msg string) bool {
	m := strings.TrimSpace(strings.ToLower(msg))
	return m != "" && m != strings.ToLower(statusText(status)) && m != "internal error"
}

// ErrorSentence is msg as a sentence: capitalised, with a full stop.
func ErrorSentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// ErrorHelp says what to do next, for the viewer who met status.
func ErrorHelp(status int, v Viewer) string {
	switch status {
	case http.StatusForbidden:
		if v.User != "" && v.Role != "" {
			return "You are signed in as " + v.User + ", a " + v.Role + ". An admin can give you another role on the Users page."
		}
		return "An admin can give you another role on the Users page."
	case http.StatusNotFound:
		return "The container may have been removed or renamed since the page was loaded, or the link is mistyped."
	case http.StatusUnauthorized:
		return "Your session has ended or you have not signed in yet."
	case http.StatusTooManyRequests:
		return "Wait a minute, then try again."
	case http.StatusServiceUnavailable:
		return "refit tries again by itself; the dashboard says when it can."
	}
	if status >= 500 {
		return "Nothing was changed by this request. The server's log has the details."
	}
	return ""
}
