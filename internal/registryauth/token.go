package registryauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// MinTokenLifetime is the lifetime of a token whose response gives none,
// and the least a response may give: the Docker token specification's
// default, which clients also apply to shorter values.
const MinTokenLifetime = 60 * time.Second

// maxTokenLifetime bounds expires_in so that adding it to a time cannot
// overflow; no token lives ten years.
const maxTokenLifetime = 10 * 365 * 24 * time.Hour

// Token is a token server's grant.
type Token struct {
	// AccessToken is the bearer token for the registry: the response's
	// access_token, or its token when access_token is absent.
	AccessToken string
	// RefreshToken is the refresh (identity) token the response carried, if
	// any: a new one after access_type=offline or offline_token=true, or the
	// one that was spent, echoed or rotated, after a refresh_token grant.
	RefreshToken string
	// ExpiresIn is the token's lifetime: expires_in, MinTokenLifetime when
	// that is absent, zero or smaller.
	ExpiresIn time.Duration
	// IssuedAt is the issued_at of the response, or the time it was
	// received when absent. A time after that (a server clock ahead of
	// ours) is replaced by the time it was received, so that a skewed
	// clock never lengthens a token's life.
	IssuedAt time.Time
	// Scope is the granted scope, when the server says (OAuth2 responses).
	Scope string

	// lifetime is the lifetime the server stated, not raised to
	// MinTokenLifetime (60 s when it stated none): the token memory keeps
	// a token no longer than its server said it lives.
	lifetime time.Duration
}

// Expiry is when the token stops being valid: IssuedAt plus ExpiresIn.
func (t *Token) Expiry() time.Time { return t.IssuedAt.Add(t.ExpiresIn) }

// String describes the token without its secrets.
func (t *Token) String() string {
	rt := "no refresh token"
	if t.RefreshToken != "" {
		rt = "a refresh token"
	}
	return fmt.Sprintf("access token of %d bytes, expires in %s (at %s), %s", len(t.AccessToken), t.ExpiresIn, t.Expiry().UTC().Format(time.RFC3339), rt)
}

// Format hides the secrets from every fmt verb.
func (t *Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// tokenResponse is the union of the Docker token response and the OAuth2
// access token response.
type tokenResponse struct {
	Token        string          `json:"token"`
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	IssuedAt     string          `json:"issued_at"`
	Scope        string          `json:"scope"`
}

// ErrNoToken is wrapped by DecodeTokenResponse's error for a response
// without a token.
var ErrNoToken = errors.New("token response holds no token")

// DecodeTokenResponse decodes the body of a successful token response,
// received at now.
//
// It takes access_token, or token when access_token is empty (the Docker
// specification allows either or both, and asks that both be the same);
// expires_in in seconds, as a JSON number or a string of digits, absent or
// below 60 meaning 60; issued_at in RFC 3339. A token must be visible ASCII,
// as an Authorization header needs.
//
// References:
// https://distribution.github.io/distribution/spec/auth/token/#token-response-fields,
// https://distribution.github.io/distribution/spec/auth/oauth/#token-response-fields,
// RFC 6749, section 5.1.
func DecodeTokenResponse(body []byte, now time.Time) (*Token, error) {
	var r tokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		var serr *json.SyntaxError
		var terr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &serr):
			return nil, fmt.Errorf("invalid token response: not JSON: %v", err)
		case errors.As(err, &terr):
			return nil, fmt.Errorf("invalid token response: field %q is a JSON %s", terr.Field, terr.Value)
		}
		return nil, fmt.Errorf("invalid token response: %v", err)
	}
	t := &Token{AccessToken: r.AccessToken, RefreshToken: r.RefreshToken, Scope: r.Scope, IssuedAt: now}
	if t.AccessToken == "" {
		t.AccessToken = r.Token
	}
	if t.AccessToken == "" {
		return nil, ErrNoToken
	}
	if !isVisibleASCII(t.AccessToken) {
		return nil, errors.New("invalid token response: the token has characters an Authorization header cannot carry")
	}
	if t.RefreshToken != "" && !isVisibleASCII(t.RefreshToken) {
		return nil, errors.New("invalid token response: the refresh token has characters other than visible ASCII")
	}
	exp, stated, err := parseExpiresIn(r.ExpiresIn)
	if err != nil {
		return nil, err
	}
	t.ExpiresIn, t.lifetime = exp, stated
	if r.IssuedAt != "" {
		at, err := time.Parse(time.RFC3339, r.IssuedAt)
		if err != nil {
			return nil, fmt.Errorf("invalid token response: issued_at %q is not an RFC 3339 time", scrub.Clean(r.IssuedAt, 64))
		}
		if at.Before(now) {
			t.IssuedAt = at
		}
	}
	return t, nil
}

// parseExpiresIn reads expires_in: absent, null, a number or a string of
// digits (some servers quote it), in seconds. It returns the lifetime
// raised to MinTokenLifetime, as clients read it, and the lifetime as
// stated (MinTokenLifetime when absent or not positive).
func parseExpiresIn(raw json.RawMessage) (time.Duration, time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return MinTokenLifetime, MinTokenLifetime, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, 0, fmt.Errorf("invalid token response: expires_in: %v", err)
		}
		s = strings.TrimSpace(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, 0, fmt.Errorf("invalid token response: expires_in %s is not a number of seconds", scrub.Clean(string(raw), 64))
	}
	if f > maxTokenLifetime.Seconds() {
		return maxTokenLifetime, maxTokenLifetime, nil
	}
	d := time.Duration(f) * time.Second
	if d <= 0 {
		return MinTokenLifetime, MinTokenLifetime, nil
	}
	return max(d, MinTokenLifetime), d, nil
}

// oauthError is an RFC 6749 error response, and the Docker registry's
// error envelope, whichever the server sent.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Errors      []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail"`
	} `json:"errors"`
	Details string `json:"details"` // Docker Hub
}

// errorMessage returns the OAuth2 error code of a token server's error body
// ("" when it has none), and the message for the user, as the server
// wrote it: the caller scrubs it.
func errorMessage(body []byte) (code, msg string) {
	var e oauthError
	if json.Unmarshal(body, &e) != nil {
		return "", string(body)
	}
	var parts []string
	if e.Error != "" {
		parts = append(parts, e.Error)
	}
	if e.Description != "" {
		parts = append(parts, e.Description)
	}
	for _, x := range e.Errors {
		p := x.Code
		if x.Message != "" {
			p += ": " + x.Message
		}
		if d, ok := x.Detail.(string); ok && d != "" {
			p += " (" + d + ")"
		}
		parts = append(parts, p)
	}
	if e.Details != "" {
		parts = append(parts, e.Details)
	}
	return e.Error, strings.Join(parts, "; ")
}

func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
