// Package services holds refit's use cases: checking containers against their
// registries, updating them, and the state kept in SQLite. It speaks models
// types only; the Docker Engine and the registries enter through the Engine and
// Registry interfaces declared here and implemented in dockerengine and oci.
package services
