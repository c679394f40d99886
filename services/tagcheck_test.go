package services_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"refit/models"
	"refit/services"
	"refit/services/fake"
)

// A check lists each followed repository's tags once, however many
// containers on however many hosts run it, HEADs the chosen tag once, and
// the item says which newer tag it may move to; StartTag moves it there.
func TestCheckFollowsTagsOncePerRepository(t *testing.T) {
	const (
		v123 = "registry.test/app:1.2.3"
		v130 = "registry.test/app:1.3.0"
		img3 = "sha256:0000000000000000000000000000000000000000000000000000000000000003"
		dig3 = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	)
	follow := map[string]string{"refit.tag.include": `^\d+\.\d+\.\d+$`, "refit.tag.bump": "minor"}
	var hosts []services.Host
	var engines []*fake.Engine
	reg := fake.NewRegistry()
	reg.Set(v123, oldDig)
	reg.Set(v130, dig3)
	reg.Set("registry.test/app:2.0.0", newDig) // a major bump: beyond the rule
	reg.Set("registry.test/app:1.4.0-rc1", newDig)
	reg.Set("registry.test/app:latest", newDig)
	for i, h := range []string{"one", "two"} {
		eng := fake.NewEngine()
		eng.AddImage(oldImg, "registry.test/app@"+oldDig)
		eng.Tag(v123, oldImg)
		eng.Publish(v130, img3, dig3)
		id := []string{idA, idB}[i]
		eng.Run(id, "web", v123, oldImg)
		eng.SetLabels(id, follow)
		eng.Run(idC, "plain", v123, oldImg) // no rule: follows its tag's digest only
		engines = append(engines, eng)
		hosts = append(hosts, services.Host{Name: h, Engine: eng})
	}
	db, tog, hist := mustStore(t)
	ctr := services.NewContainersOn(hosts, reg, tog, quiet, 4)
	upd := services.NewUpdates(anon{}, ctr, hist, quiet, services.UpdateOptions{Settle: time.Millisecond})
	t.Cleanup(upd.Close)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := reg.TagLists["registry.test/app"]; n != 1 {
		t.Errorf("tag lists of registry.test/app = %d, want 1 for two hosts", n)
	}
	if n := reg.HeadCount(v130); n != 1 {
		t.Errorf("HEADs of the chosen tag = %d, want 1", n)
	}
	for _, h := range []string{"one", "two"} {
		it, _, err := ctr.FindRef(models.Ref(h, "web"))
		if err != nil || it.NewerTag != "1.3.0" || it.NewerDigest != dig3 || it.Status != models.StatusUpToDate {
			t.Errorf("%s/web = %+v, %v; want 1.3.0 (%s) beside an up-to-date digest", h, it, err, dig3)
		}
		if plain, _, _ := ctr.FindRef(models.Ref(h, "plain")); plain.NewerTag != "" {
			t.Errorf("%s/plain follows %q without a rule", h, plain.NewerTag)
		}
	}

	if _, err := upd.StartTag("one/plain", "test"); err == nil {
		t.Error("StartTag of a container without a newer tag started")
	}
	if _, err := upd.StartTag("one/web", "test"); err != nil {
		t.Fatal(err)
	}
	p, err := upd.Wait(context.Background(), models.Ref("one", "web"), 10*time.Second)
	if err != nil || p.Phase != models.PhaseDone {
		t.Fatalf("tag update = %+v", p)
	}
	c, _ := engines[0].Container("web")
	if c.ConfiguredImage != v130 || c.ImageID != img3 {
		t.Errorf("after the move web runs %s (%s), want %s", c.ConfiguredImage, c.ImageID, v130)
	}
	if c, _ := engines[1].Container("web"); c.ConfiguredImage != v123 {
		t.Errorf("two/web moved too: %s", c.ConfiguredImage)
	}
	recs, err := hist.Recent(10)
	if err != nil || len(recs) == 0 || recs[0].Image != "registry.test/app:1.3.0" || recs[0].FromImage != "registry.test/app:1.2.3" {
		t.Errorf("history = %+v, %v", recs, err)
	}
	it, g, _ := ctr.FindRef(models.Ref("one", "web"))
	if g.Image != "registry.test/app:1.3.0" || it.NewerTag != "" {
		t.Errorf("after the move one/web is in %s with newer tag %q", g.Image, it.NewerTag)
	}
	// A Compose file still names the old tag: refit knows what it moved,
	// and so does a History over the same database after a restart.
	if from := upd.MovedFrom(it); from != "registry.test/app:1.2.3" {
		t.Errorf("MovedFrom(one/web) = %q, want registry.test/app:1.2.3", from)
	}
	if from := services.NewHistory(db).MovedFrom(it.Ref, it.Configured); from != "registry.test/app:1.2.3" {
		t.Errorf("MovedFrom after a restart = %q", from)
	}
	two, _, _ := ctr.FindRef(models.Ref("two", "web"))
	if from := upd.MovedFrom(two); from != "" {
		t.Errorf("MovedFrom(two/web), never moved = %q", from)
	}
}

