package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// handleLoginPage shows the sign-in form; with auth off there is nothing to
// sign in to.
func handleLoginPage(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !auth.Enabled() {
			return c.Redirect(views.DashboardPath, fiber.StatusSeeOther)
		}
		d := views.LoginData{Next: c.Query(views.NextField)}
		if c.Query(views.ChangedField) != "" {
			d.Notice = views.PasswordChangedNotice
		}
		return renderLogin(c, d)
	}
}

// handleLogin signs in from the form: 303 to the page asked for, or the
// form again with the error and its status (401, 429, 400).
func handleLogin(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		user, next := c.FormValue("user"), c.FormValue(views.NextField)
		err := withCookies(c, func(w http.ResponseWriter) error {
			_, err := auth.Login(w, stdRequest(c), user, c.FormValue("pass"))
			return err
		})
		if err != nil {
			status, msg := classify(err)
			if status >= 500 {
				return err
			}
			c.Status(status)
			setRetryAfter(c, status, err)
			return renderLogin(c, views.LoginData{User: user, Next: next, Error: views.LoginMessage(status, msg)})
		}
		return c.Redirect(safeNext(next), fiber.StatusSeeOther)
	}
}

func renderLogin(c *fiber.Ctx, d views.LoginData) error {
	return render(c, views.Layout("Sign in", views.Viewer{}, views.LoginPage(d)))
}

// handleLogout ends the session and goes to the login page.
func handleLogout(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := withCookies(c, func(w http.ResponseWriter) error { return auth.Logout(w, stdRequest(c), principal(c)) }); err != nil {
			return err
		}
		if isHTMX(c) {
			c.Set("HX-Redirect", views.LoginPath)
			return c.SendStatus(fiber.StatusOK)
		}
		return c.Redirect(views.LoginPath, fiber.StatusSeeOther)
	}
}

// handleTokensPage lists the viewer's API tokens.
func handleTokensPage(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return renderTokens(c, auth, views.TokensData{}, nil)
	}
}

// handleCreateToken creates a token and shows its secret once. The answer
// is a page, not a redirect: the secret must not travel in a URL.
func handleCreateToken(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		secret, t, err := auth.CreateToken(principal(c), c.FormValue("name"))
		return renderTokens(c, auth, views.TokensData{NewToken: secret, NewName: t.Name}, err)
	}
}

// handleRevokeToken revokes one of the viewer's tokens.
func handleRevokeToken(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := auth.RevokeToken(principal(c), c.Params("id")); err != nil {
			return renderTokens(c, auth, views.TokensData{}, err)
		}
		return c.Redirect(views.TokensPath, fiber.StatusSeeOther)
	}
}

// renderTokens shows the tokens page, with formErr's message when a form
// was refused.
func renderTokens(c *fiber.Ctx, auth *services.Auth, d views.TokensData, formErr error) error {
	if formErr != nil {
		msg, err := refused(c, formErr)
		if err != nil {
			return err
		}
		d = views.TokensData{Error: msg}
	}
	ts, err := auth.Tokens(principal(c))
	if err != nil {
		return err
	}
	d.Tokens, d.Now, d.Viewer = ts, time.Now(), viewer(c)
	return page(c, "API tokens", views.TokensPage(d))
}

// handleAccountPage shows who the viewer is, with the password form.
func handleAccountPage() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return renderAccount(c, nil)
	}
}

var errPasswordsDiffer = fmt.Errorf("%w: the two new passwords differ", models.ErrInvalid)

// handleChangePassword changes the viewer's own password from the form
// (current, new, repeat). That ends every session of the user, so it clears
// the cookie and answers 303 to the login page, which says why; or the
// account page with the error and its status (400, 401, 429).
func handleChangePassword(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		next := c.FormValue("new")
		if next != c.FormValue("repeat") {
			return renderAccount(c, errPasswordsDiffer)
		}
		if err := auth.ChangePassword(principal(c), c.FormValue("current"), next); err != nil {
			return renderAccount(c, err)
		}
		clearSession(c, auth)
		return c.Redirect(views.LoginChangedPath, fiber.StatusSeeOther)
	}
}

// renderAccount shows the account page, with formErr's message when the
// password form was refused.
func renderAccount(c *fiber.Ctx, formErr error) error {
	d := views.AccountData{Viewer: viewer(c)}
	if formErr != nil {
		msg, err := refused(c, formErr)
		if err != nil {
			return err
		}
		d.Error = views.AccountMessage(c.Response().StatusCode(), msg)
	}
	return page(c, "Account", views.AccountPage(d))
}

// refused turns the error of a refused form into the message the page shows
// and sets its status (and Retry-After when it has one); an error that is
// not the user's doing stays an error.
func refused(c *fiber.Ctx, err error) (string, error) {
	status, msg := classify(err)
	if status >= 500 {
		return "", err
	}
	c.Status(status)
	setRetryAfter(c, status, err)
	return msg, nil
}

// handleUsersPage lists users for admins.
func handleUsersPage(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return renderUsers(c, auth, nil)
	}
}

// handleAddUser adds a user from the form (name, pass, role).
func handleAddUser(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		_, err := auth.AddUser(principal(c), c.FormValue("name"), c.FormValue("pass"), models.Role(c.FormValue("role")))
		return usersDone(c, auth, err)
	}
}

// handleSetRole changes a user's role (field role).
func handleSetRole(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return usersDone(c, auth, auth.SetRole(principal(c), c.Params("name"), models.Role(c.FormValue("role"))))
	}
}

// handleSetPassword sets a user's password (field pass).
func handleSetPassword(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return usersDone(c, auth, auth.SetPassword(principal(c), c.Params("name"), c.FormValue("pass")))
	}
}

// handleRemoveUser removes a user.
func handleRemoveUser(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return usersDone(c, auth, auth.RemoveUser(principal(c), c.Params("name")))
	}
}

// usersDone answers a users form: 303 back to the list, or the list with
// the error.
func usersDone(c *fiber.Ctx, auth *services.Auth, err error) error {
	if err == nil {
		return c.Redirect(views.UsersPath, fiber.StatusSeeOther)
	}
	return renderUsers(c, auth, err)
}

// renderUsers shows the users page, with formErr's message when a form was
// refused.
func renderUsers(c *fiber.Ctx, auth *services.Auth, formErr error) error {
	var d views.UsersData
	if formErr != nil {
		msg, err := refused(c, formErr)
		if err != nil {
			return err
		}
		d.Error = msg
	}
	us, err := auth.Users()
	if err != nil {
		return err
	}
	d.Users, d.Now, d.Viewer = us, time.Now(), viewer(c)
	return page(c, "Users", views.UsersPage(d))
}

// handleAuditPage shows the audit log for admins, views.AuditPageSize
// entries at a time: ?before= and ?after= an entry's ID page down and up.
func handleAuditPage(aud *services.Audit) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := aud.List(services.AuditQuery{Limit: views.AuditPageSize, Before: queryID(c, "before"), After: queryID(c, "after")})
		if err != nil {
			return err
		}
		return page(c, "Audit log", views.AuditPage(views.NewAuditData(p.Entries, p.Older, p.Newer, time.Now(), viewer(c))))
	}
}
