package registryauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
)

const tokenChallenge = `Bearer realm="https://auth.test/token",service="registry.test"`

var (
	alice    = &helper.Credentials{ServerURL: "registry.test", Username: "alice", Secret: "s3cr3t-password"}
	identity = &helper.Credentials{ServerURL: "registry.test", Username: helper.IdentityTokenUsername, Secret: "refresh-123"}
)

// tokenServer answers the OAuth2 POST with post and the Docker GET with get
// (nil: 405 and 404).
func tokenServer(rec *recorder, post, get func(w http.ResponseWriter, s seen)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := rec.record(r)
		switch {
		case r.Method == http.MethodPost && post != nil:
			post(w, s)
		case r.Method == http.MethodPost:
			writeJSON(w, http.StatusMethodNotAllowed, `{"error":"method not allowed"}`)
		case r.Method == http.MethodGet && get != nil:
			get(w, s)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestBearerPasswordFallsBackToGET(t *testing.T) {
	w := newWorld(t)
	var reg, ts recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok-1")), nil)
	w.serveTLS("auth.test", tokenServer(&ts,
		func(w http.ResponseWriter, s seen) {
			// distribution's token server: no password grant.
			writeJSON(w, http.StatusBadRequest, `{"errors":[{"code":"UNSUPPORTED_VALUE","message":"unsupported value","detail":"password grant type not supported"}]}`)
		},
		func(w http.ResponseWriter, s seen) {
			if !basicAuth("alice", "s3cr3t-password")(s.Authorization) {
				writeJSON(w, http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			writeJSON(w, http.StatusOK, `{"token":"tok-1","expires_in":900,"issued_at":"2020-01-01T00:00:00Z"}`)
		}), nil)

	scopes := []string{"repository:alice/app:pull", "repository:alice/app:pull,push"}
	r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, scopes)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Authenticated || r.Scheme != SchemeBearer || r.Method != MethodTokenGET || r.Token.AccessToken != "tok-1" ||
		r.Realm != "https://auth.test/token" || r.Service != "registry.test" || r.PingURL != "https://registry.test/v2/" {
		t.Errorf("result %+v", r)
	}
	if r.Token.ExpiresIn != 900*time.Second {
		t.Errorf("expires in %s", r.Token.ExpiresIn)
	}
	reqs := ts.all()
	if len(reqs) != 2 {
		t.Fatalf("token server saw %d requests, want the POST and the GET: %+v", len(reqs), reqs)
	}
	post, get := reqs[0], reqs[1]
	for k, want := range map[string]string{
		"grant_type": "password", "username": "alice", "password": "s3cr3t-password", "service": "registry.test",
		"client_id": DefaultClientID, "scope": "repository:alice/app:pull repository:alice/app:pull,push", "access_type": "",
	} {
		if got := post.Form.Get(k); got != want {
			t.Errorf("POST form %s = %q, want %q", k, got, want)
		}
	}
	if post.Authorization != "" {
		t.Errorf("POST carried Authorization %q; the password grant sends the password in the form only", post.Authorization)
	}
	if got := get.Query["scope"]; len(got) != 2 || got[0] != scopes[0] || got[1] != scopes[1] {
		t.Errorf("GET scopes %q, want one parameter per scope %q", got, scopes)
	}
	if get.Query.Get("service") != "registry.test" || get.Query.Has("offline_token") || get.Query.Has("client_id") {
		t.Errorf("GET query %v", get.Query)
	}
	// The registry saw the ping and the confirmation with the token.
	if rr := reg.all(); len(rr) != 2 || rr[0].Authorization != "" || rr[1].Authorization != "Bearer tok-1" {
		t.Errorf("registry saw %+v", rr)
	}
}

func TestBearerPasswordGrant(t *testing.T) {
	w := newWorld(t)
	var reg, ts recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok-2")), nil)
	w.serveTLS("auth.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
		writeJSON(w, http.StatusOK, `{"access_token":"tok-2","expires_in":30}`)
	}, nil), nil)
	r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != MethodOAuthPassword || r.Token.ExpiresIn != MinTokenLifetime || !r.Authenticated {
		t.Errorf("result %+v, token %v", r, r.Token)
	}
	if reqs := ts.all(); len(reqs) != 1 || reqs[0].Form.Has("scope") {
		t.Errorf("token server saw %+v; want one POST without a scope", reqs)
	}
}

func TestBearerRefreshToken(t *testing.T) {
	for _, offline := range []bool{false, true} {
		t.Run(map[bool]string{false: "online", true: "offline"}[offline], func(t *testing.T) {
			w := newWorld(t)
			var reg, ts recorder
			w.serveTLS("registry.test", fakeRegistry(&reg, `Bearer realm="https://auth.test/token",service="registry.test",scope="repository:a/b:pull"`, bearer("tok-3")), nil)
			w.serveTLS("auth.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
				if s.Form.Get("grant_type") != "refresh_token" || s.Form.Get("refresh_token") != "refresh-123" {
					writeJSON(w, http.StatusUnauthorized, `{"error":"invalid_grant"}`)
					return
				}
				writeJSON(w, http.StatusOK, `{"access_token":"tok-3","refresh_token":"refresh-456","expires_in":300}`)
			}, nil), nil)
			r, err := w.client(Options{Offline: offline}).Authenticate(context.Background(), mustEndpoint(t, "https://registry.test"), identity, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != MethodOAuthRefresh || r.Token.RefreshToken != "refresh-456" || !r.Authenticated {
				t.Errorf("result %+v", r)
			}
			post := ts.all()[0]
			if got := post.Form.Get("scope"); got != "repository:a/b:pull" {
				t.Errorf("scope %q, want the challenge's scope", got)
			}
			if got, want := post.Form.Get("access_type"), map[bool]string{false: "", true: "offline"}[offline]; got != want {
				t.Errorf("access_type %q, want %q", got, want)
			}
			if post.Form.Get("client_id") != DefaultClientID || post.Authorization != "" {
				t.Errorf("POST %+v", post)
			}
		})
	}
}

