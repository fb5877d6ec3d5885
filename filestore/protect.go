package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// Protecting the generated identity.
//
// Protect wraps identity.txt in identity.age, an age file encrypted with a
// passphrase (scrypt), which the stock `age -d identity.age` opens, and
// removes identity.txt. The store itself stays encrypted to the identity,
// so a get costs what it did once the identity is unlocked: Unlock decrypts
// identity.age once (the scrypt second) and keeps the identity in
// Options.Cache, the kernel keyring, until its timeout; Lock drops it.
//
// Every step replaces one file atomically, and the key source follows the
// files: identity.age, when it exists, wins over identity.txt. Interrupted
// anywhere, the store opens with the old key or the new one.

// ProtectedIdentityName is the name of the passphrase-wrapped identity in
// the store directory.
const ProtectedIdentityName = "identity.age"

// DefaultUnlockFor is how long an unlocked identity stays in the cache by
// default: a working day, as a login session.
const DefaultUnlockFor = 8 * time.Hour

// KeyCache keeps one unlocked identity, outside the store directory and
// never on disk, for a while (the kernel keyring: internal/keyctl).
type KeyCache interface {
	// Load returns what Save saved, or nil when nothing is cached (never
	// saved, expired, dropped).
	Load() ([]byte, error)
	// Save caches payload for ttl.
	Save(payload []byte, ttl time.Duration) error
	// Drop removes the cached payload and reports whether there was one.
	Drop() (bool, error)
}

// timeNow is the clock; tests replace it.
var timeNow = time.Now

// ErrLocked means the identity is protected, not unlocked, and there is no
// way to ask for the passphrase. It has a Locked method, by which packages
// that do not import this one recognise it.
var ErrLocked error = lockedError{}

type lockedError struct{}

func (lockedError) Error() string {
	return "the store is locked: run `" + helper.ProgramName + " unlock`"
}

// Locked marks the error as "locked", not broken.
func (lockedError) Locked() bool { return true }

var errLocked = helper.WithHint(ErrLocked,
	"unlock asks for the passphrase once and keeps the key in the kernel keyring (8h by default); or run the command from a terminal, or set DOCKER_CREDENTIAL_NOTATION_PASSPHRASE")

// ErrNotProtected means the store's key is not protected: there is nothing
// to unlock or undo. Like ErrLocked it is recognised by a method,
// NotProtected.
var ErrNotProtected error = notProtectedError{}

type notProtectedError struct{}

func (notProtectedError) Error() string      { return "the store's key is not protected" }
func (notProtectedError) NotProtected() bool { return true }

// errStaleCache means the cached identity does not open the store.
var errStaleCache = errors.New("the cached identity does not open the store")

func (s *Store) protectedIdentityPath() string {
	return filepath.Join(s.opts.Dir, ProtectedIdentityName)
}

// isProtected reports whether the wrapped identity exists (whatever it is:
// reading it refuses anything but a regular file of the user's).
func (s *Store) isProtected() bool {
	return fileExists(s.protectedIdentityPath())
}

// protection says which protection of the generated identity the files
// name: identity.age wins over identity.keychain, which wins over
// identity.txt (each protect step writes the new file before it removes the
// old one); "" for none.
func (s *Store) protection() KeySource {
	switch {
	case s.isProtected():
		return KeySourceProtected
	case fileExists(s.keychainMarkerPath()):
		return KeySourceKeychain
	}
	return ""
}

func (s *Store) unlockFor() time.Duration {
	if s.opts.UnlockFor > 0 {
		return s.opts.UnlockFor
	}
	return DefaultUnlockFor
}

// protectedKeys loads the protected identity: from the cache, else with
// the passphrase from the options or the terminal (and then caches it),
// else the store is locked.
func (s *Store) protectedKeys() (*keys, error) {
	if k := s.cachedKeys(KeySourceProtected); k != nil {
		return k, nil
	}
	pass, prompted := s.opts.Passphrase, false
	if pass == "" {
		if s.opts.Prompt == nil {
			return nil, errLocked
		}
		var err error
		if pass, err = s.opts.Prompt("Passphrase for the key of the " + helper.ProgramName + " store: "); err != nil {
			return nil, fmt.Errorf("failed to read the passphrase: %v", err)
		}
		if pass == "" {
			return nil, errors.New("failed to read the passphrase: it is empty")
		}
		prompted = true
	}
	k, err := s.unwrapKeys(pass)
	if err != nil {
		return nil, err
	}
	if prompted && s.opts.Cache != nil {
		// Asked once, kept like unlock does; the store must open with it
		// first, so a wrapped identity of another store is never cached.
		if err := s.matchesStore(k); err == nil {
			s.cacheKeys(k, s.unlockFor())
		}
	}
	return k, nil
}

