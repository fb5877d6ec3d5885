package tokenexchange

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// maxShown bounds each value of the provider's device authorization answer
// shown to the user: a URI and a code are far shorter.
const maxShown = 2048

// grantError is a refresh token the provider refused (invalid_grant: revoked,
// expired or already spent): only logging in again helps.
type grantError struct{ err error }

func (e *grantError) Error() string { return e.err.Error() }
func (e *grantError) Unwrap() error { return e.err }

// oauth2Config is the x/oauth2 configuration for the registry's endpoints.
// A confidential client authenticates with HTTP Basic, as RFC 6749 section
// 2.3.1 requires every server to support; a public client sends only its
// client_id in the form. (x/oauth2's auto-detection would cost a failed
// request each time.)
func (r *registry) oauth2Config(ep endpoints) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if r.ClientSecret != "" {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID:     r.ClientID,
		ClientSecret: r.ClientSecret,
		Scopes:       r.Scopes,
		Endpoint:     oauth2.Endpoint{TokenURL: ep.token, DeviceAuthURL: ep.deviceAuth, AuthStyle: style},
	}
}

// checkSecret fails when the client secret's variable is named but empty.
func (r *registry) checkSecret() error {
	if r.ClientSecretEnv != "" && r.ClientSecret == "" {
		return helper.WithHint(fmt.Errorf("the client secret for %s is not set: %s is empty", r.key, r.ClientSecretEnv),
			fmt.Sprintf("export %s in the environment docker and notation run in", r.ClientSecretEnv))
	}
	return nil
}

// httpContext carries the registry's HTTP client to x/oauth2.
func (r *registry) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, r.client)
}

// refresh trades refreshToken for a new access token (RFC 6749 section 6).
// issued is the time just before the request, from which the token's
// lifetime counts.
func (s *Store) refresh(ctx context.Context, r *registry, refreshToken string) (tok *oauth2.Token, issued time.Time, err error) {
	if err := r.checkSecret(); err != nil {
		return nil, time.Time{}, err
	}
	ep, err := r.endpoints(ctx)
	if err != nil {
		// %w keeps a transientError visible to errors.As.
		return nil, time.Time{}, fmt.Errorf("failed to refresh the access token for %s: %w", r.key, err)
	}
	if ep.token == "" {
		return nil, time.Time{}, fmt.Errorf("failed to refresh the access token for %s: no token endpoint", r.key)
	}
	issued = s.now()
	tok, err = r.oauth2Config(ep).TokenSource(r.httpContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, issued, r.tokenError("refresh the access token", err, r.secrets(refreshToken))
	}
	return tok, issued, nil
}

// tokenError sorts a failed token request: a refused grant, a failure that
// may pass (network, timeout, 5xx, a malformed or oversized answer), or a
// definite refusal that the settings must fix. The provider's own body is
// never quoted, only its error code and description, scrubbed of secrets.
func (r *registry) tokenError(verb string, err error, secrets *scrub.Secrets) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return &transientError{fmt.Errorf("failed to %s for %s: %v", verb, r.key, r.netError(err))}
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	what := fmt.Sprintf("HTTP %d", status)
	if re.ErrorCode != "" {
		what = secrets.Line(re.ErrorCode)
		if re.ErrorDescription != "" {
			what += ": " + secrets.Line(re.ErrorDescription)
		}
		what += fmt.Sprintf(" (HTTP %d)", status)
	}
	e := fmt.Errorf("failed to %s for %s: the provider answered %s", verb, r.key, what)
	switch {
	case re.ErrorCode == "invalid_grant":
		return &grantError{e}
	case status >= 500 || status == 429:
		return &transientError{e}
	}
	return helper.WithHint(e, fmt.Sprintf("check the settings of %s (clientID, clientSecretEnv, tokenURL, issuer) with '%s config'", r.key, program))
}

// netError says "did not answer within <timeout>" for a timeout, whose own
// text varies with where it struck ("context deadline exceeded",
// "Client.Timeout exceeded while awaiting headers", an i/o timeout).
func (r *registry) netError(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s %s did not answer within %v", ue.Op, ue.URL, r.Timeout)
		}
		return fmt.Errorf("the provider did not answer within %v", r.Timeout)
	}
	return err
}

