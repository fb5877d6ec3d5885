package registryauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// DefaultTimeout bounds each request when Options.Timeout is zero: long
// enough for a token server across an ocean, short enough that a dead
// endpoint does not hang a pull.
const DefaultTimeout = 5 * time.Second

// DefaultClientID is the OAuth2 client_id the flow sends to token servers.
const DefaultClientID = "docker-credential-notation"

// maxTokenResponse bounds a token response body. A token is a few
// kilobytes (a JWT with a long access list, an ACR or ECR token: under
// 4 KiB); 128 KiB is what oras-go allows, far above any real response and
// small enough that a hostile or broken server cannot exhaust memory.
const maxTokenResponse = 128 << 10

// maxErrorBody bounds what is read of any other response: only an error
// message for the user is wanted from it.
const maxErrorBody = 4 << 10

// Options configures a Client. The zero value is usable.
type Options struct {
	// Timeout bounds each request: connecting, the TLS handshake, the
	// response headers and reading the body. Zero means DefaultTimeout.
	Timeout time.Duration
	// Insecure lists hosts (host or host:port) that may be reached over
	// plain HTTP, as loopback hosts always may. It never disables
	// certificate verification. An entry without a port matches every port.
	Insecure []string
	// CertsDirs are the certs.d roots to read per-host CA certificates
	// (*.crt) and client certificates (*.cert with *.key) from, in docker's
	// layout <root>/<host[:port]>/. Nil means DefaultCertsDirs(os.Getenv);
	// an empty, non-nil slice reads none.
	CertsDirs []string
	// ClientID is the OAuth2 client_id. Empty means DefaultClientID.
	ClientID string
	// UserAgent is sent with every request. Empty sends Go's default.
	UserAgent string
	// Offline asks the token server for a refresh token too
	// (access_type=offline on the OAuth2 POST, offline_token=true on the
	// GET). Off by default: a token server that rotates refresh tokens
	// would otherwise replace the stored one on every request.
	Offline bool
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logf, if set, receives one line per request and decision, for debug
	// output. Secrets never appear in it.
	Logf func(format string, args ...any)

	// Challenges remembers each registry's challenge between runs, so
	// that Authenticate skips the ping. Nil remembers nothing.
	Challenges ChallengeMemory
	// Tokens keeps the tokens of token services between runs. Nil keeps
	// none.
	Tokens TokenMemory
	// Refresh ignores what Challenges and Tokens remember: the full flow
	// runs, and what it learns replaces what they hold (--no-cache).
	Refresh bool
	// Unconfirmed returns a token obtained with a remembered challenge
	// without presenting it to /v2/ first (the token command: its caller
	// presents it). Off, Authenticate always confirms.
	Unconfirmed bool

	// dialContext replaces the dialer, so that tests can serve any host
	// name from a local listener.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client runs the registry authentication flow.
type Client struct {
	opts    Options
	timeout time.Duration
	policy  httppolicy.Policy
	http    *http.Client
	// requests counts the requests sent.
	requests atomic.Int64
}

// New returns a Client. getenv supplies the default certs.d roots when
// opts.CertsDirs is nil (os.Getenv outside tests).
func New(opts Options, getenv func(string) string) *Client {
	c := &Client{opts: opts, timeout: opts.Timeout}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.opts.ClientID == "" {
		c.opts.ClientID = DefaultClientID
	}
	if c.opts.Now == nil {
		c.opts.Now = time.Now
	}
	certsDirs := opts.CertsDirs
	if certsDirs == nil {
		certsDirs = DefaultCertsDirs(getenv)
	}
	c.policy = httppolicy.Policy{
		Timeout:      c.timeout,
		Insecure:     opts.Insecure,
		InsecureHint: "allow it with --insecure",
		CertsDirs:    certsDirs,
		// Registries redirect blob and token requests to other hosts
		// (CDNs, a token service): follow, without the credential.
		Redirects:     httppolicy.FollowDropCredentials,
		AnonymousHTTP: true,
		MaxBody:       maxTokenResponse,
		DialContext:   opts.dialContext,
		Logf:          opts.Logf,
	}
	c.http = c.policy.Client()
	return c
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

// Endpoint is a registry as the flow reaches it.
type Endpoint struct {
	// Key is the registry's key in the store.
	Key helper.Key
	// Host is host[:port] as dialled (registry-1.docker.io for Docker Hub).
	Host string
	// Scheme is "https" or "http" when the registry was given with one, ""
	// when not (https, falling back to http for a host that allows it).
	Scheme string
}

// ParseRegistry reads a registry as a user names it: host[:port], with an
// optional http:// or https:// and an optional /v1/ or /v2/ (so docker's
// https://index.docker.io/v1/ works). A repository path is refused.
func ParseRegistry(s string) (Endpoint, error) {
	key, err := helper.ParseServerURL(s)
	if err != nil {
		return Endpoint{}, err
	}
	if strings.Contains(key.String(), "/") {
		return Endpoint{}, fmt.Errorf("invalid registry %q: want host[:port], without a repository path", s)
	}
	e := Endpoint{Key: key, Host: key.String()}
	if e.Host == "docker.io" {
		e.Host = "registry-1.docker.io"
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "https://"):
		e.Scheme = "https"
	case strings.HasPrefix(lower, "http://"):
		e.Scheme = "http"
	}
	return e, nil
}

// Method says how a credential was presented.
const (
	MethodNone          = "none"
	MethodBasic         = "Basic credentials on every request"
	MethodOAuthRefresh  = "OAuth2 POST, refresh_token grant"
	MethodOAuthPassword = "OAuth2 POST, password grant"
	MethodTokenGET      = "token GET with Basic credentials"
	MethodRemembered    = "a token remembered from an earlier request"
)

// Result is what the flow found and did. Fields are filled as far as the
// flow got, so a failed run still says what the registry asked for.
type Result struct {
	// Registry is the endpoint's host[:port].
	Registry string
	// PingURL is the /v2/ URL that answered.
	PingURL string
	// Anonymous is set when /v2/ answered 200 without credentials.
	Anonymous bool
	// Challenges are every challenge of the registry's 401.
	Challenges []Challenge
	// Scheme is the scheme answered: SchemeBasic, SchemeBearer, or "".
	Scheme string
	// Realm, Service and Scopes are the Bearer challenge's realm and
	// service and the scopes asked for.
	Realm, Service string
	Scopes         []string
	// Method is how the credential was presented (the Method constants).
	Method string
	// Token is the Bearer grant.
	Token *Token
	// Authenticated is set once the registry accepted the credential (for
	// Basic) or the token (for Bearer) on /v2/.
	Authenticated bool
	// Remembered is set when the challenge came from Options.Challenges,
	// without a ping.
	Remembered bool
	// Cached is set when the token came from Options.Tokens.
	Cached bool
	// Requests is the number of HTTP requests the call sent.
	Requests int
}

// ErrRejected is matched (errors.Is) by the error for a credential that
// the registry or its token server refused (401, 403, or OAuth2
// invalid_grant).
var ErrRejected = errors.New("the credential was rejected")

// rejection is a refused credential: what was refused, and the answer.
type rejection struct {
	what string
	err  error
}

func (e *rejection) Error() string        { return e.what + " was rejected: " + e.err.Error() }
func (e *rejection) Unwrap() error        { return e.err }
func (e *rejection) Is(target error) bool { return target == ErrRejected }

// rejected words the refusal of cred.
func rejected(cred helper.Credentials, err error) error {
	what := "the user name or password"
	if cred.Username == helper.IdentityTokenUsername {
		what = "the identity token"
	}
	return &rejection{what: what, err: err}
}

// ErrUnsupported is wrapped by the error for a challenge or token server
// the flow cannot answer with the credential it has.
var ErrUnsupported = errors.New("unsupported authentication")

// StatusError is an unexpected HTTP status.
type StatusError struct {
	// Server is "registry" or "token server".
	Server string
	// URL is the request's URL.
	URL string
	// StatusCode and Status are the response's.
	StatusCode int
	Status     string
	// Message is the server's message, shortened and made printable.
	Message string
	// Code is the OAuth2 error code, if the body had one.
	Code string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("the %s at %s answered %s", e.Server, e.URL, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Authenticate runs the flow of the registry authentication specification
// against registry with cred: ping /v2/; when it answers 401, answer its
// challenge (Basic: the credential itself; Bearer: a token from the realm,
// for scopes); then ping /v2/ again with the credential or token to
// confirm. A nil cred only pings. The Result is filled as far as the flow
// got, also on error.
//
// Reference: https://github.com/notaryproject/notation/blob/main/specs/registry-auth.md
//
// With Options.Challenges, a registry whose challenge is remembered is not
// pinged: Basic sends the credential on /v2/ at once, Bearer asks the
// remembered realm for a token at once (or takes one from Options.Tokens)
// and confirms it, unless Options.Unconfirmed. A 401 there, or a token
// request that fails other than by a timeout, forgets the challenge (and a
// refused token) and runs the full flow, once.
func (c *Client) Authenticate(ctx context.Context, registry Endpoint, cred *helper.Credentials, scopes []string) (r *Result, err error) {
	before := c.requests.Load()
	defer func() { r.Requests = int(c.requests.Load() - before) }()
	if cred != nil && c.opts.Challenges != nil && !c.opts.Refresh {
		if mem, ok := c.opts.Challenges.Recall(registry.Host); ok {
			r, err, stale := c.remembered(ctx, registry, *cred, scopes, mem)
			if !stale {
				return r, err
			}
			c.logf("the remembered %s challenge of %s is stale (%v); asking /v2/ again", mem.Scheme, registry.Host, err)
			c.forgetChallenge(registry.Host)
		}
	}
	return c.authenticate(ctx, registry, cred, scopes)
}

// authenticate is the full flow.
func (c *Client) authenticate(ctx context.Context, registry Endpoint, cred *helper.Credentials, scopes []string) (*Result, error) {
	r := &Result{Registry: registry.Host, Scopes: append([]string(nil), scopes...)}
	if registry.Scheme == "http" && cred != nil {
		// Refuse before any request: the credential could not be used.
		if err := c.policy.CheckURL(&url.URL{Scheme: "http", Host: registry.Host, Path: "/v2/"}, "registry"); err != nil {
			return r, err
		}
	}
	resp, ping, err := c.ping(ctx, registry)
	if err != nil {
		return r, err
	}
	r.PingURL = ping.String()
	switch resp.StatusCode {
	case http.StatusOK:
		r.Anonymous = true
		r.Scheme = ""
		r.Method = MethodNone
		c.logf("%s needs no authentication", registry.Host)
		c.forgetChallenge(registry.Host)
		return r, nil
	case http.StatusUnauthorized:
	default:
		return r, c.statusError("registry", ping, resp.StatusCode, resp.Status, resp.Body, nil)
	}
	r.Challenges, err = ParseChallenges(resp.Header.Values("Www-Authenticate"))
	if err != nil {
		c.logf("WWW-Authenticate: %v", err)
	}
	bearer, hasBearer := Find(r.Challenges, SchemeBearer)
	basic, hasBasic := Find(r.Challenges, SchemeBasic)
	switch {
	case hasBearer:
		r.Scheme = SchemeBearer
		r.Realm, r.Service = bearer.Realm(), bearer.Service()
		if s := bearer.Scope(); s != "" {
			for _, sc := range strings.Fields(s) {
				if !contains(r.Scopes, sc) {
					r.Scopes = append(r.Scopes, sc)
				}
			}
		}
	case hasBasic:
		r.Scheme = SchemeBasic
		r.Realm = basic.Realm()
	case len(r.Challenges) == 0 && err != nil:
		return r, fmt.Errorf("failed to read the registry's challenge: %v", err)
	case len(r.Challenges) == 0:
		return r, fmt.Errorf("%w: the registry answered 401 without a WWW-Authenticate challenge", ErrUnsupported)
	default:
		names := make([]string, len(r.Challenges))
		for i, ch := range r.Challenges {
			names[i] = ch.Scheme
		}
		return r, fmt.Errorf("%w: the registry asks for %s; only Basic and Bearer are supported", ErrUnsupported, strings.Join(names, ", "))
	}
	learned := Remembered{Scheme: r.Scheme, Realm: r.Realm, Service: r.Service, URL: ping.Scheme}
	if c.opts.Challenges != nil {
		if old, ok := c.opts.Challenges.Recall(registry.Host); ok && old.same(Remembered{Scheme: learned.Scheme, Realm: learned.Realm, Service: learned.Service, URL: learned.URL, TokenGET: old.TokenGET}) {
			learned.TokenGET = old.TokenGET
		}
	}
	defer func() { c.rememberChallenge(registry.Host, learned) }()
	if cred == nil {
		return r, nil
	}
	if err := c.policy.CheckURL(ping, "registry"); err != nil {
		return r, err
	}
	isIdentity := cred.Username == helper.IdentityTokenUsername

	if r.Scheme == SchemeBasic {
		if isIdentity {
			return r, fmt.Errorf("%w: the registry asks for Basic authentication, but the stored credential is an identity token", ErrUnsupported)
		}
		r.Method = MethodBasic
		if strings.Contains(cred.Username, ":") {
			return r, fmt.Errorf("%w: the user name contains ':', which Basic authentication cannot carry", ErrUnsupported)
		}
		if err := c.confirm(ctx, ping, func(req *http.Request) { req.SetBasicAuth(cred.Username, cred.Secret) }, cred, false); err != nil {
			return r, err
		}
		r.Authenticated = true
		return r, nil
	}

	realm, err := c.checkRealm(r.Realm, ping)
	if err != nil {
		return r, err
	}
	id := newTokenID(registry, *cred, r.Realm, r.Service, r.Scopes)
	tok, err := c.obtainToken(ctx, r, realm, id, *cred, !c.opts.Refresh, false)
	if err != nil {
		return r, err
	}
	if !r.Cached {
		// Next time, no OAuth2 POST that this token server refuses.
		learned.TokenGET = r.Method == MethodTokenGET
	}
	err = c.confirmToken(ctx, ping, tok, cred)
	if err != nil && r.Cached && unauthorized(err) {
		// The remembered token was refused (the token server's key
		// rotated, or the token was revoked): once more, with a new one.
		c.logf("the registry refused the remembered token; asking the token server again")
		c.forgetToken(ctx, id, tok)
		if tok, err = c.obtainToken(ctx, r, realm, id, *cred, false, false); err != nil {
			return r, err
		}
		err = c.confirmToken(ctx, ping, tok, cred)
	}
	if err != nil {
		return r, err
	}
	r.Authenticated = true
	return r, nil
}

// remembered runs the flow with a remembered challenge, without a ping.
// stale reports a failure that the full flow may not have: a 401, a
// failed token request (other than a timeout), a remembered challenge the
// rules now refuse.
func (c *Client) remembered(ctx context.Context, registry Endpoint, cred helper.Credentials, scopes []string, mem Remembered) (r *Result, err error, stale bool) {
	r = &Result{Registry: registry.Host, Scopes: append([]string(nil), scopes...), Remembered: true, Scheme: mem.Scheme, Realm: mem.Realm, Service: mem.Service}
	if registry.Scheme != "" && registry.Scheme != mem.URL {
		return r, fmt.Errorf("it was learned over %s", mem.URL), true
	}
	ping := &url.URL{Scheme: mem.URL, Host: registry.Host, Path: "/v2/"}
	r.PingURL = ping.String()
	if err := c.policy.CheckURL(ping, "registry"); err != nil {
		return r, err, true
	}
	c.logf("%s: using the remembered %s challenge", registry.Host, mem.Scheme)
	switch mem.Scheme {
	case SchemeBasic:
		if cred.Username == helper.IdentityTokenUsername || strings.Contains(cred.Username, ":") {
			// The full flow says why this cannot work.
			return r, errors.New("the credential cannot answer it"), true
		}
		r.Method = MethodBasic
		err := c.confirm(ctx, ping, func(req *http.Request) { req.SetBasicAuth(cred.Username, cred.Secret) }, &cred, false)
		if err != nil {
			return r, err, unauthorized(err)
		}
		r.Authenticated = true
		return r, nil, false
	case SchemeBearer:
		realm, err := c.checkRealm(mem.Realm, ping)
		if err != nil {
			return r, err, true
		}
		id := newTokenID(registry, cred, mem.Realm, mem.Service, r.Scopes)
		tok, err := c.obtainToken(ctx, r, realm, id, cred, true, mem.TokenGET)
		if err != nil {
			// The realm may have moved (a 404, a host that is gone) or
			// the credential changed (a 401): the registry's challenge
			// says. Not after a timeout, which would only double the wait.
			return r, err, ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded)
		}
		if c.opts.Unconfirmed {
			return r, nil, false
		}
		if err := c.confirmToken(ctx, ping, tok, &cred); err != nil {
			if unauthorized(err) && r.Cached {
				c.forgetToken(ctx, id, tok)
			}
			return r, err, unauthorized(err)
		}
		r.Authenticated = true
		return r, nil, false
	}
	return r, fmt.Errorf("unknown scheme %q", mem.Scheme), true
}

// obtainToken gets a token for id from the realm, or from Options.Tokens
// when reuse, and fills r's Token, Method and Cached.
func (c *Client) obtainToken(ctx context.Context, r *Result, realm *url.URL, id TokenID, cred helper.Credentials, reuse, getOnly bool) (*Token, error) {
	var method string
	fetch := func(ctx context.Context) (*Token, error) {
		tok, m, err := c.fetchToken(ctx, realm, r.Service, r.Scopes, cred, getOnly)
		method = m
		return tok, err
	}
	var (
		tok    *Token
		cached bool
		err    error
	)
	if c.opts.Tokens == nil {
		tok, err = fetch(ctx)
	} else {
		tok, cached, err = c.opts.Tokens.Obtain(ctx, id, reuse, fetch)
	}
	r.Token, r.Cached, r.Method = tok, cached, method
	if cached {
		r.Method = MethodRemembered
		c.logf("using the remembered token for %q (%v)", id.Scopes, tok)
	}
	return tok, err
}

// confirmToken presents tok on /v2/.
func (c *Client) confirmToken(ctx context.Context, ping *url.URL, tok *Token, cred *helper.Credentials) error {
	return c.confirm(ctx, ping, func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+tok.AccessToken) }, cred, true)
}

