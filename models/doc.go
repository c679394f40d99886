// Package models holds the vocabulary that services, handlers, views and the
// JSON API share: containers, image groups, statuses, pull progress, jobs and
// the few rows refit keeps in SQLite. It does no I/O.
package models
