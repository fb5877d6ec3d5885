// Package filestore keeps credentials in one age-encrypted file, the helper's
// zero-configuration default.
//
// The store is a standard age file (store.age) holding a JSON document; with
// the identity it was encrypted to, `age -d -i identity.txt store.age`
// recovers it. The schema (version 1) is
//
//	{"version":1,"entries":{"<key>":{"serverURL":"…","username":"…","secret":"…"}}}
//
// where <key> is [helper.Key] of the server URL and serverURL is the server URL
// as the client stored it. The store writes one entry per line, sorted by key
// (see codec.go), so that a get decrypts and parses a few lines found by
// binary search rather than every entry, and a write streams the old file
// into the new one changing one line (see plain.go); nothing holds the whole
// store in memory.
//
// Reads take no lock: every write replaces the file atomically (a temporary
// file in the same directory, fsynced, then renamed), so a reader sees either
// the old or the new store. Writes are serialized between processes by an
// exclusive lock on store.lock. A store that cannot be read or decrypted is
// reported as an error and never overwritten.
//
// Reference: https://age-encryption.org/v1 (file format)
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// File names inside the store directory.
const (
	StoreFileName = "store.age"
	lockFileName  = "store.lock"
)

// SchemaVersion is the version of the JSON document inside the age file.
const SchemaVersion = 1

// maxStoreFile bounds how much of the store file is read: 10,000 entries of
// tens of KiB each fit easily, and a runaway file cannot exhaust memory.
const maxStoreFile = 256 << 20

// defaultLockTimeout bounds the wait for another process's write when the
// caller's context has no deadline of its own; writes take milliseconds.
const defaultLockTimeout = 10 * time.Second

// Options configures a Store.
type Options struct {
	// Dir is the store directory, created with mode 0700 on the first write.
	// Required.
	Dir string
	// KeySource selects the key; the zero value means KeySourceAuto.
	KeySource KeySource
	// Identity holds age identities, one per line (usually from the
	// environment). Empty means none.
	Identity string
	// IdentityFile is the path of an age identity file. Empty means none.
	IdentityFile string
	// Passphrase encrypts the store with age's scrypt recipient. Empty means
	// none (or Prompt, when the key source is the passphrase).
	Passphrase string
	// Prompt asks the user for a passphrase on a terminal. Nil means there is
	// no terminal, and a passphrase-protected store then needs Passphrase.
	Prompt func(prompt string) (string, error)
	// PluginUI lets age plugins talk to the user. Nil means plugins that
	// need interaction fail.
	PluginUI *plugin.ClientUI
	// Cache keeps the protected identity once unlocked (main gives the
	// Linux kernel keyring, one key per store directory). Nil means none:
	// every process of a protected store needs the passphrase.
	Cache KeyCache
	// FileKeys keeps the file key of the store as last read or written,
	// for the store's own identity (see filekey.go; main gives the kernel
	// keyring, one key per store directory). Nil means none: every read
	// unwraps the file key with the identity.
	FileKeys KeyCache
	// UnlockFor is how long an identity unlocked through Prompt (a get
	// that found the store locked), or read from Vault, stays in Cache.
	// Zero means DefaultUnlockFor.
	UnlockFor time.Duration
	// Vault is the OS keychain item that keeps the identity after
	// ProtectKeychain. Nil means none: ProtectKeychain fails, and so does a
	// store whose identity is there.
	Vault KeyVault
}

// Store is a credential store in an age-encrypted file.
type Store struct {
	opts Options
	path string

	keysMu sync.Mutex
	keys   *keys // loaded once, see loadKeys
	// noCache is set once the cached identity turned out stale.
	noCache bool

	// pluginMu guards uiErr, the last plugin request that could not be
	// answered (see plugin.go).
	pluginMu sync.Mutex
	uiErr    error

	// readMu guards last, the store file as the last read opened it: the
	// next read uses it again while the path still names that file, so the
	// reads of one command (kubelet-provider's prefix lookups, token
	// exchange's cache and refresh token) unwrap the file key once.
	readMu sync.Mutex
	last   *openedFile
}

// openedFile is an open, decrypted store file.
type openedFile struct {
	f  *os.File
	fi os.FileInfo // of f, when it was opened
	p  *plainText
}

// keepOpen says whether a read keeps the store file open for the next one.
// Not on Windows, where an open file cannot be replaced: another process's
// write would fail while this one runs.
const keepOpen = runtime.GOOS != "windows"

