// Package oidctest runs a real OpenID Provider in-process for tests: the
// example provider of github.com/zitadel/oidc/v3 (its exampleop and storage
// packages), on an httptest server on 127.0.0.1, with the device
// authorization grant, refresh-token rotation and revocation working.
//
// It is for tests only (internal/depcheck keeps it out of the binary). A
// test calls [Start], points a client at [Provider.Issuer] and completes the
// user's side of a device login with [Provider.Approve].
//
// As shipped, the example provider has no client with both the device_code
// and refresh_token grants, fails the device flow with the openid scope
// ("user not found"), and refuses to refresh a device-flow token
// (invalid_grant). The storage type below fixes the three, and shortens the
// access tokens' lifetime so that tests can watch them expire.
package oidctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The provider's clients and its user.
const (
	// PublicClientID is a public client (no secret): it authenticates with
	// client_id in the form.
	PublicClientID = "registry-cli"
	// ConfidentialClientID is a confidential client: it authenticates with
	// HTTP Basic and ConfidentialClientSecret.
	ConfidentialClientID     = "registry-cli-confidential"
	ConfidentialClientSecret = "client-secret-for-tests"
	// Username and Password log in at the device form.
	Username = "test-user2"
	Password = "verysecure"
)

// Options configures Start.
type Options struct {
	// AccessTokenLifetime is the lifetime of access tokens; zero means
	// 2 minutes (the example's own is 5 minutes).
	AccessTokenLifetime time.Duration
	// PollInterval is the device flow's poll interval, in seconds, that the
	// provider announces; zero means 1 (the example's own is 5, and it does
	// not enforce it).
	PollInterval int
	// Workload, when set, is trusted for token exchange: a subject token
	// it signed is exchanged for an access token (confidential client
	// only, as zitadel requires).
	Workload *Workload
	// SubjectAudience, when set, is the audience a subject token must
	// carry.
	SubjectAudience string
	// ExchangeAudience, when set, is the audience parameter an exchange
	// must send.
	ExchangeAudience string
	// JWTAccessTokens makes the confidential client's access tokens JWTs
	// signed with the provider's keys (a registry then verifies them with
	// VerifyAccessToken); otherwise they are opaque.
	JWTAccessTokens bool
}

// Provider is a running provider.
type Provider struct {
	// Issuer is the issuer URL, "http://127.0.0.1:<port>/".
	Issuer string
	// Server is the underlying test server.
	Server *httptest.Server

	storage      *deviceStorage
	handler      http.Handler
	pollInterval int

	mu       sync.Mutex
	requests []Request
	down     atomic.Bool
}

// Request is one request the provider received.
type Request struct {
	Method, Path string
	// GrantType is the grant_type of a token request, "" otherwise.
	GrantType string
	// RefreshToken is the refresh_token of a refresh request.
	RefreshToken string
	// Subject is the sub claim of a token exchange's subject token, read
	// without verifying it (for counting exchanges per workload).
	Subject string
}

var quietOnce sync.Once

// Start runs a provider until the test ends.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	// The example's middleware logs every request through slog's default
	// logger; tests do not want that on their output.
	quietOnce.Do(func() { slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) })
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = 2 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 1
	}
	p := &Provider{pollInterval: opts.PollInterval}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.Issuer = "http://" + p.Server.Listener.Addr().String() + "/"

	users := storage.NewUserStore(p.Issuer)
	public := storage.NativeClient(PublicClientID)
	confidential := storage.DeviceClient(ConfidentialClientID, ConfidentialClientSecret)
	p.storage = &deviceStorage{
		Storage:          storage.NewStorageWithClients(users, map[string]*storage.Client{public.GetID(): public, confidential.GetID(): confidential}),
		users:            users,
		lifetime:         opts.AccessTokenLifetime,
		workload:         opts.Workload,
		subjectAudience:  opts.SubjectAudience,
		exchangeAudience: opts.ExchangeAudience,
		jwtAccessTokens:  opts.JWTAccessTokens,
	}
	p.handler = exampleop.SetupServer(p.Issuer, p.storage, nil, false)
	p.Server.Start()
	t.Cleanup(p.Server.Close)
	return p
}

// serve records the request and hands it to the provider.
func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	if p.down.Load() {
		http.Error(w, "provider is down", http.StatusServiceUnavailable)
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
		// ParseForm is idempotent: the provider sees the same form.
		if err := r.ParseForm(); err == nil {
			rec.GrantType = r.PostForm.Get("grant_type")
			rec.RefreshToken = r.PostForm.Get("refresh_token")
			rec.Subject = unverifiedSubject(r.PostForm.Get("subject_token"))
		}
	}
	p.mu.Lock()
	p.requests = append(p.requests, rec)
	p.mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Path == "/device_authorization" {
		p.serveDeviceAuthorization(w, r)
		return
	}
	p.handler.ServeHTTP(w, r)
}

