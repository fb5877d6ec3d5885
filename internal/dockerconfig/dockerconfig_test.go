package dockerconfig

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// dockerWritten is laid out as docker writes config.json (MarshalIndent
// with tabs, no final newline), with fields this package does not know.
const dockerWritten = `{
	"auths": {
		"ghcr.io": {
			"auth": "Ym9iOnB3OjI=",
			"email": "bob@example.com"
		},
		"reg.example:5000": {
			"identitytoken": "refresh-xyz"
		},
		"old.example": {
			"registrytoken": "bearer"
		}
	},
	"psFormat": "table {{.ID}}",
	"proxies": {
		"default": {
			"httpProxy": "http://proxy:3128"
		}
	},
	"currentContext": "remote"
}`

func writeConfig(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripUnchanged(t *testing.T) {
	for name, content := range map[string]string{
		"docker layout": dockerWritten,
		"odd layout":    "{ \"b\":1,\n\"a\" : [ 1,2 ],\"x\":{\"z\":null,\"y\":\"\\u00e9\"} }\n",
		"empty":         "",
		"numbers":       `{"n":1.50000000000000000001,"m":1e400}`,
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Load(writeConfig(t, content, 0o600))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.Bytes()); got != content {
				t.Errorf("Bytes() = %q, want the original %q", got, content)
			}
			if f.Changed() {
				t.Error("Changed() = true without an edit")
			}
		})
	}
}

