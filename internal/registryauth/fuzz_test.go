package registryauth

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// FuzzParseChallenges checks that the parser never panics, that what it
// returns is well formed, and that formatting the challenges and parsing
// them again gives them back.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`,
		`Basic realm="Registry Realm"`,
		`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`,
		`Negotiate YIIB+/abc==, Bearer realm=""`,
		`Bearer realm="a\\b\"c", scope="repository:a:pull,push"`,
		" ,\tBearer  realm \t=\t\"r\" ,, service = s ,  , Basic , ",
		`Basic , realm="x"`,
		`Bearer realm=, service="s"`,
		"Basic realm=\"caf\xc3\xa9\"",
		`Bearer realm="unterminated`,
	} {
		f.Add(s, "")
	}
	f.Add(`Basic realm="one"`, `Bearer realm="two"`)
	f.Fuzz(func(t *testing.T, h1, h2 string) {
		cs, err := ParseChallenges([]string{h1, h2})
		if len(cs) > maxChallenges {
			t.Fatalf("%d challenges, more than %d", len(cs), maxChallenges)
		}
		for _, c := range cs {
			if c.Scheme == "" {
				t.Fatalf("challenge without a scheme from %q %q", h1, h2)
			}
			if c.Token68 != "" && c.Params != nil {
				t.Fatalf("challenge with both a token68 and parameters: %#v", c)
			}
			for k := range c.Params {
				if k != strings.ToLower(k) || k == "" {
					t.Fatalf("parameter name %q is not lower-case", k)
				}
			}
		}
		if err != nil || len(cs) == 0 {
			return
		}
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = c.String()
		}
		again, err := ParseChallenges([]string{strings.Join(parts, ", ")})
		if err != nil {
			t.Fatalf("formatted challenges %q do not parse: %v", strings.Join(parts, ", "), err)
		}
		if !reflect.DeepEqual(again, cs) {
			t.Fatalf("round trip of %q %q:\n got %#v\nwant %#v", h1, h2, again, cs)
		}
	})
}

// FuzzDecodeTokenResponse checks that the decoder never panics and that a
// token it accepts is usable: visible ASCII, a lifetime of at least 60 s
// and at most the cap, an issue time never after the time of receipt.
func FuzzDecodeTokenResponse(f *testing.F) {
	for _, s := range []string{
		`{"token":"abc"}`,
		`{"access_token":"a","expires_in":300,"issued_at":"2025-06-01T11:59:00Z","refresh_token":"r"}`,
		`{"token":"t","expires_in":"900"}`,
		`{"token":"t","expires_in":1e300}`,
		`{"token":"t","expires_in":-1}`,
		`{"token":"t","issued_at":"2999-01-01T00:00:00Z"}`,
		`{"token":"a\nb"}`,
		`{}`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := DecodeTokenResponse(body, now)
		if err != nil {
			if tok != nil {
				t.Fatal("a token with an error")
			}
			return
		}
		if tok.AccessToken == "" || !isVisibleASCII(tok.AccessToken) {
			t.Fatalf("unusable access token %q", tok.AccessToken)
		}
		if tok.RefreshToken != "" && !isVisibleASCII(tok.RefreshToken) {
			t.Fatalf("unusable refresh token %q", tok.RefreshToken)
		}
		if tok.ExpiresIn < MinTokenLifetime || tok.ExpiresIn > maxTokenLifetime {
			t.Fatalf("lifetime %s out of bounds", tok.ExpiresIn)
		}
		if tok.IssuedAt.After(now) {
			t.Fatalf("issued at %s, after now %s", tok.IssuedAt, now)
		}
		_ = tok.Expiry()
		_ = tok.String()
	})
}
