package oci

import "net/http"

// sent is the RoundTripper right above the network: below the ping cache and
// the retry policy, so it sees each request a registry really gets.
type sent struct {
	base http.RoundTripper
	tell func(registry, method string, status int)
}

func sentTo(base http.RoundTripper, tell func(registry, method string, status int)) http.RoundTripper {
	return &sent{base: base, tell: tell}
}

func (s *sent) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	s.tell(displayRegistry(registryOf(req)), req.Method, status)
	return resp, err
}