// unchanged reports whether the path's file, as fi says, is still the one
// o opened. Writers replace the file, never rewrite it in place, so a new
// inode means new content; size and modification time are checked too.
func (o *openedFile) unchanged(fi os.FileInfo) bool {
	return os.SameFile(o.fi, fi) && o.fi.Size() == fi.Size() && o.fi.ModTime().Equal(fi.ModTime())
}

// dropOpen closes the file the last read kept open.
func (s *Store) dropOpen() {
	if o := s.takeOpen(); o != nil {
		o.f.Close()
	}
}

// takeOpen takes the file the last read kept open, if any, for a write:
// the write reads it again instead of decrypting the file anew when the
// file it opened under the lock is that one, and closes it.
func (s *Store) takeOpen() *openedFile {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	o := s.last
	s.last = nil
	return o
}

var _ helper.Store = (*Store)(nil)

// New returns the store in opts.Dir. It touches nothing on disk.
func New(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("filestore: no store directory")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("invalid store directory: %v", err)
	}
	opts.Dir = dir
	return &Store{opts: opts, path: filepath.Join(dir, StoreFileName)}, nil
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

func (s *Store) generatedIdentityPath() string {
	return filepath.Join(s.opts.Dir, GeneratedIdentityName)
}

// Describe says where credentials are kept.
func (s *Store) Describe() string { return "encrypted file " + s.path }

// KeySource returns the key source that applies now, and where the key
// comes from (a path, a variable or the terminal), without reading any
// secret.
func (s *Store) KeySource() (source, origin string, err error) {
	src, err := s.resolveSource()
	if err != nil {
		return "", "", err
	}
	switch src {
	case KeySourceIdentity:
		return string(src), "DOCKER_CREDENTIAL_NOTATION_IDENTITY", nil
	case KeySourceIdentityFile:
		return string(src), s.opts.IdentityFile, nil
	case KeySourcePassphrase:
		if s.opts.Passphrase != "" {
			return string(src), "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE", nil
		}
		return string(src), "terminal prompt", nil
	case KeySourceProtected:
		return string(src), s.protectedIdentityPath(), nil
	case KeySourceKeychain:
		return string(src), "the OS keychain (" + s.keychainMarkerPath() + " says so)", nil
	}
	return string(src), s.generatedIdentityPath(), nil
}

// document is the JSON inside the age file.
type document struct {
	Version int              `json:"version"`
	Entries map[string]entry `json:"entries"`
}

type entry struct {
	ServerURL string `json:"serverURL"`
	Username  string `json:"username"`
	Secret    string `json:"secret"`
}

// Get implements helper.Store. It reads the header chunk and the few
// chunks a binary search over the sorted entry lines visits (see plain.go).
func (s *Store) Get(ctx context.Context, key helper.Key) (helper.Credentials, error) {
	p, closeFile, err := s.openPlain()
	if err != nil || p == nil {
		if err == nil {
			err = fmt.Errorf("%s: %w", key, helper.ErrNotFound)
		}
		return helper.Credentials{}, err
	}
	defer closeFile()
	e, ok, err := lookup(p, key.String())
	if err != nil {
		return helper.Credentials{}, s.readError(err)
	}
	if !ok {
		return helper.Credentials{}, fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	}
	return helper.Credentials{ServerURL: e.ServerURL, Username: e.Username, Secret: e.Secret}, nil
}

// List implements helper.Store.
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	p, closeFile, err := s.openPlain()
	if err != nil || p == nil {
		return map[string]string{}, err
	}
	defer closeFile()
	m, err := list(p)
	if err != nil {
		return nil, s.readError(err)
	}
	return m, nil
}

// HasPrefix reports whether the store holds an entry whose key starts
// with prefix and that skip (nil: none) does not reject: kubelet-provider
// asks whether a registry has repository-scoped entries (host + "/"),
// skipping the token exchange's own. Like Get it reads a few lines found
// by binary search: the keys under a prefix are adjacent.
func (s *Store) HasPrefix(ctx context.Context, prefix string, skip func(key string) bool) (bool, error) {
	p, closeFile, err := s.openPlain()
	if err != nil || p == nil {
		return false, err
	}
	defer closeFile()
	ok, err := hasPrefix(p, prefix, skip)
	if err != nil {
		return false, s.readError(err)
	}
	return ok, nil
}