// secrets is what must not appear in a provider's answer: the client
// secret (and its Basic credential, RFC 6749 section 2.3.1) and values.
func (r *registry) secrets(values ...string) *scrub.Secrets {
	s := scrub.New(values...)
	if r.ClientSecret != "" {
		s.AddBasic(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	}
	return s
}

// DeviceLogin logs in to a configured registry with the OAuth2 device
// authorization grant (RFC 8628): it asks the provider for a code, calls
// show with the URL the user opens, the URL with the code filled in (may be
// empty), the code and when it expires, polls the provider until the user
// has approved (or denied) the request, the code expires or ctx ends, and
// stores the refresh token under key (with serverURL as the server URL) and
// the access token in the cache.
func (s *Store) DeviceLogin(ctx context.Context, key helper.Key, serverURL string, show func(verificationURI, verificationURIComplete, userCode string, expiry time.Time)) error {
	r := s.lookup(key)
	if r == nil {
		return notConfigured(key)
	}
	if r.workload() {
		return workloadLogin(r)
	}
	if err := r.checkSecret(); err != nil {
		return err
	}
	ep, err := r.endpoints(ctx)
	if err != nil {
		return fmt.Errorf("failed to log in to %s: %w", key, err)
	}
	if ep.deviceAuth == "" {
		return helper.WithHint(fmt.Errorf("failed to log in to %s: the provider has no device authorization endpoint", key),
			"set deviceAuthorizationURL in the registry's settings, or use --refresh-token-stdin")
	}
	conf := r.oauth2Config(ep)
	hctx := r.httpContext(ctx)
	da, err := conf.DeviceAuth(hctx)
	if err != nil {
		return r.tokenError("start the device login", err, r.secrets())
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return fmt.Errorf("failed to start the device login for %s: the provider's answer lacks a device code, user code or verification URI", key)
	}
	if da.Expiry.IsZero() {
		// expires_in is required (RFC 8628 section 3.2); without it, the
		// context still bounds the wait.
		da.Expiry = time.Now().Add(15 * time.Minute)
	}
	// What the provider says goes to the user's terminal: no escape
	// sequence or control character of its choosing gets there.
	show(scrub.Clean(da.VerificationURI, maxShown), scrub.Clean(da.VerificationURIComplete, maxShown), scrub.Clean(da.UserCode, maxShown), da.Expiry)
	issued := s.now()
	tok, err := conf.DeviceAccessToken(hctx, da)
	if err != nil {
		var re *oauth2.RetrieveError
		switch {
		case errors.As(err, &re) && re.ErrorCode == "access_denied":
			return fmt.Errorf("failed to log in to %s: the request was denied at the provider", key)
		case errors.As(err, &re) && re.ErrorCode == "expired_token",
			errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return helper.WithHint(fmt.Errorf("failed to log in to %s: the code expired before the request was approved", key),
				fmt.Sprintf("run '%s login %s' again", program, key))
		case ctx.Err() != nil:
			return fmt.Errorf("failed to log in to %s: %v", key, context.Cause(ctx))
		}
		return r.tokenError("finish the device login", err, r.secrets(da.DeviceCode))
	}
	if tok.RefreshToken == "" {
		return helper.WithHint(fmt.Errorf("failed to log in to %s: the provider issued no refresh token", key),
			"request the offline_access scope (\"scopes\" in the registry's settings, or --scope)")
	}
	return s.save(ctx, r, serverURL, tok, issued)
}

// ImportRefreshToken stores a refresh token obtained elsewhere for a
// configured registry, after checking it: it is traded for an access token
// at once (and, with a provider that rotates refresh tokens, replaced by
// the new one). A refused token stores nothing.
func (s *Store) ImportRefreshToken(ctx context.Context, key helper.Key, serverURL, refreshToken string) error {
	r := s.lookup(key)
	if r == nil {
		return notConfigured(key)
	}
	if r.workload() {
		return workloadLogin(r)
	}
	if refreshToken == "" {
		return errors.New("failed to import the refresh token: it is empty")
	}
	unlock, err := s.lock(ctx, r)
	if err != nil {
		return fmt.Errorf("failed to import the refresh token for %s: %w", key, err)
	}
	defer unlock()
	tok, issued, err := s.refresh(ctx, r, refreshToken)
	if err != nil {
		var ge *grantError
		if errors.As(err, &ge) {
			return helper.WithHint(fmt.Errorf("failed to import the refresh token for %s: %w", key, err), "nothing was stored; check that the token was issued to client "+r.ClientID+" by this provider")
		}
		return err
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	return s.saveLocked(ctx, r, serverURL, tok, issued)
}

// save stores a new grant under the lock, so that a refresh running in
// another process cannot write its rotated token over it.
func (s *Store) save(ctx context.Context, r *registry, serverURL string, tok *oauth2.Token, issued time.Time) error {
	unlock, err := s.lock(ctx, r)
	if err != nil {
		return fmt.Errorf("failed to store the refresh token for %s: %w", r.key, err)
	}
	defer unlock()
	return s.saveLocked(ctx, r, serverURL, tok, issued)
}

// saveLocked stores a new grant: first the cache entry, which binds the
// refresh token to this provider and client (get exchanges only a bound
// token), then the refresh token.
func (s *Store) saveLocked(ctx context.Context, r *registry, serverURL string, tok *oauth2.Token, issued time.Time) error {
	prev, _ := s.readCacheEntry(ctx, r)
	if err := s.writeCache(ctx, r, newCacheEntry(tok.AccessToken, issued, lifetime(tok), r.grant(tok.RefreshToken), prev)); err != nil {
		return fmt.Errorf("failed to store the access token for %s: %w", r.key, err)
	}
	if err := s.inner.Put(ctx, r.key, helper.Credentials{ServerURL: serverURL, Username: helper.IdentityTokenUsername, Secret: tok.RefreshToken}); err != nil {
		return fmt.Errorf("failed to store the refresh token for %s: %w", r.key, err)
	}
	return nil
}

func notConfigured(key helper.Key) error {
	return helper.WithHint(fmt.Errorf("%s is not configured for token exchange", key),
		fmt.Sprintf("pass --issuer (or --token-url) and --client-id to '%s login', or add %s under \"registries\" in the config file", program, key))
}

// workloadLogin refuses a login to a workload registry: there is nothing
// to log in with.
func workloadLogin(r *registry) error {
	return helper.WithHint(fmt.Errorf("%s gets its credential by exchanging the subject token from %s: there is nothing to log in with", r.key, r.Subject),
		fmt.Sprintf("run '%s get' (or docker pull) and the token is exchanged then", program))
}
