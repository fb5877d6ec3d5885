package filestore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// KeySource says where the store's age key comes from.
type KeySource string

// The key sources, in the order that KeySourceAuto tries them.
const (
	// KeySourceAuto picks the first that applies: Identity, IdentityFile,
	// a protected generated identity (identity.age), Passphrase, a store
	// file that is passphrase-encrypted (which then prompts), and finally
	// the generated identity.
	KeySourceAuto KeySource = "auto"
	// KeySourceIdentity uses the age identities in Options.Identity.
	KeySourceIdentity KeySource = "identity"
	// KeySourceIdentityFile uses the age identities in Options.IdentityFile,
	// which may be plugin identities (AGE-PLUGIN-…).
	KeySourceIdentityFile KeySource = "identity-file"
	// KeySourcePassphrase uses Options.Passphrase, or asks for one through
	// Options.Prompt, with age's scrypt recipient.
	KeySourcePassphrase KeySource = "passphrase"
	// KeySourceGenerated uses the identity file the store generates in its
	// own directory on first use (hybrid post-quantum, ML-KEM-768 + X25519).
	KeySourceGenerated KeySource = "generated"
	// KeySourceProtected uses the generated identity after Protect wrapped
	// it in a passphrase-encrypted age file (identity.age): unlocked from
	// Options.Cache, or with Options.Passphrase, or through Options.Prompt.
	// A configured KeySourceGenerated means this once identity.age exists.
	KeySourceProtected KeySource = "protected"
	// KeySourceKeychain uses the generated identity after ProtectKeychain
	// moved it into the OS keychain (Options.Vault; identity.keychain says
	// so): from Options.Cache, else from the keychain, then cached.
	KeySourceKeychain KeySource = "keychain"
)

// ParseKeySource checks a key source name from configuration.
func ParseKeySource(s string) (KeySource, error) {
	switch k := KeySource(s); k {
	case "", KeySourceAuto:
		return KeySourceAuto, nil
	case KeySourceIdentity, KeySourceIdentityFile, KeySourcePassphrase, KeySourceGenerated, KeySourceProtected, KeySourceKeychain:
		return k, nil
	}
	return "", fmt.Errorf("unknown key source %q (want auto, identity, identity-file, passphrase, generated, protected or keychain)", s)
}

// GeneratedIdentityName is the name of the generated identity file in the
// store directory.
const GeneratedIdentityName = "identity.txt"

// maxIdentityFile bounds an identity file read; real ones are a few hundred
// bytes, age itself stops at 16 MiB.
const maxIdentityFile = 1 << 20

// keys is a resolved key source: what decrypts the store and what it is
// encrypted to.
type keys struct {
	source KeySource
	origin string // where the key came from, for messages; never the key
	// text is the identity file's content, for the generated and the
	// protected identity: what Protect wraps and Unprotect writes back.
	text []byte
	// cached says the identity came from Options.Cache, unlocked until
	// until: if it no longer opens the store, it is dropped. until is also
	// set when this process put the identity there (see fileKeysUntil).
	cached bool
	until  time.Time
	// probe says the keys only check that they open the store (protect,
	// unlock): the file-key cache is neither read nor written.
	probe bool

	parsed *parsedKeys
}

// parsedKeys are the identities and the recipient, parsed on first use
// for an identity read as text: a hybrid identity's ML-KEM key expansion
// is a third of a cold get, and a get whose file key is cached (see
// filekey.go) never needs it.
type parsedKeys struct {
	once  sync.Once
	parse func() ([]age.Identity, error)
	ids   []age.Identity
	r     age.Recipient
	err   error
}

// load returns the identities and the recipient, parsing them on the first
// call.
func (k *keys) load() ([]age.Identity, age.Recipient, error) {
	p := k.parsed
	p.once.Do(func() {
		if p.parse != nil {
			if p.ids, p.err = p.parse(); p.err != nil {
				return
			}
		}
		if p.r == nil {
			p.r, p.err = recipientOf(p.ids[0], k.origin)
		}
	})
	return p.ids, p.r, p.err
}

// loaded returns the identities if they have been parsed (nil before).
func (k *keys) loaded() []age.Identity { return k.parsed.ids }

// resolveSource decides which key source applies, without loading anything.
func (s *Store) resolveSource() (KeySource, error) {
	o := s.opts
	src := o.KeySource
	if src == "" {
		src = KeySourceAuto
	}
	if src == KeySourceGenerated {
		if p := s.protection(); p != "" {
			return p, nil
		}
	}
	if src != KeySourceAuto {
		return src, nil
	}
	switch {
	case o.Identity != "":
		return KeySourceIdentity, nil
	case o.IdentityFile != "":
		return KeySourceIdentityFile, nil
	}
	if p := s.protection(); p != "" {
		return p, nil
	}
	if o.Passphrase != "" {
		return KeySourcePassphrase, nil
	}
	scrypt, err := s.isPassphraseEncrypted()
	if err != nil {
		return "", err
	}
	if scrypt {
		return KeySourcePassphrase, nil
	}
	return KeySourceGenerated, nil
}

