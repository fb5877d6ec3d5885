package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRegistriesLoaded(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, `{"backend":"file","registries":{
		"registry.example.com":{"issuer":"https://idp.example.com/","clientID":"cli","clientSecretEnv":"IDP_SECRET","scopes":["openid","offline_access"],"username":"oauth2","timeout":"3s"},
		"https://gitlab.example.com:5050":{"tokenURL":"http://127.0.0.1:8080/token","clientID":"gl","insecure":true}
	}}`)
	c := mustLoad(t, regEnv(t, path))
	want := map[string]Registry{
		"registry.example.com":            {Issuer: "https://idp.example.com/", ClientID: "cli", ClientSecretEnv: "IDP_SECRET", Scopes: []string{"openid", "offline_access"}, Username: "oauth2", Timeout: "3s"},
		"https://gitlab.example.com:5050": {TokenURL: "http://127.0.0.1:8080/token", ClientID: "gl", Insecure: true},
	}
	if !reflect.DeepEqual(c.Registries, want) {
		t.Fatalf("Registries = %+v, want %+v", c.Registries, want)
	}
	if d := c.Registries["registry.example.com"].TimeoutDuration(); d != 3*time.Second {
		t.Errorf("TimeoutDuration = %v", d)
	}
	s := settings(c)["registries.registry.example.com"]
	if s.Source != "config file" || !strings.Contains(s.Value, "clientSecretEnv=IDP_SECRET") || !strings.Contains(s.Value, "issuer=https://idp.example.com/") {
		t.Errorf("setting = %+v", s)
	}
}

