package tokenexchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// RFC 8693 names.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// TokenTypeJWT is the default subject_token_type.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

// workload reports whether r gets its credential by exchanging a subject
// token rather than a stored refresh token.
func (r *registry) workload() bool { return r.Subject != nil }

// workloadGrant binds a cached credential to the settings that minted it and
// to the workload's identity: a changed entry, another job or another
// service account never gets it.
func (r *registry) workloadGrant(identity string) string {
	params := make([]string, 0, len(r.TokenParams))
	for k, v := range r.TokenParams {
		params = append(params, k+"="+v)
	}
	slices.Sort(params)
	return digest("docker-credential-notation workload cache v1", r.key.String(), r.Issuer, r.TokenURL, r.ClientID,
		r.Audience, r.Resource, r.SubjectTokenType, r.RequestedTokenType, strings.Join(r.Scopes, " "), strings.Join(params, "&"),
		r.Subject.String(), identity)
}

// workloadGet answers get for a workload registry: the cached credential
// while it is fresh, else one exchange of the current subject token, under
// the lock so that concurrent gets share it.
func (s *Store) workloadGet(ctx context.Context, r *registry) (helper.Credentials, error) {
	identity, err := r.Subject.Identity(ctx)
	if err != nil {
		return helper.Credentials{}, r.workloadError(err)
	}
	grant := r.workloadGrant(identity)
	cached, err := s.readCacheEntry(ctx, r)
	if err != nil {
		return helper.Credentials{}, err
	}
	if cached != nil && cached.Grant != grant {
		cached = nil
	}
	if cached.fresh(s.now()) {
		return r.workloadAnswer(cached), nil
	}
	unlock, err := s.lock(ctx, r)
	if err != nil {
		if cached.valid(s.now()) {
			s.warnf("serving the cached credential for %s (it expires at %s): %v", r.key, cached.Expiry.Format(time.RFC3339), err)
			return r.workloadAnswer(cached), nil
		}
		return helper.Credentials{}, fmt.Errorf("failed to exchange the subject token for %s: %w", r.key, err)
	}
	defer unlock()
	// Another process may have exchanged while this one waited.
	if again, err := s.readCacheEntry(ctx, r); err != nil {
		return helper.Credentials{}, err
	} else if again != nil && again.Grant == grant {
		cached = again
	}
	now := s.now()
	if cached.fresh(now) {
		return r.workloadAnswer(cached), nil
	}
	tok, issued, err := s.exchangeSubject(ctx, r)
	if err != nil {
		var te *transientError
		if errors.As(err, &te) && cached.valid(now) {
			s.warnf("serving the cached credential for %s (it expires at %s): %v", r.key, cached.Expiry.Format(time.RFC3339), err)
			return r.workloadAnswer(cached), nil
		}
		return helper.Credentials{}, r.workloadError(err)
	}
	e := newCacheEntry(tok.AccessToken, issued, tok.lifetime(), grant, cached)
	if err := s.writeCache(ctx, r, e); err != nil {
		// The credential is good; only the next get pays for another exchange.
		s.warnf("failed to cache the credential for %s: %v", r.key, err)
	}
	return r.workloadAnswer(e), nil
}

func (r *registry) workloadAnswer(e *cacheEntry) helper.Credentials {
	return helper.Credentials{ServerURL: r.key.String(), Username: r.Username, Secret: e.AccessToken}
}

// workloadError keeps a hint the error has, and otherwise says where the
// settings are.
func (r *registry) workloadError(err error) error {
	if helper.Hint(err) != "" {
		return err
	}
	return helper.WithHint(err, fmt.Sprintf("check the settings of %s (%q in the config file) with '%s config --registry %s'", r.key, r.entry, program, r.key))
}

// exchanged is a token endpoint's answer to a token exchange (RFC 8693
// section 2.2.1).
type exchanged struct {
	AccessToken     string      `json:"access_token"`
	IssuedTokenType string      `json:"issued_token_type"`
	TokenType       string      `json:"token_type"`
	ExpiresIn       json.Number `json:"expires_in"`
}

// lifetime is the token's lifetime as the provider stated it.
func (t *exchanged) lifetime() time.Duration {
	if n, err := t.ExpiresIn.Int64(); err == nil && n > 0 && n < 1<<31 {
		return time.Duration(n) * time.Second
	}
	return defaultLifetime
}

// parseExchanged decodes a successful exchange answer.
func parseExchanged(b []byte) (*exchanged, error) {
	var t exchanged
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("the answer is not a token response: %v", err)
	}
	if t.AccessToken == "" {
		return nil, errors.New("the answer holds no access_token")
	}
	if strings.ContainsAny(t.AccessToken, " \t\r\n\"\\") {
		return nil, errors.New("the answer's access_token is not a token")
	}
	if t.ExpiresIn != "" {
		if n, err := t.ExpiresIn.Int64(); err != nil || n < 0 {
			return nil, fmt.Errorf("the answer's expires_in %q is not a number of seconds", scrub.Clean(string(t.ExpiresIn), 32))
		}
	}
	return &t, nil
}

