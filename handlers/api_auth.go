package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

var errLoginBody = fmt.Errorf(`%w: body must be {"user":"…","pass":"…"}`, models.ErrInvalid)

// apiLogin checks {"user","pass"} and starts a session: 200 {"status":"ok"}
// with the cookie, and the session's CSRF token in X-CSRF-Token for scripts
// that keep using the cookie.
func apiLogin(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			User string `json:"user"`
			Pass string `json:"pass"`
		}
		if err := json.Unmarshal(c.Body(), &in); err != nil || in.User == "" || in.Pass == "" {
			return errLoginBody
		}
		var p models.Principal
		err := withCookies(c, func(w http.ResponseWriter) (err error) {
			p, err = auth.Login(w, stdRequest(c), in.User, in.Pass)
			return err
		})
		if err != nil {
			return err
		}
		if p.CSRFToken != "" {
			c.Set(views.CSRFHeader, p.CSRFToken)
		}
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

// apiLogout ends the session, server side too, and expires the cookie.
func apiLogout(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := withCookies(c, func(w http.ResponseWriter) error { return auth.Logout(w, stdRequest(c), principal(c)) }); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

var errPasswordBody = fmt.Errorf(`%w: body must be {"current":"…","new":"…"}`, models.ErrInvalid)

// apiChangePassword changes the caller's own password from {"current","new"}
// and ends every session of the user: 200 {"status":"ok"}, with the cookie
// expired when the caller came with one. API tokens stay valid.
func apiChangePassword(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			Current string `json:"current"`
			New     string `json:"new"`
		}
		if err := json.Unmarshal(c.Body(), &in); err != nil || in.Current == "" {
			return errPasswordBody
		}
		p := principal(c)
		if err := auth.ChangePassword(p, in.Current, in.New); err != nil {
			return err
		}
		if p.Via == models.ViaSession {
			clearSession(c, auth)
		}
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

// apiAuthStatus answers whether auth is on.
func apiAuthStatus(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"enabled": auth.Enabled()})
	}
}

// apiListTokens answers the caller's tokens, without their secrets.
func apiListTokens(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ts, err := auth.Tokens(principal(c))
		if err != nil {
			return err
		}
		return c.JSON(ts)
	}
}

// apiCreateToken makes a token from {"name"} and answers 201 with its
// secret in "token", the only time it is shown.
func apiCreateToken(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(c.Body(), &in); err != nil {
			return fmt.Errorf(`%w: body must be {"name":"…"}`, models.ErrInvalid)
		}
		secret, t, err := auth.CreateToken(principal(c), in.Name)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(struct {
			models.APIToken
			Token string `json:"token"`
		}{t, secret})
	}
}

// apiRevokeToken deletes one of the caller's tokens.
func apiRevokeToken(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := auth.RevokeToken(principal(c), c.Params("id")); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

// apiAudit answers the audit log, newest first: ?limit= (default 100, at
// most services.MaxAuditLimit), and ?before= an entry's ID for the page
// below it.
func apiAudit(aud *services.Audit) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := aud.List(services.AuditQuery{Limit: c.QueryInt("limit", 100), Before: queryID(c, "before")})
		if err != nil {
			return err
		}
		return c.JSON(p.Entries)
	}
}

// queryID reads an entry ID from the query; 0 when absent or not one.
func queryID(c *fiber.Ctx, key string) uint {
	return uint(max(0, c.QueryInt(key, 0)))
}

// apiListUsers answers every user.
func apiListUsers(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		us, err := auth.Users()
		if err != nil {
			return err
		}
		return c.JSON(us)
	}
}

// userInput is the body of POST /api/users and PATCH /api/users/{name}.
type userInput struct {
	Name string      `json:"name"`
	Pass string      `json:"pass"`
	Role models.Role `json:"role"`
}

func parseUser(c *fiber.Ctx) (userInput, error) {
	var in userInput
	if err := json.Unmarshal(c.Body(), &in); err != nil {
		return in, fmt.Errorf(`%w: body must be {"name":"…","pass":"…","role":"admin|operator|viewer"}`, models.ErrInvalid)
	}
	return in, nil
}

// apiAddUser creates a user from {"name","pass","role"}: 201 with the user.
func apiAddUser(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		in, err := parseUser(c)
		if err != nil {
			return err
		}
		u, err := auth.AddUser(principal(c), in.Name, in.Pass, in.Role)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(u)
	}
}

// apiUpdateUser sets a user's role and/or password from {"role","pass"}.
func apiUpdateUser(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		in, err := parseUser(c)
		if err != nil {
			return err
		}
		if err := auth.UpdateUser(principal(c), c.Params("name"), in.Role, in.Pass); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

// apiRemoveUser deletes a user with their sessions and tokens.
func apiRemoveUser(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := auth.RemoveUser(principal(c), c.Params("name")); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ok"})
	}
}
