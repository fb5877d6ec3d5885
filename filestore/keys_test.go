package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

// TestConformanceKeySources runs the conformance suite with every key
// source but the passphrase (see TestPassphraseStore); the generated
// identity runs in TestConformance.
func TestConformanceKeySources(t *testing.T) {
	x, h := newX25519(t), newHybrid(t)
	writeIdentity := func(t *testing.T, content string) string {
		path := filepath.Join(t.TempDir(), "key.txt")
		writeFile(t, path, []byte(content), 0o600)
		return path
	}
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) Options
		// decrypts is an identity that must decrypt the store afterwards.
		decrypts age.Identity
	}{
		{"identity-x25519", func(t *testing.T) Options { return Options{Identity: x.String()} }, x},
		{"identity-hybrid", func(t *testing.T) Options { return Options{Identity: h.String()} }, h},
		{"identity-two-lines", func(t *testing.T) Options {
			return Options{Identity: "# comment\n" + h.String() + "\n\n" + x.String() + "\n"}
		}, h},
		{"identity-file-hybrid", func(t *testing.T) Options {
			return Options{IdentityFile: writeIdentity(t, fmt.Sprintf("# created: now\n# public key: %s\n%s\n", h.Recipient(), h))}
		}, h},
		{"identity-file-x25519", func(t *testing.T) Options {
			return Options{KeySource: KeySourceIdentityFile, IdentityFile: writeIdentity(t, x.String()+"\n")}
		}, x},
		{"explicit-generated", func(t *testing.T) Options {
			// The explicit source wins over an identity that is also set.
			return Options{KeySource: KeySourceGenerated, Identity: x.String()}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			helpertest.Run(t, func(t *testing.T) helper.Store {
				opts := tc.opts(t)
				opts.Dir = t.TempDir()
				s := newStore(t, opts)
				t.Cleanup(func() {
					if t.Failed() {
						return
					}
					// Whatever the case left behind was encrypted to the
					// expected key and nothing else was generated.
					if _, err := os.Stat(s.Path()); err != nil {
						return // the case wrote nothing
					}
					id := tc.decrypts
					if id == nil {
						id = parseIdentityFile(t, filepath.Join(opts.Dir, GeneratedIdentityName))[0]
					} else if _, err := os.Lstat(filepath.Join(opts.Dir, GeneratedIdentityName)); err == nil {
						t.Errorf("an identity was generated although the key source is %s", tc.name)
					}
					if _, err := decryptFile(t, s.Path(), id); err != nil {
						t.Errorf("the store does not decrypt with the expected identity: %v", err)
					}
				})
				return s
			})
		})
	}
}

// TestPassphraseStore runs a reduced conformance sequence with a passphrase:
// every operation costs an scrypt derivation at age's default work factor,
// about a second (ten under -race), so the full suite would take minutes.
func TestPassphraseStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newStore(t, Options{Dir: dir, Passphrase: "correct horse battery staple"})
	ctx := context.Background()

	mustPut(t, s, "registry.example.com", "alice", "hunter2")
	head := readBytes(t, s.Path())
	if !bytes.HasPrefix(head, []byte("age-encryption.org/v1\n-> scrypt ")) {
		t.Fatalf("passphrase store does not start with a single scrypt stanza:\n%.80q", head)
	}
	// The store keeps age's default work factor (2^18).
	if line, _, _ := bytes.Cut(head[len("age-encryption.org/v1\n"):], []byte("\n")); !bytes.HasSuffix(line, []byte(" 18")) {
		t.Errorf("scrypt stanza %q does not use work factor 18", line)
	}
	if got := mustGet(t, s, "registry.example.com"); got != (helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "hunter2"}) {
		t.Errorf("Get = %v", got)
	}
	// A store swapped for one that asks for 2^22 (16 s and 4 GiB a get) is
	// refused before any derivation.
	swapped := t.TempDir()
	tampered := bytes.Replace(head, []byte(" 18\n"), []byte(" 22\n"), 1)
	if err := os.WriteFile(filepath.Join(swapped, StoreFileName), tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	sw := newStore(t, Options{Dir: swapped, Passphrase: "correct horse battery staple"})
	start := time.Now()
	_, err := sw.Get(ctx, mustKey(t, "registry.example.com"))
	if err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(err.Error(), "work factor too large") {
		t.Errorf("Get of a store with work factor 22: %v, want refused", err)
	}
	t.Logf("refused in %v", time.Since(start))
	if _, err := os.Lstat(filepath.Join(dir, GeneratedIdentityName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a passphrase store generated an identity (stat: %v)", err)
	}
	if raceEnabled() {
		t.Log("-race: scrypt is ten times slower; stopping after one round trip")
		return
	}
	mustPut(t, s, "localhost:5000", "<token>", "refresh")
	if err := s.Delete(ctx, mustKey(t, "https://registry.example.com")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// A store without the passphrase set now resolves to the passphrase (the
	// file says so) and asks for it.
	asked := 0
	s2 := newStore(t, Options{Dir: dir, Prompt: func(string) (string, error) { asked++; return "correct horse battery staple", nil }})
	if m, err := s2.List(ctx); err != nil || !maps.Equal(m, map[string]string{"localhost:5000": "<token>"}) {
		t.Errorf("List after Put, Put, Delete = %v, %v", m, err)
	}
	if asked != 1 {
		t.Errorf("the prompt was called %d times, want 1", asked)
	}
}

func TestParseKeySource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want KeySource
		ok   bool
	}{
		{"", KeySourceAuto, true},
		{"auto", KeySourceAuto, true},
		{"identity", KeySourceIdentity, true},
		{"identity-file", KeySourceIdentityFile, true},
		{"passphrase", KeySourcePassphrase, true},
		{"generated", KeySourceGenerated, true},
		{"Identity", "", false},
		{"identity_file", "", false},
		{"protected", KeySourceProtected, true},
		{"keychain", KeySourceKeychain, true},
		{"tpm", "", false},
		{" auto", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseKeySource(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseKeySource(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
				t.Errorf("error %q does not quote the input", err)
			}
		})
	}
}

