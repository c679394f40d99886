package models

// Status is what refit knows about a container or an image group compared
// with its registry tag.
type Status string

// The statuses the API speaks. Partial applies to groups only.
const (
	StatusUpToDate Status = "uptodate"
	StatusOutdated Status = "outdated"
	StatusPartial  Status = "partial"
	StatusUnknown  Status = "unknown"
)

// UnknownDigest is shown where a digest is not known.
const UnknownDigest = "unknown"

// ShortDigest shortens a digest for display to "sha256:" plus 10 hex
// characters (17 in all), or "unknown" when there is none.
func ShortDigest(d string) string {
	if d == "" {
		return UnknownDigest
	}
	if len(d) > 17 {
		return d[:17]
	}
	return d
}

// ShortID returns the first 12 characters of a container or layer ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