// MaxScryptWorkFactor is the highest scrypt work factor (log2 N) a
// passphrase store may ask for. The helper writes age's default, 18 (about
// 0.8 s and 256 MiB per process); age accepts up to 22 (16 s and 4 GiB), so
// whoever could swap the store file could make every pull pay that. Above
// the cap, decryption fails at once with age's "work factor too large".
const MaxScryptWorkFactor = 19

// isPassphraseEncrypted reports whether the store file exists and is
// encrypted with a passphrase (age's scrypt stanza).
func (s *Store) isPassphraseEncrypted() (bool, error) {
	f, err := atomicfile.OpenRegular(s.path, true)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to open credential store %s: %w", s.path, err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return bytes.HasPrefix(head[:n], []byte("age-encryption.org/v1\n-> scrypt ")), nil
}

// loadKeys resolves and loads the key, once per Store: parsing a hybrid
// identity (ML-KEM-768 key expansion) or asking for a passphrase is done
// once however many operations the process runs. With create set, a missing
// generated identity is created; without it, errNoKey is returned so that
// read-only operations on a store that does not exist yet create nothing.
func (s *Store) loadKeys(create bool) (*keys, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	k, err := s.resolveKeys(create)
	if err == nil {
		s.keys = k
	}
	return k, err
}

func (s *Store) resolveKeys(create bool) (*keys, error) {
	src, err := s.resolveSource()
	if err != nil {
		return nil, err
	}
	o := s.opts
	switch src {
	case KeySourceIdentity:
		if o.Identity == "" {
			return nil, helper.WithHint(errors.New("key source is identity but no identity is set"),
				"set DOCKER_CREDENTIAL_NOTATION_IDENTITY to an age identity (AGE-SECRET-KEY-…)")
		}
		ids, err := parseIdentities(strings.NewReader(o.Identity), s.pluginUI())
		if err != nil {
			return nil, fmt.Errorf("failed to parse the identity from the environment: %v", err)
		}
		return newKeys(src, "environment", ids)
	case KeySourceIdentityFile:
		if o.IdentityFile == "" {
			return nil, helper.WithHint(errors.New("key source is identity-file but no identity file is set"),
				"set DOCKER_CREDENTIAL_NOTATION_IDENTITY_FILE to the path of an age identity file")
		}
		ids, err := readIdentityFile(o.IdentityFile, s.pluginUI())
		if err != nil {
			return nil, err
		}
		return newKeys(src, o.IdentityFile, ids)
	case KeySourcePassphrase:
		pass := o.Passphrase
		if pass == "" {
			if o.Prompt == nil {
				return nil, helper.WithHint(errors.New("the credential store needs a passphrase and no terminal is available to ask for it"),
					"set DOCKER_CREDENTIAL_NOTATION_PASSPHRASE, or run the command from a terminal")
			}
			if pass, err = o.Prompt("Passphrase for the docker-credential-notation store: "); err != nil {
				return nil, fmt.Errorf("failed to read the passphrase: %v", err)
			}
			if pass == "" {
				return nil, errors.New("failed to read the passphrase: it is empty")
			}
		}
		id, err := age.NewScryptIdentity(pass)
		if err != nil {
			return nil, fmt.Errorf("invalid passphrase: %v", err)
		}
		id.SetMaxWorkFactor(MaxScryptWorkFactor)
		r, err := age.NewScryptRecipient(pass)
		if err != nil {
			return nil, fmt.Errorf("invalid passphrase: %v", err)
		}
		origin := "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE"
		if o.Passphrase == "" {
			origin = "terminal prompt"
		}
		return &keys{source: src, origin: origin, parsed: &parsedKeys{ids: []age.Identity{id}, r: r}}, nil
	case KeySourceGenerated:
		path := s.generatedIdentityPath()
		text, err := readKeyFile(path)
		if errors.Is(err, os.ErrNotExist) {
			if !create {
				return nil, errNoKey
			}
			id, text, err := generateIdentity(path)
			if err != nil {
				return nil, err
			}
			return newKeysText(src, path, []age.Identity{id}, text)
		}
		if err != nil {
			return nil, err
		}
		return s.lazyKeys(src, path, text, func(err error) error {
			return fmt.Errorf("failed to parse identity file %s: %v", path, err)
		}), nil
	case KeySourceProtected:
		return s.protectedKeys()
	case KeySourceKeychain:
		return s.keychainKeys()
	}
	return nil, fmt.Errorf("unknown key source %q", src)
}

// errNoKey means the generated identity does not exist yet.
var errNoKey = errors.New("no identity has been generated yet")