func (c *Client) rememberChallenge(host string, r Remembered) {
	if c.opts.Challenges == nil {
		return
	}
	if err := c.opts.Challenges.Remember(host, r); err != nil {
		c.logf("failed to remember the challenge of %s: %v", host, err)
	}
}

func (c *Client) forgetChallenge(host string) {
	if c.opts.Challenges == nil {
		return
	}
	if err := c.opts.Challenges.Forget(host); err != nil {
		c.logf("failed to forget the challenge of %s: %v", host, err)
	}
}

func (c *Client) forgetToken(ctx context.Context, id TokenID, tok *Token) {
	if c.opts.Tokens == nil {
		return
	}
	if err := c.opts.Tokens.Forget(ctx, id, tok.AccessToken); err != nil {
		c.logf("failed to forget the refused token: %v", err)
	}
}

// unauthorized reports whether err is a server's 401.
func unauthorized(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ping sends GET /v2/ without credentials. With no scheme given it tries
// https and, for a host that may use plain HTTP, falls back to http when
// the HTTPS attempt fails below HTTP (as docker does for insecure
// registries and notation for localhost). The response body is closed,
// with up to maxErrorBody bytes kept for an error message.
func (c *Client) ping(ctx context.Context, e Endpoint) (*http.Response, *url.URL, error) {
	schemes := []string{e.Scheme}
	if e.Scheme == "" {
		schemes = []string{"https"}
		if c.policy.PlainHTTPAllowed(&url.URL{Scheme: "http", Host: e.Host}) {
			schemes = append(schemes, "http")
		}
	}
	var httpsErr error
	for _, scheme := range schemes {
		u := &url.URL{Scheme: scheme, Host: e.Host, Path: "/v2/"}
		resp, err := c.do(ctx, http.MethodGet, u, nil, nil)
		switch {
		case err == nil && httpsErr != nil && resp.StatusCode == http.StatusBadRequest:
			// A TLS server answering plain HTTP ("Client sent an HTTP
			// request to an HTTPS server"): what failed was TLS.
			return nil, nil, httpsErr
		case err == nil:
			return resp, u, nil
		case httpsErr != nil:
			// One line, and both causes still match errors.Is.
			return nil, nil, fmt.Errorf("%w; %w", httpsErr, err)
		case ctx.Err() != nil || speaksTLS(err):
			// A certificate that does not verify or a TLS alert: the
			// server speaks TLS, and plain HTTP would only hide why it
			// failed.
			return nil, nil, err
		}
		httpsErr = err
	}
	return nil, nil, httpsErr
}

// speaksTLS reports whether err shows that the server answered in TLS.
func speaksTLS(err error) bool {
	var (
		verr  *tls.CertificateVerificationError
		alert tls.AlertError
		uerr  x509.UnknownAuthorityError
		herr  x509.HostnameError
		cerr  x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &alert) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}

// do sends one request and returns the response with its body read (up
// to maxErrorBody) and closed: the flow only needs status, headers and an
// error message from /v2/.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body io.Reader, set func(*http.Request)) (*http.Response, error) {
	resp, err := c.send(ctx, method, u, body, set)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, c.requestError(method, u, err)
	}
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp, nil
}

