package tokenexchange_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// Faults a real provider cannot be made to show, from httptest servers:
// slow endpoints, oversized bodies, 5xx, redirects to other hosts, plain
// HTTP to a host that is not loopback.

const storedRefreshToken = "stored-refresh-token-3f9c2a7d1e5b4c8a9d0e6f1a2b3c4d5e"

// tokenServer is a fake token endpoint whose answer each test sets.
type tokenServer struct {
	*httptest.Server
	mu       sync.Mutex
	handler  http.HandlerFunc
	requests atomic.Int64
}

func newTokenServer(t testing.TB, h http.HandlerFunc) *tokenServer {
	ts := &tokenServer{handler: h}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		ts.mu.Lock()
		h := ts.handler
		ts.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) set(h http.HandlerFunc) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.handler = h
}

// grantToken answers a refresh with a new access and refresh token.
func grantToken(access, refresh string, expiresIn int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		m := map[string]any{"access_token": access, "token_type": "Bearer", "refresh_token": refresh}
		if expiresIn > 0 {
			m["expires_in"] = expiresIn
		}
		_ = json.NewEncoder(w).Encode(m)
	}
}

// faultStore is a Store over a MemStore that holds a refresh token for the
// registry, exchanging it at tokenURL.
func faultStore(t *testing.T, reg tokenexchange.Registry, c *clock, warn *syncBuffer) (*tokenexchange.Store, *helpertest.MemStore) {
	t.Helper()
	mem := helpertest.NewMemStore()
	if err := mem.Put(context.Background(), key(t, registryURL), helper.Credentials{ServerURL: registryURL, Username: helper.IdentityTokenUsername, Secret: storedRefreshToken}); err != nil {
		t.Fatal(err)
	}
	if reg.ClientID == "" {
		reg.ClientID = "registry-cli"
	}
	opts := tokenexchange.Options{Dir: t.TempDir(), Registries: map[string]tokenexchange.Registry{registryURL: reg}}
	if c != nil {
		opts.Now = c.Now
	}
	if warn != nil {
		opts.Warn = warn
	}
	s, err := tokenexchange.New(mem, opts)
	if err != nil {
		t.Fatal(err)
	}
	// As a login leaves it: the refresh token bound to this provider.
	if err := tokenexchange.Bind(context.Background(), s, key(t, registryURL), storedRefreshToken); err != nil {
		t.Fatal(err)
	}
	return s, mem
}

// wantFailure checks that get fails with an error that is not not-found,
// mentions want, and does not contain the refresh token.
func wantFailure(t *testing.T, s helper.Store, want string) error {
	t.Helper()
	_, err := s.Get(context.Background(), key(t, registryURL))
	switch {
	case err == nil:
		t.Fatalf("Get succeeded, want an error about %q", want)
	case errors.Is(err, helper.ErrNotFound):
		t.Fatalf("Get answered not-found for a failure: %v", err)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("Get: %v, want an error about %q", err, want)
	case strings.Contains(err.Error()+helper.Hint(err), storedRefreshToken):
		t.Fatalf("the error reveals the refresh token: %v", err)
	}
	return err
}

func TestSlowEndpointTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func(w http.ResponseWriter, r *http.Request) {
		// The server notices a closed connection only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(20 * time.Second):
		}
	}
	for _, tc := range []struct {
		name string
		reg  func(url string) tokenexchange.Registry
	}{
		{"token endpoint", func(u string) tokenexchange.Registry { return tokenexchange.Registry{TokenURL: u + "/token"} }},
		{"discovery", func(u string) tokenexchange.Registry { return tokenexchange.Registry{Issuer: u + "/"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, slow)
			reg := tc.reg(ts.URL)
			reg.Timeout = 300 * time.Millisecond
			s, _ := faultStore(t, reg, nil, nil)
			start := time.Now()
			err := wantFailure(t, s, "did not answer within 300ms")
			// A hang detector, not a measurement: without the timeout the
			// server holds the request for 20 s.
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("Get took %v with a 300ms timeout", d)
			}
			t.Logf("%v", err)
		})
	}
}

