package handlers

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"refit/models"
)

// statusOf maps sentinel errors to status codes. The most specific come
// first: their text is what the client reads.
var statusOf = []struct {
	err    error
	status int
}{
	{models.ErrContainerNotFound, fiber.StatusNotFound},
	{models.ErrAmbiguousContainer, fiber.StatusConflict},
	{models.ErrUnknownPolicyAction, fiber.StatusBadRequest},
	{models.ErrNothingToSkip, fiber.StatusBadRequest},
	{models.ErrNoUpdateAvailable, fiber.StatusBadRequest},
	{models.ErrBeingUpdated, fiber.StatusConflict},
	{models.ErrBadSnooze, fiber.StatusBadRequest},
	{models.ErrImageNotFound, fiber.StatusNotFound},
	{models.ErrNoProgress, fiber.StatusNotFound},
	{models.ErrInvalidCredentials, fiber.StatusUnauthorized},
	{models.ErrTooManyAttempts, fiber.StatusTooManyRequests},
	{models.ErrUserNotFound, fiber.StatusNotFound},
	{models.ErrTokenNotFound, fiber.StatusNotFound},
	{models.ErrUserExists, fiber.StatusConflict},
	{models.ErrLastAdmin, fiber.StatusConflict},
	{models.ErrTargetNotFound, fiber.StatusNotFound},
	{models.ErrTriggerNotFound, fiber.StatusNotFound},
	{models.ErrTargetExists, fiber.StatusConflict},
	{models.ErrTargetFromFlag, fiber.StatusConflict},
	{models.ErrBadTargetName, fiber.StatusBadRequest},
	{models.ErrUnknownEvent, fiber.StatusBadRequest},
	{models.ErrNotDelivered, fiber.StatusBadGateway},
	{models.ErrNotFound, fiber.StatusNotFound},
	{models.ErrInvalid, fiber.StatusBadRequest},
	{models.ErrConflict, fiber.StatusConflict},
	{models.ErrUnauthorized, fiber.StatusUnauthorized},
	{models.ErrForbidden, fiber.StatusForbidden},
	{models.ErrRateLimited, fiber.StatusServiceUnavailable},
	{models.ErrUnavailable, fiber.StatusServiceUnavailable},
}

// classify turns any error into a status and the text the client may see.
// A raw error string never reaches the client; a 500 says "internal error".
func classify(err error) (int, string) {
	for _, s := range statusOf {
		if errors.Is(err, s.err) {
			return s.status, publicText(err, s.err)
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if fe.Code == fiber.StatusMethodNotAllowed {
			return fe.Code, "method not allowed"
		}
		if fe.Code == fiber.StatusNotFound {
			return fe.Code, "not found"
		}
		return fe.Code, fe.Message
	}
	return fiber.StatusInternalServerError, "internal error"
}

// publicText is the sentinel's text; a models.Kind's own text where the
// service gave one ("database not writable: disk is full"); or for ErrInvalid
// the details the service gave ("invalid input: …"), which are about the
// client's own input.
func publicText(err, sentinel error) string {
	if sentinel == models.ErrInvalid {
		return err.Error()
	}
	var k *models.Kind
	if errors.As(err, &k) && errors.Is(k, sentinel) {
		return k.Error()
	}
	return sentinel.Error()
}

// setRetryAfter tells the client when to try again: when the service knows
// (a throttled login), else a minute for a registry's rate limit.
func setRetryAfter(c *fiber.Ctx, status int, err error) {
	var later *models.RetryLater
	if errors.As(err, &later) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(later.After.Seconds())))))
	} else if status == fiber.StatusServiceUnavailable && errors.Is(err, models.ErrRateLimited) {
		c.Set(fiber.HeaderRetryAfter, "60")
	}
}

// errorHandler is the one place errors become responses and get logged.
func errorHandler(log *slog.Logger, html func(c *fiber.Ctx, status int, msg string) error) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, msg := classify(err)
		if unread(c) { // fasthttp's text quotes the request back
			msg = unreadText(status)
		}
		attrs := []any{"method", c.Method(), "path", c.Path(), "status", status, "error", err}
		if status >= 500 {
			log.Error("request failed", attrs...)
		} else {
			log.Debug("request refused", attrs...)
		}
		setRetryAfter(c, status, err)
		if isAPI(c) || html == nil || unread(c) {
			c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
			return c.Status(status).SendString(msg + "\n")
		}
		return html(c, status, msg)
	}
}

// markUnread marks the requests fasthttp fails to read (headers past
// ReadBufferSize: 431; malformed: 400) before the error handler sees them.
// Their path is unknown, so their answer is plain text, right for the API
// and readable in a browser.
func markUnread(app *fiber.App) {
	srv := app.Server()
	next := srv.ErrorHandler
	srv.ErrorHandler = func(ctx *fasthttp.RequestCtx, err error) {
		ctx.SetUserValue(localUnread, true)
		next(ctx, err)
	}
}

const localUnread = "unread"

// unreadText is the answer to a request fasthttp refused to read: the
// route's own text for a body past BodyLimit, else the status's words.
func unreadText(status int) string {
	if status == fiber.StatusRequestEntityTooLarge {
		return errBodyTooLarge.Message
	}
	return strings.ToLower(utils.StatusMessage(status))
}

func unread(c *fiber.Ctx) bool { return c.Context().UserValue(localUnread) != nil }

func isAPI(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, "/api/") || p == "/api" || p == "/health" || p == "/metrics" || strings.HasPrefix(p, "/v1/")
}