// readError reports a failure to read the plaintext: a chunk that does not
// authenticate, or content that decrypted but cannot be used.
func (s *Store) readError(err error) error {
	var pe *payloadError
	if errors.As(err, &pe) {
		return helper.WithHint(
			fmt.Errorf("failed to decrypt credential store %s: the file is truncated or has been tampered with: %v", s.path, pe.err),
			storeHint)
	}
	return s.contentError(err)
}

// contentError reports a plaintext that decrypted but cannot be used.
func (s *Store) contentError(err error) error {
	var se errSchema
	if errors.As(err, &se) {
		return helper.WithHint(fmt.Errorf("failed to parse credential store %s: %v", s.path, err),
			"the store was written by another version of docker-credential-notation; upgrade it")
	}
	return helper.WithHint(fmt.Errorf("failed to parse credential store %s: %v", s.path, err),
		"the store was not modified; restore the file from a backup")
}

// Put implements helper.Store.
func (s *Store) Put(ctx context.Context, key helper.Key, c helper.Credentials) error {
	return s.update(ctx, key, &entry{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
}

// Delete implements helper.Store.
func (s *Store) Delete(ctx context.Context, key helper.Key) error {
	return s.update(ctx, key, nil)
}

// openPlain opens the store for reading without a lock: the file stays open
// (a writer's rename leaves it whole), its header is decrypted and its final
// chunk authenticated. It returns nil if the store file does not exist. The
// plaintext is the caller's until it calls done; reads of one Store take
// turns.
func (s *Store) openPlain() (p *plainText, done func(), err error) {
	fi, err := s.statFile()
	if err != nil || fi == nil {
		return nil, nil, err
	}
	s.readMu.Lock()
	if s.last != nil && s.last.unchanged(fi) {
		return s.last.p, s.readMu.Unlock, nil
	}
	if s.last != nil {
		s.last.f.Close()
		s.last = nil
	}
	o, err := s.openDecrypted()
	if err != nil || o == nil {
		s.readMu.Unlock()
		return nil, nil, err
	}
	if !keepOpen {
		return o.p, func() { o.f.Close(); s.readMu.Unlock() }, nil
	}
	s.last = o
	return o.p, s.readMu.Unlock, nil
}

// openDecrypted opens and decrypts the store file; nil if it does not exist.
func (s *Store) openDecrypted() (*openedFile, error) {
	// The key first, so that the file is open (which on Windows keeps a
	// writer from replacing it) only while it is read.
	k, err := s.loadKeys(false)
	if err != nil {
		return nil, s.keyError(err)
	}
	f, size, err := s.openFile()
	if err != nil || f == nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	p, err := s.decryptOrRelock(f, size, k)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &openedFile{f: f, fi: fi, p: p}, nil
}

// keyError explains errNoKey, which loadKeys returns for an existing store
// whose generated identity has disappeared; other errors pass through.
func (s *Store) keyError(err error) error {
	if errors.Is(err, errNoKey) {
		return helper.WithHint(
			fmt.Errorf("failed to open credential store %s: its identity file %s is missing", s.path, s.generatedIdentityPath()),
			"restore the identity file from a backup, or point DOCKER_CREDENTIAL_NOTATION_IDENTITY_FILE at the identity the store was encrypted to")
	}
	return err
}

// statFile returns the store file's information, nil if it does not
// exist, refusing one that is not a regular file.
func (s *Store) statFile() (os.FileInfo, error) {
	fi, err := os.Lstat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	if err := checkStoreDir(s.opts.Dir); err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, helper.WithHint(
			fmt.Errorf("refusing to use credential store %s: it is a symbolic link", s.path),
			"point DOCKER_CREDENTIAL_NOTATION_STORE_DIR at the directory that holds the real file instead")
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("refusing to use credential store %s: not a regular file", s.path)
	}
	return fi, nil
}

// openFile opens the store file and returns its size, or nil if it does
// not exist.
func (s *Store) openFile() (*os.File, int64, error) {
	if fi, err := s.statFile(); err != nil || fi == nil {
		return nil, 0, err
	}
	f, err := atomicfile.OpenRegular(s.path, true)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	// The size of what was opened: the path may have been replaced since.
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errors.New("not a regular file")
		}
		return nil, 0, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	switch size := fi.Size(); {
	case size > maxStoreFile:
		f.Close()
		return nil, 0, fmt.Errorf("refusing to read credential store %s: larger than %d MiB", s.path, maxStoreFile>>20)
	case size == 0:
		f.Close()
		return nil, 0, helper.WithHint(
			fmt.Errorf("failed to decrypt credential store %s: the file is empty (truncated)", s.path),
			"restore the file from a backup; it was not modified")
	default:
		return f, size, nil
	}
}

