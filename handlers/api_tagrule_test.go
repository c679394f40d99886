package handlers

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/views"
)

// A tag rule set through the API follows the container's tags at once:
// the item says which newer tag it may move to, and the synchronous update
// moves it there; a bad rule is a 400; DELETE gives the labels back.
func TestTagRuleThroughTheAPI(t *testing.T) {
	ta := newTestApp(t)
	ta.reg.Set("ghcr.io/org/app:1.3", dOld)
	ta.reg.Set("ghcr.io/org/app:2.0", dOld)
	ta.engine.Publish("ghcr.io/org/app:1.3", "sha256:img-app13", dOld)
	item := func(st int, body string) models.DrydockContainer {
		t.Helper()
		var it models.DrydockContainer
		if err := json.Unmarshal([]byte(body), &it); st != 200 || err != nil {
			t.Fatalf("answer = %d %s", st, body)
		}
		return it
	}
	st, body, _ := ta.do(t, "PUT", "/api/containers/app/tag-rule", jsonBody(`{"include":"^\\d+\\.\\d+$","bump":"minor"}`))
	it := item(st, body)
	if it.Result == nil || it.Result.Tag != "1.3" || !it.UpdateAvailable || it.TagRule == nil || it.TagRule.Source != "refit" || it.TagRule.Bump != "minor" {
		t.Fatalf("after the rule: %s", body)
	}
	for _, bad := range []string{`{"include":"("}`, `{"include":".*","bump":"huge"}`, `{"exclude":"x"}`, `not json`} {
		if st, body, _ := ta.do(t, "PUT", "/api/v1/containers/app/tag-rule", jsonBody(bad)); st != 400 || !strings.HasSuffix(body, "\n") {
			t.Errorf("PUT %s = %d %q, want 400", bad, st, body)
		}
	}
	if st, body, _ := ta.do(t, "PUT", "/api/containers/nope/tag-rule", jsonBody(`{"include":".*"}`)); st != 404 || body != "container not found\n" {
		t.Errorf("unknown container = %d %q", st, body)
	}
	st, body, _ = ta.do(t, "POST", "/api/containers/app/update", nil)
	it = item(st, body)
	if it.Image.Tag.Value != "1.3" || it.Image.ID != "sha256:img-app13" {
		t.Errorf("after the update app runs %s (%s), want 1.3", it.Image.Tag.Value, it.Image.ID)
	}
	st, body, _ = ta.do(t, "DELETE", "/api/containers/app/tag-rule", nil)
	it = item(st, body)
	if it.TagRule != nil || (it.Result != nil && it.Result.Tag != it.Image.Tag.Value) { // Drydock's result.tag: the current one
		t.Errorf("after DELETE the item still follows tags: %+v", it)
	}
}

// The HTML twins: the panel's form sets the rule and answers the row with
// its tag offer (and the panel closed); Update to moves the container.
func TestTagRuleFormAndUpdateTag(t *testing.T) {
	ta := newTestApp(t)
	ta.reg.Set("ghcr.io/org/app:1.3", dOld)
	ta.engine.Publish("ghcr.io/org/app:1.3", "sha256:img-app13", dOld)
	app := local("app")
	if st, doc, _ := ta.getHTML(t, views.TagsPath(app), "HX-Request", "true"); st != 200 || doc.Find("#"+views.TagsPanelID).Length() != 1 {
		t.Fatalf("tags panel = %d", st)
	}
	st, doc, _ := ta.postForm(t, views.TagRulePath(app), url.Values{views.IncludeField: {`^\d+\.\d+$`}, views.BumpField: {"major"},
		views.PanelField: {"close"}}, true)
	if st != 200 || !strings.Contains(doc.Find("#"+views.TagOfferID(app)).Text(), "1.3 available") || doc.Find("#"+views.PanelSlotID).Length() != 1 {
		t.Fatalf("rule form = %d:\n%s", st, doc.Text())
	}
	if st, _, _ := ta.postForm(t, views.TagRulePath(app), url.Values{views.IncludeField: {`(`}}, true); st != 400 {
		t.Errorf("a bad pattern = %d, want 400", st)
	}
	if st, doc, _ := ta.postForm(t, views.UpdateTagPath(app), nil, true); st != 200 || doc.Find("#"+views.RowID(app)).Length() != 1 {
		t.Fatalf("update-tag = %d", st)
	}
	if p, err := ta.deps.Updates.Wait(t.Context(), app, 10*time.Second); err != nil || p.Phase != models.PhaseDone {
		t.Fatalf("the move = %+v, %v", p, err)
	}
	if c, _ := ta.engine.Container("app"); c.ConfiguredImage != "ghcr.io/org/app:1.3" {
		t.Errorf("app runs %s after Update to 1.3", c.ConfiguredImage)
	}
	st, _, _ = ta.postForm(t, views.TagRulePath(local("app-2")), url.Values{views.PolicyField: {"clear"}}, true)
	if st != 200 {
		t.Errorf("Use the labels = %d", st)
	}
}