func TestKeySourceResolution(t *testing.T) {
	x, h := newX25519(t), newHybrid(t)
	idFile := filepath.Join(t.TempDir(), "key.txt")
	writeFile(t, idFile, []byte(h.String()+"\n"), 0o600)
	const pass = "a passphrase"

	for _, tc := range []struct {
		name   string
		opts   Options
		store  string // "", "scrypt" or "x25519": what store.age holds beforehand
		source KeySource
		origin string // "GENERATED" stands for the generated identity's path
		// encryptsTo, if set, must decrypt the store after a Put (checked
		// only for sources that need no scrypt work).
		encryptsTo age.Identity
	}{
		{"nothing set", Options{}, "", KeySourceGenerated, "GENERATED", nil},
		{"identity", Options{Identity: x.String()}, "", KeySourceIdentity, "DOCKER_CREDENTIAL_NOTATION_IDENTITY", x},
		{"identity wins over everything", Options{Identity: x.String(), IdentityFile: idFile, Passphrase: pass}, "scrypt", KeySourceIdentity, "DOCKER_CREDENTIAL_NOTATION_IDENTITY", nil},
		{"identity over file", Options{Identity: x.String(), IdentityFile: idFile}, "", KeySourceIdentity, "DOCKER_CREDENTIAL_NOTATION_IDENTITY", x},
		{"identity file over passphrase", Options{IdentityFile: idFile, Passphrase: pass}, "", KeySourceIdentityFile, idFile, h},
		{"passphrase", Options{Passphrase: pass}, "", KeySourcePassphrase, "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE", nil},
		{"passphrase over scrypt store", Options{Passphrase: pass}, "scrypt", KeySourcePassphrase, "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE", nil},
		{"scrypt store prompts", Options{}, "scrypt", KeySourcePassphrase, "terminal prompt", nil},
		{"identity file over scrypt store", Options{IdentityFile: idFile}, "scrypt", KeySourceIdentityFile, idFile, nil},
		{"other store is generated", Options{}, "x25519", KeySourceGenerated, "GENERATED", nil},
		{"explicit generated", Options{KeySource: KeySourceGenerated, Identity: x.String(), Passphrase: pass}, "", KeySourceGenerated, "GENERATED", nil},
		{"explicit passphrase prompts", Options{KeySource: KeySourcePassphrase, Identity: x.String()}, "", KeySourcePassphrase, "terminal prompt", nil},
		{"explicit identity file", Options{KeySource: KeySourceIdentityFile, Identity: x.String(), IdentityFile: idFile}, "", KeySourceIdentityFile, idFile, h},
		{"explicit identity", Options{KeySource: KeySourceIdentity, Identity: x.String()}, "scrypt", KeySourceIdentity, "DOCKER_CREDENTIAL_NOTATION_IDENTITY", nil},
		{"explicit auto", Options{KeySource: KeySourceAuto, IdentityFile: idFile}, "", KeySourceIdentityFile, idFile, h},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			switch tc.store {
			case "scrypt":
				writeFile(t, filepath.Join(dir, StoreFileName), scryptStore(t, pass, v1Doc(t)), 0o600)
			case "x25519":
				writeFile(t, filepath.Join(dir, StoreFileName), encryptTo(t, newX25519(t).Recipient(), []byte(`{"version":1,"entries":{}}`)), 0o600)
			}
			opts := tc.opts
			opts.Dir = dir
			s := newStore(t, opts)
			want := tc.origin
			if want == "GENERATED" {
				want = filepath.Join(dir, GeneratedIdentityName)
			}
			src, origin, err := s.KeySource()
			if err != nil || src != string(tc.source) || origin != want {
				t.Fatalf("KeySource() = %q, %q, %v; want %q, %q", src, origin, err, tc.source, want)
			}
			for _, secret := range []string{x.String(), h.String(), pass} {
				if strings.Contains(origin, secret) {
					t.Fatalf("KeySource() reveals a secret")
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, GeneratedIdentityName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("KeySource() generated an identity")
			}
			if tc.encryptsTo != nil {
				mustPut(t, s, "registry.example.com", "alice", "hunter2")
				if _, err := decryptFile(t, s.Path(), tc.encryptsTo); err != nil {
					t.Errorf("after Put, the store does not decrypt with the %s key: %v", tc.source, err)
				}
			}
		})
	}
}