const storeHint = "the store was not modified; check DOCKER_CREDENTIAL_NOTATION_IDENTITY, _IDENTITY_FILE and _PASSPHRASE, or restore the file from a backup"

// decrypt unwraps the file key and authenticates the final chunk (so a
// truncated or extended file fails here), returning the plaintext to read.
func (s *Store) decrypt(f io.ReaderAt, size int64, k *keys) (*plainText, error) {
	s.pluginFailure(k) // forget an earlier decryption's
	var r io.ReaderAt
	var n int64
	var err error
	if until := s.fileKeysUntil(k); !until.IsZero() {
		fk := &fileKeyIdentity{s: s, k: k}
		r, n, err = age.DecryptReaderAt(f, size, fk)
		if err != nil && fk.hit {
			// The cached key does not open this header: drop it, unwrap.
			s.dropFileKeys()
			fk = &fileKeyIdentity{s: s, k: k}
			r, n, err = age.DecryptReaderAt(f, size, fk)
		}
		if err == nil && fk.unwrapped != nil {
			s.saveFileKey(until, fk.digest, fk.unwrapped)
		}
	} else {
		var ids []age.Identity
		if ids, _, err = k.load(); err == nil {
			r, n, err = age.DecryptReaderAt(f, size, ids...)
		}
	}
	if perr := s.pluginFailure(k); err != nil && perr != nil {
		return nil, perr
	}
	if err != nil {
		var bad *identityError
		if errors.As(err, &bad) && k.cached {
			return nil, errStaleCache // an unlocked identity that does not parse
		}
		if bad != nil {
			return nil, bad.err
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) && k.cached {
			return nil, errStaleCache
		}
		if errors.As(err, &nomatch) {
			return nil, helper.WithHint(
				fmt.Errorf("failed to decrypt credential store %s: wrong key: the %s key from %s does not match it", s.path, k.source, k.origin),
				storeHint)
		}
		// age says "header" in every error about the header (parsing it,
		// its MAC); the rest are about the payload's size and final chunk.
		if strings.Contains(err.Error(), "header") {
			return nil, helper.WithHint(
				fmt.Errorf("failed to decrypt credential store %s: not a valid age file, or its header is damaged: %v", s.path, err),
				storeHint)
		}
		return nil, helper.WithHint(
			fmt.Errorf("failed to decrypt credential store %s: the file is truncated or has been tampered with: %v", s.path, err),
			storeHint)
	}
	return newPlainText(r, n), nil
}

// update puts (put != nil) or deletes key under the store lock and writes
// the result atomically. The old file is streamed through a sorted merge
// into the new one (see merge); a plaintext not in the canonical layout is
// parsed in full and rewritten canonically.
func (s *Store) update(ctx context.Context, key helper.Key, put *entry) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultLockTimeout)
		defer cancel()
	}
	notFound := fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	// With no store yet, erasing a missing entry (as `docker logout` does)
	// must not create a directory, a key or ask for a passphrase just to
	// answer not-found.
	if put == nil {
		if _, err := os.Lstat(s.path); errors.Is(err, os.ErrNotExist) {
			return notFound
		}
	}
	if err := ensureDir(s.opts.Dir); err != nil {
		return err
	}
	if err := checkStoreDir(s.opts.Dir); err != nil {
		return err
	}
	lock, err := filelock.Acquire(ctx, filepath.Join(s.opts.Dir, lockFileName))
	if errors.Is(err, filelock.ErrTimeout) {
		return helper.WithHint(fmt.Errorf("failed to lock credential store: %v", err),
			"another docker-credential-notation process is writing; retry, or look for a hung process")
	}
	if err != nil {
		return fmt.Errorf("failed to lock credential store: %v", err)
	}
	defer lock.Unlock()
	s.removeStaleTemps()
	// The file a read kept open (the next read opens what this write
	// leaves), and the file as it is now, under the lock. Both are closed
	// before the new one is renamed over them (Windows refuses to replace
	// an open file).
	kept := s.takeOpen()
	f, size, err := s.openFile()
	if err != nil {
		if kept != nil {
			kept.f.Close()
		}
		return err
	}
	closeOld := sync.OnceFunc(func() {
		if kept != nil {
			kept.f.Close()
		}
		if f != nil {
			f.Close()
		}
	})
	defer closeOld()
	k, err := s.loadKeys(f == nil)
	if err != nil {
		return s.keyError(err)
	}
	if f == nil {
		if put == nil {
			return notFound
		}
		return s.rewrite(k, &document{Version: SchemaVersion, Entries: map[string]entry{key.String(): *put}})
	}
	var p *plainText
	if fi, err := f.Stat(); err == nil && kept != nil && kept.unchanged(fi) {
		// Decrypted by a read of this command already: a plugin key is not
		// asked twice, and the key not unwrapped twice.
		p = kept.p
	} else if p, err = s.decryptOrRelock(f, size, k); err != nil {
		return err
	}
	if k, err = s.loadKeys(false); err != nil { // the keys that opened it
		return err
	}
	switch err = s.merge(p, k, key.String(), put, closeOld); {
	case err == errNotFound:
		return notFound
	case errors.As(err, new(*payloadError)):
		return s.readError(err)
	case err != errNotCanonical:
		return err // nil, or a failure to write, already explained
	}
	// Any other layout: parse it all, then write it canonically.
	plain, err := p.readAll()
	if err != nil {
		return s.readError(err)
	}
	closeOld()
	doc, err := parseDocument(plain)
	if err != nil {
		return s.contentError(err)
	}
	if put == nil {
		if _, ok := doc.Entries[key.String()]; !ok {
			return notFound
		}
		delete(doc.Entries, key.String())
	} else {
		if old, ok := doc.Entries[key.String()]; ok && old == *put {
			return nil // unchanged: skip the write
		}
		doc.Entries[key.String()] = *put
	}
	return s.rewrite(k, doc)
}

