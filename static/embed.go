// Package static holds the files the browser loads: the generated Tailwind
// stylesheet (css/app.css, built from css/input.css and committed) and the
// vendored htmx (js/htmx.min.js, version in js/VERSION). They are embedded so
// the binary serves them without node or a files directory next to it.
package static

import "embed"

// FS holds css/, js/ and img/ (the favicon), served under /static/.
//
//go:embed css js img
var FS embed.FS
