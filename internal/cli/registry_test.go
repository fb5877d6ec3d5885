package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/registryauth"
)

// The command line of token and check, in process, against a registry and
// token server on 127.0.0.1 (plain HTTP is allowed on loopback). The real
// registry and token server are in tests/registry.

type fakeTokenRegistry struct {
	srv *httptest.Server
	mu  sync.Mutex
	// forms are the token POSTs received.
	forms []map[string]string
	// rotate makes the token server answer a refresh with a new refresh
	// token.
	rotate bool
}

func newFakeTokenRegistry(t *testing.T) *fakeTokenRegistry {
	f := &fakeTokenRegistry{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/":
			if r.Header.Get("Authorization") == "Bearer access-1" {
				_, _ = io.WriteString(w, "{}")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.srv.URL+`/token",service="fake"`)
			w.WriteHeader(http.StatusUnauthorized)
		case "/token":
			_ = r.ParseForm()
			form := map[string]string{}
			for k := range r.PostForm {
				form[k] = r.PostForm.Get(k)
			}
			f.mu.Lock()
			f.forms = append(f.forms, form)
			f.mu.Unlock()
			if form["grant_type"] != "refresh_token" || !strings.HasPrefix(form["refresh_token"], "refresh-") {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
				return
			}
			rt := form["refresh_token"]
			if f.rotate {
				rt = "refresh-rotated"
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "access-1", "refresh_token": rt, "expires_in": 300})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTokenRegistry) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// runWith runs the program in process with store as the configured store.
func runWith(t *testing.T, store helper.Store, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{
		config.EnvStoreDir:  filepath.Join(dir, "store"),
		"HOME":              dir,
		"XDG_CONFIG_HOME":   filepath.Join(dir, "config"),
		config.EnvCertsDirs: filepath.Join(dir, "certs.d"),
	}
	for k, v := range vars {
		all[k] = v
	}
	var out, errb bytes.Buffer
	env := &Env{
		Stdin:   strings.NewReader(""),
		Stdout:  &out,
		Stderr:  &errb,
		Getenv:  func(k string) string { return all[k] },
		Version: "v0.0.0-test",
		OpenStore: func(context.Context, *config.Config, *Env) (*Opened, error) {
			return &Opened{Store: store}, nil
		},
	}
	code = Run(context.Background(), append([]string{Name}, args...), env)
	return code, out.String(), errb.String()
}

func putCred(t *testing.T, s helper.Store, server, user, secret string) {
	t.Helper()
	k, err := helper.ParseServerURL(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), k, helper.Credentials{ServerURL: server, Username: user, Secret: secret}); err != nil {
		t.Fatal(err)
	}
}