// errNotFound is merge's answer for deleting a missing key.
var errNotFound = errors.New("not found")

// rewrite writes doc as the store, in the canonical layout.
func (s *Store) rewrite(k *keys, doc *document) error {
	plain, err := encodeDocument(doc)
	if err != nil {
		return fmt.Errorf("failed to encode credential store: %v", err)
	}
	return s.writeStore(k, func(w io.Writer) error {
		_, err := w.Write(plain)
		return err
	})
}

// writeStore writes the store atomically, encrypting what fill writes.
func (s *Store) writeStore(k *keys, fill func(io.Writer) error) error {
	ids, r, err := k.load()
	if err != nil {
		return err
	}
	fr := &fileKeyRecipient{r: r}
	err = atomicfile.Write(s.path, atomicfile.Options{}, func(f io.Writer) error {
		w, err := age.Encrypt(f, fr)
		if err != nil {
			return fmt.Errorf("failed to encrypt credential store: %v", err)
		}
		if err := fill(w); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("failed to encrypt credential store: %v", err)
		}
		return nil
	})
	if err == errNotCanonical || errors.As(err, new(*payloadError)) {
		return err
	}
	if err != nil {
		return fmt.Errorf("failed to write credential store %s: %v", s.path, err)
	}
	if until := s.fileKeysUntil(k); !until.IsZero() && len(ids) > 0 && fr.fileKey != nil {
		if _, plugin := ids[0].(*pluginIdentity); !plugin {
			s.saveFileKey(until, fileKeyDigest(k.text, fr.stanzas), fr.fileKey)
		}
	}
	return nil
}