// cachedKeys returns the identity in the cache, or nil. A payload that
// does not parse, or outlived its time, is dropped; an identity in it that
// does not parse is found when it is first used (keys.load), and decrypt
// then treats the cache as stale.
func (s *Store) cachedKeys(src KeySource) *keys {
	c := s.opts.Cache
	if c == nil || s.noCache {
		return nil
	}
	b, err := c.Load()
	if err != nil || b == nil {
		return nil
	}
	text, until, err := parseUnlocked(b)
	if err == nil && !timeNow().Before(until) {
		err = errors.New("expired")
	}
	if err != nil {
		c.Drop()
		return nil
	}
	k := s.lazyKeys(src, "the kernel keyring (unlocked)", text, func(err error) error {
		return fmt.Errorf("failed to parse the unlocked identity in the kernel keyring: %v", err)
	})
	k.cached, k.until = true, until
	return k
}

// cacheKeys keeps k in the cache for ttl and returns until when, which k
// then records: the file keys it unwraps may be kept as long.
func (s *Store) cacheKeys(k *keys, ttl time.Duration) (time.Time, error) {
	until := timeNow().Add(ttl).Truncate(time.Second)
	if err := s.opts.Cache.Save(encodeUnlocked(k.text, until), ttl); err != nil {
		return time.Time{}, err
	}
	k.until = until
	return until, nil
}

// decryptOrRelock decrypts with k; when k came from the cache and does not
// open the store (the store was protected again with another key, or the
// cache was planted), the cached identity is dropped and the store treated
// as locked.
func (s *Store) decryptOrRelock(f io.ReaderAt, size int64, k *keys) (*plainText, error) {
	p, err := s.decrypt(f, size, k)
	if !errors.Is(err, errStaleCache) {
		return p, err
	}
	s.keysMu.Lock()
	s.opts.Cache.Drop()
	s.dropFileKeys()
	s.noCache, s.keys = true, nil
	s.keysMu.Unlock()
	if k, err = s.loadKeys(false); err != nil {
		return nil, err
	}
	return s.decrypt(f, size, k)
}

// unwrapKeys decrypts the wrapped identity with pass.
func (s *Store) unwrapKeys(pass string) (*keys, error) {
	path := s.protectedIdentityPath()
	text, err := unwrapIdentity(path, pass)
	if err != nil {
		return nil, err
	}
	ids, err := parseIdentities(bytes.NewReader(text), s.pluginUI())
	if err != nil {
		return nil, fmt.Errorf("failed to parse the identity in %s: %v", path, err)
	}
	return newKeysText(KeySourceProtected, path, ids, text)
}

// unwrapIdentity decrypts the passphrase-encrypted identity file at path.
func unwrapIdentity(path, pass string) ([]byte, error) {
	raw, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, fmt.Errorf("invalid passphrase: %v", err)
	}
	id.SetMaxWorkFactor(MaxScryptWorkFactor)
	r, err := age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, helper.WithHint(fmt.Errorf("failed to unlock %s: wrong passphrase", path),
				"nothing was changed or cached; try again")
		}
		return nil, helper.WithHint(fmt.Errorf("failed to unlock %s: %v", path, err),
			"the file was not modified; restore it from a backup, or decrypt it with: age -d "+path)
	}
	text, err := io.ReadAll(io.LimitReader(r, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("failed to unlock %s: %v", path, err)
	}
	if len(text) > maxIdentityFile {
		return nil, fmt.Errorf("failed to unlock %s: the identity is larger than %d KiB", path, maxIdentityFile>>10)
	}
	return text, nil
}

// matchesStore checks that k opens the store file, if there is one.
func (s *Store) matchesStore(k *keys) error {
	f, size, err := s.openFile()
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	probe := *k
	probe.cached, probe.probe = false, true
	_, err = s.decrypt(f, size, &probe)
	return err
}

// wrapIdentity encrypts an identity file's content with pass (age's
// scrypt, at age's default work factor).
func wrapIdentity(text []byte, pass string) ([]byte, error) {
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return nil, fmt.Errorf("invalid passphrase: %v", err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(text); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lockStore takes the store's write lock (creating the directory), with
// the default timeout when ctx has no deadline.
func (s *Store) lockStore(ctx context.Context) (*filelock.Lock, context.CancelFunc, error) {
	cancel := func() {}
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, defaultLockTimeout)
	}
	if err := ensureDir(s.opts.Dir); err != nil {
		cancel()
		return nil, nil, err
	}
	if err := checkStoreDir(s.opts.Dir); err != nil {
		cancel()
		return nil, nil, err
	}
	lock, err := filelock.Acquire(ctx, filepath.Join(s.opts.Dir, lockFileName))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("failed to lock credential store: %v", err)
	}
	s.removeStaleTemps()
	s.dropOpen()
	return lock, cancel, nil
}

