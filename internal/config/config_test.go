package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// env is a fake environment: Load reads nothing else.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func writeConfig(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, ConfigFileName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, e env) *Config {
	t.Helper()
	c, err := Load(e.get)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// settings returns Settings() by name.
func settings(c *Config) map[string]Setting {
	m := map[string]Setting{}
	for _, s := range c.Settings() {
		m[s.Name] = s
	}
	return m
}

func unixLike(t *testing.T) {
	t.Helper()
	switch runtime.GOOS {
	case "windows", "darwin", "ios":
		t.Skipf("the XDG rules apply to Unix systems other than macOS, not %s", runtime.GOOS)
	}
}

func TestDefaultDir(t *testing.T) {
	unixLike(t)
	for _, tc := range []struct {
		name string
		env  env
		want string // "" means an error
	}{
		{"XDG_CONFIG_HOME", env{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/docker-credential-notation"},
		{"HOME only", env{"HOME": "/home/u"}, "/home/u/.config/docker-credential-notation"},
		{"empty XDG_CONFIG_HOME", env{"XDG_CONFIG_HOME": "", "HOME": "/home/u"}, "/home/u/.config/docker-credential-notation"},
		{"relative XDG_CONFIG_HOME is ignored", env{"XDG_CONFIG_HOME": "rel/xdg", "HOME": "/home/u"}, "/home/u/.config/docker-credential-notation"},
		{"XDG_CONFIG_HOME without HOME", env{"XDG_CONFIG_HOME": "/xdg"}, "/xdg/docker-credential-notation"},
		{"neither", env{}, ""},
		{"relative XDG_CONFIG_HOME without HOME", env{"XDG_CONFIG_HOME": "rel"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultDir(tc.env.get)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("DefaultDir = %q, want an error", got)
				}
				if !strings.Contains(err.Error(), "$HOME") {
					t.Errorf("error %q does not say which variable is missing", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("DefaultDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	unixLike(t)
	home := t.TempDir()
	c := mustLoad(t, env{"HOME": home})
	appDir := filepath.Join(home, ".config", AppDirName)
	want := map[string]string{
		"config":       filepath.Join(appDir, ConfigFileName),
		"backend":      "auto",
		"storeDir":     appDir,
		"keySource":    "auto",
		"identity":     "(not set)",
		"identityFile": "",
		"passphrase":   "(not set)",
		"debug":        "false",
		"unlockFor":    "8h0m0s",
	}
	wantEnv := map[string]string{
		"config": EnvConfig, "backend": EnvBackend, "storeDir": EnvStoreDir, "keySource": EnvKeySource,
		"identity": EnvIdentity, "identityFile": EnvIdentityFile, "passphrase": EnvPassphrase, "debug": EnvDebug,
		"unlockFor": EnvUnlockFor,
	}
	got := settings(c)
	if len(got) != len(want) {
		t.Errorf("Settings() has %d entries, want %d", len(got), len(want))
	}
	for name, v := range want {
		s := got[name]
		if s.Value != v || s.Source != "default" {
			t.Errorf("%s = %q from %q, want %q from default", name, s.Value, s.Source, v)
		}
		if s.Env != wantEnv[name] {
			t.Errorf("%s: env %q, want %q", name, s.Env, wantEnv[name])
		}
	}
	if c.ConfigFileFound || c.Backend != BackendAuto || c.StoreDir != appDir || c.Debug {
		t.Errorf("Load = %+v", c)
	}
	if _, err := os.Lstat(appDir); !os.IsNotExist(err) {
		t.Errorf("Load created %s", appDir)
	}
}

func TestLoadWithoutHome(t *testing.T) {
	unixLike(t)
	_, err := Load(env{}.get)
	if err == nil || !strings.Contains(err.Error(), EnvStoreDir) {
		t.Fatalf("Load with no HOME: %v, want an error naming %s", err, EnvStoreDir)
	}
	c := mustLoad(t, env{EnvStoreDir: "/srv/creds"})
	if c.StoreDir != "/srv/creds" || c.ConfigFile != "" || c.ConfigFileFound {
		t.Errorf("Load = %+v", c)
	}
	if s := settings(c)["storeDir"]; s.Source != "env "+EnvStoreDir {
		t.Errorf("storeDir source = %q", s.Source)
	}
}

func TestPrecedence(t *testing.T) {
	unixLike(t)
	home := t.TempDir()
	appDir := filepath.Join(home, ".config", AppDirName)
	writeConfig(t, appDir, `{"backend":"file","storeDir":"/file/store","keySource":"identity-file","identityFile":"/file/key.txt","debug":true}`)

	const (
		def = "default"
		fil = "config file"
	)
	fromEnv := func(name string) string { return "env " + name }
	for _, tc := range []struct {
		name string
		env  env
		want map[string][2]string // setting -> value, source
	}{
		{"file over default", env{}, map[string][2]string{
			"backend":      {"file", fil},
			"storeDir":     {"/file/store", fil},
			"keySource":    {"identity-file", fil},
			"identityFile": {"/file/key.txt", fil},
			"debug":        {"true", fil},
			"identity":     {"(not set)", def},
			"passphrase":   {"(not set)", def},
			"config":       {filepath.Join(appDir, ConfigFileName), def},
		}},
		{"env over file", env{
			EnvBackend: "auto", EnvStoreDir: "/env/store", EnvKeySource: "passphrase",
			EnvIdentityFile: "/env/key.txt", EnvDebug: "0", EnvPassphrase: "pw", EnvIdentity: "AGE-SECRET-KEY-1X",
		}, map[string][2]string{
			"backend":      {"auto", fromEnv(EnvBackend)},
			"storeDir":     {"/env/store", fromEnv(EnvStoreDir)},
			"keySource":    {"passphrase", fromEnv(EnvKeySource)},
			"identityFile": {"/env/key.txt", fromEnv(EnvIdentityFile)},
			"debug":        {"false", fromEnv(EnvDebug)},
			"identity":     {"(set, hidden)", fromEnv(EnvIdentity)},
			"passphrase":   {"(set, hidden)", fromEnv(EnvPassphrase)},
		}},
		{"some of each", env{EnvStoreDir: "/env/store", EnvDebug: "yes"}, map[string][2]string{
			"backend":  {"file", fil},
			"storeDir": {"/env/store", fromEnv(EnvStoreDir)},
			"debug":    {"true", fromEnv(EnvDebug)},
		}},
		{"empty env values are unset", env{EnvBackend: "", EnvStoreDir: "", EnvDebug: ""}, map[string][2]string{
			"backend":  {"file", fil},
			"storeDir": {"/file/store", fil},
			"debug":    {"true", fil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env{"HOME": home}
			for k, v := range tc.env {
				e[k] = v
			}
			c := mustLoad(t, e)
			if !c.ConfigFileFound {
				t.Errorf("ConfigFileFound = false")
			}
			got := settings(c)
			for name, w := range tc.want {
				if s := got[name]; s.Value != w[0] || s.Source != w[1] {
					t.Errorf("%s = %q from %q, want %q from %q", name, s.Value, s.Source, w[0], w[1])
				}
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, filepath.Join(dir, "elsewhere"), `{"backend":"file"}`)
	for _, tc := range []struct {
		name  string
		path  string
		found bool
	}{
		{"existing", path, true},
		{"missing file is fine", filepath.Join(dir, "nope", ConfigFileName), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, env{EnvConfig: tc.path, "HOME": t.TempDir()})
			if c.ConfigFile != tc.path || c.ConfigFileFound != tc.found {
				t.Errorf("ConfigFile = %q, found %v; want %q, %v", c.ConfigFile, c.ConfigFileFound, tc.path, tc.found)
			}
			s := settings(c)
			if s["config"].Value != tc.path || s["config"].Source != "env "+EnvConfig {
				t.Errorf("config setting = %+v", s["config"])
			}
			if wantBackend := map[bool]string{true: "file", false: "auto"}[tc.found]; c.Backend != wantBackend {
				t.Errorf("Backend = %q, want %q", c.Backend, wantBackend)
			}
		})
	}
}

func TestRelativePaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	for _, tc := range []struct {
		name                 string
		file                 string
		env                  env
		wantStore, wantIdent string
	}{
		{"relative to the config file", `{"storeDir":"store","identityFile":"keys/id.txt"}`, nil,
			filepath.Join(dir, "store"), filepath.Join(dir, "keys", "id.txt")},
		{"dot-dot", `{"storeDir":"../store"}`, nil, filepath.Join(filepath.Dir(dir), "store"), ""},
		{"absolute kept", `{"storeDir":"/abs/store","identityFile":"/abs/id.txt"}`, nil, "/abs/store", "/abs/id.txt"},
		{"absolute env values win", `{"storeDir":"store","identityFile":"id.txt"}`, env{EnvStoreDir: "/env/store", EnvIdentityFile: "/env/id.txt"}, "/env/store", "/env/id.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, dir, tc.file)
			e := env{EnvConfig: path}
			for k, v := range tc.env {
				e[k] = v
			}
			c := mustLoad(t, e)
			if c.StoreDir != tc.wantStore || c.IdentityFile != tc.wantIdent {
				t.Errorf("StoreDir, IdentityFile = %q, %q; want %q, %q", c.StoreDir, c.IdentityFile, tc.wantStore, tc.wantIdent)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file string // config file content; "" means none
		env  env
		want []string // in the error; "PATH" stands for the config file
	}{
		{"unknown key", `{"backend":"file","storDir":"/x"}`, nil, []string{"PATH", `"storDir"`}},
		{"identity refused", `{"identity":"AGE-SECRET-KEY-1SECRET"}`, nil, []string{"PATH", `"identity"`, EnvIdentity}},
		{"passphrase refused", `{"passphrase":"hunter2"}`, nil, []string{"PATH", `"passphrase"`, EnvPassphrase}},
		{"identity refused whatever its case", `{"Identity":"AGE-SECRET-KEY-1SECRET"}`, nil, []string{"PATH", `"Identity"`}},
		{"invalid JSON", `{"backend":"file",}`, nil, []string{"PATH", "JSON"}},
		{"not an object", `["file"]`, nil, []string{"PATH"}},
		{"empty file", ` `, nil, []string{"PATH"}},
		{"trailing data", `{"backend":"file"} {}`, nil, []string{"PATH"}},
		{"wrong type", `{"debug":"yes"}`, nil, []string{"PATH", "debug"}},
		{"invalid backend in file", `{"backend":"keyring"}`, nil, []string{`"keyring"`, "config file", "auto, file or keychain"}},
		{"invalid key source in file", `{"keySource":"tpm"}`, nil, []string{`"tpm"`, "config file"}},
		{"invalid backend in env", ``, env{EnvBackend: "FILE"}, []string{`"FILE"`, EnvBackend}},
		{"invalid key source in env", ``, env{EnvKeySource: "identity_file"}, []string{`"identity_file"`, EnvKeySource}},
		{"invalid debug in env", ``, env{EnvDebug: "maybe"}, []string{EnvDebug, `"maybe"`}},
		// docker runs the helper in the user's working directory: a relative
		// path from the environment would move the store around.
		{"relative store dir in env", ``, env{EnvStoreDir: "rel/store"}, []string{EnvStoreDir, `"rel/store"`, "absolute"}},
		{"relative identity file in env", `{"identityFile":"id.txt"}`, env{EnvIdentityFile: "id.txt"}, []string{EnvIdentityFile, `"id.txt"`, "absolute"}},
		{"config file too large", `{"backend":"file"}` + strings.Repeat(" ", maxConfigFile), nil, []string{"PATH", "larger"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"), ConfigFileName)
			if tc.file != "" {
				writeConfig(t, filepath.Dir(path), tc.file)
			}
			e := env{EnvConfig: path, "HOME": dir}
			for k, v := range tc.env {
				e[k] = v
			}
			c, err := Load(e.get)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			for _, w := range tc.want {
				if w == "PATH" {
					w = path
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{"AGE-SECRET-KEY-1SECRET", "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a secret", err)
				}
			}
		})
	}
	t.Run("config file is a directory", func(t *testing.T) {
		path := filepath.Join(dir, "dir.json")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(env{EnvConfig: path}.get); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load with a directory as the config file: %v", err)
		}
	})
}

func TestDebugValues(t *testing.T) {
	for v, want := range map[string]bool{
		"1": true, "true": true, "TRUE": true, " yes ": true, "on": true,
		"0": false, "false": false, "No": false, "off": false,
	} {
		t.Run(v, func(t *testing.T) {
			c := mustLoad(t, env{EnvDebug: v, EnvStoreDir: "/s"})
			if c.Debug != want {
				t.Errorf("%s=%q gives Debug %v", EnvDebug, v, c.Debug)
			}
		})
	}
	for _, v := range []string{"2", "y", "enabled", "truee"} {
		if _, err := Load(env{EnvDebug: v, EnvStoreDir: "/s"}.get); err == nil {
			t.Errorf("%s=%q accepted", EnvDebug, v)
		}
	}
}

func TestSettingsHideSecrets(t *testing.T) {
	const (
		identity   = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
		passphrase = "correct horse battery staple"
	)
	c := mustLoad(t, env{EnvIdentity: identity, EnvPassphrase: passphrase, EnvStoreDir: "/s"})
	if c.Identity != identity || c.Passphrase != passphrase {
		t.Fatalf("Load did not keep the secrets for the store")
	}
	b, err := json.Marshal(c.Settings())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{identity, passphrase, "AGE-SECRET", "horse"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("Settings() reveals a secret: %s", b)
		}
	}
	s := settings(c)
	if s["identity"].Value != "(set, hidden)" || s["passphrase"].Value != "(set, hidden)" {
		t.Errorf("identity, passphrase settings = %+v, %+v", s["identity"], s["passphrase"])
	}
}

func TestParseFile(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want file
	}{
		{`{}`, true, file{}},
		{`null`, true, file{}},
		{`{"backend":null}`, true, file{}},
		{`{"backend":"file","debug":false}`, true, file{Backend: ptr("file"), Debug: ptr(false)}},
		{`{"identityFile":"k.txt","storeDir":"s","keySource":"generated"}`, true, file{IdentityFile: ptr("k.txt"), StoreDir: ptr("s"), KeySource: ptr("generated")}},
		{`{"PASSPHRASE":"x"}`, false, file{}},
		{`{"identityfile":"k","identity":"x"}`, false, file{}},
		{`{"debug":1}`, false, file{}},
		{`"file"`, false, file{}},
		{``, false, file{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFile([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseFile(%s) = %v, ok %v", tc.in, err, tc.ok)
			}
			if err == nil && !equalFile(*got, tc.want) {
				t.Errorf("ParseFile(%s) = %s, want %s", tc.in, show(*got), show(tc.want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func equalFile(a, b file) bool { return show(a) == show(b) }

func show(f file) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestUnlockFor(t *testing.T) {
	home := t.TempDir()
	if c := mustLoad(t, env{"HOME": home, EnvUnlockFor: "30m"}); c.UnlockFor != 30*time.Minute {
		t.Errorf("UnlockFor = %v, want 30m", c.UnlockFor)
	}
	for _, bad := range []string{"soon", "0s", "-1h", "500ms", "800h"} {
		if _, err := Load(env{"HOME": home, EnvUnlockFor: bad}.get); err == nil || !strings.Contains(err.Error(), EnvUnlockFor) {
			t.Errorf("%s=%s: %v, want an error naming the variable", EnvUnlockFor, bad, err)
		}
	}
	appDir := filepath.Join(home, ".config", AppDirName)
	writeConfig(t, appDir, `{"unlockFor":"2h"}`)
	if c := mustLoad(t, env{"HOME": home}); c.UnlockFor != 2*time.Hour || c.source("unlockFor") != "config file" {
		t.Errorf("UnlockFor from the file = %v (%s)", c.UnlockFor, c.source("unlockFor"))
	}
	writeConfig(t, appDir, `{"unlockFor":"forever"}`)
	if _, err := Load(env{"HOME": home}.get); err == nil || !strings.Contains(err.Error(), "unlockFor") {
		t.Errorf("unlockFor forever in the file: %v", err)
	}
}
