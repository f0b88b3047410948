package github

import "net/http"

// transport adds the token to every request and counts the answers.
type transport struct {
	base    http.RoundTripper
	token   *tokenSource
	metrics *clientMetrics
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not change its argument
	req.Header.Set("Authorization", "Bearer "+t.token.get())
	resp, err := t.base.RoundTrip(req)
	t.metrics.observe(resp, err)
	return resp, err
}
