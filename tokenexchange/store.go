package tokenexchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
	"github.com/notaryproject/docker-credential-notation/internal/hostpattern"
	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
)

// DefaultUsername is the username get returns with an access token when a
// registry's settings name none: Google Artifact Registry's convention
// (GitLab uses "oauth2").
const DefaultUsername = "oauth2accesstoken"

// DefaultScopes are requested at login from a registry with an issuer and
// no scopes in its settings: an OpenID Provider issues a refresh token only
// for offline_access.
var DefaultScopes = []string{"openid", "offline_access"}

// LockFileName is the lock file, in Options.Dir, that serializes refreshes
// and writes of exchanged registries between processes.
const LockFileName = "tokenexchange.lock"

// RegistryTokensLockFileName is the lock file, in Options.Dir, that
// serializes the updates of registry tokens (UpdateRegistryTokens), apart
// from LockFileName so that a slow token service never holds up a get.
const RegistryTokensLockFileName = "registrytokens.lock"

// program names the command in hints.
const program = helper.ProgramName

// Registry is one registry's exchange settings.
type Registry struct {
	// Issuer is the OpenID Provider's issuer URL. Its discovery document
	// (Issuer + "/.well-known/openid-configuration") supplies the token and
	// device authorization endpoints that are not set below. Empty means
	// TokenURL must be set.
	Issuer string
	// TokenURL is the OAuth2 token endpoint. Empty means the discovery
	// document's token_endpoint.
	TokenURL string
	// DeviceAuthURL is the device authorization endpoint (RFC 8628). Empty
	// means the discovery document's device_authorization_endpoint.
	DeviceAuthURL string
	// ClientID is the OAuth2 client id. Required.
	ClientID string
	// ClientSecret is the client secret of a confidential client, which then
	// authenticates with HTTP Basic; empty means a public client, which sends
	// only client_id.
	ClientSecret string
	// ClientSecretEnv names the environment variable ClientSecret was read
	// from, for messages; set while ClientSecret is empty, it means the
	// variable is not set, and every exchange fails saying so.
	ClientSecretEnv string
	// Scopes are requested at login. Nil means DefaultScopes when Issuer is
	// set and none otherwise.
	Scopes []string
	// Username is the username get returns with the access token. Empty
	// means DefaultUsername.
	Username string
	// Insecure allows plain HTTP to a provider that is not on a loopback
	// address. It never disables certificate verification.
	Insecure bool
	// Timeout bounds each request to the provider; zero means
	// DefaultTimeout.
	Timeout time.Duration

	// Subject, when set, makes the registry a workload registry: get
	// exchanges the token it supplies (RFC 8693) for the registry
	// credential, nothing is stored and ClientID is optional.
	Subject SubjectSource
	// SubjectTokenType is the exchange's subject_token_type; empty means
	// TokenTypeJWT.
	SubjectTokenType string
	// Audience, Resource and RequestedTokenType are sent when set.
	Audience, Resource, RequestedTokenType string
	// TokenParams are extra form fields of the exchange (Docker Hub's
	// connection_id).
	TokenParams map[string]string
}

// Options configures a Store.
type Options struct {
	// Dir is the directory of the lock file (the store directory), created
	// with mode 0700 when needed. Required when Registries is not empty.
	Dir string
	// Registries maps a server URL, in any spelling clients use (see
	// helper.ParseServerURL), or a host pattern (internal/hostpattern:
	// "*.ci.example"), to its exchange settings. An exact key beats a
	// pattern, the most specific pattern beats the others; registries that
	// match none pass straight through to the wrapped store.
	Registries map[string]Registry
	// HTTPClient supplies the transport for requests to providers; nil means
	// a clone of http.DefaultTransport. Whatever it is, every request gets
	// the transport policy (HTTPS, TLS 1.2, timeouts, bounded bodies, no
	// redirect to another host); the client's other fields are not used.
	HTTPClient *http.Client
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Warn receives one-line warnings, such as a cached token being served
	// because the provider cannot be reached; nil discards them.
	Warn io.Writer
}

