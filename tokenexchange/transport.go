package tokenexchange

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each request to a provider when a registry's
// settings name no timeout: long enough for a distant provider, short enough
// that a dead one fails a `docker pull` quickly rather than hanging it.
const DefaultTimeout = 5 * time.Second

// maxResponseBody bounds every response body read from a provider. Token
// responses and discovery documents are a few KiB (a large JWT with many
// claims stays under 16 KiB); 256 KiB leaves room for any real one while a
// hostile or broken endpoint cannot make the helper buffer more.
const maxResponseBody = 256 << 10

// maxRedirects bounds the redirects followed within one host.
const maxRedirects = 5

// errBodyTooLarge is returned by a response body read past maxResponseBody.
var errBodyTooLarge = fmt.Errorf("response body is larger than %d bytes", maxResponseBody)

// checkURL enforces the transport policy on a URL the helper is about to
// send a request to: HTTPS, or plain HTTP only to a loopback address or when
// the registry's settings say insecure.
func checkURL(u *url.URL, insecure bool) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("refusing plain HTTP to %s: credentials are sent only over HTTPS (plain HTTP is allowed for loopback addresses, or with \"insecure\": true in the registry's settings)", u.Host)
	}
	return fmt.Errorf("unsupported URL scheme %q in %s (want https)", u.Scheme, u.Redacted())
}

// parseEndpoint parses an endpoint URL from the settings or a discovery
// document and checks it against the policy.
func parseEndpoint(what, raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid %s %q: %v", what, raw, err)
	}
	switch {
	case !u.IsAbs() || u.Host == "":
		return nil, fmt.Errorf("invalid %s %q: not an absolute URL", what, raw)
	case u.User != nil:
		return nil, fmt.Errorf("invalid %s: must not contain a user name or password", what)
	case u.Fragment != "":
		return nil, fmt.Errorf("invalid %s %q: must not contain a fragment", what, raw)
	}
	if err := checkURL(u, insecure); err != nil {
		return nil, fmt.Errorf("invalid %s: %v", what, err)
	}
	return u, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// newHTTPClient returns the client for one registry's provider: every
// request bounded by timeout, TLS 1.2 or later, the URL policy checked on
// every request (redirects included), no redirect followed to another host,
// and every response body bounded.
//
// base, when not nil, supplies the transport (tests count requests with
// it); its other fields are not used.
func newHTTPClient(base *http.Client, timeout time.Duration, insecure bool) *http.Client {
	var rt http.RoundTripper
	if base != nil && base.Transport != nil {
		rt = base.Transport
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		t.TLSHandshakeTimeout = timeout
		t.ResponseHeaderTimeout = timeout
		t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
		rt = t
	}
	if t, ok := rt.(*http.Transport); ok && (t.TLSClientConfig == nil || t.TLSClientConfig.MinVersion < tls.VersionTLS12) {
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.MinVersion = tls.VersionTLS12
		rt = t
	}
	return &http.Client{
		Transport:     &policyTransport{base: rt, insecure: insecure},
		Timeout:       timeout,
		CheckRedirect: checkRedirect,
	}
}

// checkRedirect follows a redirect only within the same scheme, host and
// port. A 307 or 308 answer to a token request would re-send the form, and
// with it the refresh token and the client secret, so a redirect to another
// host is an error, whatever the method: no credential is forwarded.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	orig := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, orig.Scheme) || !strings.EqualFold(req.URL.Host, orig.Host) {
		return fmt.Errorf("refused to follow a redirect from %s to another host, %s: credentials are never forwarded", orig.Host, req.URL.Host)
	}
	return nil
}

// policyTransport checks the URL policy on every request, redirects
// included, and bounds every response body.
type policyTransport struct {
	base     http.RoundTripper
	insecure bool
}

func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkURL(req.URL, t.insecure); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > maxResponseBody {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), errBodyTooLarge)
	}
	resp.Body = &boundedBody{rc: resp.Body, left: maxResponseBody}
	return resp, nil
}

// boundedBody fails a read past its limit instead of truncating silently, so
// that an oversized answer is reported as such, not as malformed JSON.
type boundedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

// readBody reads a whole bounded body.
func readBody(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(resp.Body)
	if errors.Is(err, errBodyTooLarge) {
		return nil, errBodyTooLarge
	}
	return b, err
}
