package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// threePlaintext is a docker config.json with three plaintext credentials,
// a registry token and fields import must keep.
func threePlaintext() string {
	return `{
	"auths": {
		"https://index.docker.io/v1/": {
			"auth": "` + basicAuth("alice", "hub-pw") + `",
			"email": "alice@example.com"
		},
		"ghcr.io": {
			"auth": "` + basicAuth("bob", "pw:with:colons") + `"
		},
		"reg.example:5000": {
			"identitytoken": "refresh-xyz"
		},
		"old.example": {
			"registrytoken": "bearer-abc"
		}
	},
	"psFormat": "table {{.ID}}"
}`
}

var threeCreds = map[string]helper.Credentials{
	"https://index.docker.io/v1/": {ServerURL: "https://index.docker.io/v1/", Username: "alice", Secret: "hub-pw"},
	"ghcr.io":                     {ServerURL: "ghcr.io", Username: "bob", Secret: "pw:with:colons"},
	"reg.example:5000":            {ServerURL: "reg.example:5000", Username: "<token>", Secret: "refresh-xyz"},
}

func storeContents(t *testing.T, s *faultyStore) map[string]helper.Credentials {
	t.Helper()
	m := &migration{backends: map[string]*faultyStore{"x": s}}
	return m.contents(t, "x")
}

func assertStore(t *testing.T, s *faultyStore, want map[string]helper.Credentials) {
	t.Helper()
	got := storeContents(t, s)
	if len(got) != len(want) {
		t.Errorf("store holds %d credentials %v, want %d", len(got), got, len(want))
	}
	for u, c := range want {
		if got[u] != c {
			t.Errorf("store[%s] = %v, want %v", u, got[u], c)
		}
	}
}

func assertNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, s := range []string{"hub-pw", "pw:with:colons", "refresh-xyz", basicAuth("alice", "hub-pw"), basicAuth("bob", "pw:with:colons")} {
		if strings.Contains(text, s) {
			t.Errorf("%q appears in:\n%s", s, text)
		}
	}
}