// Store wraps a helper.Store and exchanges the refresh tokens of configured
// registries for access tokens. See the package documentation.
type Store struct {
	inner    helper.Store
	lockPath string
	// registryTokensLock serializes the updates of registry tokens.
	registryTokensLock string
	now                func() time.Time
	warn               io.Writer
	base               *http.Client

	// patterns resolves a host to the pattern of its entry; patternSets
	// holds the pattern entries' settings.
	patterns    *hostpattern.Table
	patternSets map[string]Registry

	mu sync.Mutex
	// regs holds the exact entries, and the registries resolved through a
	// pattern so far.
	regs map[helper.Key]*registry
}

var _ helper.Store = (*Store)(nil)

// DefaultTimeout bounds each request to a provider when a registry's
// settings name no timeout.
const DefaultTimeout = httppolicy.DefaultTimeout

// registry is a configured registry, resolved.
type registry struct {
	Registry
	key      helper.Key
	cacheKey helper.Key
	// entry is the key of its entry in the settings: the server URL as
	// written, or the pattern that matched.
	entry  string
	policy httppolicy.Policy
	client *http.Client
}

// New wraps inner. It checks every registry's settings and touches nothing
// on disk or on the network.
func New(inner helper.Store, opts Options) (*Store, error) {
	s := &Store{inner: inner, regs: make(map[helper.Key]*registry, len(opts.Registries)), now: opts.Now, warn: opts.Warn}
	if s.now == nil {
		s.now = time.Now
	}
	if len(opts.Registries) > 0 && opts.Dir == "" {
		return nil, errors.New("tokenexchange: no directory for the lock file")
	}
	if opts.Dir != "" {
		dir, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("invalid store directory: %v", err)
		}
		s.lockPath = filepath.Join(dir, LockFileName)
		s.registryTokensLock = filepath.Join(dir, RegistryTokensLockFileName)
	}
	s.base = opts.HTTPClient
	keys := make([]string, 0, len(opts.Registries))
	for u := range opts.Registries {
		keys = append(keys, u)
	}
	table, err := hostpattern.NewTable(keys, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("invalid token exchange settings: %v", err)
	}
	s.patterns, s.patternSets = table, map[string]Registry{}
	spelled := map[helper.Key]string{}
	for u, set := range opts.Registries {
		if hostpattern.IsPattern(u) {
			// Checked on a host it matches; resolved on first use.
			if _, err := newRegistry(u, strings.ReplaceAll(u, "*", "x"), set, opts.HTTPClient); err != nil {
				return nil, err
			}
			s.patternSets[u] = set
			continue
		}
		r, err := newRegistry(u, u, set, opts.HTTPClient)
		if err != nil {
			return nil, err
		}
		if prev, ok := spelled[r.key]; ok {
			a, b := min(prev, u), max(prev, u)
			return nil, fmt.Errorf("invalid token exchange settings: %q and %q are the same registry, %s", a, b, r.key)
		}
		spelled[r.key] = u
		s.regs[r.key] = r
	}
	return s, nil
}

// lookup returns the registry key's settings apply to, or nil: its exact
// entry, else (for a key without a path) the most specific pattern.
func (s *Store) lookup(key helper.Key) *registry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.regs[key]; r != nil {
		return r
	}
	host := key.String()
	if len(s.patternSets) == 0 || strings.Contains(host, "/") {
		return nil
	}
	pattern, ok := s.patterns.Lookup(host)
	if !ok {
		return nil
	}
	r, err := newRegistry(pattern, host, s.patternSets[pattern], s.base)
	if err != nil {
		// New checked the settings on a host the pattern matches; a host
		// they fail for (its cache key) is left to the wrapped store.
		return nil
	}
	s.regs[key] = r
	return r
}

