package filestore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// memCache is a KeyCache in memory, with the kernel keyring's contract;
// the real keyring is tested in internal/keyctl and by the binary's
// scripts.
type memCache struct {
	mu      sync.Mutex
	payload []byte
	ttl     time.Duration
	broken  error // every call fails with it
}

func (c *memCache) Load() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.payload), c.broken
}

func (c *memCache) Save(p []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	c.payload, c.ttl = bytes.Clone(p), ttl
	return nil
}

func (c *memCache) Drop() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	had := c.payload != nil
	c.payload = nil
	return had, c.broken
}

func (c *memCache) cached() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.payload != nil
}

const testPass = "correct horse battery staple"

// noSecretKeyOnDisk fails if any file under dir holds an age secret key.
func noSecretKeyOnDisk(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("AGE-SECRET-KEY")) {
				t.Errorf("%s holds an age secret key", path)
			}
		}
		return nil
	})
}

func TestProtectUnlockLock(t *testing.T) {
	dir := t.TempDir()
	cache := &memCache{}
	s := newStore(t, Options{Dir: dir, Cache: cache})
	mustPut(t, s, "registry.example.com", "alice", "s3cr3t")
	ctx := context.Background()
	if got, beside := s.Protection(); !strings.HasPrefix(got, "key beside the store") || !beside {
		t.Errorf("Protection before protect = %q", got)
	}

	if err := s.Protect(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, GeneratedIdentityName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("identity.txt after protect: %v, want it gone", err)
	}
	wrapped := readBytes(t, filepath.Join(dir, ProtectedIdentityName))
	if !bytes.HasPrefix(wrapped, []byte("age-encryption.org/v1\n-> scrypt ")) {
		t.Errorf("identity.age is not a passphrase-encrypted age file: %.40q", wrapped)
	}
	noSecretKeyOnDisk(t, dir)
	if cache.cached() {
		t.Error("protect left the key cached; it must leave the store locked")
	}

	// Another process, no terminal: locked, never not-found.
	other := func() *Store { return newStore(t, Options{Dir: dir, Cache: cache}) }
	_, err := other().Get(ctx, mustKey(t, "registry.example.com"))
	if !errors.Is(err, ErrLocked) || errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Get on a locked store = %v, want ErrLocked", err)
	}
	if _, err := other().List(ctx); !errors.Is(err, ErrLocked) {
		t.Errorf("List on a locked store = %v, want ErrLocked", err)
	}
	if err := other().Put(ctx, mustKey(t, "b.example.com"), helper.Credentials{Username: "b"}); !errors.Is(err, ErrLocked) {
		t.Errorf("Put on a locked store = %v, want ErrLocked", err)
	}
	if got, _ := other().Protection(); got != "passphrase, locked" {
		t.Errorf("Protection when locked = %q", got)
	}

	// A wrong passphrase caches nothing.
	if _, err := other().Unlock(ctx, "wrong", time.Hour); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("Unlock with a wrong passphrase = %v", err)
	}
	if cache.cached() {
		t.Fatal("a wrong passphrase cached something")
	}

	until, err := other().Unlock(ctx, testPass, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cache.ttl != 2*time.Hour || until.Before(time.Now().Add(119*time.Minute)) {
		t.Errorf("Unlock cached for %v until %v, want 2h", cache.ttl, until)
	}
	if c := mustGet(t, other(), "registry.example.com"); c.Secret != "s3cr3t" {
		t.Errorf("Get after unlock = %v", c)
	}
	mustPut(t, other(), "b.example.com", "bob", "b0b")
	if got, _ := other().Protection(); !strings.HasPrefix(got, "passphrase, unlocked until ") {
		t.Errorf("Protection when unlocked = %q", got)
	}

	if ok, err := other().Lock(); err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	if _, err := other().Get(ctx, mustKey(t, "registry.example.com")); !errors.Is(err, ErrLocked) {
		t.Errorf("Get after lock = %v, want ErrLocked", err)
	}

	// With a terminal, a locked get asks once and caches.
	prompts := 0
	prompt := func(string) (string, error) { prompts++; return testPass, nil }
	ps := newStore(t, Options{Dir: dir, Cache: cache, Prompt: prompt, UnlockFor: time.Minute})
	if c := mustGet(t, ps, "b.example.com"); c.Secret != "b0b" || prompts != 1 {
		t.Errorf("Get with a prompt = %v after %d prompts", c, prompts)
	}
	if !cache.cached() || cache.ttl != time.Minute {
		t.Errorf("the prompted key is not cached for UnlockFor (cached %v, ttl %v)", cache.cached(), cache.ttl)
	}
	mustGet(t, newStore(t, Options{Dir: dir, Cache: cache, Prompt: prompt}), "b.example.com")
	if prompts != 1 {
		t.Errorf("%d prompts, want 1: the second process must use the cache", prompts)
	}

	// Undo: the plain key again, nothing cached.
	if err := other().Unprotect(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if cache.cached() {
		t.Error("unprotect left the key cached")
	}
	if fileExists(filepath.Join(dir, ProtectedIdentityName)) {
		t.Error("identity.age is still there after unprotect")
	}
	plain := newStore(t, Options{Dir: dir})
	if c := mustGet(t, plain, "registry.example.com"); c.Secret != "s3cr3t" {
		t.Errorf("Get after unprotect = %v", c)
	}
	if err := plain.Unprotect(ctx, ""); !errors.Is(err, ErrNotProtected) {
		t.Errorf("Unprotect of a plain key = %v, want ErrNotProtected", err)
	}
}

// TestCachedKeyBad: a cached identity that is garbage, expired or of
// another store is dropped and the store treated as locked.
func TestCachedKeyBad(t *testing.T) {
	dir := t.TempDir()
	cache := &memCache{}
	s := newStore(t, Options{Dir: dir, Cache: cache})
	mustPut(t, s, "registry.example.com", "alice", "s3cr3t")
	if err := s.Protect(context.Background(), testPass); err != nil {
		t.Fatal(err)
	}
	_, foreign, _ := newIdentity()
	for name, payload := range map[string][]byte{
		"garbage":         []byte("not a payload"),
		"no identity":     encodeUnlocked(nil, time.Now().Add(time.Hour)),
		"bad identity":    encodeUnlocked([]byte("AGE-SECRET-KEY-1NOPE\n"), time.Now().Add(time.Hour)),
		"expired":         encodeUnlocked(foreign, time.Now().Add(-time.Minute)),
		"another store's": encodeUnlocked(foreign, time.Now().Add(time.Hour)),
	} {
		t.Run(name, func(t *testing.T) {
			cache.Save(payload, time.Hour)
			_, err := newStore(t, Options{Dir: dir, Cache: cache}).Get(context.Background(), mustKey(t, "registry.example.com"))
			if !errors.Is(err, ErrLocked) {
				t.Errorf("Get = %v, want ErrLocked", err)
			}
			if cache.cached() {
				t.Error("the bad cached key was not dropped")
			}
		})
	}
}

// TestProtectFresh: protecting before the first store writes no plaintext
// identity at all.
func TestProtectFresh(t *testing.T) {
	dir := t.TempDir()
	cache := &memCache{}
	s := newStore(t, Options{Dir: dir, Cache: cache})
	ctx := context.Background()
	if err := s.Protect(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock(ctx, testPass, time.Hour); err != nil {
		t.Fatal(err)
	}
	mustPut(t, newStore(t, Options{Dir: dir, Cache: cache}), "registry.example.com", "alice", "s3cr3t")
	noSecretKeyOnDisk(t, dir)
	// The wrapped identity decrypts the store, as `age -d` would use it.
	text, err := unwrapIdentity(filepath.Join(dir, ProtectedIdentityName), testPass)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decryptFile(t, filepath.Join(dir, StoreFileName), ids...); err != nil {
		t.Errorf("the wrapped identity does not decrypt store.age: %v", err)
	}
}

func TestProtectRefused(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{Dir: t.TempDir(), Identity: newX25519(t).String(), Cache: &memCache{}})
	if err := s.Protect(ctx, testPass); err == nil {
		t.Error("Protect of a key from the environment succeeded")
	}
	if _, err := s.Unlock(ctx, testPass, time.Hour); !errors.Is(err, ErrNotProtected) {
		t.Errorf("Unlock of an unprotected key = %v, want ErrNotProtected", err)
	}
	g := newStore(t, Options{Dir: t.TempDir(), Cache: &memCache{}})
	if err := g.Protect(ctx, ""); err == nil {
		t.Error("Protect with an empty passphrase succeeded")
	}
	if err := g.Protect(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	unavailable := newStore(t, Options{Dir: g.opts.Dir, Cache: &memCache{broken: errors.New("the kernel keyring is not available")}})
	if _, err := unavailable.Unlock(ctx, testPass, time.Hour); err == nil || helper.Hint(err) == "" {
		t.Errorf("Unlock without a usable cache = %v, want an error with a hint", err)
	}
}

func TestUnlockedPayload(t *testing.T) {
	until := time.Unix(1_800_000_000, 0)
	text := []byte("# comment\nAGE-SECRET-KEY-1X\n")
	gotText, gotUntil, err := parseUnlocked(encodeUnlocked(text, until))
	if err != nil || !bytes.Equal(gotText, text) || !gotUntil.Equal(until) {
		t.Fatalf("round trip = %q, %v, %v", gotText, gotUntil, err)
	}
	for _, bad := range []string{
		"", "docker-credential-notation unlocked identity v1\n",
		"docker-credential-notation unlocked identity v1\nuntil x\nK",
		"docker-credential-notation unlocked identity v1\nuntil -5\nK",
		"docker-credential-notation unlocked identity v1\nuntil 5\n",
		"docker-credential-notation unlocked identity v2\nuntil 5\nK",
	} {
		if _, _, err := parseUnlocked([]byte(bad)); err == nil {
			t.Errorf("parseUnlocked(%q) succeeded", bad)
		}
	}
}

func TestPluginName(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"# yubikey\nAGE-PLUGIN-YUBIKEY-1QQQ\n": "yubikey",
		"AGE-PLUGIN-BATCHPASS-1XYZ":            "batchpass",
		"AGE-SECRET-KEY-1ABC\n":                "",
	} {
		path := filepath.Join(dir, "id")
		writeFile(t, path, []byte(content), 0o600)
		if got := pluginName(path); got != want {
			t.Errorf("pluginName(%q) = %q, want %q", content, got, want)
		}
	}
}

// TestProtectedWorkFactor: identity.age uses age's default work factor, and
// a swapped one that asks for 2^22 is refused before any derivation, with
// nothing cached.
func TestProtectedWorkFactor(t *testing.T) {
	dir := t.TempDir()
	cache := &memCache{}
	s := newStore(t, Options{Dir: dir, Cache: cache})
	mustPut(t, s, "registry.example.com", "alice", "s3cr3t")
	if err := s.Protect(context.Background(), testPass); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ProtectedIdentityName)
	wrapped := readBytes(t, path)
	line, _, _ := bytes.Cut(bytes.SplitN(wrapped, []byte("\n"), 3)[1], []byte("\n"))
	if !bytes.HasSuffix(line, []byte(" 18")) {
		t.Errorf("scrypt stanza %q does not use work factor 18", line)
	}
	writeFile(t, path, bytes.Replace(wrapped, []byte(" 18\n"), []byte(" 22\n"), 1), 0o600)
	_, err := newStore(t, Options{Dir: dir, Cache: cache}).Unlock(context.Background(), testPass, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "work factor too large") {
		t.Errorf("Unlock of identity.age with work factor 22 = %v, want refused", err)
	}
	if cache.cached() {
		t.Error("a refused unlock cached something")
	}
}

