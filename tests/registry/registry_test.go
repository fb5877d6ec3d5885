package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

// sandbox is one test's environment for the binary (a
// internal/testutil/helperbin sandbox): its own HOME, config directory and
// store, the test CA through SSL_CERT_FILE, an empty certs.d.
type sandbox struct {
	env []string
	box *helperbin.Sandbox
}

func (s *sandbox) home() string     { return s.box.Home }
func (s *sandbox) storeDir() string { return s.box.StoreDir }

func newSandbox(t testing.TB, f *fixture) *sandbox {
	t.Helper()
	s := helperbin.NewSandbox(t)
	certsD := filepath.Join(s.Root, "certs.d")
	if err := os.MkdirAll(certsD, 0o700); err != nil {
		t.Fatal(err)
	}
	return &sandbox{box: s, env: s.Env(
		"DOCKER_CREDENTIAL_NOTATION_CERTS_DIRS="+certsD,
		"SSL_CERT_FILE="+f.CAFile,
	)}
}

type result = helperbin.Result

func (s *sandbox) run(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	r, err := helperbin.Run(cmd)
	if err != nil {
		t.Fatalf("failed to run %s %v: %v", binName, args, err)
	}
	return r
}

// store stores a credential through the protocol, as docker login does.
func (s *sandbox) store(t testing.TB, serverURL, username, secret string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"ServerURL": serverURL, "Username": username, "Secret": secret})
	if r := s.run(t, string(b), "store"); r.Code != 0 {
		t.Fatalf("store: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
}

// report is check --json's output.
type report struct {
	Registry      string   `json:"registry"`
	Scheme        string   `json:"scheme"`
	Realm         string   `json:"realm"`
	Service       string   `json:"service"`
	Method        string   `json:"method"`
	ExpiresIn     int64    `json:"expiresIn"`
	Authenticated bool     `json:"authenticated"`
	Failure       string   `json:"failure"`
	Reason        string   `json:"reason"`
	Challenges    []string `json:"challenges"`
}

func (s *sandbox) check(t *testing.T, host string) (report, result) {
	t.Helper()
	r := s.run(t, "", "check", host, "--json")
	var rep report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --json: %v\nstdout: %s\nstderr: %s", err, r.Stdout, r.Stderr)
	}
	return rep, r
}

func TestCheck(t *testing.T) {
	f := requireFixture(t)
	tests := []struct {
		name       string
		host       func() string
		wantScheme string
		wantRealm  func() string
		wantSvc    string
		wantMethod string
	}{
		{
			name: "basic", host: func() string { return f.BasicHost },
			wantScheme: "Basic", wantRealm: func() string { return basicRealm }, wantMethod: "Basic credentials on every request",
		},
		{
			// The contrib token server has no password grant: the OAuth2
			// POST fails with 400 and the flow falls back to the GET.
			name: "token", host: func() string { return f.TokenHost },
			wantScheme: "Bearer", wantRealm: func() string { return "https://" + f.TokenHost + "/token/" },
			wantSvc: tokenService, wantMethod: "token GET with Basic credentials",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := tt.host()
			t.Run("right password", func(t *testing.T) {
				s := newSandbox(t, f)
				s.store(t, host, testUser, f.Password)
				rep, r := s.check(t, host)
				if r.Code != 0 || !rep.Authenticated || rep.Failure != "" {
					t.Fatalf("check: exit %d, report %+v\nstderr: %s", r.Code, rep, r.Stderr)
				}
				if rep.Scheme != tt.wantScheme || rep.Realm != tt.wantRealm() || rep.Service != tt.wantSvc || rep.Method != tt.wantMethod {
					t.Errorf("report %+v\nwant scheme %q realm %q service %q method %q", rep, tt.wantScheme, tt.wantRealm(), tt.wantSvc, tt.wantMethod)
				}
				if r.Stderr != "" {
					t.Errorf("stderr: %s", r.Stderr)
				}
				// The human report says the same.
				h := s.run(t, "", "check", host)
				for _, want := range []string{"scheme:", tt.wantScheme, tt.wantRealm(), "result:", "OK: the registry accepts the stored credential"} {
					if !strings.Contains(h.Stdout, want) {
						t.Errorf("report lacks %q:\n%s", want, h.Stdout)
					}
				}
				if h.Code != 0 {
					t.Errorf("human check: exit %d", h.Code)
				}
				if strings.Contains(h.Stdout+h.Stderr, f.Password) {
					t.Error("the report shows the password")
				}
			})
			t.Run("wrong password", func(t *testing.T) {
				s := newSandbox(t, f)
				s.store(t, host, testUser, "not-the-password")
				rep, r := s.check(t, host)
				if r.Code != 1 || rep.Authenticated || rep.Failure != "rejected" {
					t.Fatalf("check: exit %d, report %+v", r.Code, rep)
				}
				// The token server (or the Basic registry) says 401, and the
				// report says which server.
				wantWho := map[string]string{"Basic": "the registry at https://" + host + "/v2/", "Bearer": "the token server at https://" + host + "/token/"}[tt.wantScheme]
				if !strings.Contains(rep.Reason, wantWho+" answered 401 Unauthorized") || rep.Scheme != tt.wantScheme || rep.Realm != tt.wantRealm() {
					t.Errorf("report %+v\nwant the reason to contain %q", rep, wantWho+" answered 401 Unauthorized")
				}
				for _, want := range []string{"error: check failed for " + host + ": the user name or password was rejected", "hint: store the right credential"} {
					if !strings.Contains(r.Stderr, want) {
						t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
					}
				}
				if strings.Contains(r.Stdout+r.Stderr, "not-the-password") {
					t.Error("the report shows the password")
				}
				h := s.run(t, "", "check", host)
				if h.Code != 1 || !strings.Contains(h.Stdout, "result:      FAILED (rejected)") {
					t.Errorf("human check: exit %d\n%s", h.Code, h.Stdout)
				}
				t.Logf("check %s:\n%s%s", host, h.Stdout, h.Stderr)
			})
			t.Run("no credential", func(t *testing.T) {
				s := newSandbox(t, f)
				rep, r := s.check(t, host)
				if r.Code != 1 || rep.Failure != "no-credential" || rep.Scheme != tt.wantScheme || rep.Realm != tt.wantRealm() {
					t.Fatalf("check: exit %d, report %+v", r.Code, rep)
				}
			})
		})
	}
}

