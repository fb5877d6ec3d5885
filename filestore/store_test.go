package filestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// ---- helpers shared by the package's tests ----

func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return s
}

func mustKey(t testing.TB, serverURL string) helper.Key {
	t.Helper()
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		t.Fatalf("ParseServerURL(%q): %v", serverURL, err)
	}
	return k
}

func mustPut(t testing.TB, s *Store, serverURL, user, secret string) {
	t.Helper()
	c := helper.Credentials{ServerURL: serverURL, Username: user, Secret: secret}
	if err := s.Put(context.Background(), mustKey(t, serverURL), c); err != nil {
		t.Fatalf("Put(%q): %v", serverURL, err)
	}
}

func mustGet(t testing.TB, s *Store, serverURL string) helper.Credentials {
	t.Helper()
	c, err := s.Get(context.Background(), mustKey(t, serverURL))
	if err != nil {
		t.Fatalf("Get(%q): %v", serverURL, err)
	}
	return c
}

func readBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

func writeFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is subject to the umask; make it exact.
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func newX25519(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newHybrid(t testing.TB) *age.HybridIdentity {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// encryptTo returns plaintext encrypted to r as an age file.
func encryptTo(t testing.TB, r age.Recipient, plaintext []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testWorkFactor is the scrypt work factor of the passphrase stores that
// tests build themselves: 2^10 takes about a millisecond, where the store's
// own (age's default, 2^18) takes about a second, ten under -race.
const testWorkFactor = 10

// scryptStore returns a passphrase-encrypted store file holding doc, made
// with a low work factor so that reading it is fast.
func scryptStore(t testing.TB, pass string, doc any) []byte {
	t.Helper()
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(testWorkFactor)
	return encryptTo(t, r, mustJSON(t, doc))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	if b, ok := v.([]byte); ok {
		return b
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v1Doc is a version 1 store document with one entry per server URL, the
// username "user" and the secret "secret-" + server URL.
func v1Doc(t testing.TB, serverURLs ...string) map[string]any {
	t.Helper()
	entries := map[string]any{}
	for _, u := range serverURLs {
		entries[mustKey(t, u).String()] = map[string]string{"serverURL": u, "username": "user", "secret": "secret-" + u}
	}
	return map[string]any{"version": 1, "entries": entries}
}

// decryptFile decrypts path with ids and returns the plaintext.
func decryptFile(t testing.TB, path string, ids ...age.Identity) ([]byte, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// parseIdentityFile reads an identity file with age's own parser.
func parseIdentityFile(t testing.TB, path string) []age.Identity {
	t.Helper()
	ids, err := age.ParseIdentities(bytes.NewReader(readBytes(t, path)))
	if err != nil {
		t.Fatalf("age.ParseIdentities(%s): %v", path, err)
	}
	return ids
}

// lookTool finds a command that the tests need: when it is missing the test
// is skipped, except in CI (CI set), which installs it and where a skip would
// hide a gap.
func lookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found on PATH (install it with GOBIN=$PWD/.cache/bin go install filippo.io/age/cmd/...@v1.3.2 and put .cache/bin on PATH): %v", name, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// raceEnabled reports whether the test binary was built with -race, which
// makes scrypt about ten times slower.
var raceEnabled = sync.OnceValue(func() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
})

// ---- the file on disk ----

func TestOnDiskFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "store")
	s := newStore(t, Options{Dir: dir})
	ctx := context.Background()

	// Reads on a store that does not exist yet create nothing.
	if _, err := s.Get(ctx, mustKey(t, "registry.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Get on a fresh store: got %v, want ErrNotFound", err)
	}
	if m, err := s.List(ctx); err != nil || len(m) != 0 {
		t.Fatalf("List on a fresh store = %v, %v; want empty, nil", m, err)
	}
	if src, _, err := s.KeySource(); err != nil || src != string(KeySourceGenerated) {
		t.Fatalf("KeySource on a fresh store = %q, %v; want generated", src, err)
	}
	// docker logout erases entries that may not exist.
	if err := s.Delete(ctx, mustKey(t, "registry.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Delete on a fresh store: got %v, want ErrNotFound", err)
	}
	if _, err := os.Lstat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Get/List/KeySource/Delete on a fresh store created %s (stat: %v)", filepath.Dir(dir), err)
	}

	mustPut(t, s, "https://Registry.Example.com/", "alice", "hunter2")
	mustPut(t, s, "localhost:5000", "<token>", "refresh")

	storePath := filepath.Join(dir, StoreFileName)
	idPath := filepath.Join(dir, GeneratedIdentityName)
	if s.Path() != storePath {
		t.Errorf("Path() = %q, want %q", s.Path(), storePath)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{
			dir:                              0o700 | os.ModeDir,
			filepath.Dir(dir):                0o700 | os.ModeDir,
			storePath:                        0o600,
			idPath:                           0o600,
			filepath.Join(dir, lockFileName): 0o600,
		} {
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (os.ModeType | os.ModePerm); got != want {
				t.Errorf("mode of %s = %v, want %v", path, got, want)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "identity.txt store.age store.lock"; got != want {
		t.Errorf("store directory holds %q, want %q", got, want)
	}

	// identity.txt is in age-keygen's format, with a hybrid key.
	idText := string(readBytes(t, idPath))
	lines := strings.Split(strings.TrimSuffix(idText, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "# created: ") {
		t.Errorf("identity.txt starts with %q, want \"# created: \"", lines[0])
	} else if _, err := time.Parse(time.RFC3339, strings.TrimPrefix(lines[0], "# created: ")); err != nil {
		t.Errorf("identity.txt creation time: %v", err)
	}
	var pub, secretLines int
	for _, l := range lines {
		if strings.HasPrefix(l, "# public key: age1pq1") {
			pub++
		}
		if strings.HasPrefix(l, "AGE-SECRET-KEY-PQ-1") {
			secretLines++
		}
	}
	if pub != 1 || secretLines != 1 {
		t.Errorf("identity.txt has %d \"# public key: age1pq1\" lines and %d AGE-SECRET-KEY-PQ-1 lines, want 1 and 1:\n%s",
			pub, secretLines, strings.Join(lines[:len(lines)-1], "\n"))
	}
	ids := parseIdentityFile(t, idPath)
	hy, ok := ids[0].(*age.HybridIdentity)
	if len(ids) != 1 || !ok {
		t.Fatalf("identity.txt holds %d identities, the first a %T; want one *age.HybridIdentity", len(ids), ids[0])
	}
	if want := "# public key: " + hy.Recipient().String(); !strings.Contains(idText, want+"\n") {
		t.Errorf("identity.txt's public key line does not match its secret key")
	}

	// store.age is a plain age file holding the documented JSON.
	plain, err := decryptFile(t, storePath, ids...)
	if err != nil {
		t.Fatalf("age.Decrypt(store.age) with identity.txt: %v", err)
	}
	checkSchema(t, plain)

	// And the stock age CLI agrees.
	agePath := lookTool(t, "age")
	out, err := exec.Command(agePath, "-d", "-i", idPath, storePath).Output()
	if err != nil {
		t.Fatalf("age -d -i identity.txt store.age: %v (%s)", err, stderrOf(err))
	}
	if !bytes.Equal(out, plain) {
		t.Errorf("age -d printed %d bytes, the library %d", len(out), len(plain))
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// checkSchema checks the plaintext written after the two Puts of
// TestOnDiskFormat against the documented schema, field names included.
func checkSchema(t *testing.T, plain []byte) {
	t.Helper()
	var doc struct {
		Version *int                                  `json:"version"`
		Layout  *struct{ Lines, Bytes int }           `json:"layout"`
		Entries map[string]map[string]json.RawMessage `json:"entries"`
		Index   *struct {
			Lines, Start, Bytes int
			At                  []json.RawMessage
		} `json:"index"`
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("store plaintext is not the documented JSON: %v", err)
	}
	if doc.Version == nil || *doc.Version != 1 {
		t.Errorf("store version = %v, want 1", doc.Version)
	}
	if doc.Layout == nil || doc.Layout.Lines != len(doc.Entries) {
		t.Errorf("store layout = %+v, want one line per entry (%d)", doc.Layout, len(doc.Entries))
	}
	if doc.Index == nil || doc.Layout == nil || doc.Index.Lines != doc.Layout.Lines || doc.Index.Bytes != doc.Layout.Bytes ||
		doc.Index.Start != bytes.IndexByte(plain, '\n')+1 || len(doc.Index.At) != 0 {
		t.Errorf("store index = %+v, want the layout again, where the entries start, and no chunk of a small store listed", doc.Index)
	}
	want := map[string]map[string]string{
		"registry.example.com": {"serverURL": "https://Registry.Example.com/", "username": "alice", "secret": "hunter2"},
		"localhost:5000":       {"serverURL": "localhost:5000", "username": "<token>", "secret": "refresh"},
	}
	got := map[string]map[string]string{}
	for k, fields := range doc.Entries {
		got[k] = map[string]string{}
		for name, raw := range fields {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Errorf("entry %q field %q is not a string: %s", k, name, raw)
			}
			got[k][name] = v
		}
	}
	if !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("store entries = %v, want %v", got, want)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	for _, first := range []bool{false, true} {
		t.Run(fmt.Sprintf("existingStore=%v", first), func(t *testing.T) {
			dir := t.TempDir()
			s := newStore(t, Options{Dir: dir})
			if first {
				mustPut(t, s, "a.example.com", "alice", "1")
			}
			stale := []string{
				filepath.Join(dir, atomicfile.TempPrefix(StoreFileName)+"123"),
				filepath.Join(dir, atomicfile.TempPrefix(StoreFileName)+"crashed-writer"),
			}
			for _, p := range stale {
				writeFile(t, p, []byte("half a store"), 0o600)
			}
			other := filepath.Join(dir, "keep.txt")
			writeFile(t, other, []byte("not ours"), 0o600)
			mustPut(t, s, "b.example.com", "bob", "2")
			for _, p := range stale {
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("stale temporary file %s survived a Put (stat: %v)", filepath.Base(p), err)
				}
			}
			if _, err := os.Lstat(other); err != nil {
				t.Errorf("Put removed an unrelated file: %v", err)
			}
			if got := mustGet(t, s, "b.example.com"); got.Secret != "2" {
				t.Errorf("Get after Put = %v", got)
			}
		})
	}
}

func TestUnchangedPutDoesNotWrite(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, Options{Dir: dir})
	mustPut(t, s, "registry.example.com", "alice", "hunter2")
	path := s.Path()
	// Age the file so that a rewrite shows in the modification time even on
	// file systems with coarse timestamps.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before := readBytes(t, path)

	// The same credential under another spelling of the server URL is a
	// change (the stored serverURL differs); the same spelling is not.
	mustPut(t, s, "registry.example.com", "alice", "hunter2")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("an unchanged Put rewrote the store: mtime %v, want %v", fi.ModTime(), old)
	}
	if !bytes.Equal(readBytes(t, path), before) {
		t.Errorf("an unchanged Put changed the store's bytes")
	}

	// A change does rewrite (age uses a fresh file key, so the bytes differ).
	mustPut(t, s, "registry.example.com", "alice", "hunter3")
	if bytes.Equal(readBytes(t, path), before) {
		t.Errorf("a changed Put left the store's bytes as they were")
	}
}

func TestLockTimeout(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, Options{Dir: dir})
	mustPut(t, s, "registry.example.com", "alice", "hunter2")
	before := readBytes(t, s.Path())

	// flock locks belong to the open file description, so holding the lock
	// here contends exactly as another process would.
	lock, err := filelock.Acquire(context.Background(), filepath.Join(dir, lockFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()

	for _, op := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"Put", func(ctx context.Context) error {
			return s.Put(ctx, mustKey(t, "other.example.com"), helper.Credentials{ServerURL: "other.example.com", Username: "u", Secret: "s"})
		}},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, mustKey(t, "registry.example.com")) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			const deadline = 100 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := op.run(ctx)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("%s while another holder has the lock succeeded", op.name)
			}
			if !strings.Contains(err.Error(), "lock") || !strings.Contains(err.Error(), filepath.Join(dir, lockFileName)) {
				t.Errorf("error %q does not mention the lock and its file", err)
			}
			if errors.Is(err, helper.ErrNotFound) {
				t.Errorf("lock timeout wraps ErrNotFound: %v", err)
			}
			if helper.Hint(err) == "" {
				t.Errorf("lock timeout has no hint")
			}
			// Not a timing assertion: the default wait (10s) would be far
			// longer; this only checks the caller's deadline was honoured.
			if elapsed > defaultLockTimeout/2 {
				t.Errorf("%s returned after %v, ignoring the context's %v deadline", op.name, elapsed, deadline)
			}
		})
	}
	if !bytes.Equal(readBytes(t, s.Path()), before) {
		t.Errorf("store changed while the lock was held elsewhere")
	}
	// Reads take no lock.
	if got := mustGet(t, s, "registry.example.com"); got.Secret != "hunter2" {
		t.Errorf("Get while locked = %v", got)
	}
}

