package handlers

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/services"
	"refit/views"
)

// The access policy's middleware. requireAPI and requireWeb authenticate
// once per request (the principal is kept in Locals), so a group can require
// PermView and a route inside it PermOperate.

const (
	localPrincipal = "principal"
	localStdReq    = "stdreq"
)

var errCSRF = fmt.Errorf("csrf check failed: %w", models.ErrForbidden)

// requireAPI lets a request through when it carries a valid bearer token or
// session cookie (with the CSRF check for unsafe methods) and its role grants
// perm. Otherwise: 401 "unauthorized" or 403 "forbidden".
func requireAPI(auth *services.Auth, perm models.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := authenticate(c, auth, true)
		if err != nil {
			return err
		}
		if !p.Can(perm) {
			return models.ErrForbidden
		}
		return c.Next()
	}
}

// requireWeb is requireAPI for pages. A browser without a session is sent to
// the login page with 303; an htmx request gets 401 with HX-Redirect, so the
// login page never lands inside a table row.
func requireWeb(auth *services.Auth, perm models.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := authenticate(c, auth, true)
		if errors.Is(err, models.ErrUnauthorized) {
			if isHTMX(c) {
				c.Set("HX-Redirect", views.LoginPath)
				return c.SendStatus(fiber.StatusUnauthorized)
			}
			return c.Redirect(loginURL(c), fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
		if !p.Can(perm) {
			return models.ErrForbidden
		}
		return c.Next()
	}
}

// signedIn requires a session or token but no CSRF token, only a matching
// Origin when the browser sends one. For POST /api/logout: a forged logout
// can only sign someone out, and the contract's clients send no token.
func signedIn(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := authenticate(c, auth, false); err != nil {
			return err
		}
		return c.Next()
	}
}

// forWrites applies mw to unsafe methods only, for a route that serves reads
// and writes (/api/images/{id}/{action}).
func forWrites(mw fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if safeMethod(c.Method()) {
			return c.Next()
		}
		return mw(c)
	}
}

// sameOrigin refuses a request whose Origin (or Referer) names another site,
// for the public login forms: it stops login CSRF.
func sameOrigin(auth *services.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ok, present := originOK(c, auth); present && !ok {
			return errCSRF
		}
		return c.Next()
	}
}

// maxBody bounds the body of every form and JSON call refit takes: a login,
// a password, a user or token name and a CSRF token fit in far less.
const maxBody = 8 << 10

var errBodyTooLarge = fiber.NewError(fiber.StatusRequestEntityTooLarge, "request body too large")

// limitBody refuses a body over n bytes with 413, before anything reads
// it: the login routes are open to anyone.
func limitBody(n int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Request().Header.ContentLength() > n || len(c.Request().Body()) > n {
			return errBodyTooLarge
		}
		return c.Next()
	}
}

// authenticate returns who the request acts as and remembers it for the
// rest of the request, for actor(c) and viewer(c). A cookie that names no
// live session is expired on the response.
func authenticate(c *fiber.Ctx, auth *services.Auth, csrf bool) (models.Principal, error) {
	if p, ok := c.Locals(localPrincipal).(models.Principal); ok {
		return p, nil
	}
	r := stdRequest(c)
	p, err := auth.Authenticate(r)
	if err != nil {
		if _, bearer := services.BearerToken(c.Get(fiber.HeaderAuthorization)); c.Cookies(services.CookieName) != "" && !bearer {
			_ = withCookies(c, func(w http.ResponseWriter) error { auth.ClearCookie(w, r); return nil })
		}
		return p, err
	}
	if err := checkCSRF(c, auth, p, csrf); err != nil {
		return p, err
	}
	c.Locals(localPrincipal, p)
	c.Locals(localUser, p.Name)
	c.Locals(localViewer, viewerOf(p))
	return p, nil
}

// checkCSRF refuses unsafe requests another site may have forged:
//   - Origin, or else Referer, when present, must be this host or a trusted
//     origin (always, even with auth off);
//   - a request authenticated by the session cookie must also carry the
//     session's token in X-CSRF-Token or the form field "csrf" — except a
//     JSON API call (/api/…, Content-Type application/json) whose Origin is
//     this host: browsers only send such a request cross-site after a CORS
//     preflight refit never approves.
//
// Bearer-token requests are exempt: a browser never adds that header itself.
func checkCSRF(c *fiber.Ctx, auth *services.Auth, p models.Principal, needToken bool) error {
	if safeMethod(c.Method()) || p.Via == models.ViaToken {
		return nil
	}
	same, present := originOK(c, auth)
	if present && !same {
		return errCSRF
	}
	if p.Via != models.ViaSession || !needToken {
		return nil
	}
	tok := c.Get(views.CSRFHeader)
	if tok == "" {
		tok = formCSRF(c)
	}
	if tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(p.CSRFToken)) == 1 {
		return nil
	}
	if isAPI(c) && c.Get(fiber.HeaderOrigin) != "" && same && isJSON(c) {
		return nil
	}
	return errCSRF
}