// send sends one request; the caller closes the body.
func (c *Client) send(ctx context.Context, method string, u *url.URL, body io.Reader, set func(*http.Request)) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	if set != nil {
		set(req)
	}
	start := time.Now()
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		c.logf("%s %s: %v", method, redactURL(u), err)
		return nil, c.requestError(method, u, err)
	}
	c.logf("%s %s: %s (%s)", method, redactURL(u), resp.Status, time.Since(start).Round(time.Millisecond))
	return resp, nil
}

// requestError words a failed request; a timeout says how long it waited.
func (c *Client) requestError(method string, u *url.URL, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if httppolicy.IsTimeout(err) {
		return fmt.Errorf("failed to %s %s: no answer within %s: %w", method, redactURL(u), c.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("failed to %s %s: %w", method, redactURL(u), err)
}

// statusError builds a StatusError from a response, with the server's
// message from body (already bounded by do), scrubbed of secrets.
func (c *Client) statusError(server string, u *url.URL, code int, status string, body io.Reader, secrets *scrub.Secrets) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	ec, msg := errorMessage(b)
	return &StatusError{Server: server, URL: redactURL(u), StatusCode: code, Status: status, Message: secrets.Line(msg), Code: secrets.Line(ec)}
}

// secretsOf is what must not appear in a server's answer to a request with
// cred: its secret in any encoding, and its Basic credential.
func secretsOf(cred helper.Credentials) *scrub.Secrets {
	return scrub.New().AddBasic(cred.Username, cred.Secret)
}

// confirm pings /v2/ again with the credential (Basic) or the token
// (bearer) set by auth. The credential's secret is scrubbed from any
// server message. A refused token is not a refused credential: the token
// server accepted the credential, so the registry and its token server
// disagree.
func (c *Client) confirm(ctx context.Context, ping *url.URL, auth func(*http.Request), cred *helper.Credentials, bearer bool) error {
	secrets := secretsOf(*cred)
	resp, err := c.do(ctx, http.MethodGet, ping, nil, auth)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		se := c.statusError("registry", ping, resp.StatusCode, resp.Status, resp.Body, secrets)
		if cs, _ := ParseChallenges(resp.Header.Values("Www-Authenticate")); len(cs) > 0 {
			if e := cs[0].Params["error"]; e != "" && se.Message == "" {
				se.Message = secrets.Line(e + " " + cs[0].Params["error_description"])
			}
		}
		if bearer {
			return fmt.Errorf("the registry refused the token its token server issued: %w", se)
		}
		return rejected(*cred, se)
	}
	return c.statusError("registry", ping, resp.StatusCode, resp.Status, resp.Body, secrets)
}

