package views

import (
	"net/url"
	"strconv"

	"refit/models"
)

// Web routes of the browser UI. Handlers register exactly these; templates
// and tests build URLs only through the helpers below.
const (
	// DashboardPath serves the full page (GET).
	DashboardPath = "/"
	// ImagesFragmentPath serves ImagesTable alone (GET): the calm auto refresh.
	ImagesFragmentPath = "/fragments/images"
	// CheckPath checks every image now (POST): ImagesTable for htmx, else 303 to /.
	CheckPath = "/check"
	// LoginPath is the login page (GET) and form (POST).
	LoginPath = "/login"
	// LogoutPath ends the session (POST).
	LogoutPath = "/logout"
	// CSSPath is the generated Tailwind stylesheet in static.FS.
	CSSPath = "/static/css/app.css"
	// HTMXPath is the vendored htmx in static.FS.
	HTMXPath = "/static/js/htmx.min.js"
	// FaviconPath is the icon in static.FS.
	FaviconPath = "/static/img/favicon.svg"
	// ScriptPath is refit's own script in static.FS (static/js/refit.js).
	ScriptPath = "/static/js/refit.js"
	// HostsPath is the hosts page (GET).
	HostsPath = "/hosts"
	// HostsFragmentPath serves HostsPage alone (GET): its refresh, which
	// logs at Debug as every /fragments/ poll does.
	HostsFragmentPath = "/fragments/hosts"
	// StoppedFragmentPath serves StoppedList alone (GET): its refresh.
	StoppedFragmentPath = "/fragments/stopped"
	// HostField is the dashboard's host filter, a query parameter of
	// DashboardPath and of every URL that answers a part of it.
	HostField = "host"
)

// OnHost is path with the host filter, so the answer shows only host's
// containers; path itself for "" (every host).
func OnHost(path, host string) string {
	if host == "" {
		return path
	}
	return path + "?" + HostField + "=" + url.QueryEscape(host)
}

// RowPath answers one ContainerRow (GET); rows poll it while updating.
func RowPath(ref models.ContainerRef) string { return containerPath(ref, "row") }

// MenuPath answers a row's RowMenuItems (GET), which the menu loads when it
// is first opened; without JavaScript, a page of its own (MenuPanel).
func MenuPath(ref models.ContainerRef) string { return containerPath(ref, "menu") }

// UpdatePath starts updating a container (POST) and answers its ContainerRow.
func UpdatePath(ref models.ContainerRef) string { return containerPath(ref, "update") }

// AutoUpdatePath sets a container's auto-update flag (POST) and answers the
// AutoUpdateToggle, or 303 to / for a plain form post.
func AutoUpdatePath(ref models.ContainerRef) string { return containerPath(ref, "auto-update") }

// LogsPath answers a container's LogPanel (GET) with its last tail lines
// (0: the default), alone for htmx, else in a page of its own.
func LogsPath(ref models.ContainerRef, tail int) string {
	p := containerPath(ref, "logs")
	if tail > 0 {
		p += "?" + TailField + "=" + strconv.Itoa(tail)
	}
	return p
}

// PreviewPath answers a container's PreviewPanel (GET): what an update
// would keep and change, found without pulling; alone for htmx, else a page.
func PreviewPath(ref models.ContainerRef) string { return containerPath(ref, "preview") }

// BackupsPath answers a container's BackupsPanel (GET), alone for htmx,
// else a page.
func BackupsPath(ref models.ContainerRef) string { return containerPath(ref, "backups") }

// RollbackPath recreates a container onto the image of the form's
// BackupField (POST) and answers the ContainerRow, which follows the job.
func RollbackPath(ref models.ContainerRef) string { return containerPath(ref, "rollback") }

// PolicyPath runs the update-policy action of the form's PolicyField (POST)
// and answers the ContainerRow.
func PolicyPath(ref models.ContainerRef) string { return containerPath(ref, "policy") }

// StartPath starts a stopped container (POST) and answers ImagesTable.
func StartPath(ref models.ContainerRef) string { return containerPath(ref, "start") }

// StopPath stops a container (POST) and answers ImagesTable.
func StopPath(ref models.ContainerRef) string { return containerPath(ref, "stop") }

// RestartPath restarts a container (POST) and answers its ContainerRow.
func RestartPath(ref models.ContainerRef) string { return containerPath(ref, "restart") }

// DeletePath removes a container (POST, with ConfirmField its name) and
// answers ImagesTable.
func DeletePath(ref models.ContainerRef) string { return containerPath(ref, "delete") }

// GroupPath answers one ImageGroup (GET); the group polls it while updating.
func GroupPath(key string) string { return "/groups/" + url.PathEscape(key) }

// GroupUpdatePath updates every outdated container of a group (POST) and
// answers the ImageGroup.
func GroupUpdatePath(key string) string { return GroupPath(key) + "/update" }

// containerPath is /containers/{host}/{name}/{action}: a host name needs no
// escaping.
func containerPath(ref models.ContainerRef, action string) string {
	return "/containers/" + ref.Host + "/" + url.PathEscape(ref.Name) + "/" + action
}
