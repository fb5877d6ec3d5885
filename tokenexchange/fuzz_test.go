package tokenexchange_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// FuzzDecodeCache: the cache entry is read back from the store, which a
// person may have edited by hand; decoding never panics, and whatever it
// accepts encodes and decodes to the same entry.
func FuzzDecodeCache(f *testing.F) {
	f.Add(`{"v":1,"accessToken":"a","expiry":"2030-01-01T00:00:00Z","refreshAt":"2029-12-31T23:59:00Z","grant":"g"}`)
	f.Add(`{"v":1,"accessToken":"a","expiry":"2030-01-01T00:00:00Z","refreshAt":"2029-12-31T23:59:00Z","grant":"g","previous":"p"}`)
	f.Add(`{"v":2}`)
	f.Add(`{"v":1,"accessToken":"a","expiry":"2030-01-01T00:00:00Z","refreshAt":"2031-01-01T00:00:00Z","grant":"g"}`)
	f.Add(`{"v":1,"accessToken":"a"} trailing`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, secret string) {
		e, err := tokenexchange.DecodeCache(secret)
		if err != nil {
			return
		}
		enc, err := tokenexchange.EncodeCache(e)
		if err != nil {
			t.Fatalf("EncodeCache of an accepted entry: %v", err)
		}
		e2, err := tokenexchange.DecodeCache(enc)
		if err != nil {
			t.Fatalf("the re-encoded entry %q does not decode: %v", enc, err)
		}
		if enc2, _ := tokenexchange.EncodeCache(e2); enc2 != enc {
			t.Fatalf("not stable: %q then %q", enc, enc2)
		}
	})
}

// FuzzParseDiscovery: discovery documents come from the network.
func FuzzParseDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://idp.example.com/","token_endpoint":"https://idp.example.com/token","device_authorization_endpoint":"https://idp.example.com/device"}`))
	f.Add([]byte(`{"issuer":"https://idp.example.com","token_endpoint":"http://idp.example.com/token"}`))
	f.Add([]byte(`{"issuer":"https://evil.example.com/","token_endpoint":"https://evil.example.com/token"}`))
	f.Add([]byte(`{"issuer":"https://idp.example.com/","token_endpoint":"/relative"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tokenURL, err := tokenexchange.ParseDiscovery(b, "https://idp.example.com/")
		if err != nil {
			return
		}
		if !strings.HasPrefix(strings.ToLower(tokenURL), "https://") && !strings.HasPrefix(strings.ToLower(tokenURL), "http://") {
			t.Fatalf("accepted token endpoint %q", tokenURL)
		}
	})
}

// FuzzTokenResponse: whatever a token endpoint answers, get does not
// panic, never answers not-found, never reveals the refresh token in an
// error, and never hands out the refresh token or an empty token.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, "application/json", `{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r2"}`)
	f.Add(200, "application/json", `{"access_token":"a","expires_in":"3600"}`)
	f.Add(200, "application/x-www-form-urlencoded", `access_token=a&token_type=bearer&expires_in=60`)
	f.Add(200, "text/plain", `access_token=&expires_in=-5`)
	f.Add(400, "application/json", `{"error":"invalid_grant","error_description":"gone"}`)
	f.Add(400, "application/x-www-form-urlencoded", `error=invalid_grant`)
	f.Add(500, "text/html", `<h1>oops</h1>`)
	f.Add(200, "application/json", `{"access_token":"`+storedRefreshToken+`"}`)
	f.Add(200, "application/json", `{"access_token":"a","expires_in":9223372036854775807}`)

	type answer struct {
		status      int
		contentType string
		body        string
	}
	var current atomic.Pointer[answer]
	ts := newTokenServer(f, func(w http.ResponseWriter, r *http.Request) {
		a := current.Load()
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	})
	// Every iteration builds a new store and so a new HTTP client: without
	// keep-alives each connection closes after its answer, instead of
	// idling until the process runs out of file descriptors.
	ts.Config.SetKeepAlivesEnabled(false)

	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 200 || status > 599 || strings.ContainsAny(contentType, "\r\n\x00") {
			return
		}
		current.Store(&answer{status, contentType, body})
		s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, nil, nil)
		c, err := s.Get(context.Background(), key(t, registryURL))
		if err != nil {
			if errors.Is(err, helper.ErrNotFound) {
				t.Fatalf("not-found for a token endpoint failure: %v", err)
			}
			if strings.Contains(err.Error()+helper.Hint(err), storedRefreshToken) && !strings.Contains(body, storedRefreshToken) {
				t.Fatalf("error reveals the refresh token: %v", err)
			}
			return
		}
		if c.Secret == "" || (c.Secret == storedRefreshToken && !strings.Contains(body, storedRefreshToken)) {
			t.Fatalf("Get = %v", c)
		}
	})
}