func TestLockFileUnusable(t *testing.T) {
	// A lock that cannot be taken for another reason than contention is not
	// reported as another process writing.
	dir := t.TempDir()
	s := newStore(t, Options{Dir: dir})
	mustPut(t, s, "registry.example.com", "alice", "hunter2")
	before := readBytes(t, s.Path())
	lockPath := filepath.Join(dir, lockFileName)
	if err := os.Remove(lockPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(lockPath, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.Put(ctx, mustKey(t, "other.example.com"), helper.Credentials{ServerURL: "other.example.com", Username: "u", Secret: "s"})
	if err == nil {
		t.Fatal("Put with a directory in place of the lock file succeeded")
	}
	if !strings.Contains(err.Error(), lockPath) {
		t.Errorf("error %q does not name the lock file", err)
	}
	if strings.Contains(err.Error(), "timed out") || strings.Contains(helper.Hint(err), "another") {
		t.Errorf("an unusable lock file is reported as contention: %q (hint %q)", err, helper.Hint(err))
	}
	if !bytes.Equal(readBytes(t, s.Path()), before) {
		t.Errorf("store changed")
	}
}

// ---- stores that must not be used ----

// broken is a store directory in a state the store must refuse.
type broken struct {
	opts Options
	// file is the file that the error must name.
	file string
	// onlyChangesFail is set when only operations that change the store
	// are refused.
	onlyChangesFail bool
	// check runs after every operation, for facts beyond store.age's bytes.
	check func(t *testing.T)
}

func TestRefusesBrokenStore(t *testing.T) {
	x1, x2 := newX25519(t), newX25519(t)
	h1, h2 := newHybrid(t), newHybrid(t)

	// validStore writes, through the store itself, a store with one entry
	// (registry.example.com) in dir with opts.
	validStore := func(t *testing.T, opts Options) *Store {
		s := newStore(t, opts)
		mustPut(t, s, "registry.example.com", "alice", "hunter2")
		return s
	}
	// generated writes a valid store with a generated identity in dir and
	// returns its options and bytes.
	generated := func(t *testing.T, dir string) (Options, []byte) {
		opts := Options{Dir: dir}
		s := validStore(t, opts)
		return opts, readBytes(t, s.Path())
	}
	// headerEnd is the length of an age file's header (through the MAC line).
	headerEnd := func(t *testing.T, b []byte) int {
		i := bytes.Index(b, []byte("\n--- "))
		if i < 0 {
			t.Fatal("no header MAC line in the store")
		}
		return i + 1 + bytes.IndexByte(b[i+1:], '\n') + 1
	}
	// replaceStore writes data as the store file of a valid generated store.
	replaceStore := func(t *testing.T, dir string, f func(t *testing.T, b []byte) []byte) Options {
		opts, b := generated(t, dir)
		writeFile(t, filepath.Join(dir, StoreFileName), f(t, b), 0o600)
		return opts
	}
	idOf := func(t *testing.T, dir string) age.Identity {
		return parseIdentityFile(t, filepath.Join(dir, GeneratedIdentityName))[0]
	}
	recipientOf := func(t *testing.T, dir string) age.Recipient {
		return idOf(t, dir).(*age.HybridIdentity).Recipient()
	}

	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) broken
		want  []string // in the error text, besides the file
		hint  string   // in helper.Hint; "" means no hint is required
	}{
		{"wrong-x25519-identity", func(t *testing.T, dir string) broken {
			validStore(t, Options{Dir: dir, Identity: x1.String()})
			return broken{opts: Options{Dir: dir, Identity: x2.String()}}
		}, []string{"wrong key"}, "DOCKER_CREDENTIAL_NOTATION_IDENTITY"},
		{"wrong-hybrid-identity", func(t *testing.T, dir string) broken {
			validStore(t, Options{Dir: dir, Identity: h1.String()})
			return broken{opts: Options{Dir: dir, Identity: h2.String()}}
		}, []string{"wrong key"}, "DOCKER_CREDENTIAL_NOTATION_IDENTITY"},
		{"wrong-kind-of-identity", func(t *testing.T, dir string) broken {
			validStore(t, Options{Dir: dir, Identity: h1.String()})
			return broken{opts: Options{Dir: dir, Identity: x1.String()}}
		}, []string{"wrong key"}, "DOCKER_CREDENTIAL_NOTATION_IDENTITY"},
		{"wrong-generated-identity", func(t *testing.T, dir string) broken {
			opts, _ := generated(t, dir)
			b := fmt.Sprintf("# public key: %s\n%s\n", h2.Recipient(), h2)
			writeFile(t, filepath.Join(dir, GeneratedIdentityName), []byte(b), 0o600)
			return broken{opts: opts}
		}, []string{"wrong key", GeneratedIdentityName}, "restore"},
		{"wrong-passphrase", func(t *testing.T, dir string) broken {
			writeFile(t, filepath.Join(dir, StoreFileName), scryptStore(t, "right horse battery", v1Doc(t, "registry.example.com")), 0o600)
			return broken{opts: Options{Dir: dir, Passphrase: "wrong horse battery"}}
		}, []string{"wrong key", "passphrase"}, "_PASSPHRASE"},
		{"passphrase-store-identity-given", func(t *testing.T, dir string) broken {
			writeFile(t, filepath.Join(dir, StoreFileName), scryptStore(t, "pass", v1Doc(t, "registry.example.com")), 0o600)
			return broken{opts: Options{Dir: dir, Identity: x1.String()}}
		}, []string{"wrong key"}, "_PASSPHRASE"},
		{"truncated-in-header", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, b []byte) []byte { return b[:headerEnd(t, b)/2] })}
		}, []string{"header"}, "backup"},
		{"truncated-after-header", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, b []byte) []byte { return b[:headerEnd(t, b)+8] })}
		}, []string{"decrypt"}, "backup"},
		{"truncated-in-payload", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, b []byte) []byte { return b[:len(b)-10] })}
		}, []string{"truncated"}, "backup"},
		{"tampered-payload", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, b []byte) []byte {
				b = bytes.Clone(b)
				b[len(b)-20] ^= 0x01
				return b
			})}
		}, []string{"tampered"}, "backup"},
		{"tampered-header", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, b []byte) []byte {
				// Flip one bit in the stanza body, before the MAC.
				b = bytes.Clone(b)
				b[bytes.Index(b, []byte("\n--- "))-2] ^= 0x01
				return b
			})}
		}, []string{"header"}, "backup"},
		{"extra-bytes", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, b []byte) []byte { return append(bytes.Clone(b), "trailing"...) })}
		}, []string{"tampered"}, "backup"},
		{"empty", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(*testing.T, []byte) []byte { return nil })}
		}, []string{"empty"}, "backup"},
		{"garbage", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(*testing.T, []byte) []byte { return []byte("{\"version\":1,\"entries\":{}}\n") })}
		}, []string{"not a valid age file"}, "backup"},
		{"armored", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(*testing.T, []byte) []byte {
				return []byte("-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n")
			})}
		}, []string{"not a valid age file"}, "backup"},
		{"schema-version-2", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, _ []byte) []byte {
				return encryptTo(t, recipientOf(t, dir), []byte(`{"version":2,"entries":{"registry.example.com":{"serverURL":"registry.example.com","username":"u","secret":"s"}}}`))
			})}
		}, []string{"schema version 2"}, "upgrade"},
		{"schema-version-missing", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, _ []byte) []byte {
				return encryptTo(t, recipientOf(t, dir), []byte(`{"entries":{}}`))
			})}
		}, []string{"schema version 0"}, "upgrade"},
		{"not-json", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, _ []byte) []byte {
				return encryptTo(t, recipientOf(t, dir), []byte("registry.example.com alice hunter2\n"))
			})}
		}, []string{"invalid JSON"}, "backup"},
		{"json-not-an-object", func(t *testing.T, dir string) broken {
			return broken{opts: replaceStore(t, dir, func(t *testing.T, _ []byte) []byte {
				return encryptTo(t, recipientOf(t, dir), []byte(`["registry.example.com"]`))
			})}
		}, []string{"invalid JSON"}, "backup"},
		{"symlink", func(t *testing.T, dir string) broken {
			// A valid store elsewhere, with the same key: still refused.
			elsewhere := t.TempDir()
			validStore(t, Options{Dir: elsewhere, Identity: x1.String()})
			if err := os.Symlink(filepath.Join(elsewhere, StoreFileName), filepath.Join(dir, StoreFileName)); err != nil {
				t.Skipf("cannot create a symbolic link: %v", err)
			}
			target := filepath.Join(elsewhere, StoreFileName)
			targetBytes := readBytes(t, target)
			return broken{
				opts: Options{Dir: dir, Identity: x1.String()},
				check: func(t *testing.T) {
					fi, err := os.Lstat(filepath.Join(dir, StoreFileName))
					if err != nil || fi.Mode()&os.ModeSymlink == 0 {
						t.Errorf("the symbolic link was replaced (lstat: %v, %v)", fi, err)
					}
					if !bytes.Equal(readBytes(t, target), targetBytes) {
						t.Errorf("the link's target changed")
					}
				},
			}
		}, []string{"symbolic link"}, "DOCKER_CREDENTIAL_NOTATION_STORE_DIR"},
		{"directory", func(t *testing.T, dir string) broken {
			if err := os.Mkdir(filepath.Join(dir, StoreFileName), 0o700); err != nil {
				t.Fatal(err)
			}
			return broken{opts: Options{Dir: dir}, check: func(t *testing.T) {
				if fi, err := os.Lstat(filepath.Join(dir, StoreFileName)); err != nil || !fi.IsDir() {
					t.Errorf("the directory was replaced (lstat: %v, %v)", fi, err)
				}
				if _, err := os.Lstat(filepath.Join(dir, GeneratedIdentityName)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("an identity was generated for a store that cannot be read (stat: %v)", err)
				}
			}}
		}, []string{"not a regular file"}, ""},
		{"generated-identity-mode-0644", func(t *testing.T, dir string) broken {
			opts, _ := generated(t, dir)
			idPath := filepath.Join(dir, GeneratedIdentityName)
			if err := os.Chmod(idPath, 0o644); err != nil {
				t.Fatal(err)
			}
			return broken{opts: opts, file: idPath}
		}, []string{"other users", "0644"}, "chmod 600"},
		{"identity-file-mode-0640", func(t *testing.T, dir string) broken {
			idPath := filepath.Join(t.TempDir(), "key.txt")
			writeFile(t, idPath, []byte(h1.String()+"\n"), 0o600)
			validStore(t, Options{Dir: dir, IdentityFile: idPath})
			if err := os.Chmod(idPath, 0o640); err != nil {
				t.Fatal(err)
			}
			return broken{opts: Options{Dir: dir, IdentityFile: idPath}, file: idPath}
		}, []string{"other users", "0640"}, "chmod 600"},
		{"identity-file-missing", func(t *testing.T, dir string) broken {
			idPath := filepath.Join(t.TempDir(), "key.txt")
			writeFile(t, idPath, []byte(h1.String()+"\n"), 0o600)
			validStore(t, Options{Dir: dir, IdentityFile: idPath})
			if err := os.Remove(idPath); err != nil {
				t.Fatal(err)
			}
			return broken{opts: Options{Dir: dir, IdentityFile: idPath}, file: idPath}
		}, []string{"identity file"}, ""},
		{"generated-identity-deleted", func(t *testing.T, dir string) broken {
			opts, _ := generated(t, dir)
			idPath := filepath.Join(dir, GeneratedIdentityName)
			if err := os.Remove(idPath); err != nil {
				t.Fatal(err)
			}
			return broken{opts: opts, file: idPath, check: func(t *testing.T) {
				if _, err := os.Lstat(idPath); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a new identity was generated for an existing store (stat: %v)", err)
				}
			}}
		}, []string{"missing"}, "DOCKER_CREDENTIAL_NOTATION_IDENTITY_FILE"},
		{"store-dir-not-writable", func(t *testing.T, dir string) broken {
			if os.Geteuid() == 0 || runtime.GOOS == "windows" {
				// Root ignores directory permissions: use a store directory
				// that cannot exist, below a regular file.
				parent := filepath.Join(dir, "file")
				writeFile(t, parent, []byte("a file, not a directory"), 0o600)
				sub := filepath.Join(parent, "store")
				return broken{opts: Options{Dir: sub}, file: sub}
			}
			opts, _ := generated(t, dir)
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			return broken{opts: opts, onlyChangesFail: true, file: dir}
		}, []string{}, ""},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := tc.setup(t, dir)
			s := newStore(t, b.opts)
			if b.file == "" {
				b.file = s.Path()
			}
			// What the store directory held before: nothing may change.
			snapshot := snapshotDir(t, dir)

			k := mustKey(t, "registry.example.com")
			ops := []struct {
				name    string
				changes bool // whether the operation would change the store
				run     func(ctx context.Context) error
			}{
				{"Get", false, func(ctx context.Context) error { _, err := s.Get(ctx, k); return err }},
				{"Get-missing", false, func(ctx context.Context) error {
					_, err := s.Get(ctx, mustKey(t, "missing.example.com"))
					return err
				}},
				{"List", false, func(ctx context.Context) error { _, err := s.List(ctx); return err }},
				{"Put", true, func(ctx context.Context) error {
					return s.Put(ctx, mustKey(t, "new.example.com"), helper.Credentials{ServerURL: "new.example.com", Username: "u", Secret: "s"})
				}},
				{"Put-overwrite", true, func(ctx context.Context) error {
					return s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com", Username: "u", Secret: "s"})
				}},
				{"Delete", true, func(ctx context.Context) error { return s.Delete(ctx, k) }},
				{"Delete-missing", false, func(ctx context.Context) error {
					return s.Delete(ctx, mustKey(t, "missing.example.com"))
				}},
			}
			for _, op := range ops {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := op.run(ctx)
				cancel()
				if b.onlyChangesFail && !op.changes {
					if err != nil && !errors.Is(err, helper.ErrNotFound) {
						t.Errorf("%s: %v", op.name, err)
					}
					continue
				}
				checkRefusal(t, op.name, err, b.file, tc.want, tc.hint, b.opts)
				// The lock file is the one thing a write may create.
				if diff := snapshot.diff(snapshotDir(t, dir), lockFileName); diff != "" {
					t.Errorf("%s changed the store directory: %s", op.name, diff)
				}
				if b.check != nil {
					b.check(t)
				}
			}
		})
	}
}