// merge streams the old canonical plaintext into the new store, copying
// every line verbatim but the key's: it is replaced, inserted in order or
// left out. The header's counts come from the old ones and the change.
// Every line is checked as it is copied (see eachLine) and the line count
// against the header; a plaintext that fails (a hand edit that kept the
// header) returns errNotCanonical before anything is renamed into place.
//
// closeOld is called once the old file has been read through.
func (s *Store) merge(p *plainText, k *keys, key string, put *entry, closeOld func()) error {
	l, err := p.readLayout()
	if err != nil {
		return err
	}
	fd, err := p.search(l, key)
	if err != nil {
		return err
	}
	var newLine []byte
	switch {
	case put == nil && !fd.ok, put != nil && fd.ok && fd.e == *put:
		// Nothing to write; the answer stands only for a valid store.
		if err := p.checkAll(l); err != nil {
			return err
		}
		if put == nil {
			return errNotFound
		}
		return nil
	case put != nil:
		if newLine, err = encodeLine(key, *put); err != nil {
			return fmt.Errorf("failed to encode credential store: %v", err)
		}
	}

	// The new body: the lines before the key's, the new line, the lines
	// after, each but the last followed by a comma.
	prefix, suffix := fd.at-l.start, l.end-fd.next
	lines, n := l.lines, prefix+suffix
	switch {
	case put != nil && !fd.ok:
		lines++
	case put == nil:
		lines--
	}
	if put != nil {
		n += int64(len(newLine)) + 1 // and its newline
		if suffix > 0 {
			n++ // its comma
		} else if !fd.ok && prefix > 0 {
			n++ // a comma for the old last line
		}
	} else if suffix == 0 && prefix > 0 {
		n-- // the new last line loses its comma
	}

	if err := p.checkHeader(l); err != nil {
		return err
	}
	return s.writeStore(k, func(w io.Writer) error {
		header := fmt.Sprintf("%s%d%s%d%s", canonicalPrefix, lines, canonicalMid, n, canonicalOpen)
		bw := &bodyWriter{w: w, start: int64(len(header))}
		if _, err := io.WriteString(w, header); err != nil {
			return err
		}
		order := &keyOrder{}
		copyLine := func(line []byte, f lineFields) error {
			if f.comma {
				line = line[:len(line)-1]
			}
			return bw.line(line)
		}
		count, err := p.eachLine(l, l.start, fd.at, order, copyLine)
		if err != nil {
			return err
		}
		if fd.ok {
			// The key's own line, checked in place, then replaced or dropped.
			c, err := p.eachLine(l, fd.at, fd.next, order, func([]byte, lineFields) error { return nil })
			if err != nil {
				return err
			}
			count += c
		} else if put != nil && !order.next([]byte(key)) {
			return errNotCanonical
		}
		if put != nil {
			if err := bw.line(newLine); err != nil {
				return err
			}
		}
		c, err := p.eachLine(l, fd.next, l.end, order, copyLine)
		if err != nil {
			return err
		}
		if count+c != l.lines || !order.allListed(l) {
			return errNotCanonical
		}
		if err := bw.end(); err != nil {
			return err
		}
		if bw.n != n {
			return fmt.Errorf("internal error: wrote %d bytes of entries, the header says %d", bw.n, n)
		}
		closeOld()
		_, err = w.Write(bw.index.trailer(lines, bw.start, n))
		return err
	})
}

// checkAll checks every entry line, the line count, the index and the
// header.
func (p *plainText) checkAll(l layout) error {
	return p.eachOfAll(l, func([]byte, lineFields) error { return nil })
}

// eachOfAll reads every entry line in order, as eachLine does, then checks
// what only a whole read can: the line count, the lines the index lists,
// and the header against the index.
func (p *plainText) eachOfAll(l layout, fn func(line []byte, f lineFields) error) error {
	order := &keyOrder{}
	n, err := p.eachLine(l, l.start, l.end, order, fn)
	if err == nil && (n != l.lines || !order.allListed(l)) {
		err = errNotCanonical
	}
	if err == nil {
		err = p.checkHeader(l)
	}
	return err
}

// bodyWriter writes entry lines, a comma and a newline between them and a
// newline after the last, counting the bytes and noting the chunk index.
type bodyWriter struct {
	w       io.Writer
	start   int64 // the body's offset in the plaintext
	n       int64
	started bool
	index   indexBuilder
}

var lineSep = []byte(",\n")

func (b *bodyWriter) line(line []byte) error {
	if b.started {
		if _, err := b.w.Write(lineSep); err != nil {
			return err
		}
		b.n += int64(len(lineSep))
	}
	b.started = true
	b.index.add(b.start+b.n, line)
	_, err := b.w.Write(line)
	b.n += int64(len(line))
	return err
}

func (b *bodyWriter) end() error {
	if !b.started {
		return nil
	}
	_, err := b.w.Write(lineSep[1:])
	b.n++
	return err
}

// ensureDir creates the store directory with mode 0700.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create store directory %s: %v", dir, err)
	}
	return nil
}

// removeStaleTemps deletes temporary files left by a writer that died; the
// caller holds the lock, so no live writer owns them.
func (s *Store) removeStaleTemps() {
	atomicfile.RemoveStale(s.opts.Dir, StoreFileName)
	atomicfile.RemoveStale(s.opts.Dir, GeneratedIdentityName)
	atomicfile.RemoveStale(s.opts.Dir, ProtectedIdentityName)
	atomicfile.RemoveStale(s.opts.Dir, KeychainMarkerName)
}