// Protect wraps the store's identity in a passphrase-encrypted identity.age
// (readable by `age -d`), checks that it decrypts to the same identity, and
// removes the plaintext identity.txt. On a store that is already
// protected it changes the passphrase (the current one is needed: the
// cache, Options.Passphrase or the prompt). A store without a key yet gets
// a new identity that is never written in the clear. The store is left
// locked.
func (s *Store) Protect(ctx context.Context, passphrase string) error {
	if passphrase == "" {
		return errors.New("failed to protect the store's key: the passphrase is empty")
	}
	src, err := s.resolveSource()
	if err != nil {
		return err
	}
	if src != KeySourceGenerated && src != KeySourceProtected && src != KeySourceKeychain {
		return helper.WithHint(fmt.Errorf("failed to protect the store's key: the key source is %s, not the store's own key", src),
			"protect wraps the identity the store generated (identity.txt); a key from the environment, an identity file or a plugin is protected where it lives")
	}
	lock, cancel, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	defer lock.Unlock()
	// The file key of the unprotected store goes first: were protect
	// interrupted once identity.txt is gone, it must not outlive it.
	s.dropFileKeys()

	plain := s.generatedIdentityPath()
	var k *keys
	switch _, serr := os.Lstat(s.path); {
	case src == KeySourceProtected || src == KeySourceKeychain:
		k, err = s.loadKeys(false)
	case serr != nil && errors.Is(serr, os.ErrNotExist) && !fileExists(plain):
		// No store and no key: a new identity, wrapped before it is ever
		// written.
		var id *age.HybridIdentity
		var text []byte
		if id, text, err = newIdentity(); err == nil {
			k, err = newKeysText(KeySourceProtected, plain, []age.Identity{id}, text)
		}
	default:
		k, err = s.loadKeys(false)
	}
	if err != nil {
		return s.keyError(err)
	}
	if err := s.matchesStore(k); err != nil {
		return err
	}
	wrapped, err := wrapIdentity(k.text, passphrase)
	if err != nil {
		return fmt.Errorf("failed to protect the store's key: %v", err)
	}
	path := s.protectedIdentityPath()
	if err := atomicfile.WriteFile(path, wrapped, atomicfile.Options{}); err != nil {
		return fmt.Errorf("failed to write %s: %v", path, err)
	}
	// Read back what is on disk before the plaintext goes.
	got, err := unwrapIdentity(path, passphrase)
	if err != nil || !bytes.Equal(got, k.text) {
		if src == KeySourceGenerated {
			os.Remove(path) // back to the plain key, which is still there
		}
		return fmt.Errorf("failed to protect the store's key: %s does not read back as the identity (%v)", path, err)
	}
	if err := removeKeyFile(plain); err != nil {
		return err
	}
	if src == KeySourceKeychain {
		if err := s.leaveKeychain(ctx); err != nil {
			return err
		}
	}
	s.dropCache()
	s.forget()
	return nil
}

// Unprotect writes the protected identity back as the plain identity.txt
// and removes identity.age and the cached copy. passphrase, if not empty,
// unlocks it; otherwise the cache, Options.Passphrase or the prompt do.
func (s *Store) Unprotect(ctx context.Context, passphrase string) error {
	src, err := s.resolveSource()
	if err != nil {
		return err
	}
	if src != KeySourceProtected && src != KeySourceKeychain {
		return ErrNotProtected
	}
	lock, cancel, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	defer lock.Unlock()
	var k *keys
	if passphrase != "" && src == KeySourceProtected {
		k, err = s.unwrapKeys(passphrase)
	} else {
		k, err = s.loadKeys(false)
	}
	if err != nil {
		return err
	}
	if err := s.matchesStore(k); err != nil {
		return err
	}
	plain := s.generatedIdentityPath()
	if err := atomicfile.WriteFile(plain, k.text, atomicfile.Options{}); err != nil {
		return fmt.Errorf("failed to write identity file %s: %v", plain, err)
	}
	if got, err := readKeyFile(plain); err != nil || !bytes.Equal(got, k.text) {
		return fmt.Errorf("failed to write identity file %s: it does not read back as the identity (%v)", plain, err)
	}
	if src == KeySourceKeychain {
		if err := s.leaveKeychain(ctx); err != nil {
			return err
		}
	} else if err := removeFile(s.protectedIdentityPath()); err != nil {
		return err
	}
	s.dropCache()
	s.forget()
	return nil
}