// newRegistry resolves the settings of entry for the registry serverURL.
func newRegistry(entry, serverURL string, set Registry, base *http.Client) (*registry, error) {
	fail := func(format string, args ...any) (*registry, error) {
		return nil, helper.WithHint(fmt.Errorf("invalid token exchange settings for %s: %s", redactUserinfo(entry), fmt.Sprintf(format, args...)),
			fmt.Sprintf("fix or remove the \"registries\" entry for %s in the config file; '%s config' shows where it is", redactUserinfo(entry), program))
	}
	key, err := helper.ParseServerURL(serverURL)
	if err != nil {
		return fail("%v", err)
	}
	if isReserved(key) {
		return fail("%q is reserved for the helper's own keys", reservedMarker)
	}
	ck, err := cacheKey(key)
	if err != nil {
		return fail("%v", err)
	}
	r := &registry{Registry: set, key: key, cacheKey: ck, entry: entry}
	r.Scopes = slices.Clone(set.Scopes)
	switch {
	case r.ClientID == "" && !r.workload():
		return fail("no client id")
	case r.ClientSecretEnv != "" && r.ClientID == "":
		return fail("a client secret without a client id")
	case r.workload() && r.DeviceAuthURL != "":
		return fail("a device authorization URL for a registry with a subject token")
	case r.Issuer == "" && r.TokenURL == "":
		return fail("neither an issuer nor a token URL")
	case r.Username == helper.IdentityTokenUsername:
		return fail("username %q would make clients take the access token for a refresh token", r.Username)
	case r.Timeout < 0:
		return fail("negative timeout")
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	r.policy = httppolicy.Policy{
		Timeout:      r.Timeout,
		AllowHTTP:    r.Insecure,
		InsecureHint: `plain HTTP is allowed with "insecure": true in the registry's settings`,
		// A token request carries the refresh token and client secret
		// in its body: no redirect leaves the provider's origin.
		Redirects: httppolicy.FollowSameOrigin,
	}
	if base != nil {
		r.policy.Transport = base.Transport
	}
	for _, e := range []struct{ what, v string }{{"issuer", r.Issuer}, {"token URL", r.TokenURL}, {"device authorization URL", r.DeviceAuthURL}} {
		if e.v == "" {
			continue
		}
		u, err := r.policy.ParseEndpoint(e.what, e.v)
		if err != nil {
			return fail("%v", err)
		}
		if e.what == "issuer" && u.RawQuery != "" {
			return fail("invalid issuer %q: must not contain a query", e.v)
		}
	}
	if r.Username == "" {
		r.Username = DefaultUsername
	}
	if r.workload() && r.SubjectTokenType == "" {
		r.SubjectTokenType = TokenTypeJWT
	}
	if r.Scopes == nil && r.Issuer != "" && !r.workload() {
		r.Scopes = slices.Clone(DefaultScopes)
	}
	r.client = r.policy.Client()
	return r, nil
}

// redactUserinfo hides the user information of a server URL, which would
// be a password in an error message.
func redactUserinfo(u string) string {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	authority, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		return strings.Replace(u, authority[:i+1], "…@", 1)
	}
	return u
}

// Exchanges reports whether key is a registry configured for token
// exchange.
func (s *Store) Exchanges(key helper.Key) bool { return s.lookup(key) != nil }

