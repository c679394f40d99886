// Package services holds refit's use cases: checking containers against their
// registries, updating them, and the state kept in SQLite. It speaks models
// types only; the Docker Engine, the registries and the notification services
// enter through the Engine, Registry and Sender interfaces declared here and
// implemented in dockerengine, oci and shoutrrr.
package services
