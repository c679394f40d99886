package views_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/cascadia"

	"refit/models"
	"refit/views"
)

var selectorSafe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

func TestIDsAreSelectorSafeAndDistinct(t *testing.T) {
	names := []string{"web", "web.1", "web-1", "web_1", "a.b", "a-b", "a_b", "a_2eb", "A", "a", "x:y", "ünï", "input-x", "all-3f2a"}
	// Container ids take host/name: the same name on two hosts must differ too.
	onHosts := func(id func(models.ContainerRef) string) func(string) string {
		return func(name string) string {
			host, n, ok := strings.Cut(name, "@")
			if !ok {
				host, n = models.LocalHost, name
			}
			return id(models.Ref(host, n))
		}
	}
	for _, n := range []string{"web", "a_b", "a-b"} {
		names = append(names, "nas@"+n, "nas-2@"+n, "local-2@"+n)
	}
	kinds := map[string]func(string) string{
		"row": onHosts(views.RowID), "group": views.GroupID, "toggle": onHosts(views.ToggleID), "toggle input": onHosts(views.ToggleInputID),
		"progress": onHosts(views.ProgressID), "update": onHosts(views.UpdateButtonID), "update all": views.UpdateAllID,
	}
	seen := map[string]string{}
	for _, fixed := range []string{views.TableID, views.ToastsID, views.EmptyID, views.ContentID, views.ErrorID, views.CheckNowID, views.DashboardID, views.AnnouncerID, views.EngineBannerID, views.RecordsBannerID} {
		seen[fixed] = "constant " + fixed
	}
	for kind, id := range kinds {
		for _, name := range names {
			got := id(name)
			if !selectorSafe.MatchString(got) {
				t.Errorf("%s id of %q = %q, not selector safe", kind, name, got)
			}
			if _, err := cascadia.Compile(views.Selector(got)); err != nil {
				t.Errorf("selector %q: %v", views.Selector(got), err)
			}
			if got != id(name) {
				t.Errorf("%s id of %q is not stable", kind, name)
			}
			if prev, dup := seen[got]; dup {
				t.Errorf("%s id of %q = %q, same as %s", kind, name, got, prev)
			}
			seen[got] = kind + " " + name
		}
	}
}

func TestRowIDKeepsPlainNamesReadable(t *testing.T) {
	if got, want := views.RowID(local("web-1")), "row-local_2fweb-1"; got != want {
		t.Errorf("RowID() = %q, want %q", got, want)
	}
	if got, want := views.RowID(models.Ref("nas", "web.1")), "row-nas_2fweb_2e1"; got != want {
		t.Errorf("RowID() = %q, want %q", got, want)
	}
	if got, want := views.GroupID("0a1b2c3d4e5f"), "group-0a1b2c3d4e5f"; got != want {
		t.Errorf("GroupID() = %q, want %q", got, want)
	}
}

func TestPathsEscapeNames(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{views.RowPath(local("web")), "/containers/local/web/row"},
		{views.UpdatePath(models.Ref("nas", "web.1")), "/containers/nas/web.1/update"},
		{views.AutoUpdatePath(local("a b/c")), "/containers/local/a%20b%2Fc/auto-update"},
		{views.GroupPath("0a1b2c3d4e5f"), "/groups/0a1b2c3d4e5f"},
		{views.GroupUpdatePath("0a1b2c3d4e5f"), "/groups/0a1b2c3d4e5f/update"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("path = %q, want %q", tc.got, tc.want)
		}
		if strings.Contains(tc.got, " ") {
			t.Errorf("path %q is not escaped", tc.got)
		}
	}
}