func TestOversizedBodyRefused(t *testing.T) {
	big := `{"access_token":"` + strings.Repeat("a", 2<<20) + `","token_type":"Bearer"}`
	for _, tc := range []struct {
		name          string
		contentLength bool
	}{{"chunked", false}, {"with Content-Length", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.contentLength {
					w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				}
				_, _ = w.Write([]byte(big))
			})
			s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, nil, nil)
			wantFailure(t, s, "larger than")
		})
	}
}

func TestServerErrorServesValidCache(t *testing.T) {
	ts := newTokenServer(t, grantToken("access-1", "refresh-2", 600))
	c := newClock()
	warn := &syncBuffer{}
	s, mem := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, c, warn)
	if got := get(t, s); got.Secret != "access-1" {
		t.Fatalf("Get = %v, want access-1", got)
	}
	if rt, _ := mem.Get(context.Background(), key(t, registryURL)); rt.Secret != "refresh-2" {
		t.Fatalf("the rotated refresh token was not written back: %v", rt)
	}

	ts.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) })
	c.Advance(590 * time.Second) // due for a refresh, not yet expired
	if got := get(t, s); got.Secret != "access-1" {
		t.Fatalf("with the endpoint failing, Get = %v, want the cached access-1", got)
	}
	if !strings.Contains(warn.String(), "HTTP 502") {
		t.Errorf("warning %q does not give the cause", warn.String())
	}
	c.Advance(time.Minute) // expired
	wantFailure(t, s, "HTTP 502")
	// The refresh token was not touched by the failures.
	if rt, _ := mem.Get(context.Background(), key(t, registryURL)); rt.Secret != "refresh-2" {
		t.Fatalf("a failed refresh changed the refresh token")
	}
}

func TestRedirectToAnotherHostRefused(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			other := newTokenServer(t, grantToken("stolen", "stolen", 60))
			ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/token", code)
			})
			s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, nil, nil)
			wantFailure(t, s, "another host")
			if n := other.requests.Load(); n != 0 {
				t.Fatalf("the other host received %d requests, want none", n)
			}
		})
	}
	t.Run("same host followed", func(t *testing.T) {
		ts := newTokenServer(t, nil)
		ts.set(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				http.Redirect(w, r, "/token2", http.StatusTemporaryRedirect)
				return
			}
			_ = r.ParseForm()
			if r.PostForm.Get("refresh_token") != storedRefreshToken {
				http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
				return
			}
			grantToken("access-1", "", 60)(w, r)
		})
		s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, nil, nil)
		if got := get(t, s); got.Secret != "access-1" {
			t.Fatalf("Get = %v", got)
		}
	})
}

