package tokenexchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
)

// errNoRevocation says the provider publishes no revocation endpoint: the
// grant cannot be ended from here.
var errNoRevocation = errors.New("the provider publishes no revocation endpoint")

// revoke asks the provider to revoke refreshToken (RFC 7009), which ends
// the grant: the refresh token and, at most providers, the access tokens
// issued from it stop working. The endpoint comes from the issuer's
// discovery document (revocation_endpoint); without an issuer, or when the
// document names none, it returns errNoRevocation. The client
// authenticates as it does at the token endpoint.
func (r *registry) revoke(ctx context.Context, refreshToken string) error {
	if r.Issuer == "" {
		return errNoRevocation
	}
	d, err := r.discover(ctx)
	if err != nil {
		return err
	}
	if d.RevocationEndpoint == "" {
		return errNoRevocation
	}
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	if r.ClientSecret == "" {
		form.Set("client_id", r.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("failed to revoke the refresh token for %s: %v", r.key, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.ClientSecret != "" {
		// RFC 6749 section 2.3.1: both parts form-encoded, then Basic.
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("failed to revoke the refresh token for %s: %v", r.key, r.netError(err))
	}
	defer resp.Body.Close()
	b, err := httppolicy.ReadBody(resp)
	if err != nil {
		return fmt.Errorf("failed to revoke the refresh token for %s: %v", r.key, err)
	}
	// RFC 7009 section 2.2: 200 whether or not the token was still valid.
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	what := resp.Status
	var e struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(b, &e) == nil && e.Code != "" {
		secrets := r.secrets(refreshToken)
		what = secrets.Line(e.Code)
		if e.Description != "" {
			what += ": " + secrets.Line(e.Description)
		}
		what += fmt.Sprintf(" (HTTP %d)", resp.StatusCode)
	}
	return fmt.Errorf("failed to revoke the refresh token for %s: the provider answered %s", r.key, what)
}