// checkRefusal checks an error from an operation on a store that must be
// refused.
func checkRefusal(t *testing.T, op string, err error, file string, want []string, hint string, opts Options) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded", op)
		return
	}
	msg := err.Error()
	if errors.Is(err, helper.ErrNotFound) || helper.WireMessage(err) == helper.ErrNotFound.Error() {
		t.Errorf("%s: the failure %q wraps ErrNotFound", op, msg)
	}
	if !strings.Contains(msg, file) {
		t.Errorf("%s: error %q does not name %s", op, msg, file)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: error %q does not say %q", op, msg, w)
		}
	}
	if hint != "" && !strings.Contains(helper.Hint(err), hint) {
		t.Errorf("%s: hint %q does not mention %q (error %q)", op, helper.Hint(err), hint, msg)
	}
	if msg != strings.ToLower(msg[:1])+msg[1:] || strings.HasSuffix(msg, ".") {
		t.Errorf("%s: error %q is not lower case without a trailing period", op, msg)
	}
	for _, secret := range []string{opts.Identity, opts.Passphrase, "AGE-SECRET-KEY", "hunter2"} {
		if secret != "" && (strings.Contains(msg, secret) || strings.Contains(helper.Hint(err), secret)) {
			t.Errorf("%s: error or hint contains a secret", op)
		}
	}
}

