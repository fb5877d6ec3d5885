package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// parsedIdentity reports whether s parsed its identity: a get answered by
// the file-key cache never does.
func parsedIdentity(s *Store) bool {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	return s.keys != nil && s.keys.loaded() != nil
}

// cachedFileKey returns the file key in c, checked against the store file's
// header, or nil.
func cachedFileKey(t *testing.T, c *memCache) []byte {
	t.Helper()
	b, _ := c.Load()
	if b == nil {
		return nil
	}
	_, _, key, err := parseFileKey(b)
	if err != nil {
		t.Fatalf("the cached file key does not parse: %v", err)
	}
	return key
}

// TestFileKeyCache: a write caches the new file key; a later process reads
// the store with it, without parsing the identity; every write replaces it.
func TestFileKeyCache(t *testing.T) {
	dir := t.TempDir()
	fk := &memCache{}
	opts := Options{Dir: dir, FileKeys: fk}
	mustPut(t, newStore(t, opts), "a.example.com", "alice", "s1")
	first := cachedFileKey(t, fk)
	if first == nil {
		t.Fatal("Put cached no file key")
	}
	if fk.ttl > fileKeyFor || fk.ttl < fileKeyFor-2*time.Second {
		t.Errorf("cached for %v, want %v", fk.ttl, fileKeyFor)
	}

	s := newStore(t, opts)
	if c := mustGet(t, s, "a.example.com"); c.Secret != "s1" {
		t.Fatalf("Get = %+v", c)
	}
	if parsedIdentity(s) {
		t.Error("a get with the file key cached parsed the identity")
	}

	mustPut(t, newStore(t, opts), "b.example.com", "bob", "s2")
	second := cachedFileKey(t, fk)
	if second == nil || bytes.Equal(first, second) {
		t.Fatal("a write did not cache its new file key")
	}
	s = newStore(t, opts)
	if c := mustGet(t, s, "b.example.com"); c.Secret != "s2" || parsedIdentity(s) {
		t.Errorf("Get after a second write = %+v (parsed the identity: %v)", c, parsedIdentity(s))
	}

	// Gone (expired, dropped): a get unwraps, and caches the key again.
	fk.Drop()
	s = newStore(t, opts)
	mustGet(t, s, "a.example.com")
	if !parsedIdentity(s) {
		t.Error("a get without the cached key did not parse the identity")
	}
	if got := cachedFileKey(t, fk); !bytes.Equal(got, second) {
		t.Error("a get that unwrapped the file key did not cache it")
	}
}

// TestFileKeyCacheWrong: a cached key that is not the header's (planted,
// another file's, garbage, expired) opens nothing; the store is read with
// its identity as if nothing were cached, and the cache set right.
func TestFileKeyCacheWrong(t *testing.T) {
	dir := t.TempDir()
	fk := &memCache{}
	opts := Options{Dir: dir, FileKeys: fk}
	mustPut(t, newStore(t, opts), "a.example.com", "alice", "s1")
	b, _ := fk.Load()
	until, digest, good, err := parseFileKey(b)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := bytes.Repeat([]byte{7}, 16)
	for name, payload := range map[string][]byte{
		"wrong key for the header":  encodeFileKey(until, digest, wrongKey),
		"another header's":          encodeFileKey(until, sha256.Sum256([]byte("x")), wrongKey),
		"expired":                   encodeFileKey(time.Now().Add(-time.Minute), digest, good),
		"garbage":                   []byte("not a payload"),
		"truncated":                 b[:len(b)-5],
		"the identity cache format": encodeUnlocked([]byte("AGE-SECRET-KEY-1X\n"), until),
	} {
		t.Run(name, func(t *testing.T) {
			fk.Save(payload, time.Hour)
			if c := mustGet(t, newStore(t, opts), "a.example.com"); c.Secret != "s1" {
				t.Errorf("Get = %+v", c)
			}
			if got := cachedFileKey(t, fk); !bytes.Equal(got, good) {
				t.Errorf("the cache holds %x after the get, want the store's key", got)
			}
		})
	}
}

// TestFileKeyCacheTampered: the cached key is the file's, but the header
// has been changed: age's MAC check fails with it and with the identity,
// and the get says the header is damaged.
func TestFileKeyCacheTampered(t *testing.T) {
	dir := t.TempDir()
	fk := &memCache{}
	opts := Options{Dir: dir, FileKeys: fk}
	mustPut(t, newStore(t, opts), "a.example.com", "alice", "s1")
	path := filepath.Join(dir, StoreFileName)
	raw := readBytes(t, path)
	// The MAC line is the header's last: flip a character of it.
	i := bytes.Index(raw, []byte("\n--- ")) + len("\n--- ") + 3
	raw[i] ^= 1
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := newStore(t, opts).Get(context.Background(), mustKey(t, "a.example.com"))
	if err == nil || !strings.Contains(err.Error(), "header is damaged") {
		t.Errorf("Get of a store with a changed MAC = %v, want the header damaged", err)
	}
}