func TestRefreshTokenNeedsPOST(t *testing.T) {
	w := newWorld(t)
	var reg, ts recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, nil), nil)
	w.serveTLS("auth.test", tokenServer(&ts, nil, func(w http.ResponseWriter, s seen) {
		writeJSON(w, http.StatusOK, `{"token":"x"}`)
	}), nil)
	_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), identity, nil)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "405") {
		t.Fatalf("error %v, want ErrUnsupported naming the 405", err)
	}
	if len(ts.all()) != 1 {
		t.Errorf("token server saw %+v; a refresh token cannot go in a GET", ts.all())
	}
}

func TestRejectedCredentials(t *testing.T) {
	tests := []struct {
		name      string
		challenge string
		cred      *helper.Credentials
		post      func(http.ResponseWriter, seen)
		get       func(http.ResponseWriter, seen)
		want      string
	}{
		{
			name:      "wrong password: 401 from the token GET",
			challenge: tokenChallenge,
			cred:      &helper.Credentials{Username: "alice", Secret: "wrong-password"},
			post: func(w http.ResponseWriter, _ seen) {
				writeJSON(w, http.StatusBadRequest, `{"errors":[{"code":"UNSUPPORTED_VALUE"}]}`)
			},
			get: func(w http.ResponseWriter, _ seen) {
				w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
				writeJSON(w, http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":"echo wrong-password"}]}`)
			},
			want: "the token server at https://auth.test/token answered 401 Unauthorized: UNAUTHORIZED: authentication required (echo <redacted>)",
		},
		{
			name:      "a token server that echoes the Authorization header",
			challenge: tokenChallenge,
			cred:      &helper.Credentials{Username: "alice", Secret: "wrong-pass&word=1"},
			post: func(w http.ResponseWriter, _ seen) {
				writeJSON(w, http.StatusBadRequest, `{"errors":[{"code":"UNSUPPORTED_VALUE"}]}`)
			},
			get: func(w http.ResponseWriter, s seen) {
				writeJSON(w, http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"bad password `+s.Authorization+`"}]}`)
			},
			want: "answered 401 Unauthorized: UNAUTHORIZED: bad password Basic <redacted>",
		},
		{
			name:      "a token server that echoes the form",
			challenge: tokenChallenge,
			cred:      &helper.Credentials{Username: "alice", Secret: "wrong-pass&word=1"},
			post: func(w http.ResponseWriter, s seen) {
				writeJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"bad form `+s.Form.Encode()+`"}`)
			},
			want: "answered 400 Bad Request: invalid_grant; bad form client_id=docker-credential-notation&grant_type=password&password=<redacted>",
		},
		{
			name:      "invalid_grant on the password grant: no fallback",
			challenge: tokenChallenge,
			cred:      &helper.Credentials{Username: "alice", Secret: "wrong-password"},
			post: func(w http.ResponseWriter, _ seen) {
				writeJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"bad credentials"}`)
			},
			want: "answered 400 Bad Request: invalid_grant; bad credentials",
		},
		{
			name:      "revoked refresh token",
			challenge: tokenChallenge,
			cred:      identity,
			post: func(w http.ResponseWriter, _ seen) {
				writeJSON(w, http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":"invalid refresh token"}]}`)
			},
			want: "answered 401 Unauthorized: UNAUTHORIZED: authentication required (invalid refresh token)",
		},
		{
			name:      "wrong Basic password",
			challenge: `Basic realm="registry"`,
			cred:      &helper.Credentials{Username: "alice", Secret: "wrong-password"},
			want:      "the registry at https://registry.test/v2/ answered 401 Unauthorized: UNAUTHORIZED: authentication required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var reg, ts recorder
			w.serveTLS("registry.test", fakeRegistry(&reg, tt.challenge, func(a string) bool {
				return basicAuth("alice", "s3cr3t-password")(a) || bearer("tok")(a)
			}), nil)
			w.serveTLS("auth.test", tokenServer(&ts, tt.post, tt.get), nil)
			r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), tt.cred, nil)
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant ErrRejected containing %q", err, tt.want)
			}
			what := "the user name or password was rejected: "
			if tt.cred.Username == helper.IdentityTokenUsername {
				what = "the identity token was rejected: "
			}
			if !strings.HasPrefix(err.Error(), what) {
				t.Errorf("error %q does not start with %q", err, what)
			}
			if strings.Contains(err.Error(), tt.cred.Secret) {
				t.Errorf("error shows the secret: %v", err)
			}
			if r.Authenticated || r.Scheme == "" {
				t.Errorf("result %+v", r)
			}
		})
	}
}