// FuzzRevokeResponse: whatever a revocation endpoint answers, logout
// (Delete) erases the credential and its cache and returns nil; a failed
// revocation is one warning line that never reveals the refresh token.
func FuzzRevokeResponse(f *testing.F) {
	f.Add(200, "application/json", ``)
	f.Add(400, "application/json", `{"error":"unsupported_token_type","error_description":"no"}`)
	f.Add(400, "application/json", `{"error":"invalid_client","error_description":"line1\nline2\r\u0000"}`)
	f.Add(503, "text/html", `<h1>down</h1>`)
	f.Add(401, "application/json", `{"error":"`+storedRefreshToken+`"}`)
	f.Add(500, "application/json", `{"error":{"nested":true}}`)

	type answer struct {
		status      int
		contentType string
		body        string
	}
	var current atomic.Pointer[answer]
	var ts *tokenServer
	ts = newTokenServer(f, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":"` + ts.URL + `/","token_endpoint":"` + ts.URL + `/token","revocation_endpoint":"` + ts.URL + `/revoke"}`))
			return
		}
		a := current.Load()
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	})
	ts.Config.SetKeepAlivesEnabled(false)

	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 200 || status > 599 || strings.ContainsAny(contentType, "\r\n\x00") {
			return
		}
		current.Store(&answer{status, contentType, body})
		warn := &syncBuffer{}
		s, mem := faultStore(t, tokenexchange.Registry{Issuer: ts.URL + "/"}, nil, warn)
		if err := s.Delete(context.Background(), key(t, registryURL)); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if m, _ := mem.List(context.Background()); len(m) != 0 {
			t.Fatalf("after Delete the store holds %v", m)
		}
		w := warn.String()
		if strings.Contains(w, storedRefreshToken) && !strings.Contains(body, storedRefreshToken) {
			t.Fatalf("the warning reveals the refresh token: %q", w)
		}
		if strings.Count(w, "\n") > 1 || strings.ContainsAny(strings.TrimSuffix(w, "\n"), "\r\n\x00") {
			t.Fatalf("the warning is not one line: %q", w)
		}
		// A control character in the header makes the answer malformed,
		// which the client rightly reports, whatever the status.
		wellFormed := !strings.ContainsFunc(contentType, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f })
		if wellFormed && (status == http.StatusOK) != (w == "") {
			t.Fatalf("revocation answered %d, warning %q: want a warning exactly when it is not 200", status, w)
		}
		if !wellFormed && w == "" {
			t.Fatalf("a malformed answer (Content-Type %q) gave no warning", contentType)
		}
	})
}

// FuzzExchangeResponse: the token endpoint's answer to a token exchange
// (RFC 8693 section 2.2.1) comes from the network; parsing never panics,
// an accepted answer has a token fit for a credential and a positive
// lifetime, and the JWT identity reader never panics on its token.
func FuzzExchangeResponse(f *testing.F) {
	f.Add(`{"access_token":"at","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":300}`)
	f.Add(`{"access_token":"at","expires_in":"300"}`)
	f.Add(`{"access_token":"at","expires_in":-1}`)
	f.Add(`{"access_token":"a b"}`)
	f.Add(`{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJpIiwic3ViIjoicyJ9.c2ln","expires_in":1e400}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		tok, life, err := tokenexchange.ParseExchanged([]byte(body))
		_ = tokenexchange.TokenIdentity(body)
		if err != nil {
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n\"\\") {
			t.Fatalf("accepted token %q", tok)
		}
		if life <= 0 {
			t.Fatalf("accepted lifetime %v", life)
		}
		_ = tokenexchange.TokenIdentity(tok)
	})
}
