package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

// The faults that the binary's scripts (tests/testdata/keychain) cannot
// cause: a copy that fails or reads back different, an original that cannot
// be deleted, a run that stops half way; each loses nothing, and a rerun
// finishes the job.

// faultyStore is a helpertest.MemStore whose Put and Delete can fail, or
// Put store something else, for chosen server URLs.
type faultyStore struct {
	*helpertest.MemStore
	failPut, corruptPut, failDelete map[string]bool
}

func newFaultyStore() *faultyStore {
	return &faultyStore{MemStore: helpertest.NewMemStore(), failPut: map[string]bool{}, corruptPut: map[string]bool{}, failDelete: map[string]bool{}}
}

var errFault = errors.New("injected fault")

func (s *faultyStore) Put(ctx context.Context, k helper.Key, c helper.Credentials) error {
	switch {
	case s.failPut[c.ServerURL]:
		return errFault
	case s.corruptPut[c.ServerURL]:
		c.Secret += "-corrupt"
	}
	return s.MemStore.Put(ctx, k, c)
}

func (s *faultyStore) Delete(ctx context.Context, k helper.Key) error {
	if s.failDelete[k.String()] {
		return errFault
	}
	return s.MemStore.Delete(ctx, k)
}

// migration is one store directory with its two backends.
type migration struct {
	dir      string
	backends map[string]*faultyStore
}

func newMigration(t *testing.T) *migration {
	return &migration{
		dir: filepath.Join(t.TempDir(), "store"),
		backends: map[string]*faultyStore{
			config.BackendFile:     newFaultyStore(),
			config.BackendKeychain: newFaultyStore(),
		},
	}
}

// run runs the program with args and returns its exit status, stdout and
// stderr.
func (m *migration) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	vars := map[string]string{
		config.EnvStoreDir: m.dir,
		"HOME":             filepath.Dir(m.dir),
		"XDG_CONFIG_HOME":  filepath.Join(filepath.Dir(m.dir), "config"),
	}
	env := &Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return vars[k] },
		OpenStore: func(context.Context, *config.Config, *Env) (*Opened, error) {
			return nil, errors.New("migrate must not open the configured store")
		},
		OpenBackend: func(_ context.Context, _ *config.Config, _ *Env, name string) (helper.Store, error) {
			s, ok := m.backends[name]
			if !ok {
				return nil, fmt.Errorf("unknown backend %q", name)
			}
			return s, nil
		},
	}
	code = Run(context.Background(), append([]string{Name}, args...), env)
	return code, out.String(), errb.String()
}

func (m *migration) put(t *testing.T, backend, serverURL, user, secret string) {
	t.Helper()
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.backends[backend].MemStore.Put(context.Background(), k, helper.Credentials{ServerURL: serverURL, Username: user, Secret: secret}); err != nil {
		t.Fatal(err)
	}
}

// contents is every credential of a backend, by server URL.
func (m *migration) contents(t *testing.T, backend string) map[string]helper.Credentials {
	t.Helper()
	s := m.backends[backend].MemStore
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]helper.Credentials{}
	for u := range list {
		k, err := helper.ParseServerURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		out[u] = c
	}
	return out
}

