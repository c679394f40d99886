// Package views renders refit's browser UI with templ components and htmx.
//
// Each partial renders exactly one root element whose id comes from ids.go,
// so the page and the htmx fragment endpoints share one template per thing
// and outerHTML swaps are idempotent. URLs come from paths.go. Components take
// view models built by the pure functions in data.go; templates do no I/O.
//
// Every action is a real form that posts without JavaScript (the server
// answers 303 to /); htmx attributes sit on the element that issues the
// request, never inherited, apart from the CSRF header on <body>.
package views