func TestImportRemovePlaintext(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), threePlaintext(), 0o600)
	code, out, errOut := w.run(t, "import", "--remove-plaintext")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	assertStore(t, w.store, threeCreds)
	assertNoSecrets(t, out+errOut)
	for _, want := range []string{"imported ghcr.io", "skipped old.example: it holds only a registrytoken", "3 imported, 0 already in the store, 1 skipped, 0 failed", "removed the plaintext credentials of 3 registries"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := readFile(t, w.dockerConfig())
	assertNoSecrets(t, got)
	for _, kept := range []string{`"email": "alice@example.com"`, `"ghcr.io": {}`, `"registrytoken": "bearer-abc"`, `"psFormat": "table {{.ID}}"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("config lost %s:\n%s", kept, got)
		}
	}

	// Rerunning changes nothing and fails nothing.
	code, out, _ = w.run(t, "import", "--remove-plaintext")
	if code != 0 || !strings.Contains(out, "0 imported") {
		t.Errorf("rerun: exit %d\n%s", code, out)
	}
	assertStore(t, w.store, threeCreds)
}

func TestImportInterrupted(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), threePlaintext(), 0o600)
	w.store.failPut["ghcr.io"] = true
	code, out, errOut := w.run(t, "import", "--remove-plaintext")
	if code != 1 || !strings.Contains(errOut, "failed to store ghcr.io: injected fault") || !strings.Contains(errOut, "nothing was removed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, w.dockerConfig()); got != threePlaintext() {
		t.Errorf("config changed after a failed import:\n%s", got)
	}
	delete(w.store.failPut, "ghcr.io")
	code, out, errOut = w.run(t, "import", "--remove-plaintext")
	if code != 0 || !strings.Contains(out, "kept https://index.docker.io/v1/: the store already holds this credential") {
		t.Fatalf("rerun: exit %d\n%s%s", code, out, errOut)
	}
	assertStore(t, w.store, threeCreds)
	assertNoSecrets(t, readFile(t, w.dockerConfig()))
}

func TestImportVerifyFails(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), threePlaintext(), 0o600)
	w.store.corruptPut["reg.example:5000"] = true
	code, out, errOut := w.run(t, "import", "--remove-plaintext")
	if code != 1 || !strings.Contains(errOut, "failed to verify reg.example:5000") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	assertNoSecrets(t, out+errOut)
	if got := readFile(t, w.dockerConfig()); got != threePlaintext() {
		t.Errorf("config changed:\n%s", got)
	}
}

func TestImportLockedStore(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), threePlaintext(), 0o600)
	w.openErr = helper.WithHint(errors.New("failed to unlock the keychain: locked"), "unlock it")
	code, out, errOut := w.run(t, "import", "--remove-plaintext")
	if code != 1 || !strings.Contains(errOut, "failed to unlock the keychain") || !strings.Contains(errOut, "hint: unlock it") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, w.dockerConfig()); got != threePlaintext() {
		t.Errorf("config changed:\n%s", got)
	}
}

func TestImportConflict(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), threePlaintext(), 0o600)
	k, _ := helper.ParseServerURL("ghcr.io")
	if err := w.store.MemStore.Put(context.Background(), k, helper.Credentials{ServerURL: "ghcr.io", Username: "carol", Secret: "other"}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run(t, "import", "--remove-plaintext")
	if code != 1 || !strings.Contains(out, `skipped ghcr.io: the store already holds a different credential (username "carol")`) || !strings.Contains(errOut, "no plaintext was removed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, w.dockerConfig()); got != threePlaintext() {
		t.Errorf("config changed:\n%s", got)
	}
	code, out, errOut = w.run(t, "import", "--remove-plaintext", "--overwrite")
	if code != 0 {
		t.Fatalf("--overwrite: exit %d\n%s%s", code, out, errOut)
	}
	assertStore(t, w.store, threeCreds)
}

func TestImportBadInput(t *testing.T) {
	tests := []struct {
		name    string
		content string
		args    []string
		msg     string
	}{
		{"invalid JSON", `{"auths": {`, nil, "not valid JSON"},
		{"bad auth", `{"auths": {"h": {"auth": "!!"}}}`, nil, `"auth" is not base64`},
		{"missing file", "", []string{"--from-config", "nonexistent.json"}, "does not exist"},
		{"both sources", "{}", []string{"--from-config", "docker", "--from-helper", "pass"}, "exclude each other"},
		{"remove from helper", "{}", []string{"--from-helper", "pass", "--remove-plaintext"}, "applies to --from-config only"},
		{"self", "{}", []string{"--from-helper", "notation"}, "is this helper"},
		{"missing helper", "{}", []string{"--from-helper", "nosuch"}, "failed to find docker-credential-nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newOnboarding(t)
			if tt.content != "" {
				writeFile(t, w.dockerConfig(), tt.content, 0o600)
			}
			code, out, errOut := w.run(t, append([]string{"import"}, tt.args...)...)
			if code != 1 || !strings.Contains(strings.ToLower(errOut), strings.ToLower(tt.msg)) {
				t.Errorf("exit %d, stderr %q; want 1 and %q\n%s", code, errOut, tt.msg, out)
			}
			if len(storeContents(t, w.store)) != 0 {
				t.Error("something was stored")
			}
		})
	}
}

// fakeHelper is a credential helper with three credentials; get of
// fail.example fails when FAIL_ONE is in the script.
const fakeHelper = `#!/bin/sh
case "$1" in
list) cat >/dev/null; echo '{"ghcr.io":"bob","https://index.docker.io/v1/":"alice","reg.example:5000":"<token>"}' ;;
get)
  read -r url
  case "$url" in
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"bob","Secret":"pw:with:colons"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"hub-pw"}' ;;
  reg.example:5000) FAIL_ONE; echo '{"ServerURL":"reg.example:5000","Username":"<token>","Secret":"refresh-xyz"}' ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
  esac ;;
*) echo "unknown action"; exit 1 ;;
esac
`

func TestImportFromHelper(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake helper is a shell script")
	}
	w := newOnboarding(t)
	script := filepath.Join(w.bin, "docker-credential-fake")
	writeFile(t, script, strings.Replace(fakeHelper, "FAIL_ONE; ", "echo 'the keychain is locked'; exit 1; ", 1), 0o700)
	code, out, errOut := w.run(t, "import", "--from-helper", "fake")
	if code != 1 || !strings.Contains(errOut, "failed to read reg.example:5000 from docker-credential-fake") || !strings.Contains(errOut, "the keychain is locked") {
		t.Fatalf("helper failing halfway: exit %d\n%s%s", code, out, errOut)
	}
	if n := len(storeContents(t, w.store)); n != 0 {
		t.Errorf("a helper failing halfway left %d credentials imported", n)
	}

	// A helper that prints the credential and exits 1: its answer is not
	// quoted.
	writeFile(t, script, strings.Replace(fakeHelper, "FAIL_ONE; ", `echo '{"ServerURL":"reg.example:5000","Username":"u","Secret":"OTHER-HELPER-SECRET-123"}'; exit 1; `, 1), 0o700)
	code, out, errOut = w.run(t, "import", "--from-helper", "fake")
	if code != 1 || !strings.Contains(errOut, "failed to read reg.example:5000 from docker-credential-fake") || strings.Contains(out+errOut, "OTHER-HELPER-SECRET-123") {
		t.Fatalf("helper printing a credential and failing: exit %d, want 1 without the secret shown\n%s%s", code, out, errOut)
	}

	writeFile(t, script, strings.Replace(fakeHelper, "FAIL_ONE; ", "", 1), 0o700)
	code, out, errOut = w.run(t, "import", "--from-helper", "fake")
	if code != 0 || !strings.Contains(out, "3 imported") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	assertStore(t, w.store, threeCreds)
	assertNoSecrets(t, out+errOut)
}
