package reliability

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"oras.land/oras-go/v2/registry/remote/auth"
	orascreds "oras.land/oras-go/v2/registry/remote/credentials"
)

// hygieneSecret is the unique marker secret of the hygiene tests.
const hygieneSecret = "HYGIENE-MARKER-e3b0c44298fc1c14"

// TestSecretHygiene runs every command and error path with the debug trace
// on and off, with a marker secret (and a marker passphrase and identity),
// and checks that none of them appears on stderr, in an error message, or in
// any file below HOME or the store directory but the encrypted store, where
// it is not in the clear either.
//
// The argv and environment of child processes (age plugins, the helper
// that import --from-helper reads) are checked in children_test.go.
func TestSecretHygiene(t *testing.T) {
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "HYGIENE-PASSPHRASE-9d2f"
	setups := []struct {
		name string
		env  []string
		// secretEnv are the key secrets this setup hands the helper.
		secretEnv []string
		// slow: every decryption costs a second of scrypt, so this setup
		// runs with the debug trace only and skips the repeated steps.
		slow bool
		// protected: the generated key is protected with the passphrase
		// and unlocked into the kernel keyring first.
		protected bool
	}{
		{name: "generated key"},
		{name: "identity", env: []string{"DOCKER_CREDENTIAL_NOTATION_IDENTITY=" + other.String()}, secretEnv: []string{other.String()}},
		{name: "passphrase", env: []string{"DOCKER_CREDENTIAL_NOTATION_KEY_SOURCE=passphrase", "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE=" + passphrase}, secretEnv: []string{passphrase}, slow: true},
		// No plaintext key anywhere, either.
		{name: "protected key, unlocked", secretEnv: []string{passphrase, "AGE-SECRET-KEY-PQ-1"}, protected: true},
	}
	wrong, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	good := credJSON("registry.example.com", "alice", hygieneSecret)
	steps := []struct {
		name, action, stdin string
		env                 []string
		// mayPrint is set for the one answer that carries the secret by
		// design: get's stdout.
		mayPrint bool
		corrupt  bool
		// again marks a step that repeats a path another step covers.
		again bool
	}{
		{name: "store", action: "store", stdin: good},
		{name: "store again", action: "store", stdin: good, again: true},
		{name: "get", action: "get", stdin: "registry.example.com", mayPrint: true},
		{name: "list", action: "list"},
		{name: "config", action: "config"},
		{name: "version", action: "version"},
		{name: "get missing", action: "get", stdin: "missing.example.com", again: true},
		{name: "truncated JSON", action: "store", stdin: good[:len(good)-3]},
		{name: "trailing data", action: "store", stdin: good + `{"Secret":"` + hygieneSecret + `"}`},
		{name: "secret with NUL", action: "store", stdin: credJSON("registry.example.com", "alice", hygieneSecret+"\x00")},
		{name: "secret in URL", action: "store", stdin: credJSON("https://alice:"+hygieneSecret+"@registry.example.com", "alice", hygieneSecret)},
		{name: "secret in query", action: "get", stdin: "registry.example.com/?token=" + hygieneSecret},
		{name: "secret as host", action: "get", stdin: "https://" + hygieneSecret + ":1/"},
		{name: "secret in wrong type", action: "store", stdin: `{"ServerURL":"registry.example.com","Username":"alice","Secret":["` + hygieneSecret + `"]}`},
		{name: "control char", action: "store", stdin: `{"ServerURL":"registry.example.com","Username":"alice","Secret":"` + hygieneSecret + "\x01" + `"}`},
		{name: "wrong key", action: "get", stdin: "registry.example.com", env: []string{"DOCKER_CREDENTIAL_NOTATION_IDENTITY=" + wrong.String(), "DOCKER_CREDENTIAL_NOTATION_KEY_SOURCE=identity"}, again: true},
		{name: "bad identity", action: "list", env: []string{"DOCKER_CREDENTIAL_NOTATION_IDENTITY=AGE-SECRET-KEY-1" + hygieneSecret, "DOCKER_CREDENTIAL_NOTATION_KEY_SOURCE=identity"}, again: true},
		{name: "corrupt store get", action: "get", stdin: "registry.example.com", corrupt: true},
		{name: "corrupt store store", action: "store", stdin: good, corrupt: true, again: true},
		{name: "erase", action: "erase", stdin: "registry.example.com", again: true},
		{name: "erase missing", action: "erase", stdin: "registry.example.com", again: true},
		{name: "store last", action: "store", stdin: good, again: true},
	}
	for _, setup := range setups {
		t.Run(setup.name, func(t *testing.T) {
			s := newSandbox(t, setup.env...)
			forbidden := append([]string{hygieneSecret}, setup.secretEnv...)
			if setup.protected {
				if !keyctlWorks() {
					t.Skip("skipping: the kernel keyring is not available here")
				}
				for _, args := range [][]string{{"protect", "--passphrase-stdin"}, {"unlock", "--passphrase-stdin", "--for", "10m"}} {
					if r := s.runEnv(t, []byte(passphrase+"\n"), nil, args...); r.Code != 0 || strings.Contains(r.Stdout+r.Stderr, passphrase) {
						t.Fatalf("%v: %v", args, r)
					}
				}
				t.Cleanup(func() { s.run(t, "", "lock") })
			}
			debugs := []string{"0", "1"}
			if setup.slow {
				debugs = []string{"1"}
			}
			for _, debug := range debugs {
				for _, st := range steps {
					if setup.slow && st.again {
						continue
					}
					env := append([]string{"DOCKER_CREDENTIAL_NOTATION_DEBUG=" + debug}, st.env...)
					var saved []byte
					if st.corrupt {
						saved = readFile(t, s.StoreFile())
						bad := append([]byte{}, saved...)
						bad[len(bad)-5] ^= 0xff
						if err := os.WriteFile(s.StoreFile(), bad, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					r := s.runEnv(t, []byte(st.stdin), env, st.action)
					if saved != nil {
						if err := os.WriteFile(s.StoreFile(), saved, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					for _, secret := range forbidden {
						if strings.Contains(r.Stderr, secret) {
							t.Errorf("debug=%s %s: stderr carries a secret: %q", debug, st.name, r.Stderr)
						}
						if !st.mayPrint && strings.Contains(r.Stdout, secret) {
							t.Errorf("debug=%s %s: stdout carries a secret: %q", debug, st.name, r.Stdout)
						}
					}
					if st.mayPrint && (r.Code != 0 || !strings.Contains(r.Stdout, hygieneSecret)) {
						t.Errorf("debug=%s %s: %v", debug, st.name, r)
					}
				}
			}
			scanFiles(t, s.Root, s.StoreFile(), forbidden)
		})
	}
}

// scanFiles fails when any file below root holds one of the secrets in the
// clear; the store file may hold only ciphertext.
func scanFiles(t *testing.T, root, store string, secrets []string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range secrets {
			if bytes.Contains(data, []byte(secret)) {
				if path == store {
					t.Errorf("the store file holds a secret in the clear")
				} else {
					t.Errorf("%s holds a secret", path)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no file to scan: the test did not run")
	}
}

// TestSecretHygieneDockerConfig stores through oras-go, the library notation
// uses, routed to the helper by config.json (credsStore and credHelpers):
// config.json never receives the secret.
func TestSecretHygieneDockerConfig(t *testing.T) {
	for _, config := range []string{`{"credsStore":"notation"}`, `{"credHelpers":{"registry.example.com":"notation"}}`} {
		t.Run(config, func(t *testing.T) {
			s := newSandbox(t)
			// oras-go runs the helper with this process's environment.
			for _, kv := range s.Env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			path := filepath.Join(s.Home, ".docker", "config.json")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			store, err := orascreds.NewStore(path, orascreds.StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, c := range []auth.Credential{
				{Username: "alice", Password: hygieneSecret},
				{RefreshToken: hygieneSecret + "-refresh"},
			} {
				if err := store.Put(ctx, "registry.example.com", c); err != nil {
					t.Fatalf("Put: %v", err)
				}
				got, err := store.Get(ctx, "registry.example.com")
				if err != nil || got != c {
					t.Fatalf("Get = %+v, %v; want %+v", got, err, c)
				}
			}
			if err := store.Delete(ctx, "registry.example.com"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if data := readFile(t, path); bytes.Contains(data, []byte("HYGIENE-MARKER")) {
				t.Errorf("config.json holds the secret: %s", data)
			}
			scanFiles(t, s.Root, s.StoreFile(), []string{hygieneSecret})
		})
	}
}