func TestPlainHTTPRefused(t *testing.T) {
	mem := helpertest.NewMemStore()
	for _, tc := range []struct {
		name string
		reg  tokenexchange.Registry
		want string // "" means accepted
	}{
		{"issuer", tokenexchange.Registry{Issuer: "http://idp.example.com/"}, "refusing plain HTTP"},
		{"token URL", tokenexchange.Registry{TokenURL: "http://idp.example.com/token"}, "refusing plain HTTP"},
		{"device URL", tokenexchange.Registry{TokenURL: "https://idp.example.com/token", DeviceAuthURL: "http://idp.example.com/device"}, "refusing plain HTTP"},
		{"insecure", tokenexchange.Registry{Issuer: "http://idp.example.com/", Insecure: true}, ""},
		{"loopback", tokenexchange.Registry{Issuer: "http://127.0.0.1:8080/"}, ""},
		{"localhost", tokenexchange.Registry{Issuer: "http://localhost:8080/"}, ""},
		{"IPv6 loopback", tokenexchange.Registry{Issuer: "http://[::1]:8080/"}, ""},
		{"https", tokenexchange.Registry{Issuer: "https://idp.example.com/"}, ""},
		{"other scheme", tokenexchange.Registry{Issuer: "ftp://idp.example.com/"}, "unsupported URL scheme"},
		{"relative", tokenexchange.Registry{TokenURL: "/token"}, "not an absolute URL"},
		{"user info", tokenexchange.Registry{TokenURL: "https://u:p@idp.example.com/token"}, "user name or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.reg.ClientID = "cli"
			_, err := tokenexchange.New(mem, tokenexchange.Options{Dir: t.TempDir(), Registries: map[string]tokenexchange.Registry{registryURL: tc.reg}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v, want it accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}

	// A discovery document on loopback that points the token endpoint at a
	// plain-HTTP host elsewhere is refused before anything is sent there.
	ts := newTokenServer(t, nil)
	ts.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":"http://idp.example.com/token"}`, ts.URL+"/")
	})
	s, _ := faultStore(t, tokenexchange.Registry{Issuer: ts.URL + "/"}, nil, nil)
	wantFailure(t, s, "refusing plain HTTP")
}

func TestProviderAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		want     string
		wantHint string
	}{
		{"invalid_grant", 400, `{"error":"invalid_grant","error_description":"refresh token revoked"}`, "invalid_grant: refresh token revoked (HTTP 400)", "login " + registryURL},
		{"invalid_client", 401, `{"error":"invalid_client"}`, "invalid_client (HTTP 401)", "clientID"},
		{"not found", 404, `not here`, "HTTP 404", "tokenURL"},
		{"malformed 200", 200, `{"access_token":`, "failed to refresh", ""},
		{"no access token", 200, `{"token_type":"Bearer"}`, "access_token", ""},
		{"control characters", 400, `{"error":"invalid_grant","error_description":"line\nbreak\u001b[31m red"}`, "invalid_grant: line break red (HTTP 400)", ""},
		{"echoed refresh token", 400, `{"error":"invalid_request","error_description":"bad token ` + storedRefreshToken + `"}`, "invalid_request: bad token <redacted> (HTTP 400)", "tokenURL"},
		{"echoed form", 400, `{"error":"invalid_request","error_description":"got refresh_token=` + url.QueryEscape(storedRefreshToken) + `"}`, "got refresh_token=<redacted> (HTTP 400)", "tokenURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, nil, nil)
			err := wantFailure(t, s, tc.want)
			if !strings.Contains(helper.Hint(err), tc.wantHint) {
				t.Errorf("hint %q, want it to mention %q", helper.Hint(err), tc.wantHint)
			}
		})
	}
}

func TestDiscoveryChecked(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"other issuer", `{"issuer":"https://evil.example.com/","token_endpoint":"%s/token"}`, "not"},
		{"no token endpoint", `{"issuer":"%[1]s/"}`, "no token_endpoint"},
		{"not JSON", `<html>`, "invalid discovery document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, nil)
			ts.set(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/.well-known/openid-configuration" {
					t.Errorf("request to %s after a bad discovery document", r.URL.Path)
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, tc.doc, ts.URL)
			})
			s, _ := faultStore(t, tokenexchange.Registry{Issuer: ts.URL + "/"}, nil, nil)
			wantFailure(t, s, tc.want)
		})
	}
}

func TestClientAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret string
	}{{"public", ""}, {"confidential", "s3cret"}} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				basicUser, basicPass, formID, formSecret string
				basic                                    bool
			}
			ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				got.basicUser, got.basicPass, got.basic = r.BasicAuth()
				_ = r.ParseForm()
				got.formID, got.formSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
				grantToken("a", "", 60)(w, r)
			})
			s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token", ClientSecret: tc.secret}, nil, nil)
			get(t, s)
			if tc.secret == "" && (got.basic || got.formID != "registry-cli" || got.formSecret != "") {
				t.Fatalf("public client sent %+v, want client_id in the form only", got)
			}
			if tc.secret != "" && (!got.basic || got.basicUser != "registry-cli" || got.basicPass != tc.secret || got.formSecret != "") {
				t.Fatalf("confidential client sent %+v, want HTTP Basic only", got)
			}
			if n := ts.requests.Load(); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
	t.Run("secret variable empty", func(t *testing.T) {
		ts := newTokenServer(t, grantToken("a", "", 60))
		s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token", ClientSecretEnv: "MY_IDP_SECRET"}, nil, nil)
		wantFailure(t, s, "MY_IDP_SECRET is empty")
		if n := ts.requests.Load(); n != 0 {
			t.Fatalf("%d requests without a client secret, want none", n)
		}
	})
}

