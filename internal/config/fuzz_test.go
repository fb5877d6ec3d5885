package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseFile checks that the config file parser never panics, never
// accepts a secret, and that what it accepts survives a round trip.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`null`,
		`{"backend":"file","storeDir":"s","keySource":"identity-file","identityFile":"k.txt","debug":true}`,
		`{"identity":"AGE-SECRET-KEY-1X"}`,
		`{"Passphrase":"x"}`,
		`{"storDir":"x"}`,
		`{"backend":"file"} {}`,
		`{"debug":"yes"}`,
		`{"backend":null,"debug":null}`,
		`{"BACKEND":"auto"}`,
		`[{"backend":"file"}]`,
		``,
		`{"registries":{"https://registry.example.com":{"issuer":"https://idp.example.com/","clientID":"cli","scopes":["openid","offline_access"],"username":"oauth2","timeout":"10s"}}}`,
		`{"registries":{"registry.example.com:5000":{"tokenURL":"http://10.0.0.1/token","clientID":"c","clientSecretEnv":"IDP_SECRET","insecure":true}}}`,
		`{"registries":{"r.example.com":{"clientID":"c","clientSecret":"s"}}}`,
		`{"registries":{"r.example.com":{"clientID":"c","timeout":"-1s"}}}`,
		`{"registries":{"":{"clientID":"c"}}}`,
		`{"registries":{"https://user:pw@r.example.com":{"clientID":"c"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fc, err := ParseFile(b)
		if err != nil {
			return
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			t.Fatalf("ParseFile accepted what encoding/json rejects: %v", err)
		}
		for k := range probe {
			if l := strings.ToLower(k); l == "identity" || l == "passphrase" {
				t.Fatalf("ParseFile accepted the secret key %q", k)
			}
		}
		again, err := json.Marshal(fc)
		if err != nil {
			t.Fatal(err)
		}
		fc2, err := ParseFile(again)
		if err != nil {
			t.Fatalf("ParseFile rejects its own output %s: %v", again, err)
		}
		if show(*fc) != show(*fc2) {
			t.Fatalf("round trip changed %s into %s", show(*fc), show(*fc2))
		}
	})
}