func (m *migration) recorded(t *testing.T) string {
	t.Helper()
	b, err := config.RecordedBackend(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// threeInFile stores three credentials in the file backend, records it, and
// returns them.
func threeInFile(t *testing.T, m *migration) map[string]helper.Credentials {
	t.Helper()
	m.put(t, config.BackendFile, "https://a.example.com", "alice", "s3cr3t")
	m.put(t, config.BackendFile, "b.example.com:5000", "bob", "b0b")
	m.put(t, config.BackendFile, "c.example.com", "<token>", strings.Repeat("t", 64<<10))
	if err := config.RecordBackend(m.dir, config.BackendFile); err != nil {
		t.Fatal(err)
	}
	return m.contents(t, config.BackendFile)
}

func mustMigrate(t *testing.T, m *migration, args ...string) string {
	t.Helper()
	code, stdout, stderr := m.run(t, append([]string{"migrate"}, args...)...)
	if code != 0 {
		t.Fatalf("migrate %v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
	return stdout
}

func assertContents(t *testing.T, m *migration, backend string, want map[string]helper.Credentials) {
	t.Helper()
	if got := m.contents(t, backend); !maps.Equal(got, want) {
		t.Errorf("the %s backend holds %v, want %v", backend, got, want)
	}
}

func TestMigrate(t *testing.T) {
	m := newMigration(t)
	orig := threeInFile(t, m)
	if out := mustMigrate(t, m, "--to", "keychain"); out != "migrated 3 credentials from file to keychain; keychain is now the backend in use\n" {
		t.Errorf("stdout %q", out)
	}
	assertContents(t, m, config.BackendKeychain, orig)
	assertContents(t, m, config.BackendFile, map[string]helper.Credentials{})
	if got := m.recorded(t); got != config.BackendKeychain {
		t.Errorf("recorded %q, want keychain", got)
	}

	// Again: nothing to move.
	if out := mustMigrate(t, m, "--to", "keychain"); !strings.HasPrefix(out, "migrated 0 credentials") {
		t.Errorf("rerun: stdout %q", out)
	}
	assertContents(t, m, config.BackendKeychain, orig)

	// And back.
	mustMigrate(t, m, "--to", "file")
	assertContents(t, m, config.BackendFile, orig)
	assertContents(t, m, config.BackendKeychain, map[string]helper.Credentials{})
	if got := m.recorded(t); got != config.BackendFile {
		t.Errorf("recorded %q, want file", got)
	}
}

// A failure before every copy is verified leaves the source and the record
// as they were; the rerun finishes the job, and the good copies made by the
// failed run are not conflicts. A copy that read back different stays in
// the target (unused, since the target is not recorded) and is a conflict
// for the rerun, which --overwrite resolves.
func TestMigrateCopyFails(t *testing.T) {
	for _, fault := range []string{"put fails", "copy differs"} {
		t.Run(fault, func(t *testing.T) {
			m := newMigration(t)
			orig := threeInFile(t, m)
			dst := m.backends[config.BackendKeychain]
			if fault == "put fails" {
				dst.failPut["c.example.com"] = true
			} else {
				dst.corruptPut["c.example.com"] = true
			}
			code, stdout, stderr := m.run(t, "migrate", "--to", "keychain")
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, "c.example.com") {
				t.Errorf("stderr %q does not name the credential", stderr)
			}
			if strings.Contains(stderr, "tttt") {
				t.Errorf("stderr %q holds the secret", stderr)
			}
			assertContents(t, m, config.BackendFile, orig)
			if got := m.recorded(t); got != config.BackendFile {
				t.Errorf("recorded %q after a failed copy, want file", got)
			}

			delete(dst.failPut, "c.example.com")
			delete(dst.corruptPut, "c.example.com")
			if fault == "copy differs" {
				code, _, stderr := m.run(t, "migrate", "--to", "keychain")
				if code != 1 || !strings.Contains(stderr, "1 credentials conflict") {
					t.Fatalf("rerun after a bad copy: exit %d, stderr %q; want the bad copy as the one conflict", code, stderr)
				}
				assertContents(t, m, config.BackendFile, orig)
				mustMigrate(t, m, "--to", "keychain", "--overwrite")
			} else {
				mustMigrate(t, m, "--to", "keychain")
			}
			assertContents(t, m, config.BackendKeychain, orig)
			assertContents(t, m, config.BackendFile, map[string]helper.Credentials{})
			if got := m.recorded(t); got != config.BackendKeychain {
				t.Errorf("recorded %q, want keychain", got)
			}
		})
	}
}

// Once every copy is verified, the target is recorded; an original that
// cannot be deleted is an error with a hint to rerun, which deletes it.
func TestMigrateDeleteFails(t *testing.T) {
	m := newMigration(t)
	orig := threeInFile(t, m)
	src := m.backends[config.BackendFile]
	src.failDelete["b.example.com:5000"] = true
	code, stdout, stderr := m.run(t, "migrate", "--to", "keychain")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "rerun migrate") {
		t.Errorf("stderr %q has no hint to rerun", stderr)
	}
	assertContents(t, m, config.BackendKeychain, orig)
	if got := m.recorded(t); got != config.BackendKeychain {
		t.Errorf("recorded %q, want keychain: the copies are verified", got)
	}

	delete(src.failDelete, "b.example.com:5000")
	mustMigrate(t, m, "--to", "keychain")
	assertContents(t, m, config.BackendKeychain, orig)
	assertContents(t, m, config.BackendFile, map[string]helper.Credentials{})
}

func TestMigrateConflict(t *testing.T) {
	m := newMigration(t)
	orig := threeInFile(t, m)
	// The keychain holds b's credential already (a copy that an interrupted
	// run made) and another credential for a.
	m.put(t, config.BackendKeychain, "b.example.com:5000", "bob", "b0b")
	m.put(t, config.BackendKeychain, "https://a.example.com", "mallory", "0ther")

	code, stdout, stderr := m.run(t, "migrate", "--to", "keychain")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"https://a.example.com", `"mallory"`, "1 credentials conflict", "--overwrite"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
	if strings.Contains(stderr, "b.example.com") || strings.Contains(stderr, "0ther") || strings.Contains(stderr, "s3cr3t") {
		t.Errorf("stderr %q names a credential that is no conflict, or a secret", stderr)
	}
	assertContents(t, m, config.BackendFile, orig)
	if got := m.recorded(t); got != config.BackendFile {
		t.Errorf("recorded %q after a conflict, want file", got)
	}
	if got := m.contents(t, config.BackendKeychain)["https://a.example.com"]; got.Username != "mallory" {
		t.Errorf("the conflicting credential was replaced without --overwrite: %v", got)
	}

	mustMigrate(t, m, "--to", "keychain", "--overwrite")
	assertContents(t, m, config.BackendKeychain, orig)
	assertContents(t, m, config.BackendFile, map[string]helper.Credentials{})
}

func TestMigrateSourceFails(t *testing.T) {
	m := newMigration(t)
	threeInFile(t, m)
	m.backends[config.BackendFile].Err = errFault
	code, _, stderr := m.run(t, "migrate", "--to", "keychain")
	if code != 1 || !strings.Contains(stderr, errFault.Error()) {
		t.Errorf("exit %d, stderr %q; want 1 and the cause", code, stderr)
	}
	if got := m.recorded(t); got != config.BackendFile {
		t.Errorf("recorded %q, want file", got)
	}
	assertContents(t, m, config.BackendKeychain, map[string]helper.Credentials{})
}

func TestMigrateUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"migrate"}, `Required flag "to" not set`},
		{"unknown backend", []string{"migrate", "--to", "bogus"}, `invalid --to "bogus" (want file or keychain)`},
		{"auto", []string{"migrate", "--to", "auto"}, `invalid --to "auto"`},
		{"extra argument", []string{"migrate", "--to", "file", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMigration(t)
			orig := threeInFile(t, m)
			code, stdout, stderr := m.run(t, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("output does not say %q\nstdout: %s\nstderr: %s", tt.want, stdout, stderr)
			}
			assertContents(t, m, config.BackendFile, orig)
			if got := m.recorded(t); got != config.BackendFile {
				t.Errorf("recorded %q, want file", got)
			}
		})
	}
}
