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
// (see codec.go), so that a get parses one line rather than every entry.
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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// File names inside the store directory.
const (
	StoreFileName = "store.age"
	lockFileName  = "store.lock"
	tempPrefix    = ".store.age.tmp-"
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
}

// Store is a credential store in an age-encrypted file.
type Store struct {
	opts Options
	path string
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

// Get implements helper.Store.
func (s *Store) Get(ctx context.Context, key helper.Key) (helper.Credentials, error) {
	plain, err := s.read()
	if err != nil || plain == nil {
		if err == nil {
			err = fmt.Errorf("%s: %w", key, helper.ErrNotFound)
		}
		return helper.Credentials{}, err
	}
	e, ok, err := lookupEntry(plain, key.String())
	if err != nil {
		return helper.Credentials{}, s.contentError(err)
	}
	if !ok {
		return helper.Credentials{}, fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	}
	return helper.Credentials{ServerURL: e.ServerURL, Username: e.Username, Secret: e.Secret}, nil
}

// List implements helper.Store.
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	plain, err := s.read()
	if err != nil || plain == nil {
		return map[string]string{}, err
	}
	m, err := listEntries(plain)
	if err != nil {
		return nil, s.contentError(err)
	}
	return m, nil
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
	return s.update(ctx, func(doc *document) (bool, error) {
		e := entry{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret}
		if old, ok := doc.Entries[key.String()]; ok && old == e {
			return false, nil // unchanged: skip the write
		}
		doc.Entries[key.String()] = e
		return true, nil
	})
}

// Delete implements helper.Store.
func (s *Store) Delete(ctx context.Context, key helper.Key) error {
	return s.update(ctx, func(doc *document) (bool, error) {
		if _, ok := doc.Entries[key.String()]; !ok {
			return false, fmt.Errorf("%s: %w", key, helper.ErrNotFound)
		}
		delete(doc.Entries, key.String())
		return true, nil
	})
}

// read loads and decrypts the store, returning the plaintext, or nil if the
// store file does not exist. Any other failure is an error.
func (s *Store) read() ([]byte, error) {
	data, err := s.readFile()
	if err != nil || data == nil {
		return nil, err
	}
	k, err := s.loadKeys(false)
	if err != nil {
		return nil, s.keyError(err)
	}
	return s.decrypt(data, k)
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

// readFile returns the store file's bytes, or nil if it does not exist.
func (s *Store) readFile() ([]byte, error) {
	fi, err := os.Lstat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, helper.WithHint(
			fmt.Errorf("refusing to use credential store %s: it is a symbolic link", s.path),
			"point DOCKER_CREDENTIAL_NOTATION_STORE_DIR at the directory that holds the real file instead")
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("refusing to use credential store %s: not a regular file", s.path)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	defer f.Close()
	// Read into a buffer of the file's size: one allocation.
	buf := bytes.NewBuffer(make([]byte, 0, min(fi.Size(), maxStoreFile)+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(f, maxStoreFile+1))
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("failed to read credential store %s: %v", s.path, err)
	}
	if len(data) > maxStoreFile {
		return nil, fmt.Errorf("refusing to read credential store %s: larger than %d MiB", s.path, maxStoreFile>>20)
	}
	if len(data) == 0 {
		return nil, helper.WithHint(
			fmt.Errorf("failed to decrypt credential store %s: the file is empty (truncated)", s.path),
			"restore the file from a backup; it was not modified")
	}
	return data, nil
}

const storeHint = "the store was not modified; check DOCKER_CREDENTIAL_NOTATION_IDENTITY, _IDENTITY_FILE and _PASSPHRASE, or restore the file from a backup"

func (s *Store) decrypt(data []byte, k *keys) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(data), k.identities...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, helper.WithHint(
				fmt.Errorf("failed to decrypt credential store %s: wrong key: the %s key from %s does not match it", s.path, k.source, k.origin),
				storeHint)
		}
		return nil, helper.WithHint(
			fmt.Errorf("failed to decrypt credential store %s: not a valid age file, or its header is damaged: %v", s.path, err),
			storeHint)
	}
	// The plaintext is a little shorter than the file: one allocation.
	buf := bytes.NewBuffer(make([]byte, 0, len(data)+bytes.MinRead))
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, helper.WithHint(
			fmt.Errorf("failed to decrypt credential store %s: the file is truncated or has been tampered with: %v", s.path, err),
			storeHint)
	}
	return buf.Bytes(), nil
}

// update runs fn on the current document under the store lock and writes
// the result back atomically if fn reports a change.
func (s *Store) update(ctx context.Context, fn func(*document) (bool, error)) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultLockTimeout)
		defer cancel()
	}
	// With no store yet, an update that changes nothing (erasing a missing
	// entry, as `docker logout` does) must not create a directory, a key or
	// ask for a passphrase just to answer not-found.
	if data, err := s.readFile(); err == nil && data == nil {
		if changed, err := fn(&document{Version: SchemaVersion, Entries: map[string]entry{}}); err != nil || !changed {
			return err
		}
	}
	if err := ensureDir(s.opts.Dir); err != nil {
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

	data, err := s.readFile()
	if err != nil {
		return err
	}
	k, err := s.loadKeys(data == nil)
	if err != nil {
		return s.keyError(err)
	}
	doc := &document{Version: SchemaVersion, Entries: map[string]entry{}}
	if data != nil {
		plain, err := s.decrypt(data, k)
		if err != nil {
			return err
		}
		if doc, err = parseDocument(plain); err != nil {
			return s.contentError(err)
		}
	}
	changed, err := fn(doc)
	if err != nil || !changed {
		return err
	}
	plain, err := encodeDocument(doc)
	if err != nil {
		return fmt.Errorf("failed to encode credential store: %v", err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, k.recipient)
	if err != nil {
		return fmt.Errorf("failed to encrypt credential store: %v", err)
	}
	if _, err := w.Write(plain); err != nil {
		return fmt.Errorf("failed to encrypt credential store: %v", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("failed to encrypt credential store: %v", err)
	}
	if err := writeFileAtomic(s.path, buf.Bytes(), true); err != nil {
		return fmt.Errorf("failed to write credential store %s: %v", s.path, err)
	}
	return nil
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
	matches, _ := filepath.Glob(filepath.Join(s.opts.Dir, tempPrefix+"*"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory (mode 0600, fsynced, renamed into place, directory fsynced).
// With replace unset, an existing path is left alone and an error returned.
func writeFileAtomic(path string, data []byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists", path)
		}
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return err
	}
	return nil
}