// memVault is a KeyVault in memory; the real keychain is tested by the
// binary's keychain scripts.
type memVault struct {
	mu     sync.Mutex
	secret []byte
}

func (v *memVault) Load(context.Context) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return bytes.Clone(v.secret), nil
}

func (v *memVault) Save(_ context.Context, b []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.secret = bytes.Clone(b)
	return nil
}

func (v *memVault) Delete(context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.secret = nil
	return nil
}

func TestProtectKeychain(t *testing.T) {
	dir := t.TempDir()
	cache, vault := &memCache{}, &memVault{}
	ctx := context.Background()
	open := func() *Store { return newStore(t, Options{Dir: dir, Cache: cache, Vault: vault}) }
	mustPut(t, open(), "registry.example.com", "alice", "s3cr3t")
	if err := open().ProtectKeychain(ctx); err != nil {
		t.Fatal(err)
	}
	if fileExists(filepath.Join(dir, GeneratedIdentityName)) || !fileExists(filepath.Join(dir, KeychainMarkerName)) {
		t.Error("after protect --keychain: want identity.keychain and no identity.txt")
	}
	noSecretKeyOnDisk(t, dir)
	if !bytes.HasPrefix(vault.secret, []byte("AGE-SECRET-KEY-PQ-1")) || bytes.Contains(vault.secret, []byte("#")) {
		t.Errorf("the keychain holds %d bytes, want the key line alone", len(vault.secret))
	}
	if src, _, _ := open().KeySource(); src != string(KeySourceKeychain) {
		t.Errorf("key source %q, want keychain", src)
	}
	// A get reads the keychain once, then the cache.
	if c := mustGet(t, open(), "registry.example.com"); c.Secret != "s3cr3t" {
		t.Errorf("Get = %v", c)
	}
	if !cache.cached() {
		t.Error("the key read from the keychain is not cached")
	}
	if got, _ := open().Protection(); !strings.HasPrefix(got, "OS keychain, unlocked until ") {
		t.Errorf("Protection = %q", got)
	}
	saved := bytes.Clone(vault.secret)
	vault.Delete(ctx)
	mustGet(t, open(), "registry.example.com") // from the cache
	open().Lock()
	if _, err := open().Get(ctx, mustKey(t, "registry.example.com")); err == nil || errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get with the keychain item gone = %v, want an error", err)
	}
	vault.Save(ctx, saved)

	// From the keychain to a passphrase, and back to the plain key.
	if err := open().Protect(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	if fileExists(filepath.Join(dir, KeychainMarkerName)) || vault.secret != nil {
		t.Error("protect --passphrase left the keychain in use")
	}
	// Locked, with no terminal: moving it to the keychain cannot read it.
	if err := open().ProtectKeychain(ctx); !errors.Is(err, ErrLocked) || fileExists(filepath.Join(dir, KeychainMarkerName)) {
		t.Errorf("protect --keychain of a locked key = %v, want ErrLocked and nothing changed", err)
	}
	if err := open().Unprotect(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	if err := open().ProtectKeychain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := open().Unprotect(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if vault.secret != nil || fileExists(filepath.Join(dir, KeychainMarkerName)) {
		t.Error("undo left the keychain in use")
	}
	if c := mustGet(t, newStore(t, Options{Dir: dir}), "registry.example.com"); c.Secret != "s3cr3t" {
		t.Errorf("Get after undo = %v", c)
	}
}