// serveDeviceAuthorization answers a device authorization request with the
// configured poll interval.
func (p *Provider) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.handler.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err == nil {
			m["interval"] = p.pollInterval
			body, _ = json.Marshal(m)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// SetDown makes every request fail with 503 (true) or be served again.
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// Requests returns the requests received so far.
func (p *Provider) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// ResetRequests forgets the requests received so far.
func (p *Provider) ResetRequests() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

// Refreshes returns the refresh-token grant requests received so far.
func (p *Provider) Refreshes() []Request {
	var out []Request
	for _, r := range p.Requests() {
		if r.GrantType == string(oidc.GrantTypeRefreshToken) {
			out = append(out, r)
		}
	}
	return out
}

// Approve completes the user's side of a device login, as a person would in
// a browser: it posts the user code and the user's name and password to the
// device form, then allows the request on the confirmation page.
func (p *Provider) Approve(ctx context.Context, userCode string) error {
	return p.answer(ctx, userCode, "allowed")
}

// Deny refuses a device login.
func (p *Provider) Deny(ctx context.Context, userCode string) error {
	return p.answer(ctx, userCode, "denied")
}

func (p *Provider) answer(ctx context.Context, userCode, action string) error {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	c := &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		// The form answers a mistake with a redirect to itself carrying the
		// error; following it would hide the error.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	form := url.Values{"user_code": {userCode}, "username": {Username}, "password": {Password}}
	if err := p.do(ctx, c, http.MethodPost, p.Issuer+"device/login", form); err != nil {
		return fmt.Errorf("device login form: %w", err)
	}
	if err := p.do(ctx, c, http.MethodGet, p.Issuer+"device/confirm?action="+action, nil); err != nil {
		return fmt.Errorf("device confirmation: %w", err)
	}
	return nil
}

func (p *Provider) do(ctx context.Context, c *http.Client, method, u string, form url.Values) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s (location %q): %s", method, u, resp.Status, resp.Header.Get("Location"), b)
	}
	return nil
}

// Revoke revokes a refresh token at the provider's revocation endpoint
// (RFC 7009), as the public client.
func (p *Provider) Revoke(ctx context.Context, refreshToken string) error {
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {PublicClientID}}
	return p.do(ctx, &http.Client{Timeout: 10 * time.Second}, http.MethodPost, p.Issuer+"revoke", form)
}

// RefreshDirectly spends a refresh token at the token endpoint as the public
// client and returns the provider's status code: 200 when the token was
// still good, 400 (invalid_grant) when it was spent or revoked.
func (p *Provider) RefreshDirectly(ctx context.Context, refreshToken string) (int, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {PublicClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// deviceStorage is the example storage with the device flow and the refresh
// grant made to work together.
type deviceStorage struct {
	*storage.Storage
	users    storage.UserStore
	lifetime time.Duration

	workload                          *Workload
	subjectAudience, exchangeAudience string
	jwtAccessTokens                   bool
	lastRefusal                       atomic.Value // string
}

// GetClientByClientID gives both clients the device_code, refresh_token
// and token-exchange grants.
func (s *deviceStorage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	grants := slices.Clone(c.GrantTypes())
	for _, g := range []oidc.GrantType{oidc.GrantTypeDeviceCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeTokenExchange} {
		if !slices.Contains(grants, g) {
			grants = append(grants, g)
		}
	}
	gc := grantClient{Client: c, grants: grants, tokenType: c.AccessTokenType()}
	if s.jwtAccessTokens && clientID == ConfidentialClientID {
		gc.tokenType = op.AccessTokenTypeJWT
	}
	return gc, nil
}

type grantClient struct {
	op.Client
	grants    []oidc.GrantType
	tokenType op.AccessTokenType
}

func (c grantClient) GrantTypes() []oidc.GrantType        { return c.grants }
func (c grantClient) AccessTokenType() op.AccessTokenType { return c.tokenType }

// CompleteDeviceAuthorization records the user's ID, not the name typed in
// the form, as the subject, so that the openid scope finds the user.
func (s *deviceStorage) CompleteDeviceAuthorization(ctx context.Context, userCode, subject string) error {
	u := s.users.GetUserByUsername(subject)
	if u == nil {
		return errors.New("user not found")
	}
	return s.Storage.CompleteDeviceAuthorization(ctx, userCode, u.ID)
}

// CreateAccessAndRefreshTokens issues a device flow's first refresh token
// for the client (the example leaves the client empty, so refreshing fails),
// and shortens every access token's lifetime.
func (s *deviceStorage) CreateAccessAndRefreshTokens(ctx context.Context, request op.TokenRequest, currentRefreshToken string) (string, string, time.Time, error) {
	if d, ok := request.(*op.DeviceAuthorizationState); ok && currentRefreshToken == "" {
		request = &storage.RefreshTokenRequest{RefreshToken: &storage.RefreshToken{
			ApplicationID: d.ClientID,
			UserID:        d.Subject,
			Scopes:        d.Scopes,
			Audience:      d.GetAudience(),
			AuthTime:      time.Now(),
			AMR:           []string{"pwd"},
		}}
	}
	id, rt, exp, err := s.Storage.CreateAccessAndRefreshTokens(ctx, request, currentRefreshToken)
	return id, rt, s.shorten(exp), err
}

// CreateAccessToken shortens the lifetime of access tokens issued without a
// refresh token.
func (s *deviceStorage) CreateAccessToken(ctx context.Context, request op.TokenRequest) (string, time.Time, error) {
	id, exp, err := s.Storage.CreateAccessToken(ctx, request)
	return id, s.shorten(exp), err
}

func (s *deviceStorage) shorten(exp time.Time) time.Time {
	if limit := time.Now().Add(s.lifetime); exp.After(limit) {
		return limit
	}
	return exp
}