func TestPassphrasePrompt(t *testing.T) {
	const pass = "correct horse"
	storeFile := scryptStore(t, pass, v1Doc(t, "registry.example.com"))
	for _, tc := range []struct {
		name   string
		prompt func(string) (string, error)
		want   string // in the error; "" means success
		hint   string
	}{
		{"right", func(string) (string, error) { return pass, nil }, "", ""},
		{"no terminal", nil, "no terminal", "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE"},
		{"wrong", func(string) (string, error) { return "incorrect horse", nil }, "wrong key", "_PASSPHRASE"},
		{"empty", func(string) (string, error) { return "", nil }, "empty", ""},
		{"prompt fails", func(string) (string, error) { return "", errors.New("tty closed") }, "tty closed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, StoreFileName)
			writeFile(t, path, storeFile, 0o600)
			var prompts []string
			opts := Options{Dir: dir}
			if tc.prompt != nil {
				opts.Prompt = func(p string) (string, error) {
					prompts = append(prompts, p)
					return tc.prompt(p)
				}
			}
			s := newStore(t, opts)
			got, err := s.Get(context.Background(), mustKey(t, "registry.example.com"))
			if tc.want == "" {
				if err != nil || got.Secret != "secret-registry.example.com" {
					t.Fatalf("Get = %v, %v", got, err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Get error = %v, want one saying %q", err, tc.want)
				}
				if errors.Is(err, helper.ErrNotFound) {
					t.Errorf("the failure wraps ErrNotFound: %v", err)
				}
				if !strings.Contains(helper.Hint(err), tc.hint) {
					t.Errorf("hint %q does not mention %q", helper.Hint(err), tc.hint)
				}
				// A write is refused as well and leaves the file alone (the
				// successful case would re-encrypt at the slow default work
				// factor, which TestPassphraseStore covers).
				if err := s.Put(context.Background(), mustKey(t, "new.example.com"), helper.Credentials{ServerURL: "new.example.com", Username: "u"}); err == nil {
					t.Errorf("Put succeeded")
				}
				if !bytes.Equal(readBytes(t, path), storeFile) {
					t.Errorf("the store changed")
				}
			}
			for _, p := range prompts {
				if !strings.Contains(strings.ToLower(p), "passphrase") {
					t.Errorf("prompt %q does not ask for a passphrase", p)
				}
			}
			if tc.prompt != nil && len(prompts) == 0 {
				t.Errorf("the prompt was never called")
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	oldID, newID := newX25519(t), newHybrid(t)
	dir := t.TempDir()
	mustPut(t, newStore(t, Options{Dir: dir, Identity: oldID.String()}), "registry.example.com", "alice", "hunter2")

	idFile := filepath.Join(t.TempDir(), "keys.txt")
	writeFile(t, idFile, []byte(fmt.Sprintf("# new key\n%s\n# old key, until the store is rewritten\n%s\n", newID, oldID)), 0o600)
	s := newStore(t, Options{Dir: dir, IdentityFile: idFile})
	if got := mustGet(t, s, "registry.example.com"); got.Secret != "hunter2" {
		t.Fatalf("Get with the old key second = %v", got)
	}
	if _, err := decryptFile(t, s.Path(), oldID); err != nil {
		t.Fatalf("a read re-encrypted the store: %v", err)
	}
	mustPut(t, s, "other.example.com", "bob", "x")
	if _, err := decryptFile(t, s.Path(), newID); err != nil {
		t.Errorf("after a Put the store does not decrypt with the new key: %v", err)
	}
	var nomatch *age.NoIdentityMatchError
	if _, err := decryptFile(t, s.Path(), oldID); !errors.As(err, &nomatch) {
		t.Errorf("after a Put the old key still decrypts the store (err %v)", err)
	}
	// The old key can now be dropped.
	s2 := newStore(t, Options{Dir: dir, Identity: newID.String()})
	if got := mustGet(t, s2, "registry.example.com"); got.Secret != "hunter2" {
		t.Errorf("Get with the new key alone = %v", got)
	}
}

func TestPluginIdentity(t *testing.T) {
	lookTool(t, "age-plugin-batchpass")
	agePath := lookTool(t, "age")
	const pass = "plugin passphrase"
	t.Setenv("AGE_PASSPHRASE", pass)
	// The plugin's scrypt work factor, kept low so that the test is fast.
	t.Setenv("AGE_PASSPHRASE_WORK_FACTOR", "10")

	dir := t.TempDir()
	idFile := filepath.Join(t.TempDir(), "plugin-identity.txt")
	identity := plugin.EncodeIdentity("batchpass", nil)
	if !strings.HasPrefix(identity, "AGE-PLUGIN-BATCHPASS-1") {
		t.Fatalf("unexpected plugin identity encoding %q", identity)
	}
	writeFile(t, idFile, []byte("# age-plugin-batchpass, passphrase from $AGE_PASSPHRASE\n"+identity+"\n"), 0o600)

	// PluginUI nil, as the command builds the store.
	s := newStore(t, Options{Dir: dir, IdentityFile: idFile})
	if src, origin, err := s.KeySource(); err != nil || src != string(KeySourceIdentityFile) || origin != idFile {
		t.Fatalf("KeySource() = %q, %q, %v", src, origin, err)
	}
	mustPut(t, s, "registry.example.com", "alice", "hunter2")
	mustPut(t, s, "localhost:5000", "<token>", "refresh")
	if got := mustGet(t, s, "registry.example.com"); got.Secret != "hunter2" {
		t.Errorf("Get = %v", got)
	}
	if err := s.Delete(context.Background(), mustKey(t, "localhost:5000")); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if m, err := s.List(context.Background()); err != nil || !maps.Equal(m, map[string]string{"registry.example.com": "alice"}) {
		t.Errorf("List = %v, %v", m, err)
	}
	data := readBytes(t, s.Path())
	if !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n-> scrypt ")) {
		t.Errorf("the batchpass plugin did not encrypt the store with scrypt:\n%.80q", data)
	}

	// The stock age CLI decrypts it through the same plugin.
	out, err := exec.Command(agePath, "-d", "-i", idFile, s.Path()).Output()
	if err != nil {
		t.Fatalf("age -d -i %s: %v (%s)", filepath.Base(idFile), err, stderrOf(err))
	}
	if !bytes.Contains(out, []byte(`"serverURL":"registry.example.com"`)) || !bytes.Contains(out, []byte(`"secret":"hunter2"`)) {
		t.Errorf("age -d printed %q", out)
	}

	// A wrong passphrase in the plugin's environment is an error, and the
	// store is left alone. A new Store, as a new process opens it: a Store
	// reads the file it already decrypted without unwrapping its key again.
	t.Setenv("AGE_PASSPHRASE", "not the passphrase")
	s = newStore(t, Options{Dir: dir, IdentityFile: idFile})
	_, err = s.Get(context.Background(), mustKey(t, "registry.example.com"))
	if err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("Get with the wrong plugin passphrase: %v", err)
	}
	if err := s.Put(context.Background(), mustKey(t, "new.example.com"), helper.Credentials{ServerURL: "new.example.com", Username: "u"}); err == nil {
		t.Errorf("Put with the wrong plugin passphrase succeeded")
	}
	if !bytes.Equal(readBytes(t, s.Path()), data) {
		t.Errorf("the store changed")
	}
}

func TestInvalidKeys(t *testing.T) {
	h := newHybrid(t)
	file := func(t *testing.T, content string) string {
		path := filepath.Join(t.TempDir(), "key.txt")
		writeFile(t, path, []byte(content), 0o600)
		return path
	}
	const badLine = "AGE-SECRET-KEY-1NOTAVALIDKEYATALLBUTSECRETLOOKING"
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) Options
		want []string // in the error; "PATH" stands for opts.IdentityFile
		hint string
	}{
		{"identity source without identity", func(*testing.T) Options { return Options{KeySource: KeySourceIdentity} },
			[]string{"no identity is set"}, "DOCKER_CREDENTIAL_NOTATION_IDENTITY"},
		{"identity-file source without file", func(*testing.T) Options { return Options{KeySource: KeySourceIdentityFile} },
			[]string{"no identity file is set"}, "DOCKER_CREDENTIAL_NOTATION_IDENTITY_FILE"},
		{"passphrase source without passphrase or terminal", func(*testing.T) Options { return Options{KeySource: KeySourcePassphrase} },
			[]string{"passphrase"}, "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE"},
		{"unknown source", func(*testing.T) Options { return Options{KeySource: "tpm"} },
			[]string{"unknown key source", "tpm"}, ""},
		{"invalid identity", func(*testing.T) Options { return Options{Identity: badLine} },
			[]string{"identity", "line 1"}, ""},
		{"identity of comments only", func(*testing.T) Options { return Options{Identity: "# nothing\n\n"} },
			[]string{"no identity found"}, ""},
		{"public key as identity", func(*testing.T) Options { return Options{Identity: h.Recipient().String()} },
			[]string{"not an age identity"}, ""},
		{"invalid plugin identity", func(*testing.T) Options { return Options{Identity: "AGE-PLUGIN-NOPE-1QQQQ"} },
			[]string{"invalid plugin identity"}, ""},
		{"identity file missing", func(t *testing.T) Options {
			return Options{IdentityFile: filepath.Join(t.TempDir(), "nope.txt")}
		}, []string{"PATH"}, ""},
		{"identity file is a directory", func(t *testing.T) Options { return Options{IdentityFile: t.TempDir()} },
			[]string{"PATH", "not a regular file"}, ""},
		{"identity file with a bad line", func(t *testing.T) Options {
			return Options{IdentityFile: file(t, "# key\n"+badLine+"\n"+h.String()+"\n")}
		}, []string{"PATH", "line 2"}, ""},
		{"empty identity file", func(t *testing.T) Options { return Options{IdentityFile: file(t, "")} },
			[]string{"PATH", "no identity found"}, ""},
		{"identity file readable by others", func(t *testing.T) Options {
			path := file(t, h.String()+"\n")
			if err := os.Chmod(path, 0o604); err != nil {
				t.Fatal(err)
			}
			return Options{IdentityFile: path}
		}, []string{"PATH", "other users"}, "chmod 600 PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts(t)
			opts.Dir = t.TempDir()
			s := newStore(t, opts)
			ctx := context.Background()
			err := s.Put(ctx, mustKey(t, "registry.example.com"), helper.Credentials{ServerURL: "registry.example.com", Username: "u", Secret: "hunter2"})
			if err == nil {
				t.Fatal("Put succeeded")
			}
			msg := err.Error()
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "PATH", opts.IdentityFile)
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if hint := strings.ReplaceAll(tc.hint, "PATH", opts.IdentityFile); !strings.Contains(helper.Hint(err), hint) {
				t.Errorf("hint %q does not mention %q", helper.Hint(err), hint)
			}
			if errors.Is(err, helper.ErrNotFound) {
				t.Errorf("the failure wraps ErrNotFound")
			}
			if strings.Contains(msg, badLine) || strings.Contains(msg, h.String()) {
				t.Errorf("the error quotes a secret")
			}
			for _, name := range []string{StoreFileName, GeneratedIdentityName} {
				if _, err := os.Lstat(filepath.Join(opts.Dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a failed Put created %s", name)
				}
			}
			// A fresh store has nothing to decrypt: reads need no key.
			if _, err := s.Get(ctx, mustKey(t, "registry.example.com")); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("Get on a fresh store: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a directory succeeded")
	}
	t.Chdir(t.TempDir())
	s := newStore(t, Options{Dir: "rel/store"})
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "rel", "store", StoreFileName); s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
	if !strings.Contains(s.Describe(), s.Path()) {
		t.Errorf("Describe() = %q does not name the file", s.Describe())
	}
	if _, err := os.Lstat("rel"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New touched the disk")
	}
}