func TestNoExpiresInCachedBriefly(t *testing.T) {
	ts := newTokenServer(t, grantToken("access-1", "", 0))
	c := newClock()
	s, _ := faultStore(t, tokenexchange.Registry{TokenURL: ts.URL + "/token"}, c, nil)
	get(t, s)
	c.Advance(40 * time.Second)
	get(t, s)
	if n := ts.requests.Load(); n != 1 {
		t.Fatalf("%d requests within 40 s of a token without expires_in, want 1", n)
	}
	c.Advance(10 * time.Second)
	get(t, s)
	if n := ts.requests.Load(); n != 2 {
		t.Fatalf("%d requests 50 s after a token without expires_in, want 2 (assumed lifetime 60 s)", n)
	}
}

func TestReservedKeys(t *testing.T) {
	mem := helpertest.NewMemStore()
	s, err := tokenexchange.New(mem, tokenexchange.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"registry.example.com/@access-token", "https://registry.example.com/@access-token/", "host/ns/@x"} {
		k := key(t, u)
		if err := s.Put(ctx, k, helper.Credentials{ServerURL: u, Username: "u", Secret: "s"}); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Put(%q): %v, want refused as reserved", u, err)
		}
		// What a store holds under a reserved key stays invisible.
		if err := mem.Put(ctx, k, helper.Credentials{ServerURL: k.String(), Username: "u", Secret: "s"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Get(%q): %v, want not-found", u, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Delete(%q): %v, want not-found", u, err)
		}
	}
	// A key that merely contains "@" elsewhere, percent-encoded, is a user key.
	k := key(t, "registry.example.com/%40x")
	if err := s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com/%40x", Username: "u", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	m, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m["registry.example.com/%40x"] != "u" {
		t.Fatalf("List = %v, want only the user's entry", m)
	}
}

func TestSettingsChecked(t *testing.T) {
	mem := helpertest.NewMemStore()
	ok := tokenexchange.Registry{Issuer: "https://idp.example.com/", ClientID: "cli"}
	for _, tc := range []struct {
		name string
		regs map[string]tokenexchange.Registry
		dir  string
		want string
	}{
		{"two spellings", map[string]tokenexchange.Registry{"registry.example.com": ok, "https://Registry.example.com:443/": ok}, "d", "same registry"},
		{"no client id", map[string]tokenexchange.Registry{"r.example.com": {Issuer: "https://idp.example.com/"}}, "d", "no client id"},
		{"no endpoint", map[string]tokenexchange.Registry{"r.example.com": {ClientID: "cli"}}, "d", "neither an issuer nor a token URL"},
		{"token username", map[string]tokenexchange.Registry{"r.example.com": {Issuer: "https://idp.example.com/", ClientID: "c", Username: "<token>"}}, "d", "refresh token"},
		{"bad server URL", map[string]tokenexchange.Registry{"user:pw@r.example.com": ok}, "d", "user name or password"},
		{"reserved server URL", map[string]tokenexchange.Registry{"r.example.com/@x": ok}, "d", "reserved"},
		{"no directory", map[string]tokenexchange.Registry{"r.example.com": ok}, "", "no directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tokenexchange.New(mem, tokenexchange.Options{Dir: tc.dir, Registries: tc.regs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Fatalf("the error quotes a password: %v", err)
			}
		})
	}
}