// newKeys encrypts to the first identity; the others still decrypt, which
// lets a user rotate keys by putting the new identity first.
func newKeys(src KeySource, origin string, ids []age.Identity) (*keys, error) {
	k := &keys{source: src, origin: origin, parsed: &parsedKeys{ids: ids}}
	if _, _, err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

func newKeysText(src KeySource, origin string, ids []age.Identity, text []byte) (*keys, error) {
	k, err := newKeys(src, origin, ids)
	if err == nil {
		k.text = text
	}
	return k, err
}

// lazyKeys are the identities in text, parsed on first use; describe
// explains a parse error.
func (s *Store) lazyKeys(src KeySource, origin string, text []byte, describe func(error) error) *keys {
	ui := s.pluginUI()
	parse := func() ([]age.Identity, error) {
		ids, err := parseIdentities(bytes.NewReader(text), ui)
		if err != nil {
			return nil, &identityError{describe(err)}
		}
		return ids, nil
	}
	return &keys{source: src, origin: origin, text: text, parsed: &parsedKeys{parse: parse}}
}

// identityError is a lazily parsed identity that does not parse, as it
// comes back through age's Unwrap.
type identityError struct{ err error }

func (e *identityError) Error() string { return e.err.Error() }
func (e *identityError) Unwrap() error { return e.err }

// recipientOf is what the store is encrypted to for identity id.
func recipientOf(id age.Identity, origin string) (age.Recipient, error) {
	switch id := id.(type) {
	case *age.HybridIdentity:
		return id.Recipient(), nil
	case *age.X25519Identity:
		return id.Recipient(), nil
	case *pluginIdentity:
		return id.Recipient(), nil
	}
	return nil, fmt.Errorf("unsupported identity type %T in %s", id, origin)
}

// readIdentityFile reads an identity file, refusing one that other users can
// read: a key that has leaked protects nothing.
func readIdentityFile(path string, ui *plugin.ClientUI) ([]age.Identity, error) {
	text, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	ids, err := parseIdentities(bytes.NewReader(text), ui)
	if err != nil {
		return nil, fmt.Errorf("failed to parse identity file %s: %v", path, err)
	}
	return ids, nil
}

// readKeyFile reads a key file (an identity file, or the wrapped identity),
// bounded, refusing one that is not a regular file of this user's that only
// this user can read.
func readKeyFile(path string) ([]byte, error) {
	// Never blocks on a FIFO: a planted one would hang every pull.
	f, err := atomicfile.OpenRegular(path, true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("failed to read identity file %s: %w", path, err)
		}
		return nil, fmt.Errorf("failed to read identity file %s: %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("failed to read identity file %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("failed to read identity file %s: not a regular file", path)
	}
	if uid, other := ownedByOther(fi); other {
		return nil, helper.WithHint(
			fmt.Errorf("refusing to use identity file %s: it is owned by uid %d, not by you", path, uid),
			"use an identity file of your own")
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, helper.WithHint(
			fmt.Errorf("refusing to use identity file %s: it is accessible by other users (mode %04o)", path, fi.Mode().Perm()),
			fmt.Sprintf("run: chmod 600 %s", path))
	}
	text, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read identity file %s: %v", path, err)
	}
	if len(text) > maxIdentityFile {
		return nil, fmt.Errorf("refusing identity file %s: larger than %d KiB", path, maxIdentityFile>>10)
	}
	return text, nil
}

// parseIdentities reads age identities, one per line, '#' comments and
// blank lines ignored: native ones (AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1…)
// and plugin ones (AGE-PLUGIN-NAME-1…, run through age-plugin-name on PATH).
// Errors never quote a line, since lines are secret.
func parseIdentities(r io.Reader, ui *plugin.ClientUI) ([]age.Identity, error) {
	if ui == nil {
		// age's plugin client dereferences its UI unconditionally; an empty
		// one makes every request for interaction fail, as Options promises.
		ui = &plugin.ClientUI{}
	}
	var ids []age.Identity
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxIdentityFile)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "AGE-PLUGIN-") {
			id, err := plugin.NewIdentity(line, ui)
			if err != nil {
				return nil, fmt.Errorf("line %d: invalid plugin identity", n)
			}
			ids = append(ids, &pluginIdentity{Identity: id})
			continue
		}
		parsed, err := age.ParseIdentities(strings.NewReader(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: not an age identity (want AGE-SECRET-KEY-…, AGE-SECRET-KEY-PQ-… or AGE-PLUGIN-…)", n)
		}
		ids = append(ids, parsed...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("no identity found")
	}
	return ids, nil
}

// generateIdentity writes a new hybrid post-quantum identity in age-keygen's
// format, atomically, never replacing an existing file, and returns it and
// the file's content. The caller holds the store lock.
func generateIdentity(path string) (*age.HybridIdentity, []byte, error) {
	id, content, err := newIdentity()
	if err != nil {
		return nil, nil, err
	}
	if err := atomicfile.WriteFile(path, content, atomicfile.Options{NoReplace: true}); err != nil {
		return nil, nil, fmt.Errorf("failed to write identity file: %v", err)
	}
	return id, content, nil
}

// newIdentity generates a hybrid post-quantum identity and its identity
// file's content, in age-keygen's format.
func newIdentity() (*age.HybridIdentity, []byte, error) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate an identity: %v", err)
	}
	content := fmt.Sprintf("# created: %s\n# public key: %s\n# generated by docker-credential-notation: the key of its credential store\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	return id, []byte(content), nil
}
