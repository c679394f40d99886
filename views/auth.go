package views

import (
	"net/url"
	"strconv"
	"time"

	"refit/models"
)

// Web routes of sign-in, tokens, users and the audit log.
const (
	// TokensPath lists the viewer's API tokens (GET) and creates one (POST).
	TokensPath = "/tokens"
	// UsersPath lists users (GET, admins) and adds one (POST).
	UsersPath = "/users"
	// AuditPath shows the audit log (GET, admins).
	AuditPath = "/audit"
	// AccountPath shows who the viewer is, with the password form (GET).
	AccountPath = "/account"
	// AccountPasswordPath changes the viewer's own password (POST, fields
	// "current", "new" and "repeat"): 303 to LoginChangedPath.
	AccountPasswordPath = AccountPath + "/password"
	// NextField is the login form's hidden field with the page to go back to.
	NextField = "next"
	// ChangedField is the login page's query parameter after a password
	// change; the page then shows PasswordChangedNotice.
	ChangedField = "changed"
	// LoginChangedPath is where a password change ends.
	LoginChangedPath = LoginPath + "?" + ChangedField + "=1"
)

// PasswordChangedNotice is what the login page says after a password change.
const PasswordChangedNotice = "Password changed. Sign in with the new one."

// TokenRevokePath revokes one of the viewer's tokens (POST).
func TokenRevokePath(id uint) string {
	return TokensPath + "/" + strconv.FormatUint(uint64(id), 10) + "/revoke"
}

// UserRolePath changes a user's role (POST, field "role").
func UserRolePath(name string) string { return userPath(name, "role") }

// UserPasswordPath sets a user's password (POST, field "pass").
func UserPasswordPath(name string) string { return userPath(name, "password") }

// UserRemovePath removes a user (POST).
func UserRemovePath(name string) string { return userPath(name, "remove") }

func userPath(name, action string) string {
	return UsersPath + "/" + url.PathEscape(name) + "/" + action
}

// Ids of the sign-in, tokens, users and audit pages.
const (
	LoginFormID    = "login-form"
	FormErrorID    = "form-error" // the error message of a refused form
	NoticeID       = "notice"     // the login page's notice (password changed)
	PasswordFormID = "password-form"
	UsersTableID   = "users"
	AddUserFormID  = "add-user"
	TokensTableID  = "tokens"
	NewTokenID     = "new-token" // the secret of a token just created
	AuditTableID   = "audit"
	AuditPagesID   = "audit-pages" // the links to older and newer entries
	// PasswordHintID is the password rule under a new-password field.
	PasswordHintID = "password-hint"
)

// UserRowID is the id of a user's <tr>.
func UserRowID(name string) string { return "user-" + safeID(name) }

// TokenRowID is the id of a token's <tr>.
func TokenRowID(id uint) string { return "token-" + strconv.FormatUint(uint64(id), 10) }

// LoginData is what LoginPage renders.
type LoginData struct {
	User   string // the name typed last time, kept after a failure
	Error  string // "" unless the last attempt failed
	Notice string // a neutral message, e.g. PasswordChangedNotice
	Next   string // where to go after signing in
}

// LoginMessage is the sentence the login page shows for a refused attempt.
func LoginMessage(status int, msg string) string {
	switch status {
	case 401:
		return "Wrong user name or password."
	case 429:
		return "Too many failed attempts. Wait a few minutes, then try again."
	}
	return msg
}

// AccountMessage is the sentence the account page shows for a refused
// password change.
func AccountMessage(status int, msg string) string {
	switch status {
	case 401:
		return "The current password is wrong."
	case 429:
		return "Too many failed attempts. Wait a few minutes, then try again."
	}
	return msg
}

// AccountData is what AccountPage renders.
type AccountData struct {
	Error string // the error of the password form, "" when none
	Viewer
}

// UsersData is what UsersPage renders.
type UsersData struct {
	Users []models.User
	Error string // the error of the last form, "" when none
	Now   time.Time
	Viewer
}

// TokensData is what TokensPage renders.
type TokensData struct {
	Tokens   []models.APIToken
	NewToken string // the secret of the token just created, shown once
	NewName  string
	Error    string
	Now      time.Time
	Viewer
}

// AuditPageSize is how many entries the audit page shows at a time.
const AuditPageSize = 50

// AuditData is what AuditPage renders.
type AuditData struct {
	Entries []models.AuditEntry
	// OlderPath and NewerPath link the pages past each end; "" when there
	// is nothing there.
	OlderPath, NewerPath string
	Now                  time.Time
	Viewer
}

// NewAuditData is the audit page showing entries (newest first), with
// links to older and newer pages when there are such entries.
func NewAuditData(entries []models.AuditEntry, older, newer bool, now time.Time, v Viewer) AuditData {
	d := AuditData{Entries: entries, Now: now, Viewer: v}
	if n := len(entries); n > 0 {
		if older {
			d.OlderPath = AuditPath + "?before=" + strconv.FormatUint(uint64(entries[n-1].ID), 10)
		}
		if newer {
			d.NewerPath = AuditPath + "?after=" + strconv.FormatUint(uint64(entries[0].ID), 10)
		}
	} else if newer || older {
		d.NewerPath = AuditPath // past either end: back to the newest
	}
	return d
}

// MinPasswordLength mirrors the service's rule for the forms' minlength.
const MinPasswordLength = 10

// PasswordHint is the password rule in words, under each new-password field.
const PasswordHint = "At least 10 characters, not containing the user name, and not a common password or pattern. A few unrelated words work well."

// inputClass styles the text inputs and selects of the auth forms.
const inputClass = "block w-full rounded-md border-0 bg-white px-3 py-1.5 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-sky-600 dark:bg-slate-800 dark:text-white dark:ring-slate-600"

// cardClass is the white panel the auth pages are made of.
const cardClass = "rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 sm:p-6 dark:bg-slate-900 dark:ring-slate-800"

// whenText shows a time relative to now, or "never".
func whenText(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return RelativeTime(t, now)
}

// resultClass colours an audit result: green for ok, red otherwise.
func resultClass(result string) string {
	if result == "ok" {
		return "badge badge-uptodate"
	}
	return "badge badge-error"
}

// navLinkClass styles the header's links to the hosts, the account, tokens, users and the audit log.
const navLinkClass = "rounded text-slate-600 underline-offset-4 hover:text-slate-900 hover:underline focus-visible:outline focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-400 dark:hover:text-white"