func TestTokenCommand(t *testing.T) {
	f := newFakeTokenRegistry(t)
	store := helpertest.NewMemStore()
	putCred(t, store, f.host(), helper.IdentityTokenUsername, "refresh-1")

	for _, args := range [][]string{
		{"token", f.host(), "--scope", "repository:a/b:pull", "--scope", "repository:c/d:pull,push"},
		{"token", "--scope", "repository:a/b:pull", f.host(), "--scope=repository:c/d:pull,push", "--timeout", "3s"},
	} {
		code, stdout, stderr := runWith(t, store, nil, args...)
		if code != 0 || stdout != "access-1\n" || stderr != "" {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
		form := f.forms[len(f.forms)-1]
		if form["scope"] != "repository:a/b:pull repository:c/d:pull,push" || form["client_id"] != "docker-credential-notation" {
			t.Errorf("%v: token request %v", args, form)
		}
	}
}

func TestTokenCommandKeepsARotatedRefreshToken(t *testing.T) {
	f := newFakeTokenRegistry(t)
	f.rotate = true
	store := helpertest.NewMemStore()
	putCred(t, store, f.host(), helper.IdentityTokenUsername, "refresh-1")
	if code, stdout, stderr := runWith(t, store, nil, "token", f.host()); code != 0 || stdout != "access-1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	k, _ := helper.ParseServerURL(f.host())
	c, err := store.Get(context.Background(), k)
	if err != nil || c.Secret != "refresh-rotated" || c.Username != helper.IdentityTokenUsername || c.ServerURL != f.host() {
		t.Errorf("stored after rotation: %v, %v", c, err)
	}
}

func TestCheckCommand(t *testing.T) {
	f := newFakeTokenRegistry(t)
	store := helpertest.NewMemStore()
	putCred(t, store, f.host(), helper.IdentityTokenUsername, "refresh-1")

	code, stdout, stderr := runWith(t, store, nil, "check", f.host(), "--json")
	var rep checkReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, stdout)
	}
	if code != 0 || !rep.Authenticated || rep.Scheme != "Bearer" || rep.Realm != f.srv.URL+"/token" || rep.Service != "fake" ||
		rep.Credential != "identity token" || rep.ExpiresIn != 300 || rep.URL != f.srv.URL+"/v2/" || stderr != "" {
		t.Errorf("exit %d, report %+v, stderr %q", code, rep, stderr)
	}

	code, stdout, _ = runWith(t, store, nil, "check", f.host())
	for _, want := range []string{"scheme:      Bearer", "realm:       " + f.srv.URL + "/token", "service:     fake", "result:      OK"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("exit %d, report lacks %q:\n%s", code, want, stdout)
		}
	}

	putCred(t, store, f.host(), helper.IdentityTokenUsername, "revoked")
	code, stdout, stderr = runWith(t, store, nil, "check", f.host())
	if code != 1 || !strings.Contains(stdout, "FAILED (rejected)") || !strings.Contains(stdout, "the identity token was rejected") ||
		!strings.Contains(stderr, "hint: store the right credential") || strings.Contains(stdout+stderr, "revoked") {
		t.Errorf("revoked: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	code, stdout, stderr = runWith(t, helpertest.NewMemStore(), nil, "check", f.host(), "--json")
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 1 || rep.Failure != "no-credential" || rep.Scheme != "Bearer" {
		t.Errorf("no credential: exit %d, %s, %s", code, stdout, stderr)
	}
}

func TestRegistryCommandErrors(t *testing.T) {
	store := helpertest.NewMemStore()
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{name: "no registry", args: []string{"token"}, want: "token: no registry given"},
		{name: "two registries", args: []string{"check", "a", "b"}, want: `unexpected argument "b"`},
		{name: "unknown flag", args: []string{"token", "a", "--bogus"}, want: "flag provided but not defined: -bogus"},
		{name: "bad timeout", args: []string{"token", "a", "--timeout", "soon"}, want: `invalid timeout "soon"`},
		{name: "bad scope", args: []string{"token", "a", "--scope", "a b"}, want: `invalid scope "a b"`},
		{name: "repository path", args: []string{"check", "registry.example.com/ns/repo"}, want: "without a repository path"},
		{name: "bad timeout variable", vars: map[string]string{config.EnvHTTPTimeout: "-1s"}, args: []string{"check", "registry.example.com"}, want: "invalid " + config.EnvHTTPTimeout},
		{name: "relative certs.d", vars: map[string]string{config.EnvCertsDirs: "certs.d"}, args: []string{"check", "registry.example.com"}, want: "must be an absolute path"},
		{name: "no credential for token", args: []string{"token", "registry.example.com"}, want: "no credential is stored for registry.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runWith(t, store, tt.vars, tt.args...)
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d\nstdout: %q\nstderr: %q\nwant stderr containing %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestRegistryCommandHelp(t *testing.T) {
	for _, cmd := range []string{"token", "check"} {
		code, stdout, _ := runWith(t, helpertest.NewMemStore(), nil, cmd, "--help")
		if code != 0 || !strings.Contains(stdout, "--scope") || !strings.Contains(stdout, "--insecure") {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, stdout)
		}
	}
}

func TestInsecureHosts(t *testing.T) {
	cfg := &config.Config{Registries: map[string]config.Registry{
		"https://exchange.example.com:5000": {ClientID: "c", TokenURL: "https://idp.example.com/token", Insecure: true},
		"secure.example.com":                {ClientID: "c", TokenURL: "https://idp.example.com/token"},
	}}
	ep, err := registryauth.ParseRegistry("flagged.example.com:8080")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvInsecureRegistries: "a.example.com, b.example.com:81\tc.example.com"}
	got := insecureHosts(func(k string) string { return env[k] }, cfg, ep, true)
	// The insecure exchange entry allows its provider's host, not the
	// registry's own (security review L5).
	want := []string{"a.example.com", "b.example.com:81", "c.example.com", "flagged.example.com:8080", "idp.example.com"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("insecureHosts = %q, want %q", got, want)
	}
	if got := insecureHosts(func(string) string { return "" }, &config.Config{}, ep, false); len(got) != 0 {
		t.Errorf("insecureHosts with nothing marked = %q", got)
	}
}

func TestConfigRegistryShowsTheEntry(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(`{"registries":{
		"*.ci.example":{"tokenURL":"https://sts.example/token","subjectToken":{"file":"/var/run/token"}},
		"*.eu.ci.example":{"tokenURL":"https://sts.example/token","subjectToken":{"env":"CI_JWT"}},
		"https://reg.eu.ci.example:443":{"tokenURL":"https://idp.example/token","clientID":"c"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"reg.eu.ci.example":         `exact entry "https://reg.eu.ci.example:443": refresh-token exchange (login)`,
		"x.eu.ci.example":           `pattern "*.eu.ci.example": workload exchange of the subject token from environment variable CI_JWT`,
		"https://a.b.ci.example/v2": `pattern "*.ci.example": workload exchange of the subject token from file /var/run/token`,
		"ci.example":                "no entry",
		"x.ci.example:5000":         "no entry",
	} {
		code, out, errOut := runWith(t, helpertest.NewMemStore(), map[string]string{config.EnvConfig: cfgPath}, "config", "--registry", host)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("config --registry %s: exit %d, want %q in\n%s%s", host, code, want, out, errOut)
		}
	}
	if code, _, errOut := runWith(t, helpertest.NewMemStore(), map[string]string{config.EnvConfig: cfgPath}, "config", "--registry", "ftp://x"); code != 1 || !strings.Contains(errOut, "invalid --registry") {
		t.Errorf("config --registry ftp://x: exit %d\n%s", code, errOut)
	}
}

func TestTokenCommandJSON(t *testing.T) {
	f := newFakeTokenRegistry(t)
	store := helpertest.NewMemStore()
	putCred(t, store, f.host(), helper.IdentityTokenUsername, "refresh-1")
	code, stdout, stderr := runWith(t, store, nil, "token", f.host(), "--json", "--no-cache", "--scope", "repository:a/b:pull")
	var out tokenReport
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 || stderr != "" {
		t.Fatalf("exit %d, %v\nstdout: %s\nstderr: %s", code, err, stdout, stderr)
	}
	// The fake registry is plain HTTP on loopback: the HTTPS attempt, the
	// ping, the POST and the confirmation.
	if out.Token != "access-1" || out.Cached || out.Remembered || out.Requests != 4 || out.ExpiresIn != 300 ||
		out.Registry != f.host() || len(out.Scopes) != 1 || out.ExpiresAt == "" {
		t.Errorf("%+v", out)
	}
	if strings.Contains(stdout, "refresh-1") {
		t.Error("the refresh token is in the output")
	}
}
