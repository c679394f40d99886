package models

// BuildInfo says which refit this is: GET /api/version and refit version.
type BuildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
	Built   string `json:"built"` // RFC 3339, or "" when the build did not say
}
