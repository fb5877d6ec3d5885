package dockerconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile feeds arbitrary bytes as docker's or notation's
// config.json, as configure, import and doctor read it: Load, the readers
// of credsStore, credHelpers and auths (with its base64 "auth"), and the
// edits import and configure make. Nothing panics; an edited file is valid
// JSON that loads again; blanking an entry leaves no secret in it, and the
// file's other keys keep their values.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		dockerWritten,
		`{"credsStore":"notation","credHelpers":{"ghcr.io":"notation","r.example.com":"pass"}}`,
		`{"credStore":"notation"}`,
		`{"auths":{"a.example.com":{"username":"u","password":"p","identitytoken":"t"}}}`,
		`{"auths":{"a.example.com":{"auth":"dTpwOng="},"a.example.com":{"auth":"!!"}}}`,
		`{"auths":{"a.example.com":{"auth":"bm9jb2xvbg=="}}}`,
		`{"auths":{"a.example.com":null,"b":{}}}`,
		`{"auths":[]}`,
		`{"credHelpers":{"h":1}}`,
		`{"auths":{"\u0000":{"auth":"Og=="}}}`,
		"",
		"  \n",
		"\ufeff{}",
		`{"a":1} {}`,
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "config.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cf, err := Load(path)
		if err != nil {
			return
		}
		_ = cf.CredsStore()
		_, _ = cf.Misspelled()
		hosts, helpers, err := cf.CredHelpers()
		if err == nil {
			if len(hosts) != len(helpers) {
				t.Fatalf("CredHelpers: %d hosts, %d helpers", len(hosts), len(helpers))
			}
			if err := cf.SetCredHelper("fuzz.example.com", "notation"); err != nil {
				t.Fatalf("SetCredHelper after a successful CredHelpers: %v", err)
			}
		}
		auths, err := cf.Auths()
		if err != nil {
			return
		}
		for _, a := range auths {
			if err := cf.BlankAuth(a.Host); err != nil {
				t.Fatalf("BlankAuth(%q) after a successful Auths: %v", a.Host, err)
			}
		}
		out := cf.Bytes()
		if !json.Valid(out) {
			t.Fatalf("edited file is not valid JSON:\n%q\nfrom\n%q", out, b)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := Load(path)
		if err != nil {
			t.Fatalf("the edited file does not load: %v\n%q", err, out)
		}
		after, err := again.Auths()
		if err != nil {
			t.Fatalf("Auths of the edited file: %v\n%q", err, out)
		}
		for _, a := range after {
			if a.Username != "" || a.Password != "" || a.IdentityToken != "" {
				t.Fatalf("entry %q keeps a credential after BlankAuth: %q", a.Host, out)
			}
		}
		if len(after) != len(auths) {
			t.Fatalf("BlankAuth changed the number of entries from %d to %d", len(auths), len(after))
		}
		// Keys that no edit touched keep their values.
		for _, k := range cf.Root().Keys() {
			if k == KeyAuths || k == KeyCredHelpers {
				continue
			}
			v1, _ := cf.Root().Raw(k)
			v2, ok := again.Root().Raw(k)
			if !ok || !sameJSON(v1, v2) {
				t.Fatalf("key %q changed from %q to %q", k, v1, v2)
			}
		}
	})
}

// sameJSON reports whether a and b are the same JSON text but for white
// space (the edited file is re-indented).
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