// Registries returns the registries configured for token exchange, sorted:
// the exact entries as keys, the patterns as written.
func (s *Store) Registries() []string {
	s.mu.Lock()
	keys := make([]string, 0, len(s.regs)+len(s.patternSets))
	for k, r := range s.regs {
		if !hostpattern.IsPattern(r.entry) {
			keys = append(keys, k.String())
		}
	}
	s.mu.Unlock()
	for p := range s.patternSets {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	return keys
}

func notFound(key helper.Key) error { return fmt.Errorf("%s: %w", key, helper.ErrNotFound) }

// Get implements helper.Store. For a configured registry whose stored
// credential is a refresh token it returns the registry's username and an
// access token: the cached one while it is fresh, else a new one.
func (s *Store) Get(ctx context.Context, key helper.Key) (helper.Credentials, error) {
	if isReserved(key) {
		return helper.Credentials{}, notFound(key)
	}
	r := s.lookup(key)
	if r == nil {
		return s.inner.Get(ctx, key)
	}
	if r.workload() {
		return s.workloadGet(ctx, r)
	}
	c, err := s.inner.Get(ctx, key)
	if err != nil || c.Username != helper.IdentityTokenUsername {
		// Not logged in, or a password: nothing to exchange.
		return c, err
	}
	cache, err := s.readCache(ctx, r, c.Secret)
	if err != nil {
		return helper.Credentials{}, err
	}
	if cache.fresh(s.now()) {
		return r.answer(c, cache), nil
	}
	return s.refreshLocked(ctx, r, c, cache)
}

// answer is what get returns for the access token in e.
func (r *registry) answer(c helper.Credentials, e *cacheEntry) helper.Credentials {
	return helper.Credentials{ServerURL: c.ServerURL, Username: r.Username, Secret: e.AccessToken}
}

// refreshLocked takes the lock, and unless another process refreshed the
// token meanwhile, trades the refresh token for a new access token, writes
// a rotated refresh token back at once and caches the access token.
func (s *Store) refreshLocked(ctx context.Context, r *registry, before helper.Credentials, stale *cacheEntry) (helper.Credentials, error) {
	unlock, err := s.lock(ctx, r)
	if err != nil {
		if stale.valid(s.now()) {
			s.warnf("serving the cached access token for %s (it expires at %s): %v", r.key, stale.Expiry.Format(time.RFC3339), err)
			return r.answer(before, stale), nil
		}
		return helper.Credentials{}, fmt.Errorf("failed to refresh the access token for %s: %w", r.key, err)
	}
	defer unlock()

	// Another process may have refreshed (and rotated the refresh token)
	// while this one waited for the lock.
	c, err := s.inner.Get(ctx, r.key)
	if err != nil || c.Username != helper.IdentityTokenUsername {
		return c, err
	}
	cache, err := s.readCache(ctx, r, c.Secret)
	if err != nil {
		return helper.Credentials{}, err
	}
	now := s.now()
	if cache.fresh(now) {
		return r.answer(c, cache), nil
	}
	if cache == nil {
		// The cache entry is the binding: written only by this helper's
		// login (or a refresh of a bound token), its grant names the
		// refresh token and the issuer, token URL and client it belongs
		// to. A token docker login stored, or one obtained with other
		// settings, is never sent to the provider of these.
		return helper.Credentials{}, helper.WithHint(
			fmt.Errorf("the identity token stored for %s was not obtained by '%s login' with the current settings of %s (issuer, tokenURL, clientID), so it is not sent to their provider", r.key, program, r.key),
			fmt.Sprintf("run '%s login %s' to log in again, or '%s login --refresh-token-stdin %s' if this token was issued by that provider to that client", program, r.key, program, r.key))
	}

	tok, issued, err := s.refresh(ctx, r, c.Secret)
	if err != nil {
		var ge *grantError
		if errors.As(err, &ge) {
			// The grant is gone; so is any reason to keep its access token.
			_ = s.dropCache(ctx, r)
			return helper.Credentials{}, helper.WithHint(err, loginHint(r.key))
		}
		var te *transientError
		if errors.As(err, &te) {
			if cache.valid(now) {
				s.warnf("serving the cached access token for %s (it expires at %s): %v", r.key, cache.Expiry.Format(time.RFC3339), err)
				return r.answer(c, cache), nil
			}
			return helper.Credentials{}, helper.WithHint(err, "no valid cached access token is left; try again once the provider can be reached")
		}
		return helper.Credentials{}, err
	}
	rt := c.Secret
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		// The old refresh token is spent: the new one must be saved before
		// anything else, or the grant is lost.
		if err := s.inner.Put(ctx, r.key, helper.Credentials{ServerURL: c.ServerURL, Username: helper.IdentityTokenUsername, Secret: tok.RefreshToken}); err != nil {
			return helper.Credentials{}, helper.WithHint(fmt.Errorf("failed to save the rotated refresh token for %s: %w", r.key, err), loginHint(r.key))
		}
		rt = tok.RefreshToken
	}
	e := newCacheEntry(tok.AccessToken, issued, lifetime(tok), r.grant(rt), cache)
	if err := s.writeCache(ctx, r, e); err != nil {
		// The token is good; but without its cache entry (the binding)
		// the next get asks for a new login.
		s.warnf("failed to cache the access token for %s: %v; the next get will ask you to log in again", r.key, err)
	}
	return r.answer(c, e), nil
}