// dirSnapshot maps each name in a directory (recursively) to its type and
// content.
type dirSnapshot map[string]string

func snapshotDir(t *testing.T, dir string) dirSnapshot {
	t.Helper()
	snap := dirSnapshot{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			snap[rel] = "symlink to " + target
		case d.IsDir():
			snap[rel] = "directory"
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			snap[rel] = fmt.Sprintf("file %v %x", fi.Mode().Perm(), b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// diff describes how after differs from s, ignoring the names in ignore.
func (s dirSnapshot) diff(after dirSnapshot, ignore ...string) string {
	var out []string
	for name, v := range s {
		if w, ok := after[name]; !ok {
			out = append(out, name+" removed")
		} else if w != v {
			out = append(out, name+" changed")
		}
	}
	for name := range after {
		if _, ok := s[name]; !ok && !slices.Contains(ignore, name) {
			out = append(out, name+" created")
		}
	}
	return strings.Join(out, ", ")
}

// ---- several processes ----

const (
	helperProcessEnv = "FILESTORE_TEST_HELPER_PROCESS"
	helperDirEnv     = "FILESTORE_TEST_DIR"
	helperPutsEach   = 5
)

// TestHelperProcess is not a test: TestMultiProcess runs the test binary
// with it as a child process that writes to a shared store.
func TestHelperProcess(t *testing.T) {
	id := os.Getenv(helperProcessEnv)
	if id == "" {
		t.Skip("run by TestMultiProcess")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := New(Options{Dir: os.Getenv(helperDirEnv)})
	if err != nil {
		t.Fatal(err)
	}
	for j := range helperPutsEach {
		for _, u := range []string{fmt.Sprintf("p%s-%d.example.com", id, j), "shared.example.com"} {
			c := helper.Credentials{ServerURL: u, Username: "proc" + id, Secret: fmt.Sprintf("secret-%s-%d", id, j)}
			if err := s.Put(ctx, mustKey(t, u), c); err != nil {
				t.Fatalf("process %s: Put(%s): %v", id, u, err)
			}
			// Reads take no lock and must never see a partial file.
			if _, err := s.Get(ctx, mustKey(t, u)); err != nil {
				t.Fatalf("process %s: Get(%s): %v", id, u, err)
			}
		}
	}
}

func TestMultiProcess(t *testing.T) {
	if os.Getenv(helperProcessEnv) != "" {
		t.Skip("in a child process")
	}
	const n = 16
	dir := filepath.Join(t.TempDir(), "store")
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([][]byte, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), helperProcessEnv+"="+strconv.Itoa(i), helperDirEnv+"="+dir)
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		} else if !bytes.Contains(outs[i], []byte("--- PASS: TestHelperProcess")) {
			t.Errorf("process %d did not run the helper:\n%s", i, outs[i])
		}
	}
	if t.Failed() {
		return
	}

	s := newStore(t, Options{Dir: dir})
	m, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != n*helperPutsEach+1 {
		t.Errorf("List has %d entries, want %d", len(m), n*helperPutsEach+1)
	}
	for i := range n {
		for j := range helperPutsEach {
			u := fmt.Sprintf("p%d-%d.example.com", i, j)
			c, err := s.Get(context.Background(), mustKey(t, u))
			if err != nil {
				t.Errorf("Get(%s): %v", u, err)
				continue
			}
			if want := fmt.Sprintf("secret-%d-%d", i, j); c.Secret != want || c.Username != fmt.Sprintf("proc%d", i) {
				t.Errorf("Get(%s) = %v (secret %q), want secret %q", u, c, c.Secret, want)
			}
		}
	}
	shared := mustGet(t, s, "shared.example.com")
	var i, j int
	if _, err := fmt.Sscanf(shared.Secret, "secret-%d-%d", &i, &j); err != nil || shared.Username != fmt.Sprintf("proc%d", i) || i < 0 || i >= n || j < 0 || j >= helperPutsEach {
		t.Errorf("shared entry = %v (secret %q), not one of the values written", shared, shared.Secret)
	}
	// One identity, one store, no temporary files left.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "identity.txt store.age store.lock" {
		t.Errorf("store directory holds %q", got)
	}
	if _, err := decryptFile(t, s.Path(), parseIdentityFile(t, filepath.Join(dir, GeneratedIdentityName))...); err != nil {
		t.Errorf("store does not decrypt with its identity: %v", err)
	}
}