// checkRealm parses a Bearer realm and refuses one that would receive the
// credential insecurely: it must be an absolute http(s) URL, HTTPS unless
// its host may use plain HTTP, never plain HTTP for a registry reached
// over HTTPS (a downgrade; oras-go 2.7 refuses it too), and on loopback
// only when the registry's host name is the same (a remote registry must
// not steer credentials to a service on this machine; crane, oras and
// notation have the same rule).
func (c *Client) checkRealm(realm string, registry *url.URL) (*url.URL, error) {
	if realm == "" {
		return nil, fmt.Errorf("%w: the registry's Bearer challenge has no realm", ErrUnsupported)
	}
	u, err := url.Parse(realm)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: the realm %q is not an absolute URL", ErrUnsupported, scrub.Line(realm))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: the realm %s holds user information", ErrUnsupported, redactURL(u))
	}
	if err := c.policy.CheckURL(u, "token realm"); err != nil {
		return nil, err
	}
	if httppolicy.IsLoopback(u.Hostname()) && !strings.EqualFold(u.Hostname(), registry.Hostname()) {
		return nil, fmt.Errorf("%w: the token realm %s is on loopback but the registry %s is not on that host", ErrUnsupported, redactURL(u), registry.Host)
	}
	if strings.EqualFold(registry.Scheme, "https") && !strings.EqualFold(u.Scheme, "https") {
		return nil, fmt.Errorf("%w to the token realm %s: the registry was reached over HTTPS, and its realm must be too", ErrInsecure, redactURL(u))
	}
	return u, nil
}
