// Package httppolicy is the one set of rules for every HTTP request the
// helper makes with a credential: to a registry, its token server or an
// OAuth2 provider. A [Policy] says who may be reached over plain HTTP and
// how redirects are followed; [Policy.Client] returns the *http.Client that
// enforces it:
//
//   - HTTPS, with TLS 1.2 or later and verified certificates (the system
//     roots, plus docker's certs.d CAs and client certificates per host);
//     plain HTTP only to a loopback host or one the policy lists as insecure.
//     The rule is checked on every request, redirects included.
//   - Redirects follow [Redirects]: within the origin only (a token request
//     carries its secret in the body), or to another host without the
//     Authorization header and never with a request body (a registry sends
//     blobs to a CDN).
//   - Every request bounded in time (dial, TLS handshake, response headers,
//     the whole exchange) and every response body bounded in size: a read
//     past the bound fails with [ErrBodyTooLarge] rather than truncating.
//
// Reference: https://docs.docker.com/engine/security/certificates/ (certs.d).
package httppolicy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each request when Policy.Timeout is zero: long
// enough for a server across an ocean, short enough that a dead one fails a
// `docker pull` quickly rather than hanging it.
const DefaultTimeout = 5 * time.Second

// DefaultMaxBody bounds every response body when Policy.MaxBody is zero.
// Token responses and discovery documents are a few KiB (a JWT with many
// claims stays under 16 KiB); 256 KiB leaves room for any real one while a
// hostile or broken server cannot make the helper buffer more.
const DefaultMaxBody = 256 << 10

// maxRedirects bounds the redirects followed for one request.
const maxRedirects = 10

// ErrInsecure is wrapped by the error for a request that would send a
// credential over plain HTTP to a host that is neither on loopback nor
// allowed by the policy.
var ErrInsecure = errors.New("refusing plain HTTP")

// ErrBodyTooLarge is wrapped by the error of a response body read past the
// policy's bound.
var ErrBodyTooLarge = errors.New("response body is too large")

// Redirects says how a client follows redirects.
type Redirects int

const (
	// FollowSameOrigin follows a redirect only to the same scheme, host and
	// port: a 307 or 308 would re-send a token request's form, and with it
	// the refresh token or client secret, so another host is an error.
	FollowSameOrigin Redirects = iota
	// FollowDropCredentials follows a redirect to another host without the
	// Authorization header, and refuses one whose request has a body.
	FollowDropCredentials
)

// Policy is the set of rules for one client. The zero value allows HTTPS
// only (plain HTTP to loopback), follows redirects within the origin,
// reads no certs.d directory and uses DefaultTimeout and DefaultMaxBody.
type Policy struct {
	// Timeout bounds each request: connecting, the TLS handshake, the
	// response headers and the whole exchange. Zero means DefaultTimeout.
	Timeout time.Duration
	// Insecure lists hosts (host or host:port, optionally with a scheme or
	// a trailing slash) that may be reached over plain HTTP, as loopback
	// hosts always may. An entry without a port matches every port. It
	// never disables certificate verification.
	Insecure []string
	// AnonymousHTTP allows plain HTTP to any host for a GET or HEAD that
	// carries no credential (no Authorization header, no body): a
	// registry's anonymous ping, which reports what it asks for.
	AnonymousHTTP bool
	// AllowHTTP allows plain HTTP to every host (a provider configured
	// with "insecure": true). It never disables certificate verification.
	AllowHTTP bool
	// InsecureHint is added to the error for a refused plain-HTTP URL: how
	// the user allows it. Empty says nothing.
	InsecureHint string
	// CertsDirs are the certs.d roots to read per-host CA certificates
	// (*.crt) and client certificates (*.cert with *.key) from, in docker's
	// layout <root>/<host[:port]>/. Nil reads none.
	CertsDirs []string
	// Redirects is the redirect rule. The zero value is FollowSameOrigin.
	Redirects Redirects
	// MaxBody bounds every response body. Zero means DefaultMaxBody.
	MaxBody int64
	// Transport, when set, replaces the per-host transports (tests count
	// requests with it); TLS 1.2 is still enforced on an *http.Transport.
	// The URL rule and the body bound still apply.
	Transport http.RoundTripper
	// DialContext, when set, replaces the dialer of the per-host
	// transports (tests serve any host name from a local listener).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logf, when set, receives one line per decision (a certs.d file used,
	// an Authorization header dropped). Secrets never appear in it.
	Logf func(format string, args ...any)
}

func (p *Policy) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

func (p *Policy) maxBody() int64 {
	if p.MaxBody > 0 {
		return p.MaxBody
	}
	return DefaultMaxBody
}

func (p *Policy) logf(format string, args ...any) {
	if p.Logf != nil {
		p.Logf(format, args...)
	}
}

// Client returns an *http.Client that enforces the policy. Its transports
// are made per host on first use, so building one costs nothing.
func (p Policy) Client() *http.Client {
	pol := &p
	pol.Insecure = normalizeHosts(p.Insecure)
	rt := &policyTransport{p: pol, base: pol.Transport}
	if rt.base == nil {
		rt.base = &hostTransports{p: pol}
	} else if t, ok := rt.base.(*http.Transport); ok && (t.TLSClientConfig == nil || t.TLSClientConfig.MinVersion < tls.VersionTLS12) {
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.MinVersion = tls.VersionTLS12
		rt.base = t
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       pol.timeout(),
		CheckRedirect: pol.checkRedirect,
	}
}