func TestBasic(t *testing.T) {
	w := newWorld(t)
	var reg recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="Registry Realm"`, basicAuth("alice", "s3cr3t-password")), nil)
	c := w.client(Options{})
	r, err := c.Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, []string{"repository:x:pull"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Authenticated || r.Scheme != SchemeBasic || r.Method != MethodBasic || r.Realm != "Registry Realm" || r.Token != nil {
		t.Errorf("result %+v", r)
	}
	_, err = c.Authenticate(context.Background(), mustEndpoint(t, "registry.test"), identity, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("identity token against Basic: error %v, want ErrUnsupported", err)
	}
}

func TestAnonymousAndPingOnly(t *testing.T) {
	w := newWorld(t)
	var open, closed recorder
	w.serveTLS("open.test", fakeRegistry(&open, "", func(string) bool { return true }), nil)
	w.serveTLS("registry.test", fakeRegistry(&closed, tokenChallenge, nil), nil)
	c := w.client(Options{})
	r, err := c.Authenticate(context.Background(), mustEndpoint(t, "open.test"), alice, nil)
	if err != nil || !r.Anonymous || r.Authenticated {
		t.Errorf("anonymous registry: %+v, %v", r, err)
	}
	if hasAuthorization(open.all()) {
		t.Error("credential sent to a registry that asked for none")
	}
	r, err = c.Authenticate(context.Background(), mustEndpoint(t, "registry.test"), nil, nil)
	if err != nil || r.Scheme != SchemeBearer || r.Realm != "https://auth.test/token" || r.Authenticated {
		t.Errorf("ping only: %+v, %v", r, err)
	}
}

func TestUnsupportedChallenges(t *testing.T) {
	tests := []struct{ name, challenge, want string }{
		{"unknown scheme", `Negotiate abc==, NTLM`, "asks for Negotiate, NTLM"},
		{"no challenge", ``, "without a WWW-Authenticate challenge"},
		{"malformed", `Bearer realm="x`, "failed to read the registry's challenge"},
		{"bearer without realm", `Bearer service="s"`, "has no realm"},
		{"relative realm", `Bearer realm="/token"`, "not an absolute URL"},
		{"realm with user information", `Bearer realm="https://u:p@auth.test/token"`, "holds user information"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var reg recorder
			w.serveTLS("registry.test", fakeRegistry(&reg, tt.challenge, nil), nil)
			_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "u:p@") {
				t.Errorf("error shows the realm's user information: %v", err)
			}
		})
	}
}

// TestTokenRefusedByRegistry: a token the token server issued but the
// registry refuses is a disagreement between the two, not a wrong
// credential.
func TestTokenRefusedByRegistry(t *testing.T) {
	w := newWorld(t)
	var reg, ts recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
	w.serveTLS("auth.test", tokenServer(&ts, func(w http.ResponseWriter, _ seen) {
		writeJSON(w, http.StatusOK, `{"token":"not-the-right-one"}`)
	}, nil), nil)
	r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "the registry refused the token its token server issued: the registry at https://registry.test/v2/ answered 401") {
		t.Fatalf("error %v", err)
	}
	if r.Token == nil || r.Authenticated {
		t.Errorf("result %+v", r)
	}
}
