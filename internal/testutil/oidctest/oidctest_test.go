package oidctest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
)

// TestProvider checks the provider itself with plain x/oauth2, so that a
// failure of the token-exchange tests is not a broken fixture: the device
// flow, a refresh with rotation, the spent token refused, revocation.
func TestProvider(t *testing.T) {
	for _, tc := range []struct {
		name, id, secret string
		style            oauth2.AuthStyle
	}{
		{"public", oidctest.PublicClientID, "", oauth2.AuthStyleInParams},
		{"confidential", oidctest.ConfidentialClientID, oidctest.ConfidentialClientSecret, oauth2.AuthStyleInHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := oidctest.Start(t, oidctest.Options{AccessTokenLifetime: 90 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conf := &oauth2.Config{
				ClientID:     tc.id,
				ClientSecret: tc.secret,
				Scopes:       []string{"openid", "offline_access"},
				Endpoint: oauth2.Endpoint{
					TokenURL:      p.Issuer + "oauth/token",
					DeviceAuthURL: p.Issuer + "device_authorization",
					AuthStyle:     tc.style,
				},
			}
			da, err := conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.Interval != 1 {
				t.Fatalf("the provider announced a poll interval of %d s, want 1", da.Interval)
			}
			go func() {
				if err := p.Approve(ctx, da.UserCode); err != nil {
					t.Errorf("Approve: %v", err)
				}
			}()
			tok, err := conf.DeviceAccessToken(ctx, da)
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			if tok.RefreshToken == "" || tok.AccessToken == "" {
				t.Fatalf("device flow gave access token %t, refresh token %t", tok.AccessToken != "", tok.RefreshToken != "")
			}
			if tok.ExpiresIn <= 0 || tok.ExpiresIn > 90 {
				t.Fatalf("expires_in = %d, want the shortened lifetime (at most 90)", tok.ExpiresIn)
			}
			next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
				t.Fatal("refresh did not rotate the refresh token")
			}
			_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh with the spent token: %v, want invalid_grant", err)
			}
			if n := len(p.Refreshes()); n != 2 {
				t.Fatalf("provider saw %d refreshes, want 2", n)
			}
			if tc.secret == "" {
				if err := p.Revoke(ctx, next.RefreshToken); err != nil {
					t.Fatalf("Revoke: %v", err)
				}
				code, err := p.RefreshDirectly(ctx, next.RefreshToken)
				if err != nil || code != http.StatusBadRequest {
					t.Fatalf("refresh with the revoked token: %d, %v; want 400", code, err)
				}
			}
		})
	}
}