// removeFile removes path and syncs its directory.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %v", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("failed to remove %s: %v", path, err)
	}
	return nil
}

// Unlock decrypts the protected identity with passphrase (empty:
// Options.Passphrase, else the prompt), checks that it opens the store,
// and keeps it in the cache for ttl. It returns when the cache drops it.
// A plaintext identity.txt left by an interrupted protect is removed.
func (s *Store) Unlock(ctx context.Context, passphrase string, ttl time.Duration) (time.Time, error) {
	src, err := s.resolveSource()
	if err != nil {
		return time.Time{}, err
	}
	if src != KeySourceProtected && src != KeySourceKeychain {
		return time.Time{}, helper.WithHint(fmt.Errorf("failed to unlock: %w: there is nothing to unlock", ErrNotProtected),
			"run '"+helper.ProgramName+" protect --passphrase' to protect it")
	}
	if ttl <= 0 {
		return time.Time{}, errors.New("failed to unlock: the duration must be positive")
	}
	if err := s.cacheUsable(); err != nil {
		return time.Time{}, err
	}
	if src == KeySourceKeychain {
		k, err := s.vaultKeys(ctx)
		if err != nil {
			return time.Time{}, err
		}
		return s.keepUnlocked(ctx, k, ttl)
	}
	if passphrase == "" {
		passphrase = s.opts.Passphrase
	}
	if passphrase == "" {
		if s.opts.Prompt == nil {
			return time.Time{}, helper.WithHint(errors.New("failed to unlock: no terminal to ask for the passphrase"),
				"give it on stdin with --passphrase-stdin")
		}
		if passphrase, err = s.opts.Prompt("Passphrase for the key of the " + helper.ProgramName + " store: "); err != nil {
			return time.Time{}, fmt.Errorf("failed to read the passphrase: %v", err)
		}
	}
	k, err := s.unwrapKeys(passphrase)
	if err != nil {
		return time.Time{}, err
	}
	return s.keepUnlocked(ctx, k, ttl)
}

// keepUnlocked caches k, once it is known to open the store, for ttl.
func (s *Store) keepUnlocked(ctx context.Context, k *keys, ttl time.Duration) (time.Time, error) {
	if err := s.matchesStore(k); err != nil {
		return time.Time{}, err
	}
	until, err := s.cacheKeys(k, ttl)
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to unlock: %v", err)
	}
	s.removeLeftover(ctx, k)
	s.forget()
	return until, nil
}

// cacheUsable says why the cache cannot keep an unlocked identity, if it
// cannot.
func (s *Store) cacheUsable() error {
	err := errors.New("no cache is configured")
	if s.opts.Cache != nil {
		if _, err = s.opts.Cache.Load(); err == nil {
			return nil
		}
	}
	return helper.WithHint(fmt.Errorf("failed to unlock: the key cannot be kept here: %v", err),
		"without the kernel keyring (not Linux, or a container whose seccomp profile blocks keyctl) every command asks for the passphrase on the terminal; for unattended use give the key in DOCKER_CREDENTIAL_NOTATION_IDENTITY (or the passphrase in DOCKER_CREDENTIAL_NOTATION_PASSPHRASE), or use the keychain backend")
}

// removeLeftover removes identity.txt when it holds the identity k
// unlocked: what an interrupted protect left.
func (s *Store) removeLeftover(ctx context.Context, k *keys) {
	plain := s.generatedIdentityPath()
	if !fileExists(plain) {
		return
	}
	lock, cancel, err := s.lockStore(ctx)
	if err != nil {
		return
	}
	defer cancel()
	defer lock.Unlock()
	if text, err := readKeyFile(plain); err == nil && bytes.Equal(keyLines(text), keyLines(k.text)) && s.protection() != "" {
		removeKeyFile(plain)
	}
}

// Lock drops the cached identity and reports whether there was one.
func (s *Store) Lock() (bool, error) {
	if s.opts.Cache == nil {
		return false, errors.New("failed to lock: no cache is configured")
	}
	ok, err := s.opts.Cache.Drop()
	s.dropFileKeys()
	s.forget()
	return ok, err
}

// forget drops the keys this Store loaded (not the cache: see dropCache):
// after a change of key the next operation loads afresh.
func (s *Store) forget() {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.keys, s.noCache = nil, false
}

