package registryauth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeTokenResponse(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		body          string
		wantToken     string
		wantRefresh   string
		wantExpiresIn time.Duration
		wantIssuedAt  time.Time
		wantScope     string
		wantErr       string
	}{
		{
			name:          "docker token, no expires_in: 60 s",
			body:          `{"token":"abc"}`,
			wantToken:     "abc",
			wantExpiresIn: 60 * time.Second,
			wantIssuedAt:  now,
		},
		{
			name:          "access_token only",
			body:          `{"access_token":"xyz","expires_in":300}`,
			wantToken:     "xyz",
			wantExpiresIn: 300 * time.Second,
			wantIssuedAt:  now,
		},
		{
			name:          "both: access_token wins",
			body:          `{"token":"old","access_token":"new","expires_in":3600}`,
			wantToken:     "new",
			wantExpiresIn: time.Hour,
			wantIssuedAt:  now,
		},
		{
			name:          "empty access_token falls back to token",
			body:          `{"token":"t","access_token":""}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{
			name:          "expires_in below 60 is clamped",
			body:          `{"token":"t","expires_in":10}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{
			name:          "expires_in zero means the default",
			body:          `{"token":"t","expires_in":0}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{
			name:          "negative expires_in",
			body:          `{"token":"t","expires_in":-5}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{
			name:          "expires_in null",
			body:          `{"token":"t","expires_in":null}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{
			name:          "expires_in as a string",
			body:          `{"token":"t","expires_in":"900"}`,
			wantToken:     "t",
			wantExpiresIn: 900 * time.Second,
			wantIssuedAt:  now,
		},
		{
			name:          "expires_in fractional",
			body:          `{"token":"t","expires_in":120.7}`,
			wantToken:     "t",
			wantExpiresIn: 120 * time.Second,
			wantIssuedAt:  now,
		},
		{
			name:          "huge expires_in is capped",
			body:          `{"token":"t","expires_in":1e300}`,
			wantToken:     "t",
			wantExpiresIn: maxTokenLifetime,
			wantIssuedAt:  now,
		},
		{
			name:          "issued_at in the past",
			body:          `{"token":"t","expires_in":900,"issued_at":"2025-06-01T11:59:00Z"}`,
			wantToken:     "t",
			wantExpiresIn: 900 * time.Second,
			wantIssuedAt:  time.Date(2025, 6, 1, 11, 59, 0, 0, time.UTC),
		},
		{
			name:          "issued_at with an offset and fractional seconds",
			body:          `{"token":"t","issued_at":"2025-06-01T13:58:30.5+02:00"}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  time.Date(2025, 6, 1, 11, 58, 30, 500000000, time.UTC),
		},
		{
			name:          "issued_at in the future (server clock ahead) is now",
			body:          `{"token":"t","issued_at":"2025-06-01T13:00:00Z"}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{
			name:          "refresh token and scope",
			body:          `{"access_token":"a","refresh_token":"r","scope":"repository:u/r:pull","expires_in":900}`,
			wantToken:     "a",
			wantRefresh:   "r",
			wantExpiresIn: 900 * time.Second,
			wantIssuedAt:  now,
			wantScope:     "repository:u/r:pull",
		},
		{
			name:          "unknown fields are ignored",
			body:          `{"token":"t","foo":{"bar":[1,2]}}`,
			wantToken:     "t",
			wantExpiresIn: time.Minute,
			wantIssuedAt:  now,
		},
		{name: "no token", body: `{"expires_in":60}`, wantErr: "holds no token"},
		{name: "empty tokens", body: `{"token":"","access_token":""}`, wantErr: "holds no token"},
		{name: "not JSON", body: `<html>502 Bad Gateway</html>`, wantErr: "not JSON"},
		{name: "truncated JSON", body: `{"token":"abc`, wantErr: "invalid token response"},
		{name: "a JSON array", body: `[]`, wantErr: "invalid token response"},
		{name: "token is a number", body: `{"token":42}`, wantErr: `field "token" is a JSON number`},
		{name: "expires_in not a number", body: `{"token":"t","expires_in":"soon"}`, wantErr: "expires_in"},
		{name: "expires_in an object", body: `{"token":"t","expires_in":{}}`, wantErr: "expires_in"},
		{name: "issued_at not RFC 3339", body: `{"token":"t","issued_at":"yesterday"}`, wantErr: "issued_at"},
		{name: "token with a newline", body: `{"token":"a\nb"}`, wantErr: "Authorization header"},
		{name: "token with a space", body: `{"token":"a b"}`, wantErr: "Authorization header"},
		{name: "refresh token with a control character", body: `{"token":"a","refresh_token":"r\u0000"}`, wantErr: "refresh token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTokenResponse([]byte(tt.body), now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeTokenResponse(%s) = %v, %v; want an error containing %q", tt.body, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeTokenResponse(%s): %v", tt.body, err)
			}
			if got.AccessToken != tt.wantToken || got.RefreshToken != tt.wantRefresh || got.ExpiresIn != tt.wantExpiresIn ||
				!got.IssuedAt.Equal(tt.wantIssuedAt) || got.Scope != tt.wantScope {
				t.Errorf("DecodeTokenResponse(%s) = {%q %q %s %s %q}, want {%q %q %s %s %q}", tt.body,
					got.AccessToken, got.RefreshToken, got.ExpiresIn, got.IssuedAt, got.Scope,
					tt.wantToken, tt.wantRefresh, tt.wantExpiresIn, tt.wantIssuedAt, tt.wantScope)
			}
			if want := got.IssuedAt.Add(got.ExpiresIn); !got.Expiry().Equal(want) {
				t.Errorf("Expiry() = %s, want %s", got.Expiry(), want)
			}
		})
	}
}

func TestNoTokenSentinel(t *testing.T) {
	_, err := DecodeTokenResponse([]byte(`{}`), time.Now())
	if !errors.Is(err, ErrNoToken) {
		t.Fatalf("error %v, want ErrNoToken", err)
	}
}

func TestTokenFormatHidesSecrets(t *testing.T) {
	tok := &Token{AccessToken: "secret-access", RefreshToken: "secret-refresh", ExpiresIn: time.Minute, IssuedAt: time.Unix(0, 0)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		s := sprintf(verb, tok)
		if strings.Contains(s, "secret") {
			t.Errorf("%s of a token shows a secret: %s", verb, s)
		}
	}
}
