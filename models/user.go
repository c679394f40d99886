package models

import (
	"fmt"
	"time"
)

// Role is what a user may do. Every request acts with exactly one role.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"    // everything, including users and the audit log
	RoleOperator Role = "operator" // check, update and toggle auto-update
	RoleViewer   Role = "viewer"   // read only
)

// Roles lists the roles for forms and help texts, most powerful first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleViewer}

// ParseRole returns the role named s, or an error wrapping ErrInvalid.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleOperator, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("%w: role must be admin, operator or viewer", ErrInvalid)
}

// Permission is one kind of thing a request may do; routes name the one
// they need.
type Permission int

// The permissions. Each role has its own and those of the roles below it.
const (
	PermView    Permission = iota + 1 // read containers, progress, history; own tokens
	PermOperate                       // check, update, toggle auto-update
	PermAdmin                         // users and the audit log
)

// Can reports whether r grants p. An unknown role grants nothing.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleAdmin:
		return p == PermView || p == PermOperate || p == PermAdmin
	case RoleOperator:
		return p == PermView || p == PermOperate
	case RoleViewer:
		return p == PermView
	}
	return false
}

// User is an account. The password is stored as a bcrypt hash only.
type User struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	Name         string    `gorm:"uniqueIndex;not null" json:"name"`
	Role         Role      `gorm:"not null" json:"role"`
	PasswordHash string    `gorm:"not null" json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	LastLoginAt  time.Time `json:"last_login_at,omitzero"`
}

// Session is the server side of a browser session. The cookie carries the
// session ID; only its SHA-256 is kept here, so a copy of the database does
// not let anyone sign in. Data holds the session's values, encoded and
// authenticated with the keys refit keeps in the same database.
type Session struct {
	IDHash     string    `gorm:"primaryKey"`
	UserID     uint      `gorm:"index"`
	Data       string    `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	LastSeenAt time.Time `gorm:"not null"`
	ExpiresAt  time.Time `gorm:"index;not null"` // absolute expiry; idle expiry is LastSeenAt plus the idle time
}

// APIToken is a personal token for scripts. It acts with its owner's role.
// Only the SHA-256 of the secret is stored; the secret is shown once.
type APIToken struct {
	ID         uint      `gorm:"primaryKey" json:"id"`
	UserID     uint      `gorm:"index;not null" json:"-"`
	Name       string    `gorm:"not null" json:"name"`
	Hash       string    `gorm:"uniqueIndex;not null" json:"-"`
	Prefix     string    `json:"prefix"` // the first characters of the secret, to recognise it
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// AuditEntry is one line of the audit log: who did what to which target,
// when, from where, and how it ended.
type AuditEntry struct {
	ID     uint      `gorm:"primaryKey" json:"id"`
	At     time.Time `gorm:"index;not null" json:"at"`
	Actor  string    `gorm:"index" json:"actor"`
	Action string    `gorm:"index" json:"action"`
	Target string    `json:"target"`
	Result string    `json:"result"` // "ok", or why it failed
	Addr   string    `json:"addr"`   // client address
}

// The actions the audit log records.
const (
	AuditLogin        = "login"
	AuditLoginFailed  = "login_failed"
	AuditLogout       = "logout"
	AuditUpdate       = "update"
	AuditGroupUpdate  = "group_update"
	AuditUpdateResult = "update_result" // how one container's update ended, whoever started it
	AuditToggle       = "toggle"
	AuditCheck        = "check"
	AuditPolicy       = "update_policy"
	AuditTagRule      = "tag_rule"
	AuditStart        = "start"
	AuditStop         = "stop"
	AuditRestart      = "restart"
	AuditDelete       = "delete"
	AuditTokenCreate  = "token_create"
	AuditTokenRevoke  = "token_revoke"
	AuditUserAdd      = "user_add"
	AuditUserRemove   = "user_remove"
	AuditUserRole     = "user_role"
	AuditUserPassword = "user_password"
)

// Principal is who a request acts as: a user through a session or a token,
// the CLI, or everyone when auth is off.
type Principal struct {
	UserID uint
	Name   string
	Role   Role
	Via    string // "session", "token", "cli" or "off"
	// CSRFToken is the session's anti-forgery token; "" unless Via is "session".
	CSRFToken string
	// Addr is the client address of the request, for the audit log.
	Addr string
}

// How a principal was established.
const (
	ViaSession = "session"
	ViaToken   = "token"
	ViaCLI     = "cli"
	ViaOff     = "off"
)

// Can reports whether p's role grants perm.
func (p Principal) Can(perm Permission) bool { return p.Role.Can(perm) }

// The errors of user management, with the texts clients see.
var (
	ErrUserNotFound  = NewKind("user not found", ErrNotFound)
	ErrUserExists    = NewKind("user already exists", ErrConflict)
	ErrLastAdmin     = NewKind("the last admin cannot be removed or demoted", ErrConflict)
	ErrTokenNotFound = NewKind("token not found", ErrNotFound)
)