// ---- stores written by earlier builds ----

// TestGoldenStores reads store files committed under testdata/golden, so a
// change to the format or its reader that breaks existing stores fails
// here. canonical-hybrid.age was written by the store itself (four Puts,
// key fuzzHybrid); hand-edited-x25519.age is pretty-printed JSON with the
// fields in another order, encrypted with the age library (key fuzzX25519).
func TestGoldenStores(t *testing.T) {
	canonical := map[string]helper.Credentials{
		"docker.io": {ServerURL: "https://index.docker.io/v1/", Username: "<token>", Secret: "refresh-token"},
		"https://index.docker.io/v1/access-token": {ServerURL: "https://index.docker.io/v1/access-token", Username: "alice", Secret: "access"},
		"localhost:5000":                    {ServerURL: "localhost:5000", Username: "ünï", Secret: "multi\nline \"secret\""},
		"registry.example.com:8443/ns/repo": {ServerURL: "registry.example.com:8443/ns/repo", Username: "bob", Secret: ""},
	}
	handEdited := map[string]helper.Credentials{
		"index.docker.io": canonical["docker.io"],
		"localhost:5000":  canonical["localhost:5000"],
	}
	for _, tc := range []struct {
		file     string
		identity string
		want     map[string]helper.Credentials // by a server URL to Get
	}{
		{"canonical-hybrid.age", fuzzHybrid, canonical},
		{"hand-edited-x25519.age", fuzzX25519, handEdited},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			golden := readBytes(t, filepath.Join("testdata", "golden", tc.file))
			writeFile(t, filepath.Join(dir, StoreFileName), golden, 0o600)
			s := newStore(t, Options{Dir: dir, Identity: tc.identity})
			wantList := map[string]string{}
			for u, want := range tc.want {
				if got := mustGet(t, s, u); got != want {
					t.Errorf("Get(%q) = %v, want %v", u, got, want)
				}
				wantList[want.ServerURL] = want.Username
			}
			if m, err := s.List(context.Background()); err != nil || !maps.Equal(m, wantList) {
				t.Errorf("List = %v, %v; want %v", m, err, wantList)
			}
			if _, err := s.Get(context.Background(), mustKey(t, "registry.example.com:8443")); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("Get of an absent key: %v, want ErrNotFound", err)
			}
			// A write keeps every entry.
			mustPut(t, s, "new.example.com", "carol", "c")
			for u, want := range tc.want {
				if got := mustGet(t, s, u); got != want {
					t.Errorf("after Put, Get(%q) = %v, want %v", u, got, want)
				}
			}
		})
	}
}