// exchangeSubject trades the current subject token for a registry
// credential at the token endpoint (RFC 8693 section 2.1). issued is the
// time just before the request.
func (s *Store) exchangeSubject(ctx context.Context, r *registry) (tok *exchanged, issued time.Time, err error) {
	if err := r.checkSecret(); err != nil {
		return nil, time.Time{}, err
	}
	subject, err := r.Subject.SubjectToken(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	ep, err := r.endpoints(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("failed to exchange the subject token for %s: %w", r.key, err)
	}
	if ep.token == "" {
		return nil, time.Time{}, fmt.Errorf("failed to exchange the subject token for %s: no token endpoint", r.key)
	}
	form := url.Values{
		"grant_type":         {GrantTypeTokenExchange},
		"subject_token":      {subject},
		"subject_token_type": {r.SubjectTokenType},
	}
	for k, v := range r.TokenParams {
		form.Set(k, v)
	}
	for k, v := range map[string]string{"audience": r.Audience, "resource": r.Resource, "requested_token_type": r.RequestedTokenType, "scope": strings.Join(r.Scopes, " ")} {
		if v != "" {
			form.Set(k, v)
		}
	}
	if r.ClientID != "" && r.ClientSecret == "" {
		form.Set("client_id", r.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.token, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("failed to exchange the subject token for %s: %v", r.key, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.ClientSecret != "" {
		// RFC 6749 section 2.3.1: both parts form-encoded, then Basic.
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	}
	secrets := r.secrets(subject)
	issued = s.now()
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, issued, &transientError{fmt.Errorf("failed to exchange the subject token for %s: %v", r.key, r.netError(err))}
	}
	defer resp.Body.Close()
	b, err := httppolicy.ReadBody(resp)
	if err != nil {
		return nil, issued, &transientError{fmt.Errorf("failed to exchange the subject token for %s: %v", r.key, err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, issued, exchangeRefused(r, resp.StatusCode, b, secrets)
	}
	tok, err = parseExchanged(b)
	if err != nil {
		return nil, issued, fmt.Errorf("failed to exchange the subject token for %s: %s answered 200 OK, but %v", r.key, httppolicy.Redact(resp.Request.URL), err)
	}
	return tok, issued, nil
}

// exchangeRefused words a token endpoint's refusal: its OAuth2 error code
// and description, scrubbed of the subject token and the client secret.
func exchangeRefused(r *registry, status int, body []byte, secrets *scrub.Secrets) error {
	var e struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	what := fmt.Sprintf("HTTP %d", status)
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		what = secrets.Line(e.Code)
		if e.Description != "" {
			what += ": " + secrets.Line(e.Description)
		}
		what += fmt.Sprintf(" (HTTP %d)", status)
	}
	err := fmt.Errorf("failed to exchange the subject token from %s for %s: the provider answered %s", r.Subject, r.key, what)
	if status >= 500 || status == http.StatusTooManyRequests {
		return &transientError{err}
	}
	switch e.Code {
	case "invalid_grant", "invalid_target", "invalid_request":
		return helper.WithHint(err, "the provider refused the subject token: check that it trusts the token's issuer and that \"audience\" (of the token and of the exchange) is what it expects")
	case "invalid_client", "unauthorized_client":
		return helper.WithHint(err, fmt.Sprintf("check clientID and clientSecretEnv of %s", r.key))
	}
	return err
}

// workloadPut answers store for a workload registry: storing what get
// handed out (as `docker login` does after a get) is a no-op; anything
// else is refused, since the credential comes from the exchange.
func (s *Store) workloadPut(ctx context.Context, r *registry, c helper.Credentials) error {
	if c.Username == r.Username {
		if e, err := s.readCacheEntry(ctx, r); err == nil && e.handedOut(c.Secret) {
			return nil
		}
	}
	return helper.WithHint(fmt.Errorf("refusing to store a credential for %s: it comes from exchanging the subject token from %s (%q in the config file)", r.key, r.Subject, r.entry),
		"nothing needs storing; remove the entry from \"registries\" to store a password instead")
}

// workloadDelete answers erase (docker logout): the cached credential goes,
// and the answer is success whether or not one was cached.
func (s *Store) workloadDelete(ctx context.Context, r *registry) error {
	unlock, err := s.lock(ctx, r)
	if err != nil {
		return fmt.Errorf("failed to erase the cached credential for %s: %w", r.key, err)
	}
	defer unlock()
	return s.dropCache(ctx, r)
}