// TestFileKeyCacheNotFor: keys that may go away or must be asked for (from
// the environment, a passphrase) never leave a file key behind.
func TestFileKeyCacheNotFor(t *testing.T) {
	for name, opts := range map[string]Options{
		"identity from the environment": {Identity: newHybrid(t).String()},
		"passphrase":                    {KeySource: KeySourcePassphrase, Passphrase: "p"},
	} {
		t.Run(name, func(t *testing.T) {
			if opts.Passphrase != "" && testing.Short() {
				t.Skip("scrypt is slow by design")
			}
			fk := &memCache{}
			opts.Dir, opts.FileKeys = t.TempDir(), fk
			mustPut(t, newStore(t, opts), "a.example.com", "alice", "s1")
			mustGet(t, newStore(t, opts), "a.example.com")
			if fk.cached() {
				t.Error("a file key was cached")
			}
		})
	}
}

// TestFileKeyCacheProtected: a protected store's file key is cached only
// while it is unlocked, until the unlock ends; protect and lock drop it,
// and a file key left in the cache never opens a locked store.
func TestFileKeyCacheProtected(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cache, fk := &memCache{}, &memCache{}
	opts := Options{Dir: dir, Cache: cache, FileKeys: fk}
	mustPut(t, newStore(t, opts), "a.example.com", "alice", "s1")
	plainKey, _ := fk.Load()
	if plainKey == nil {
		t.Fatal("no file key cached")
	}
	if err := newStore(t, opts).Protect(ctx, testPass); err != nil {
		t.Fatal(err)
	}
	if fk.cached() {
		t.Error("protect left the file key cached")
	}

	// Locked, with the (right) file key put back: still locked.
	fk.Save(plainKey, time.Hour)
	if _, err := newStore(t, opts).Get(ctx, mustKey(t, "a.example.com")); !errors.Is(err, ErrLocked) {
		t.Errorf("Get of a locked store with its file key cached = %v, want ErrLocked", err)
	}
	fk.Drop()

	until, err := newStore(t, opts).Unlock(ctx, testPass, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if fk.cached() {
		t.Error("unlock cached a file key (it only checks the identity)")
	}
	mustGet(t, newStore(t, opts), "a.example.com")
	b, _ := fk.Load()
	gotUntil, _, _, err := parseFileKey(b)
	if err != nil {
		t.Fatalf("after a get of the unlocked store: %v", err)
	}
	if !gotUntil.Equal(until) || fk.ttl > time.Hour {
		t.Errorf("file key cached until %v for %v, want until the unlock ends (%v)", gotUntil, fk.ttl, until)
	}
	s := newStore(t, opts)
	mustGet(t, s, "a.example.com")
	if parsedIdentity(s) {
		t.Error("a get of the unlocked store with its file key cached parsed the identity")
	}

	if _, err := newStore(t, opts).Lock(); err != nil {
		t.Fatal(err)
	}
	if fk.cached() {
		t.Error("lock left the file key cached")
	}
}

// TestFileKeyCacheBroken: a cache that fails every call (no kernel keyring
// here) costs the unwrap and nothing else.
func TestFileKeyCacheBroken(t *testing.T) {
	opts := Options{Dir: t.TempDir(), FileKeys: &memCache{broken: errors.New("the kernel keyring is not available")}}
	mustPut(t, newStore(t, opts), "a.example.com", "alice", "s1")
	if c := mustGet(t, newStore(t, opts), "a.example.com"); c.Secret != "s1" {
		t.Errorf("Get = %+v", c)
	}
}

// TestFileKeyRecipientLabels: the recording recipient passes a hybrid
// recipient's label on, so age still refuses to mix it with a classic
// one, and records the key the header is made with.
func TestFileKeyRecipientLabels(t *testing.T) {
	r := &fileKeyRecipient{r: newHybrid(t).Recipient()}
	var buf bytes.Buffer
	if _, err := age.Encrypt(&buf, r, newX25519(t).Recipient()); err == nil {
		t.Error("age mixed a post-quantum recipient with a classic one")
	}
	id := newHybrid(t)
	r = &fileKeyRecipient{r: id.Recipient()}
	buf.Reset()
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	w.Close()
	got, err := id.Unwrap(r.stanzas)
	if err != nil || !bytes.Equal(got, r.fileKey) {
		t.Errorf("recorded file key %x, the stanzas unwrap to %x (%v)", r.fileKey, got, err)
	}
}
