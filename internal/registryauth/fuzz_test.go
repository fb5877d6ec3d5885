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

// FuzzParseChallengeFile checks that the challenge memory's parser never
// panics, keeps only entries that could have been remembered, stays within
// its bounds, and reads back what it would write.
func FuzzParseChallengeFile(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"registries":{"r.test:5000":{"scheme":"Bearer","realm":"https://a.test/token","service":"s","url":"https","learned":"2026-01-01T00:00:00Z"}}}`,
		`{"v":1,"registries":{"r.test":{"scheme":"Basic","realm":"Registry Realm","url":"http","tokenGET":true,"learned":"2026-01-01T00:00:00Z"}}}`,
		`{"v":1,"registries":{"a/b":{"scheme":"Basic","url":"https"},"c":{"scheme":"Negotiate","url":"https"}}}`,
		`{"v":2,"registries":{}}`,
		`{"v":1,"registries":{"r":{"scheme":"Bearer","url":"https"}}} trailing`,
		`{"v":1,"registries":{"r":{"scheme":"Bearer","realm":"x","url":"https","extra":1}}}`,
		``, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseChallengeFile(b)
		if err != nil {
			if m != nil {
				t.Fatalf("entries with an error: %v", err)
			}
			return
		}
		if len(m) > maxRemembered {
			t.Fatalf("%d entries", len(m))
		}
		for host, r := range m {
			if !validRemembered(host, r) {
				t.Fatalf("kept an invalid entry %q: %+v", host, r)
			}
		}
		out, err := marshalJSON(challengeFile{V: 1, Registries: m})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseChallengeFile(out)
		if err != nil || len(again) != len(m) {
			t.Fatalf("read back %d entries, %v; wrote %d", len(again), err, len(m))
		}
		for host, r := range m {
			if a, ok := again[host]; !ok || !a.same(r) || !a.Learned.Equal(r.Learned) {
				t.Fatalf("%q read back as %+v, wrote %+v", host, a, r)
			}
		}
	})
}

// FuzzParseTokenSet checks that the token memory's parser never panics,
// keeps only usable, bounded entries, and that an entry it keeps is handed
// out only for its own binding and scopes, and never after UseUntil.
func FuzzParseTokenSet(f *testing.F) {
	f.Add(`{"v":1,"tokens":[{"binding":"b","scopes":"s","token":"t","issuedAt":"2026-01-01T00:00:00Z","expiry":"2026-01-01T00:15:00Z","useUntil":"2026-01-01T00:14:00Z"}]}`)
	f.Add(`{"v":1,"tokens":[{"binding":"b","scopes":"s","token":"t t","issuedAt":"2026-01-01T00:00:00Z","expiry":"2025-01-01T00:15:00Z","useUntil":"2027-01-01T00:14:00Z"}]}`)
	f.Add(`{"v":1,"tokens":null}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, v string) {
		set := ParseTokenSet(v)
		if set.V != 1 || len(set.Tokens) > maxKeptTokens {
			t.Fatalf("%+v", set)
		}
		for _, k := range set.Tokens {
			if k.Token == "" || !isVisibleASCII(k.Token) || k.UseUntil.After(k.Expiry) || k.Expiry.Before(k.IssuedAt) {
				t.Fatalf("kept %+v", k)
			}
			id := TokenID{Binding: k.Binding, Scopes: k.Scopes}
			if set.find(id, k.UseUntil) != nil {
				t.Fatal("handed out at UseUntil")
			}
			if set.find(TokenID{Binding: k.Binding + "x", Scopes: k.Scopes}, k.IssuedAt) != nil {
				t.Fatal("handed out for another binding")
			}
		}
	})
}