func normalizeHosts(list []string) []string {
	var out []string
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		if i := strings.Index(e, "://"); i >= 0 {
			e = e[i+3:]
		}
		if e = strings.TrimSuffix(e, "/"); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// IsLoopback reports whether host (a host name or IP literal, without a
// port; brackets allowed) is "localhost" or a loopback address
// (127.0.0.0/8, ::1, and their IPv4-mapped forms).
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// HostKey is host[:port] of u, lower case, without the scheme's default
// port: the name of the host's certs.d directory, and what an Insecure
// entry is compared with.
func HostKey(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return host
	}
	return host + ":" + port
}

// Redact is u without user information, for messages.
func Redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = nil
	return v.String()
}

// PlainHTTPAllowed reports whether u may be reached over plain HTTP: its
// host is on loopback, the policy allows HTTP everywhere, or the host
// matches an Insecure entry.
func (p *Policy) PlainHTTPAllowed(u *url.URL) bool {
	if p.AllowHTTP || IsLoopback(u.Hostname()) {
		return true
	}
	k := HostKey(u)
	name := strings.ToLower(u.Hostname())
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, e := range normalizeHosts(p.Insecure) {
		if e == k || e == name || e == name+":"+port {
			return true
		}
	}
	return false
}

// CheckURL refuses a URL that would carry credentials insecurely: it must be
// https, or http to a host PlainHTTPAllowed allows. what names the URL in
// the message ("token URL", "redirect to").
func (p *Policy) CheckURL(u *url.URL, what string) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if p.PlainHTTPAllowed(u) {
			return nil
		}
		hint := ""
		if p.InsecureHint != "" {
			hint = " (" + p.InsecureHint + ")"
		}
		return fmt.Errorf("%w to the %s %s: credentials are sent only over HTTPS, or to a loopback address%s", ErrInsecure, what, Redact(u), hint)
	}
	return fmt.Errorf("%s %s: unsupported URL scheme %q (want https)", what, Redact(u), u.Scheme)
}

// ParseEndpoint parses an endpoint URL from configuration or a discovery
// document: absolute, with a host, no user information, no fragment, and
// allowed by CheckURL. what names it in messages ("token URL").
func (p *Policy) ParseEndpoint(what, raw string) (*url.URL, error) {
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
	if err := p.CheckURL(u, what); err != nil {
		return nil, fmt.Errorf("invalid %s: %v", what, err)
	}
	return u, nil
}

// SameOrigin reports whether a and b have the same scheme, host and port.
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && HostKey(a) == HostKey(b)
}

func (p *Policy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if err := p.CheckURL(req.URL, "redirect target"); err != nil {
		return err
	}
	orig := via[0]
	if SameOrigin(req.URL, orig.URL) {
		return nil
	}
	if p.Redirects == FollowSameOrigin {
		return fmt.Errorf("refused to follow a redirect from %s to another host, %s: credentials are never forwarded", HostKey(orig.URL), HostKey(req.URL))
	}
	req.Header.Del("Authorization")
	if req.GetBody != nil || (req.Body != nil && req.Body != http.NoBody) {
		return fmt.Errorf("refusing to follow a redirect from %s to %s: the request carries credentials in its body", HostKey(orig.URL), HostKey(req.URL))
	}
	p.logf("redirect to another host %s: Authorization dropped", HostKey(req.URL))
	return nil
}

// IsTimeout reports whether err is a request that ran out of time.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// ReadBody reads a whole response body, which the policy bounds.
func ReadBody(resp *http.Response) ([]byte, error) {
	return io.ReadAll(resp.Body)
}

// policyTransport checks the URL rule on every request, redirects
// included, and bounds every response body.
type policyTransport struct {
	p    *Policy
	base http.RoundTripper
}

func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.p.AnonymousHTTP && carriesNoCredential(req) {
		// Allowed by the policy: nothing secret goes out.
	} else if err := t.p.CheckURL(req.URL, "URL"); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	limit := t.p.maxBody()
	resp.Body = &boundedBody{rc: resp.Body, left: limit, limit: limit, ctx: req.Context()}
	return resp, nil
}

func carriesNoCredential(req *http.Request) bool {
	return req.Header.Get("Authorization") == "" && (req.Body == nil || req.Body == http.NoBody) &&
		(req.Method == http.MethodGet || req.Method == http.MethodHead)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// per-host transports.
func (t *policyTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// boundedBody fails a read past its limit instead of truncating silently,
// so that an oversized answer is reported as such, not as malformed JSON.
// Likewise a body that ends after its request ran out of time (a server
// that closes the stream when the client gives up) ends with the
// context's error, not io.EOF: it was cut, not complete.
type boundedBody struct {
	rc          io.ReadCloser
	left, limit int64
	ctx         context.Context
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: larger than %d bytes", ErrBodyTooLarge, b.limit)
		}
		if err == io.EOF && b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if err == io.EOF && b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

// hostTransports is an http.RoundTripper with one http.Transport per host,
// each with that host's certs.d CAs and client certificates.
type hostTransports struct {
	p  *Policy
	mu sync.Mutex
	m  map[string]*http.Transport
}

func (h *hostTransports) RoundTrip(req *http.Request) (*http.Response, error) {
	t, err := h.transport(req.URL)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.RoundTrip(req)
}

func (h *hostTransports) transport(u *url.URL) (*http.Transport, error) {
	key := HostKey(u)
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.m[key]; ok {
		return t, nil
	}
	tlsConfig, err := h.p.tlsConfig(key)
	if err != nil {
		return nil, err
	}
	timeout := h.p.timeout()
	dial := (&net.Dialer{Timeout: timeout, KeepAlive: timeout}).DialContext
	if h.p.DialContext != nil {
		dial = h.p.DialContext
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: timeout,
		IdleConnTimeout:       timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
	}
	if h.m == nil {
		h.m = map[string]*http.Transport{}
	}
	h.m[key] = t
	return t, nil
}

func (h *hostTransports) CloseIdleConnections() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.m {
		t.CloseIdleConnections()
	}
}