// TestToken: the token the command prints is one the registry accepts for
// the scope asked, and only for it.
func TestToken(t *testing.T) {
	f := requireFixture(t)
	s := newSandbox(t, f)
	s.store(t, f.TokenHost, testUser, f.Password)
	tests := []struct {
		scope     string
		wantActs  []string
		tryRepo   string
		wantNot40 bool // the registry must not answer 401
	}{
		{scope: "repository:alice/repo:pull", wantActs: []string{"pull"}, tryRepo: "alice/repo", wantNot40: true},
		{scope: "repository:alice/repo:pull,push", wantActs: []string{"pull", "push"}, tryRepo: "alice/repo", wantNot40: true},
		// The token server grants nothing outside alice/: a token for
		// bob/repo is useless there, which shows the check below can fail.
		{scope: "repository:bob/repo:pull", tryRepo: "bob/repo"},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			r := s.run(t, "", "token", f.TokenHost, "--scope", tt.scope)
			if r.Code != 0 || r.Stderr != "" {
				t.Fatalf("token: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
			}
			tok := strings.TrimSuffix(r.Stdout, "\n")
			if tok == "" || strings.ContainsAny(tok, " \n\t") {
				t.Fatalf("stdout %q is not one token on one line", r.Stdout)
			}
			if got := grantedActions(t, tok, tt.tryRepo); strings.Join(got, ",") != strings.Join(tt.wantActs, ",") {
				t.Errorf("token grants %q on %s, want %q", got, tt.tryRepo, tt.wantActs)
			}
			status, body := f.get(t, f.TokenHost, "/v2/"+tt.tryRepo+"/tags/list", tok)
			switch {
			case tt.wantNot40 && status == http.StatusOK:
			case tt.wantNot40 && status == http.StatusNotFound && strings.Contains(body, "NAME_UNKNOWN"):
			case !tt.wantNot40 && status == http.StatusUnauthorized:
			default:
				t.Errorf("GET /v2/%s/tags/list with the token: %d %s", tt.tryRepo, status, body)
			}
		})
	}
	t.Run("flags before the registry", func(t *testing.T) {
		r := s.run(t, "", "token", "--scope", "repository:alice/repo:pull", "--timeout", "10s", f.TokenHost)
		if r.Code != 0 || strings.Count(r.Stdout, "\n") != 1 {
			t.Fatalf("token: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("Basic registry has no token", func(t *testing.T) {
		s.store(t, f.BasicHost, testUser, f.Password)
		r := s.run(t, "", "token", f.BasicHost, "--scope", "repository:alice/repo:pull")
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "uses Basic authentication, which has no token") {
			t.Errorf("token on the Basic registry: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := newSandbox(t, f)
		s.store(t, f.TokenHost, testUser, "not-the-password")
		r := s.run(t, "", "token", f.TokenHost, "--scope", "repository:alice/repo:pull")
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "answered 401 Unauthorized") {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
	})
}

// TestRefreshToken: a stored identity token ("<token>" and a refresh token
// from the token server, as docker login leaves it) goes through the
// OAuth2 POST with grant_type=refresh_token.
func TestRefreshToken(t *testing.T) {
	f := requireFixture(t)
	rt, err := f.RefreshToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t, f)
	s.store(t, f.TokenHost, "<token>", rt)

	rep, r := s.check(t, f.TokenHost)
	if r.Code != 0 || !rep.Authenticated || rep.Method != "OAuth2 POST, refresh_token grant" || rep.Service != tokenService {
		t.Fatalf("check: exit %d, report %+v\nstderr: %s", r.Code, rep, r.Stderr)
	}
	if rep.ExpiresIn != 900 {
		t.Errorf("expires in %d s, want the token server's 900", rep.ExpiresIn)
	}

	tr := s.run(t, "", "token", f.TokenHost, "--scope", "repository:alice/repo:pull,push")
	if tr.Code != 0 {
		t.Fatalf("token: exit %d: %s", tr.Code, tr.Stderr)
	}
	tok := strings.TrimSpace(tr.Stdout)
	if got := grantedActions(t, tok, "alice/repo"); strings.Join(got, ",") != "pull,push" {
		t.Errorf("token grants %q", got)
	}
	if status, body := f.get(t, f.TokenHost, "/v2/alice/repo/tags/list", tok); status == http.StatusUnauthorized {
		t.Errorf("the registry refused the token: %d %s", status, body)
	}

	// The token server echoes the same refresh token: nothing to write
	// back, and the stored credential is unchanged.
	g := s.run(t, f.TokenHost, "get")
	var cred struct{ Username, Secret string }
	if err := json.Unmarshal([]byte(g.Stdout), &cred); err != nil || cred.Username != "<token>" || cred.Secret != rt {
		t.Errorf("stored credential after the exchange: %s (%v)", g.Stdout, err)
	}

	t.Run("unknown refresh token", func(t *testing.T) {
		s := newSandbox(t, f)
		s.store(t, f.TokenHost, "<token>", "not-a-refresh-token")
		rep, r := s.check(t, f.TokenHost)
		if r.Code != 1 || rep.Failure != "rejected" || !strings.Contains(rep.Reason, "invalid refresh token") {
			t.Errorf("check: exit %d, report %+v", r.Code, rep)
		}
		if strings.Contains(r.Stdout+r.Stderr, "not-a-refresh-token") {
			t.Error("the report shows the refresh token")
		}
	})
}

// TestTransportSecurity: the commands refuse plain HTTP to a host that is
// not on loopback before sending anything, and a registry whose
// certificate is not trusted.
func TestTransportSecurity(t *testing.T) {
	f := requireFixture(t)
	s := newSandbox(t, f)
	// Without SSL_CERT_FILE the test CA is not trusted.
	var env []string
	for _, kv := range s.env {
		if !strings.HasPrefix(kv, "SSL_CERT_FILE=") {
			env = append(env, kv)
		}
	}
	untrusted := &sandbox{env: env}
	untrusted.store(t, f.TokenHost, testUser, f.Password)
	r := untrusted.run(t, "", "check", f.TokenHost)
	if r.Code != 1 || !strings.Contains(r.Stdout, "certificate") {
		t.Errorf("untrusted CA: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	// A registry that is not on loopback, named with http://, is refused
	// without a connection (registry.invalid does not resolve; the refusal
	// comes first).
	s.store(t, "registry.invalid", testUser, f.Password)
	r = s.run(t, "", "token", "http://registry.invalid", "--scope", "repository:alice/repo:pull", "--timeout", "2s")
	if r.Code != 1 || r.Stdout != "" {
		t.Errorf("plain HTTP: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
}

// get sends GET path to host with a bearer token and returns the status
// and the start of the body.
func (f *fixture) get(t *testing.T, host, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, string(b)
}

// grantedActions decodes the token (a JWT from the token server) and
// returns the actions it grants on repository repo.
func grantedActions(t *testing.T, token, repo string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var claims struct {
		Aud    any `json:"aud"`
		Access []struct {
			Type, Name string
			Actions    []string
		} `json:"access"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	var acts []string
	for _, a := range claims.Access {
		if a.Type == "repository" && a.Name == repo {
			acts = append(acts, a.Actions...)
		}
	}
	sort.Strings(acts)
	return acts
}
