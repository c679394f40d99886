package views

import (
	"refit/models"
)

// The tag rule form's fields.
const (
	IncludeField = "include"
	ExcludeField = "exclude"
	BumpField    = "bump"
)

// Ids of the tags panel.
const (
	TagsPanelID  = "tags"
	TagsCloseID  = "tags-close"
	TagIncludeID = "tags-include"
	TagSaveID    = "tags-save"
	TagClearID   = "tags-clear"
)

// TagOfferID is the id of a row's TagOffer.
func TagOfferID(ref models.ContainerRef) string { return "tagoffer-" + refID(ref) }

// UpdateTagPath moves a container onto its newer tag (POST) and answers
// the ContainerRow.
func UpdateTagPath(ref models.ContainerRef) string { return containerPath(ref, "update-tag") }

// TagsPath answers a container's TagsPanel (GET).
func TagsPath(ref models.ContainerRef) string { return containerPath(ref, "tags") }

// TagRulePath sets or clears a container's tag rule (POST) and answers the
// ContainerRow.
func TagRulePath(ref models.ContainerRef) string { return containerPath(ref, "tag-rule") }

// ShowTagUpdate reports whether the row offers "Update to <tag>".
func (r RowData) ShowTagUpdate() bool {
	return r.CanUpdate && r.Item.NewerTag != "" && !r.Updating() && r.Item.Kind != models.KindService
}

// ComposeNote says that a Compose container's file still names its old
// tag: before a move onto a newer one, and after refit made it.
func (r RowData) ComposeNote() string {
	p := r.Item.Labels[models.LabelComposeProject]
	switch {
	case p == "":
	case r.Item.NewerTag != "":
		return "The compose file of " + p + " still names " + TagOf(r.Image) + ": change it too, refit does not edit compose files."
	case r.MovedFrom != "":
		return "The compose file of " + p + " still names " + TagOf(r.MovedFrom) + ": change it to " + TagOf(r.Image) +
			", refit does not edit compose files."
	}
	return ""
}

// TagsData is one container's TagsPanel.
type TagsData struct {
	Panel
	Item models.ContainerItem
	Rule models.TagRule
}

// SourceText says where the rule comes from.
func (t TagsData) SourceText() string {
	if t.Rule.Source == "refit" {
		return "in refit"
	}
	return "by its labels"
}