func TestEditPreservesOtherFields(t *testing.T) {
	p := writeConfig(t, dockerWritten, 0o640)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Root().Set(KeyCredsStore, "notation")
	if err := f.SetCredHelper("gcr.io", "gcloud"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(dockerWritten, "\n}") + `,
	"credsStore": "notation",
	"credHelpers": {
		"gcr.io": "gcloud"
	}
}`
	if string(got) != want {
		t.Errorf("file after edit:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after save = %04o, want 0640 kept", fi.Mode().Perm())
	}
	assertNoTemp(t, filepath.Dir(p))

	// Removing the edits gives the original back, byte for byte.
	f, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Root().Delete(KeyCredsStore)
	if err := f.SetCredHelper("gcr.io", ""); err != nil {
		t.Fatal(err)
	}
	if got := string(f.Bytes()); got != dockerWritten {
		t.Errorf("after undoing the edits:\n%s\nwant the original", got)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestAuths(t *testing.T) {
	f, err := Load(writeConfig(t, dockerWritten, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	auths, err := f.Auths()
	if err != nil {
		t.Fatal(err)
	}
	want := []Auth{
		{Host: "ghcr.io", Username: "bob", Password: "pw:2"},
		{Host: "reg.example:5000", IdentityToken: "refresh-xyz"},
		{Host: "old.example", RegistryToken: "bearer"},
	}
	if len(auths) != len(want) {
		t.Fatalf("Auths() = %d entries, want %d", len(auths), len(want))
	}
	for i := range want {
		if auths[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, auths[i], want[i])
		}
	}
	if s := auths[0].String(); strings.Contains(s, "pw:2") {
		t.Errorf("String() = %q shows the password", s)
	}

	if err := f.BlankAuth("ghcr.io"); err != nil {
		t.Fatal(err)
	}
	if err := f.BlankAuth("reg.example:5000"); err != nil {
		t.Fatal(err)
	}
	b := string(f.Bytes())
	for _, secret := range []string{"Ym9iOnB3OjI=", "refresh-xyz"} {
		if strings.Contains(b, secret) {
			t.Errorf("blanked file still holds %q:\n%s", secret, b)
		}
	}
	for _, kept := range []string{`"email": "bob@example.com"`, `"reg.example:5000": {}`, `"registrytoken": "bearer"`, `"currentContext": "remote"`} {
		if !strings.Contains(b, kept) {
			t.Errorf("blanked file lost %s:\n%s", kept, b)
		}
	}
}

func TestBadAuths(t *testing.T) {
	for name, content := range map[string]string{
		"not base64":      `{"auths":{"h":{"auth":"%%%"}}}`,
		"no colon":        `{"auths":{"h":{"auth":"YWxpY2U="}}}`,
		"auths not obj":   `{"auths":[1]}`,
		"entry not obj":   `{"auths":{"h":"x"}}`,
		"helper not text": `{"credHelpers":{"h":1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Load(writeConfig(t, content, 0o600))
			if err != nil {
				t.Fatal(err)
			}
			_, err1 := f.Auths()
			_, _, err2 := f.CredHelpers()
			if err1 == nil && err2 == nil {
				t.Error("no error")
			}
			for _, err := range []error{err1, err2} {
				if err != nil && strings.Contains(err.Error(), "YWxpY2U") {
					t.Errorf("error %q shows the secret", err)
				}
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	target := writeConfig(t, `{"a":1}`, 0o600)
	link := filepath.Join(dir, "config.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	tests := []struct {
		name, path string
		is         error
		msg        string
	}{
		{"symlink", link, ErrSymlink, "symbolic link"},
		{"invalid JSON", writeConfig(t, `{"a":`, 0o600), nil, "not valid JSON"},
		{"not an object", writeConfig(t, `[1,2]`, 0o600), nil, "not a JSON object"},
		{"trailing data", writeConfig(t, `{} {}`, 0o600), nil, "after the top-level object"},
		{"directory", dir, nil, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the file and say %q", err, tt.msg)
			}
		})
	}
	// The link's target is untouched by a write through the link's path.
	if err := WriteFile(link, []byte("{}"), 0o600); !errors.Is(err, ErrSymlink) {
		t.Errorf("WriteFile through a symlink: %v, want ErrSymlink", err)
	}
	if b, _ := os.ReadFile(target); string(b) != `{"a":1}` {
		t.Errorf("symlink target changed to %q", b)
	}
}

func TestSaveReadOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits")
	}
	p := writeConfig(t, `{"a":1}`, 0o400)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Root().Set(KeyCredsStore, "notation")
	if err := f.Save(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Save of a read-only file: %v, want ErrReadOnly", err)
	}
	if b, _ := os.ReadFile(p); string(b) != `{"a":1}` {
		t.Errorf("read-only file changed to %q", b)
	}
}

func TestSaveNewFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notation")
	p := filepath.Join(dir, "config.json")
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Exists {
		t.Fatal("Exists for a missing file")
	}
	f.Root().Set(KeyCredsStore, "notation")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n\t\"credsStore\": \"notation\"\n}"; string(b) != want {
		t.Errorf("new file = %q, want %q", b, want)
	}
	if runtime.GOOS == "windows" {
		return
	}
	for path, want := range map[string]os.FileMode{p: 0o600, dir: 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
}

func TestPaths(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout")
	}
	tests := []struct {
		name           string
		env            map[string]string
		docker, notary string
	}{
		{"home", map[string]string{"HOME": "/h"}, "/h/.docker/config.json", "/h/.config/notation/config.json"},
		{"DOCKER_CONFIG and XDG", map[string]string{"HOME": "/h", "DOCKER_CONFIG": "/d", "XDG_CONFIG_HOME": "/x"}, "/d/config.json", "/x/notation/config.json"},
		{"relative XDG ignored", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "/h/.docker/config.json", "/h/.config/notation/config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			d, err := DockerPath(getenv)
			if err != nil || d != tt.docker {
				t.Errorf("DockerPath = %q, %v; want %q", d, err, tt.docker)
			}
			n, err := NotationPath(getenv)
			if err != nil || n != tt.notary {
				t.Errorf("NotationPath = %q, %v; want %q", n, err, tt.notary)
			}
		})
	}
	if _, err := DockerPath(func(string) string { return "" }); err == nil {
		t.Error("DockerPath with no HOME: no error")
	}
}

func TestHelmPath(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout")
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"home", map[string]string{"HOME": "/h"}, "/h/.config/helm/registry/config.json"},
		{"XDG_CONFIG_HOME", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/helm/registry/config.json"},
		{"HELM_CONFIG_HOME", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x", "HELM_CONFIG_HOME": "/c"}, "/c/registry/config.json"},
		{"HELM_REGISTRY_CONFIG", map[string]string{"HOME": "/h", "HELM_CONFIG_HOME": "/c", "HELM_REGISTRY_CONFIG": "/r.json"}, "/r.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HelmPath(func(k string) string { return tt.env[k] })
			if err != nil || got != tt.want {
				t.Errorf("HelmPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := HelmPath(func(string) string { return "" }); err == nil {
		t.Error("HelmPath with no HOME: no error")
	}
}

func TestContainersPaths(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout")
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"runtime dir, then config dir", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/run/user/1000"},
			[]string{"/run/user/1000/containers/auth.json", "/h/.config/containers/auth.json"}},
		{"no runtime dir", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"},
			[]string{"/run/containers/1000/auth.json", "/x/containers/auth.json"}},
		{"REGISTRY_AUTH_FILE alone", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/r", "DOCKER_CONFIG": "/d", "REGISTRY_AUTH_FILE": "/a/auth.json"},
			[]string{"/a/auth.json"}},
		{"DOCKER_CONFIG alone", map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/r", "DOCKER_CONFIG": "/d"},
			[]string{"/d/config.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContainersPaths(func(k string) string { return tt.env[k] }, 1000)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ContainersPaths = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := ContainersPaths(func(string) string { return "" }, 0); err == nil {
		t.Error("ContainersPaths with no HOME: no error")
	}
}

func TestDiff(t *testing.T) {
	if d := Diff("a", "b", []byte("x\n"), []byte("x\n")); d != "" {
		t.Errorf("Diff of equal = %q", d)
	}
	got := Diff("old", "new", []byte("{\n\t\"a\": 1\n}"), []byte("{\n\t\"a\": 1,\n\t\"credsStore\": \"notation\"\n}"))
	want := "--- old\n+++ new\n@@\n {\n-\t\"a\": 1\n+\t\"a\": 1,\n+\t\"credsStore\": \"notation\"\n }\n"
	if got != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
}

func FuzzParseObject(f *testing.F) {
	f.Add([]byte(dockerWritten))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{} x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseObject(b)
		if err != nil {
			return
		}
		out, _ := o.MarshalJSON()
		if !json.Valid(out) {
			t.Fatalf("MarshalJSON of %q gave invalid JSON %q", b, out)
		}
		o2, err := ParseObject(out)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		out2, _ := o2.MarshalJSON()
		if string(out) != string(out2) {
			t.Fatalf("not stable: %q then %q", out, out2)
		}
	})
}