// lifetime is the access token's lifetime as the provider stated it.
func lifetime(tok *oauth2.Token) time.Duration {
	if tok.ExpiresIn > 0 {
		return time.Duration(tok.ExpiresIn) * time.Second
	}
	return defaultLifetime
}

func loginHint(key helper.Key) string {
	return fmt.Sprintf("run '%s login %s' to log in again", program, key)
}

// grant identifies the refresh token and the provider and client it belongs
// to, without revealing the token.
func (r *registry) grant(refreshToken string) string {
	h := sha256.New()
	for _, f := range []string{"docker-credential-notation token cache v1", r.Issuer, r.TokenURL, r.ClientID, refreshToken} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// readCacheEntry returns the registry's cache entry, or nil when there is
// none or it cannot be used.
func (s *Store) readCacheEntry(ctx context.Context, r *registry) (*cacheEntry, error) {
	c, err := s.inner.Get(ctx, r.cacheKey)
	if errors.Is(err, helper.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the cached access token for %s: %w", r.key, err)
	}
	e, err := decodeCache(c.Secret)
	if err != nil {
		return nil, nil // replaced by the next refresh
	}
	return e, nil
}

// readCache returns the registry's cache entry if it belongs to refreshToken.
func (s *Store) readCache(ctx context.Context, r *registry, refreshToken string) (*cacheEntry, error) {
	e, err := s.readCacheEntry(ctx, r)
	if e == nil || err != nil {
		return nil, err
	}
	if e.Grant != r.grant(refreshToken) {
		return nil, nil
	}
	return e, nil
}

func (s *Store) writeCache(ctx context.Context, r *registry, e *cacheEntry) error {
	c, err := encodeCache(r.cacheKey, e)
	if err != nil {
		return err
	}
	return s.inner.Put(ctx, r.cacheKey, c)
}

// dropCache deletes the registry's cache entry, if any.
func (s *Store) dropCache(ctx context.Context, r *registry) error {
	err := s.inner.Delete(ctx, r.cacheKey)
	if err == nil || errors.Is(err, helper.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("failed to delete the cached access token for %s: %w", r.key, err)
}

// lock takes the exchange lock, waiting at most long enough for another
// process's refresh (discovery and token request) to finish.
func (s *Store) lock(ctx context.Context, r *registry) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(s.lockPath), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the store directory: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*r.Timeout+2*time.Second)
	defer cancel()
	l, err := filelock.Acquire(ctx, s.lockPath)
	if err != nil {
		return nil, err
	}
	return func() { _ = l.Unlock() }, nil
}

func (s *Store) warnf(format string, args ...any) {
	if s.warn != nil {
		fmt.Fprintf(s.warn, program+": warning: "+format+"\n", args...)
	}
}

// Put implements helper.Store. For a configured registry, storing the
// access token that get handed out (as `docker login` does after a get) is
// a no-op, so the refresh token stays; any other credential replaces the
// refresh token and drops the cached access token.
func (s *Store) Put(ctx context.Context, key helper.Key, c helper.Credentials) error {
	if isReserved(key) {
		return fmt.Errorf("failed to store the credential for %s: server URLs with %q are reserved for the helper's own keys", key, reservedMarker)
	}
	r := s.lookup(key)
	if r == nil {
		// The registry tokens go first: the store's read of them leaves the
		// file decrypted for the write, so a plugin key is asked once.
		s.dropRegistryTokens(ctx, key)
		return s.inner.Put(ctx, key, c)
	}
	if r.workload() {
		return s.workloadPut(ctx, r, c)
	}
	if c.Username == r.Username {
		e, err := s.readCacheEntry(ctx, r)
		if err != nil {
			return err
		}
		if e.handedOut(c.Secret) {
			return nil
		}
	}
	unlock, err := s.lock(ctx, r)
	if err != nil {
		return fmt.Errorf("failed to store the credential for %s: %w", key, err)
	}
	defer unlock()
	if old, err := s.inner.Get(ctx, key); err == nil && old == c {
		return nil
	}
	s.dropRegistryTokens(ctx, key)
	if err := s.inner.Put(ctx, key, c); err != nil {
		return err
	}
	return s.dropCache(ctx, r)
}

