package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Workload is a second issuer, as a CI platform or a Kubernetes cluster is
// one: it signs short-lived JWTs for workloads with an RSA key and
// publishes the key as a JWKS at its discovery document's jwks_uri. A
// Provider started with Options.Workload trusts it: it verifies subject
// tokens of a token exchange (RFC 8693) against that JWKS, fetched over
// HTTP as a real provider does.
type Workload struct {
	// Issuer is "http://127.0.0.1:<port>".
	Issuer string
	// Server is the underlying test server.
	Server *httptest.Server

	key *rsa.PrivateKey
	kid string

	// RequestToken is the bearer token the Actions endpoint accepts.
	RequestToken string
	actionsSub   atomic.Value // string
	actionsLife  atomic.Int64
	actionsCalls atomic.Int64
}

// StartWorkload runs a workload issuer until the test ends.
func StartWorkload(t testing.TB) *Workload {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w := &Workload{key: key, kid: "workload-key-1", RequestToken: "actions-request-token-" + randomString(t)}
	w.actionsSub.Store("repo:example/app:ref:refs/heads/main")
	w.actionsLife.Store(int64(5 * time.Minute))
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	w.Issuer = w.Server.URL
	t.Cleanup(w.Server.Close)
	return w
}

func randomString(t testing.TB) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func (w *Workload) serve(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeJSON(rw, map[string]any{"issuer": w.Issuer, "jwks_uri": w.Issuer + "/keys"})
	case "/keys":
		writeJSON(rw, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &w.key.PublicKey, KeyID: w.kid, Algorithm: string(jose.RS256), Use: "sig"}}})
	case "/actions/idtoken":
		// GitHub Actions' ID-token request: the runner's bearer token,
		// the audience as a query parameter, {"value": JWT} back.
		if r.Header.Get("Authorization") != "bearer "+w.RequestToken {
			http.Error(rw, `{"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.actionsCalls.Add(1)
		aud := r.URL.Query().Get("audience")
		tok := w.Token(w.actionsSub.Load().(string), aud, time.Duration(w.actionsLife.Load()))
		writeJSON(rw, map[string]string{"value": tok})
	default:
		http.NotFound(rw, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Token signs a JWT for subject with audience aud that expires after
// lifetime (negative: already expired).
func (w *Workload) Token(subject, aud string, lifetime time.Duration) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: w.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", w.kid))
	if err != nil {
		panic(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": w.Issuer, "sub": subject, "aud": aud,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(lifetime).Unix(),
		"jti": fmt.Sprintf("%d", now.UnixNano()),
	})
	sig, err := signer.Sign(claims)
	if err != nil {
		panic(err)
	}
	s, err := sig.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

// ActionsURL is the Actions ID-token endpoint, as the runner sets
// ACTIONS_ID_TOKEN_REQUEST_URL (it already holds a query).
func (w *Workload) ActionsURL() string { return w.Issuer + "/actions/idtoken?api-version=2.0" }

// SetActions sets the subject and lifetime of the tokens the Actions
// endpoint signs.
func (w *Workload) SetActions(subject string, lifetime time.Duration) {
	w.actionsSub.Store(subject)
	w.actionsLife.Store(int64(lifetime))
}

// ActionsCalls counts the tokens the Actions endpoint issued.
func (w *Workload) ActionsCalls() int64 { return w.actionsCalls.Load() }

// verify checks a workload JWT as a provider that trusts the issuer does:
// the signature against the issuer's JWKS (fetched from its discovery
// document), the issuer, the expiry and the audience.
func (w *Workload) verify(ctx context.Context, token, audience string) (subject string, claims map[string]any, err error) {
	c, claims, err := verifyJWT(ctx, w.Issuer, token)
	if err != nil {
		return "", nil, err
	}
	if audience != "" && c.Aud != audience {
		return "", nil, fmt.Errorf("the subject token's audience %q is not %q", c.Aud, audience)
	}
	return c.Sub, claims, nil
}

// jwtClaims are the registered claims verifyJWT checks.
type jwtClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud any    `json:"aud"`
	Exp int64  `json:"exp"`
}

// verifyJWT verifies a JWT that issuer signed (RS256), with the keys of the
// JWKS its discovery document names, and checks its issuer and expiry.
func verifyJWT(ctx context.Context, issuer, token string) (c jwtClaims, claims map[string]any, err error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return c, nil, fmt.Errorf("not a signed JWT: %v", err)
	}
	keys, err := fetchJWKS(ctx, issuer)
	if err != nil {
		return c, nil, err
	}
	var payload []byte
	for _, sig := range jws.Signatures {
		for _, k := range keys.Key(sig.Header.KeyID) {
			if payload, err = jws.Verify(k); err == nil {
				break
			}
		}
	}
	if payload == nil {
		return c, nil, errors.New("signature not verified by the issuer's keys")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, nil, err
	}
	switch {
	case strings.TrimSuffix(c.Iss, "/") != strings.TrimSuffix(issuer, "/"):
		return c, nil, fmt.Errorf("issuer %q is not trusted", c.Iss)
	case time.Now().Unix() >= c.Exp:
		return c, nil, errors.New("the token has expired")
	}
	_ = json.Unmarshal(payload, &claims)
	if a, ok := c.Aud.([]any); ok && len(a) > 0 {
		c.Aud, _ = a[0].(string)
	}
	return c, claims, nil
}

func fetchJWKS(ctx context.Context, issuer string) (*jose.JSONWebKeySet, error) {
	get := func(u string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, v)
	}
	var d struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := get(strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &d); err != nil {
		return nil, fmt.Errorf("discovery of %s: %v", issuer, err)
	}
	var set jose.JSONWebKeySet
	if err := get(d.JWKS, &set); err != nil {
		return nil, fmt.Errorf("JWKS of %s: %v", issuer, err)
	}
	return &set, nil
}

// VerifyAccessToken checks an access token this provider issued as a JWT
// (Options.JWTAccessTokens), as a registry that accepts the provider's
// tokens does: against the provider's JWKS. It returns the subject.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (string, error) {
	c, _, err := verifyJWT(ctx, p.Issuer, token)
	return c.Sub, err
}

// VerifyExchangeSubjectToken implements op.TokenExchangeTokensVerifierStorage:
// a JWT or ID token of the trusted workload issuer.
func (s *deviceStorage) VerifyExchangeSubjectToken(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	if s.workload == nil {
		return "", "", nil, errors.New("no workload issuer is trusted")
	}
	if tokenType != oidc.JWTTokenType && tokenType != oidc.IDTokenType {
		return "", "", nil, fmt.Errorf("subject token type %s is not accepted", tokenType)
	}
	sub, claims, err := s.workload.verify(ctx, token, s.subjectAudience)
	if err != nil {
		s.lastRefusal.Store(err.Error())
		return "", "", nil, err
	}
	return token, sub, claims, nil
}

// VerifyExchangeActorToken implements op.TokenExchangeTokensVerifierStorage:
// no actor tokens.
func (s *deviceStorage) VerifyExchangeActorToken(context.Context, string, oidc.TokenType) (string, string, map[string]any, error) {
	return "", "", nil, errors.New("actor tokens are not accepted")
}

// ValidateTokenExchangeRequest issues access tokens (the default requested
// type) for any verified workload, and requires the exchange's audience
// when the provider was started with one. (The example's own refuses
// subjects that are not its admin users.)
func (s *deviceStorage) ValidateTokenExchangeRequest(ctx context.Context, request op.TokenExchangeRequest) error {
	if request.GetRequestedTokenType() == "" {
		request.SetRequestedTokenType(oidc.AccessTokenType)
	}
	if s.exchangeAudience != "" && !slices.Contains(request.GetAudience(), s.exchangeAudience) {
		return oidc.ErrInvalidTarget().WithDescription("audience must be %s", s.exchangeAudience)
	}
	request.SetCurrentScopes(request.GetScopes())
	return nil
}

// Exchanges returns the token-exchange requests received so far.
func (p *Provider) Exchanges() []Request {
	var out []Request
	for _, r := range p.Requests() {
		if r.GrantType == string(oidc.GrantTypeTokenExchange) {
			out = append(out, r)
		}
	}
	return out
}

// LastRefusal is why the provider last refused a subject token, "" if it
// never did.
func (p *Provider) LastRefusal() string {
	v, _ := p.storage.lastRefusal.Load().(string)
	return v
}

// unverifiedSubject is the sub claim of a JWT, unverified; "" for anything
// else.
func unverifiedSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Sub
}
