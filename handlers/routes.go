package handlers

import (
	"github.com/gofiber/fiber/v2"

	"refit/models"
	"refit/views"
)

// routes is the whole URL surface, HTML and API side by side. Registration
// order is the access policy: the public routes come first; everything after
// them needs a session or an API token, and the role's permission named on
// the group or the route.
func routes(app *fiber.App, d Deps) {
	auth, aud := d.Auth, d.Audit
	dc := newDashCache(d.Containers, d.Updates, d.Toggles, d.Policies, d.Catalog, d.Schedule)
	operate, admin := models.PermOperate, models.PermAdmin

	// Public. /health answers any Host: it tells nothing, and probes from
	// load balancers and orchestrators may use names refit does not know.
	app.Get("/health", handleHealth())
	watchtowerRoutes(app, d)
	app.Use(allowedHosts(d.AllowedHosts)) // the rest only to refit's own names: DNS rebinding
	app.Use(limitBody(maxBody))           // no form or JSON call needs more, and logins are open to all
	app.Get("/static/*", staticFiles())
	app.Get(views.LoginPath, handleLoginPage(auth))
	app.Post(views.LoginPath, sameOrigin(auth), handleLogin(auth))
	app.Post("/api/login", sameOrigin(auth), apiLogin(auth))
	app.Get("/api/auth/status", apiAuthStatus(auth))
	app.Post("/api/logout", signedIn(auth), apiLogout(auth)) // a session, no CSRF token: see signedIn
	// A session, an API token or -metrics-token; behind the host check,
	// which matters with auth off: a scraper that uses a name sets -allowed-hosts.
	app.Get("/metrics", requireMetrics(auth, d.MetricsToken), handleMetrics(d.Metrics))

	// JSON API: bearer token, or session cookie plus CSRF check. 401/403.
	api := app.Group("/api", requireAPI(auth, models.PermView))
	api.Get("/version", apiVersion(d.Build)) // not public: an exact version tells an attacker what to try
	api.Get("/images", apiListImages(d.Containers, d.Toggles))
	api.All("/images/*", forWrites(requireAPI(auth, operate)), audited(aud, auditImageAction),
		apiImageAction(d.Containers, map[string]imageAction{
			"update":      {fiber.MethodPost, apiStartUpdate(d.Updates)},
			"auto-update": {fiber.MethodPost, apiToggleAutoUpdate(d.Toggles)},
			"progress":    {fiber.MethodGet, apiProgress(d.Updates)},
		}))
	api.Post("/groups/*", requireAPI(auth, operate), audited(aud, auditGroupUpdate), apiUpdateGroup(d.Updates))
	api.Post("/check", requireAPI(auth, operate), audited(aud, auditAs(models.AuditCheck, "")), apiCheck(d.Containers))
	api.Get("/ratelimit", apiRateLimit(d.Containers))
	api.Get("/hosts", apiHosts(d.Containers))
	for _, p := range []string{"/containers", "/v1/containers"} { // Drydock serves them under /api/v1 today
		api.Get(p, apiContainers(d.Catalog))
		api.Post(p+"/watch", requireAPI(auth, operate), audited(aud, auditAs(models.AuditCheck, "")), apiWatchAll(d.Containers, d.Catalog))
		api.Get(p+"/:id", apiContainer(d.Catalog))
		api.Post(p+"/:id/watch", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditCheck), apiWatchOne(d.Containers, d.Catalog))
		api.Patch(p+"/:id/update-policy", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditPolicy),
			apiUpdatePolicy(d.Policies, d.Catalog))
		api.Put(p+"/:id/tag-rule", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditTagRule), apiSetTagRule(d.Catalog))
		api.Delete(p+"/:id/tag-rule", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditTagRule), apiClearTagRule(d.Catalog))
		api.Get(p+"/:id/logs", apiContainerLogs(d.Catalog))
		api.Post(p+"/:id/preview", apiContainerPreview(d.Catalog)) // a dry run: the group's view is enough
		api.Post(p+"/:id/update", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditUpdate), apiContainerUpdate(d.Updates, d.Catalog))
		api.Get(p+"/:id/backups", apiContainerBackups(d.Updates, d.Catalog))
		api.Post(p+"/:id/rollback", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditRollback), apiContainerRollback(d.Updates, d.Catalog))
		api.Post(p+"/:id/start", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditStart), apiContainerAct(d.Catalog.Start))
		api.Post(p+"/:id/stop", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditStop), apiContainerAct(d.Catalog.Stop))
		api.Post(p+"/:id/restart", requireAPI(auth, operate), auditedContainer(aud, d.Catalog, d.Containers, models.AuditRestart), apiContainerAct(d.Catalog.Restart))
		api.Delete(p+"/:id", requireAPI(auth, admin), auditedContainer(aud, d.Catalog, d.Containers, models.AuditDelete), apiContainerDelete(d.Catalog))
		api.Get(p+"/:id/triggers", apiContainerTriggers(d.Catalog, d.Notifier))
		api.Post(p+"/:id/triggers/:type/:name", requireAPI(auth, operate), audited(aud, auditTrigger), apiRunTrigger(d.Catalog, d.Notifier))
	}
	api.Get("/history", apiHistory(d.History))
	api.Get("/tokens", apiListTokens(auth)) // every role manages its own tokens
	api.Post("/tokens", apiCreateToken(auth))
	api.Delete("/tokens/:id", apiRevokeToken(auth))
	api.Post("/account/password", apiChangePassword(auth)) // and changes its own password
	api.Get("/notifications/targets", requireAPI(auth, admin), apiNotificationTargets(d.Notifier))
	api.Post("/notifications/targets", requireAPI(auth, admin), audited(aud, auditTarget(models.AuditNotifyAdd)), apiAddNotificationTarget(d.Notifier))
	api.Delete("/notifications/targets/:name", requireAPI(auth, admin), audited(aud, auditTarget(models.AuditNotifyRemove)), apiRemoveNotificationTarget(d.Notifier))
	api.Post("/notifications/test", requireAPI(auth, admin), audited(aud, auditAs(models.AuditNotifyTest, "")), apiTestNotifications(d.Notifier))
	api.Get("/notifications/outbox", requireAPI(auth, admin), apiOutbox(d.Notifier))
	api.Get("/audit", requireAPI(auth, admin), apiAudit(aud))
	api.Get("/users", requireAPI(auth, admin), apiListUsers(auth))
	api.Post("/users", requireAPI(auth, admin), apiAddUser(auth))
	api.Patch("/users/:name", requireAPI(auth, admin), apiUpdateUser(auth))
	api.Delete("/users/:name", requireAPI(auth, admin), apiRemoveUser(auth))

	// Browser UI: session cookie plus CSRF check. Without a session: 303 to
	// /login (htmx: HX-Redirect); a role that may not: 403.
	web := app.Group("/", requireWeb(auth, models.PermView))
	web.Get("/", handleContainersPage(d.Containers, d.Updates, dc))
	web.Get("/fragments/images", handleImagesTable(d.Containers, d.Updates, dc))
	web.Get(views.HostsPath, handleHostsPage(d.Containers))
	web.Get(views.HistoryPath, handleHistoryPage(d.History, d.Containers))
	web.Get(views.HostsFragmentPath, handleHostsFragment(d.Containers))
	web.Post("/check", requireWeb(auth, operate), audited(aud, auditAs(models.AuditCheck, "")), handleCheck(d.Containers, d.Updates, dc))
	web.Get("/containers/:host/:name/row", handleContainerRow(d.Containers, d.Updates, d.Policies))
	web.Get("/containers/:host/:name/menu", handleRowMenu(d.Containers, d.Updates, d.Policies))
	web.Post("/containers/:host/:name/update", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditUpdate)),
		handleUpdateContainer(d.Containers, d.Updates, d.Policies))
	web.Post("/containers/:host/:name/auto-update", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditToggle)),
		handleToggleAutoUpdate(d.Containers, d.Toggles))
	web.Get("/containers/:host/:name/logs", handleContainerLogs(d.Containers, d.Catalog))
	web.Get("/containers/:host/:name/crash-logs", handleCrashLogs(d.Containers, d.History))
	web.Get("/containers/:host/:name/preview", handleContainerPreview(d.Containers, d.Updates, d.Policies, d.Catalog))
	web.Get("/containers/:host/:name/backups", handleContainerBackups(d.Containers, d.Updates))
	web.Get("/containers/:host/:name/tags", handleTagsPanel(d.Containers))
	web.Post("/containers/:host/:name/tag-rule", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditTagRule)),
		handleSetTagRule(d.Containers, d.Updates, d.Policies, d.Catalog))
	web.Post("/containers/:host/:name/update-tag", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditUpdate)),
		handleUpdateTag(d.Containers, d.Updates, d.Policies))
	web.Post("/containers/:host/:name/rollback", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditRollback)),
		handleRollback(d.Containers, d.Updates, d.Policies))
	web.Post("/containers/:host/:name/policy", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditPolicy)),
		handleSetPolicy(d.Containers, d.Updates, d.Policies))
	web.Post("/containers/:host/:name/restart", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditRestart)),
		handleRestart(d.Containers, d.Updates, d.Policies, d.Catalog))
	web.Post("/containers/:host/:name/start", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditStart)),
		handleMove(d.Catalog.Start, d.Containers, d.Updates, dc))
	web.Post("/containers/:host/:name/stop", requireWeb(auth, operate), audited(aud, auditContainer(d.Containers, models.AuditStop)),
		handleMove(d.Catalog.Stop, d.Containers, d.Updates, dc))
	web.Post("/containers/:host/:name/delete", requireWeb(auth, admin), audited(aud, auditContainer(d.Containers, models.AuditDelete)),
		handleDelete(d.Catalog, d.Containers, d.Updates, dc))
	web.Get(views.StoppedFragmentPath, handleStoppedList(d.Containers, d.Catalog))
	web.Post(views.UpdateOutdatedPath, requireWeb(auth, operate), audited(aud, auditRefs(models.AuditUpdate)),
		handleUpdateOutdated(d.Containers, d.Updates, dc))
	web.Get("/groups/:key", handleGroup(d.Containers, d.Updates, d.Policies))
	web.Post("/groups/:key/update", requireWeb(auth, operate), audited(aud, auditGroupKey(d.Containers)),
		handleUpdateGroup(d.Containers, d.Updates, d.Policies))
	web.Post(views.LogoutPath, handleLogout(auth))
	web.Get(views.AccountPath, handleAccountPage())
	web.Post(views.AccountPasswordPath, handleChangePassword(auth))
	web.Get(views.TokensPath, handleTokensPage(auth))
	web.Post(views.TokensPath, handleCreateToken(auth))
	web.Post(views.TokensPath+"/:id/revoke", handleRevokeToken(auth))
	web.Get(views.UsersPath, requireWeb(auth, admin), handleUsersPage(auth))
	web.Post(views.UsersPath, requireWeb(auth, admin), handleAddUser(auth))
	web.Post(views.UsersPath+"/:name/role", requireWeb(auth, admin), handleSetRole(auth))
	web.Post(views.UsersPath+"/:name/password", requireWeb(auth, admin), handleSetPassword(auth))
	web.Post(views.UsersPath+"/:name/remove", requireWeb(auth, admin), handleRemoveUser(auth))
	web.Get(views.AuditPath, requireWeb(auth, admin), handleAuditPage(aud))
	web.Get(views.NotificationsPath, requireWeb(auth, admin), handleNotificationsPage(d.Notifier))
	web.Post(views.NotificationsPath, requireWeb(auth, admin), audited(aud, auditTarget(models.AuditNotifyAdd)), handleAddTarget(d.Notifier))
	web.Post(views.NotificationsTestPath, requireWeb(auth, admin), audited(aud, auditAs(models.AuditNotifyTest, "")), handleTestTargets(d.Notifier))
	web.Post(views.NotificationsPath+"/:name/remove", requireWeb(auth, admin), audited(aud, auditTarget(models.AuditNotifyRemove)), handleRemoveTarget(d.Notifier))
}

// watchtowerRoutes are Watchtower's HTTP API, served when its settings ask
// for it, on refit's address and on Watchtower's own (NewWatchtower).
func watchtowerRoutes(r fiber.Router, d Deps) {
	w := d.Watchtower
	if w.Update != nil {
		update := []fiber.Handler{requireWatchtowerToken(d.Auth, w.Token, models.PermOperate),
			audited(d.Audit, func(c *fiber.Ctx) (string, string) { return models.AuditUpdate, c.Query("image", "all") }),
			apiWatchtowerUpdate(w.Update)}
		r.Get("/v1/update", update...)
		r.Post("/v1/update", update...)
	}
	if w.Metrics != nil {
		r.Get("/v1/metrics", requireWatchtowerToken(d.Auth, w.Token, models.PermView), handleMetrics(w.Metrics))
	}
}