// dropCache removes the cached copy of the identity, and the cached file
// key.
func (s *Store) dropCache() {
	if s.opts.Cache != nil {
		s.opts.Cache.Drop()
	}
	s.dropFileKeys()
}

// Protection says in one line how well the store's key is protected, and
// whether it lies beside the store unprotected (what protect is for),
// without reading any secret or asking for anything.
func (s *Store) Protection() (line string, beside bool) {
	src, err := s.resolveSource()
	if err != nil {
		return "unknown: " + err.Error(), false
	}
	switch src {
	case KeySourceGenerated:
		if fileExists(s.generatedIdentityPath()) {
			return "key beside the store: protects copies of store.age only", true
		}
		return "key beside the store (generated on first use): protects copies of store.age only", true
	case KeySourceProtected:
		if s.opts.Cache == nil {
			return "passphrase (no cache: every command asks)", false
		}
		b, err := s.opts.Cache.Load()
		if err != nil {
			return "passphrase, locked (no kernel keyring here: every command asks)", false
		}
		if b != nil {
			if _, until, err := parseUnlocked(b); err == nil && timeNow().Before(until) {
				return "passphrase, unlocked until " + formatUntil(until), false
			}
		}
		return "passphrase, locked", false
	case KeySourceKeychain:
		if s.opts.Cache != nil {
			if b, err := s.opts.Cache.Load(); err == nil && b != nil {
				if _, until, err := parseUnlocked(b); err == nil && timeNow().Before(until) {
					return "OS keychain, unlocked until " + formatUntil(until), false
				}
			}
		}
		return "OS keychain", false
	case KeySourcePassphrase:
		return "passphrase on the store itself (every process pays scrypt)", false
	case KeySourceIdentity:
		return "identity from the environment", false
	case KeySourceIdentityFile:
		if name := pluginName(s.opts.IdentityFile); name != "" {
			return "plugin age-plugin-" + name, false
		}
		return "identity file " + s.opts.IdentityFile, false
	}
	return string(src), false
}

// formatUntil shows a time of today as 18:40, and a later one with its
// date.
func formatUntil(t time.Time) string {
	t = t.Local()
	now := timeNow().Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// pluginName returns the plugin of the first identity in an identity file
// (AGE-PLUGIN-YUBIKEY-1… is yubikey), or "" for a native one or an
// unreadable file.
func pluginName(path string) string {
	text, err := readKeyFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, "AGE-PLUGIN-")
		if i := strings.LastIndex(rest, "-1"); ok && i > 0 {
			return strings.ToLower(rest[:i])
		}
		return ""
	}
	return ""
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// removeKeyFile removes a plaintext key file, overwriting it first (best
// effort: a journaling, copy-on-write or flash file system may keep the
// old blocks), and syncs the directory.
func removeKeyFile(path string) error {
	if f, err := atomicfile.OpenRegular(path, false); err == nil {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
				w.Write(make([]byte, fi.Size()))
				w.Sync()
				w.Close()
			}
		}
		f.Close()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %v", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("failed to remove %s: %v", path, err)
	}
	return nil
}

// The cached payload: a first line that names the format, the time the
// cache keeps it until (Unix seconds), and the identity file's content.
const unlockedMagic = "docker-credential-notation unlocked identity v1\n"

func encodeUnlocked(text []byte, until time.Time) []byte {
	b := []byte(unlockedMagic)
	b = append(b, "until "...)
	b = strconv.AppendInt(b, until.Unix(), 10)
	b = append(b, '\n')
	return append(b, text...)
}

// parseUnlocked parses what encodeUnlocked wrote. Errors never quote the
// payload, which is secret.
func parseUnlocked(b []byte) (text []byte, until time.Time, err error) {
	rest, ok := bytes.CutPrefix(b, []byte(unlockedMagic))
	if !ok {
		return nil, time.Time{}, errors.New("not an unlocked identity")
	}
	line, rest, ok := bytes.Cut(rest, []byte("\n"))
	v, hasUntil := bytes.CutPrefix(line, []byte("until "))
	if !ok || !hasUntil {
		return nil, time.Time{}, errors.New("no expiry")
	}
	secs, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || secs <= 0 || secs > 1<<40 || strconv.FormatInt(secs, 10) != string(v) {
		return nil, time.Time{}, errors.New("invalid expiry")
	}
	if len(rest) == 0 {
		return nil, time.Time{}, errors.New("no identity")
	}
	return rest, time.Unix(secs, 0), nil
}