// A container that opted in but can never move (its tag is no version, or
// its rule does not compile) costs no tag list: the reason says why.
func TestTagRuleThatCannotMoveCostsNoTagList(t *testing.T) {
	const (
		latest = "registry.test/other:latest"
		v123   = "registry.test/app:1.2.3"
	)
	reg := fake.NewRegistry()
	reg.Set(latest, oldDig)
	reg.Set(v123, oldDig)
	reg.Set("registry.test/app:1.3.0", newDig)
	eng := fake.NewEngine()
	eng.AddImage(oldImg, "registry.test/app@"+oldDig, "registry.test/other@"+oldDig)
	eng.Tag(latest, oldImg)
	eng.Tag(v123, oldImg)
	eng.Run(idA, "latest", latest, oldImg)
	eng.SetLabels(idA, map[string]string{models.LabelTagInclude: `.*`})
	eng.Run(idB, "badrule", v123, oldImg)
	eng.SetLabels(idB, map[string]string{models.LabelTagInclude: `(`})
	_, tog, _ := mustStore(t)
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	if _, err := ctr.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	for repo, n := range reg.TagLists {
		if n != 0 {
			t.Errorf("tag lists of %s = %d, want none", repo, n)
		}
	}
	for _, tc := range []struct{ name, reason string }{{"latest", "not a version"}, {"badrule", "include"}} {
		it, _, err := ctr.FindRef(local(tc.name))
		if err != nil || it.NewerTag != "" || !strings.Contains(it.TagReason, tc.reason) || it.TagFailed {
			t.Errorf("%s = newer %q, reason %q, failed %v, %v; want the reason to say %q", tc.name, it.NewerTag, it.TagReason, it.TagFailed, err, tc.reason)
		}
	}
}

// A rule set in refit wins over the container's labels; one with an empty
// include switches a labelled container off (no tag list); clearing it
// gives the labels back.
func TestTagRuleSetInRefitBeatsLabels(t *testing.T) {
	const repo = "registry.test/app"
	reg := fake.NewRegistry()
	for _, v := range []string{"1.2.3", "1.2.4", "1.3.0", "2.0.0"} {
		reg.Set(repo+":"+v, newDig)
	}
	reg.Set(repo+":1.2.3", oldDig)
	eng := fake.NewEngine()
	eng.AddImage(oldImg, repo+"@"+oldDig)
	eng.Tag(repo+":1.2.3", oldImg)
	eng.Run(idA, "web", repo+":1.2.3", oldImg)
	eng.SetLabels(idA, map[string]string{models.LabelTagInclude: `^\d+\.\d+\.\d+$`}) // any bump: 2.0.0
	db, tog, _ := mustStore(t)
	rules, err := services.NewTagRules(db)
	if err != nil {
		t.Fatal(err)
	}
	ctr := services.NewContainers(eng, reg, tog, quiet, 4)
	ctr.FollowTags(rules)
	newer := func(step string, want string, lists int) {
		t.Helper()
		before := reg.TagLists[repo]
		if _, err := ctr.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		it, _, err := ctr.FindRef(local("web"))
		if err != nil || it.NewerTag != want {
			t.Errorf("%s: newer tag = %q, %v; want %q", step, it.NewerTag, err, want)
		}
		if n := reg.TagLists[repo] - before; n != lists {
			t.Errorf("%s: %d tag lists, want %d", step, n, lists)
		}
	}
	newer("labels", "2.0.0", 1)
	if _, err := rules.Set(local("web"), models.TagRule{Include: `^1\.`, Bump: "patch"}); err != nil {
		t.Fatal(err)
	}
	newer("rule set in refit", "1.2.4", 1)
	if _, err := rules.Set(local("web"), models.TagRule{}); err != nil {
		t.Fatal(err)
	}
	newer("empty include", "", 0)
	if err := rules.Clear(local("web")); err != nil {
		t.Fatal(err)
	}
	newer("cleared", "2.0.0", 1)
}