// Delete implements helper.Store. For a configured registry it deletes the
// refresh token and the cached access token, then asks the provider to
// revoke the refresh token, so that logging out ends the grant and not
// only its copy here. The credential is gone once Delete returns nil, even
// when the provider cannot be reached: that is only a warning, which says
// the grant stays valid at the provider.
func (s *Store) Delete(ctx context.Context, key helper.Key) error {
	if isReserved(key) {
		return notFound(key)
	}
	r := s.lookup(key)
	if r == nil {
		s.dropRegistryTokens(ctx, key)
		return s.inner.Delete(ctx, key)
	}
	if r.workload() {
		return s.workloadDelete(ctx, r)
	}
	unlock, err := s.lock(ctx, r)
	if err != nil {
		return fmt.Errorf("failed to erase the credential for %s: %w", key, err)
	}
	defer unlock()
	var refreshToken string
	if c, err := s.inner.Get(ctx, key); err == nil && c.Username == helper.IdentityTokenUsername {
		refreshToken = c.Secret
	}
	s.dropRegistryTokens(ctx, key)
	err = s.inner.Delete(ctx, key)
	cerr := s.inner.Delete(ctx, r.cacheKey)
	switch {
	case cerr != nil && !errors.Is(cerr, helper.ErrNotFound):
		return fmt.Errorf("failed to delete the cached access token for %s: %w", key, cerr)
	case errors.Is(err, helper.ErrNotFound) && cerr == nil:
		return nil // only the cache was left
	case err != nil:
		return err
	}
	if refreshToken != "" {
		switch rerr := r.revoke(ctx, refreshToken); {
		case errors.Is(rerr, errNoRevocation):
			s.warnf("erased the refresh token for %s here; %v, so the grant stays valid there until it expires or you revoke it at the provider", key, rerr)
		case rerr != nil:
			s.warnf("erased the refresh token for %s here, but %v; the grant stays valid at the provider until it expires or you revoke it there", key, rerr)
		}
	}
	return nil
}

// List implements helper.Store. The helper's own entries are left out, and
// a configured registry holding a refresh token is listed with the username
// get returns for it.
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	m, err := s.inner.List(ctx)
	if err != nil {
		return m, err
	}
	for u, user := range m {
		if Reserved(u) {
			delete(m, u)
			continue
		}
		if user == helper.IdentityTokenUsername {
			if k, err := helper.ParseServerURL(u); err == nil {
				if r := s.lookup(k); r != nil && !r.workload() {
					m[u] = r.Username
				}
			}
		}
	}
	return m, nil
}

// GetExpiring is Get that also says until when the answer may be cached:
// for an exchanged credential, shortly before it expires (when get would
// exchange or refresh again); the zero time for a credential that passes
// through. kubelet-provider turns it into the answer's cacheDuration.
func (s *Store) GetExpiring(ctx context.Context, key helper.Key) (helper.Credentials, time.Time, error) {
	c, err := s.Get(ctx, key)
	if err != nil {
		return c, time.Time{}, err
	}
	r := s.lookup(key)
	if r == nil || isReserved(key) {
		return c, time.Time{}, nil
	}
	e, err := s.readCacheEntry(ctx, r)
	if err != nil || e == nil || e.AccessToken != c.Secret {
		// A stored password, or a cache that could not be written: say
		// nothing about its life.
		return c, time.Time{}, nil
	}
	return c, e.RefreshAt, nil
}