// originOK compares the Origin header, or else the Referer, with the host
// the request was sent to and the trusted origins. present is false when the
// request has neither header (curl, or a browser hiding the referrer).
func originOK(c *fiber.Ctx, auth *services.Auth) (ok, present bool) {
	src := c.Get(fiber.HeaderOrigin)
	if src == "" {
		src = c.Get(fiber.HeaderReferer)
	}
	if src == "" {
		return false, false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" { // includes Origin: null
		return false, true
	}
	if strings.EqualFold(u.Host, c.Hostname()) {
		return true, true
	}
	return auth.TrustedOrigin(u.Scheme + "://" + u.Host), true
}

// formCSRF reads the CSRF field from a form body (never from the URL).
func formCSRF(c *fiber.Ctx) string {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		return string(c.Request().PostArgs().Peek(views.CSRFField))
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if f, err := c.MultipartForm(); err == nil && len(f.Value[views.CSRFField]) > 0 {
			return f.Value[views.CSRFField][0]
		}
	}
	return ""
}

func isJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON)
}

func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

// loginURL is the login page, with the page asked for when it was a GET.
func loginURL(c *fiber.Ctx) string {
	if c.Method() != fiber.MethodGet || c.OriginalURL() == views.DashboardPath {
		return views.LoginPath
	}
	return views.LoginPath + "?" + views.NextField + "=" + url.QueryEscape(c.OriginalURL())
}

// safeNext is where to go after login: a local path only, never another
// site. Browsers drop tabs and newlines from a Location and read "\\" as
// "/", so "/\t/evil" and "/\\evil" lead to evil; each decoding of next must
// pass, since a proxy or a browser may decode it once more.
func safeNext(next string) string {
	for s, i := next, 0; i < 3; i++ {
		if !localPath(s) {
			return views.DashboardPath
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return views.DashboardPath
		}
		if d == s {
			return next
		}
		s = d
	}
	return views.DashboardPath // still encoded three times over: nobody's own link
}

// localPath reports whether s is a path on this site: one leading "/", no
// "//" or backslash, no control character or space, no scheme.
func localPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.Contains(s, "//") || strings.Contains(s, "\\") {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == utf8.RuneError {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// principal is who the request acts as, once a require* middleware ran.
func principal(c *fiber.Ctx) models.Principal {
	p, _ := c.Locals(localPrincipal).(models.Principal)
	return p
}

// viewerOf is what the views need to know about p. With auth off User is
// empty, so the layout shows no logout button.
func viewerOf(p models.Principal) views.Viewer {
	v := views.Viewer{Role: string(p.Role), CanUpdate: p.Can(models.PermOperate), Admin: p.Can(models.PermAdmin), CSRFToken: p.CSRFToken}
	if p.Via != models.ViaOff {
		v.User = p.Name
	}
	return v
}

// stdRequest is the request as net/http sees it, for gorilla/sessions: the
// same headers, the client address, and TLS when it came over HTTPS.
func stdRequest(c *fiber.Ctx) *http.Request {
	if r, ok := c.Locals(localStdReq).(*http.Request); ok {
		return r
	}
	r := &http.Request{Method: c.Method(), URL: &url.URL{Path: c.Path()}, Header: http.Header{},
		Host: c.Hostname(), RemoteAddr: clientIP(c)}
	c.Request().Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	if c.Protocol() == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	r = r.WithContext(c.UserContext())
	c.Locals(localStdReq, r)
	return r
}

// clearSession expires the session cookie on c's response, once the
// session it names has ended.
func clearSession(c *fiber.Ctx, auth *services.Auth) {
	_ = withCookies(c, func(w http.ResponseWriter) error { auth.ClearCookie(w, stdRequest(c)); return nil })
}

// withCookies runs f with a ResponseWriter whose Set-Cookie lines end up on
// c's response; nothing else written to it is kept.
func withCookies(c *fiber.Ctx, f func(w http.ResponseWriter) error) error {
	w := cookieSink{}
	err := f(w)
	for _, v := range w.Values(fiber.HeaderSetCookie) {
		c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
	return err
}

type cookieSink http.Header

func (w cookieSink) Header() http.Header         { return http.Header(w) }
func (w cookieSink) Write(b []byte) (int, error) { return len(b), nil }
func (w cookieSink) WriteHeader(int)             {}
func (w cookieSink) Values(k string) []string    { return http.Header(w).Values(k) }