func TestRegistriesRejected(t *testing.T) {
	for _, tc := range []struct {
		name, entry, want string
	}{
		{"client secret", `{"issuer":"https://i/","clientID":"c","clientSecret":"hunter2"}`, `"clientSecret" must not be in the config file`},
		{"no client id", `{"issuer":"https://i/"}`, `no "clientID"`},
		{"no endpoint", `{"clientID":"c"}`, `neither "issuer" nor "tokenURL"`},
		{"bad URL", `{"issuer":"idp.example.com","clientID":"c"}`, `invalid "issuer"`},
		{"user in URL", `{"tokenURL":"https://u:pw@i/t","clientID":"c"}`, `invalid "tokenURL"`},
		{"bad timeout", `{"issuer":"https://i/","clientID":"c","timeout":"5"}`, `invalid "timeout"`},
		{"huge timeout", `{"issuer":"https://i/","clientID":"c","timeout":"1h"}`, `invalid "timeout"`},
		{"token username", `{"issuer":"https://i/","clientID":"c","username":"<token>"}`, `"<token>"`},
		{"scope with space", `{"issuer":"https://i/","clientID":"c","scopes":["openid offline_access"]}`, `one scope per element`},
		{"unknown field", `{"issuer":"https://i/","clientID":"c","client_id":"x"}`, `unknown field "client_id"`},
		{"two subject sources", `{"tokenURL":"https://i/t","subjectToken":{"file":"/t","env":"T"}}`, `exactly one source`},
		{"no subject source", `{"tokenURL":"https://i/t","subjectToken":{}}`, `exactly one source`},
		{"relative subject file", `{"tokenURL":"https://i/t","subjectToken":{"file":"token"}}`, `want an absolute path`},
		{"actions without audience", `{"tokenURL":"https://i/t","subjectToken":{"githubActions":{}}}`, `needs an "audience"`},
		{"tokenParams replaces a field", `{"tokenURL":"https://i/t","subjectToken":{"env":"T"},"tokenParams":{"subject_token":"x"}}`, `the exchange sets it itself`},
		{"audience without a subject", `{"tokenURL":"https://i/t","clientID":"c","audience":"a"}`, `applies to a workload registry only`},
		{"device login for a workload", `{"tokenURL":"https://i/t","deviceAuthorizationURL":"https://i/d","subjectToken":{"env":"T"}}`, `is for login`},
		{"secret without a client", `{"tokenURL":"https://i/t","clientSecretEnv":"S","subjectToken":{"env":"T"}}`, `needs a "clientID"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, t.TempDir(), `{"registries":{"registry.example.com":`+tc.entry+`}}`)
			_, err := Load(regEnv(t, path).get)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error about %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "pw@") {
				t.Fatalf("the error quotes a secret: %v", err)
			}
		})
	}
}

func TestWorkloadRegistryLoaded(t *testing.T) {
	path := writeConfig(t, t.TempDir(), `{"registries":{"*.ci.example":{"issuer":"https://sts.example.com/","subjectToken":{"githubActions":{"audience":"registry"}},
		"audience":"reg","tokenParams":{"connection_id":"c0ffee"}}}}`)
	c := mustLoad(t, regEnv(t, path))
	r := c.Registries["*.ci.example"]
	if r.SubjectToken == nil || r.SubjectToken.GitHubActions == nil || r.SubjectToken.GitHubActions.Audience != "registry" || r.TokenParams["connection_id"] != "c0ffee" {
		t.Fatalf("registry = %+v", r)
	}
	s := settings(c)["registries.*.ci.example"]
	if !strings.Contains(s.Value, "subjectToken=GitHub Actions (audience registry)") || !strings.Contains(s.Value, "tokenParams=connection_id=c0ffee") {
		t.Errorf("setting = %+v", s)
	}
}

func TestRegistryPatternsChecked(t *testing.T) {
	for entry, want := range map[string]string{
		`"*":{"tokenURL":"https://i/t","subjectToken":{"env":"T"}}`:                                                                               "would match every registry",
		`"a*.example":{"tokenURL":"https://i/t","subjectToken":{"env":"T"}}`:                                                                      "whole labels only",
		`"*.a.example":{"tokenURL":"https://i/t","subjectToken":{"env":"T"}},"x.*.example":{"tokenURL":"https://i/t","subjectToken":{"env":"T"}}`: `"*.a.example" and "x.*.example"`,
	} {
		path := writeConfig(t, t.TempDir(), `{"registries":{`+entry+`}}`)
		if _, err := Load(regEnv(t, path).get); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): %v, want an error about %s", entry, err, want)
		}
	}
}

func TestSaveRegistry(t *testing.T) {
	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sub", ConfigFileName)
		r := Registry{Issuer: "https://idp.example.com/", ClientID: "cli"}
		if err := SaveRegistry(path, "registry.example.com", r); err != nil {
			t.Fatal(err)
		}
		c := mustLoad(t, regEnv(t, path))
		if !reflect.DeepEqual(c.Registries, map[string]Registry{"registry.example.com": r}) {
			t.Fatalf("Registries = %+v", c.Registries)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 && os.PathSeparator == '/' {
			t.Errorf("mode %v, want 0600", st.Mode().Perm())
		}
	})
	t.Run("keeps other settings", func(t *testing.T) {
		dir := t.TempDir()
		path := writeConfig(t, dir, `{"backend":"file","debug":true,"registries":{"https://registry.example.com":{"issuer":"https://old/","clientID":"old"},"other.example.com":{"tokenURL":"https://t/","clientID":"o"}}}`)
		r := Registry{Issuer: "https://idp.example.com/", ClientID: "cli", Scopes: []string{"openid"}}
		if err := SaveRegistry(path, "registry.example.com", r, "https://registry.example.com"); err != nil {
			t.Fatal(err)
		}
		c := mustLoad(t, regEnv(t, path))
		if c.Backend != "file" || !c.Debug {
			t.Errorf("other settings lost: backend %q debug %v", c.Backend, c.Debug)
		}
		want := map[string]Registry{"registry.example.com": r, "other.example.com": {TokenURL: "https://t/", ClientID: "o"}}
		if !reflect.DeepEqual(c.Registries, want) {
			t.Fatalf("Registries = %+v, want %+v", c.Registries, want)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".config.json.tmp-*")); len(m) != 0 {
			t.Errorf("temporary files left: %v", m)
		}
	})
	t.Run("broken file untouched", func(t *testing.T) {
		path := writeConfig(t, t.TempDir(), `{"backend":`)
		err := SaveRegistry(path, "registry.example.com", Registry{Issuer: "https://i/", ClientID: "c"})
		if err == nil {
			t.Fatal("SaveRegistry over a broken file succeeded")
		}
		if b, _ := os.ReadFile(path); string(b) != `{"backend":` {
			t.Fatalf("the broken file was changed to %q", b)
		}
	})
	t.Run("invalid settings", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ConfigFileName)
		if err := SaveRegistry(path, "registry.example.com", Registry{Issuer: "https://i/"}); err == nil {
			t.Fatal("SaveRegistry without a client id succeeded")
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("a file was written: %v", err)
		}
	})
}

// regEnv is an environment with the config file at path and a store
// directory, so that Load needs no $HOME.
func regEnv(t *testing.T, path string) env {
	return env{EnvConfig: path, EnvStoreDir: t.TempDir()}
}
