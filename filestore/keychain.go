package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// The generated identity in the OS keychain (protect --keychain): the
// store stays a file, its identity moves into one keychain item
// (Options.Vault), and identity.keychain, which holds nothing secret, says
// so. A get reads it from Options.Cache (the kernel keyring on Linux) or,
// when not cached, from the keychain, and caches it.

// KeychainMarkerName is the file that says the identity is in the OS
// keychain.
const KeychainMarkerName = "identity.keychain"

// KeyVault keeps one secret in the OS keychain.
type KeyVault interface {
	// Load returns the secret, or nil when there is none.
	Load(ctx context.Context) ([]byte, error)
	// Save sets the secret.
	Save(ctx context.Context, secret []byte) error
	// Delete removes the secret; a missing one is no error.
	Delete(ctx context.Context) error
}

// vaultTimeout bounds a keychain call whose context has no deadline: a
// hung D-Bus must not hang a pull.
const vaultTimeout = 10 * time.Second

func (s *Store) keychainMarkerPath() string {
	return filepath.Join(s.opts.Dir, KeychainMarkerName)
}

func vaultContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, vaultTimeout)
}

var errNoVault = helper.WithHint(errors.New("no OS keychain is configured for the file store's key"),
	"run '"+helper.ProgramName+" doctor' to see whether a keychain answers here")

// keychainKeys loads the identity from the cache, else from the keychain
// (and caches it).
func (s *Store) keychainKeys() (*keys, error) {
	if k := s.cachedKeys(KeySourceKeychain); k != nil {
		return k, nil
	}
	k, err := s.vaultKeys(context.Background())
	if err != nil {
		return nil, err
	}
	if s.opts.Cache != nil {
		s.cacheKeys(k, s.unlockFor())
	}
	return k, nil
}

// vaultKeys reads the identity from the keychain.
func (s *Store) vaultKeys(ctx context.Context) (*keys, error) {
	if s.opts.Vault == nil {
		return nil, errNoVault
	}
	ctx, cancel := vaultContext(ctx)
	defer cancel()
	text, err := s.opts.Vault.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to read the store's key from the OS keychain: %w", err)
	}
	if text == nil {
		return nil, helper.WithHint(fmt.Errorf("failed to read the store's key from the OS keychain: it is not there (%s says it is)", s.keychainMarkerPath()),
			"the keychain item was removed outside "+helper.ProgramName+"; restore it (or identity.txt) from a backup")
	}
	ids, err := parseIdentities(bytes.NewReader(text), s.pluginUI())
	if err != nil {
		return nil, fmt.Errorf("failed to parse the store's key from the OS keychain: %v", err)
	}
	return newKeysText(KeySourceKeychain, "the OS keychain", ids, text)
}

// keyLines is an identity file's content without its comments: what goes
// into the keychain, whose items are small on macOS and Windows (a hybrid
// identity's public-key comment alone is 2 KB).
func keyLines(text []byte) []byte {
	var b bytes.Buffer
	for line := range strings.Lines(string(text)) {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// ProtectKeychain moves the store's identity into the OS keychain: it saves
// it there, reads it back, writes identity.keychain, and then removes
// identity.txt (or identity.age). Interrupted, the store opens with the key
// the files still name. The store's key is left uncached.
func (s *Store) ProtectKeychain(ctx context.Context) error {
	if s.opts.Vault == nil {
		return errNoVault
	}
	src, err := s.resolveSource()
	if err != nil {
		return err
	}
	switch src {
	case KeySourceKeychain:
		return nil
	case KeySourceGenerated, KeySourceProtected:
	default:
		return helper.WithHint(fmt.Errorf("failed to protect the store's key: the key source is %s, not the store's own key", src),
			"protect moves the identity the store generated (identity.txt); a key from the environment, an identity file or a plugin is protected where it lives")
	}
	lock, cancel, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	defer lock.Unlock()
	s.dropFileKeys() // as Protect does
	plain := s.generatedIdentityPath()
	var k *keys
	if !fileExists(s.path) && !fileExists(plain) && src == KeySourceGenerated {
		var id *age.HybridIdentity
		var text []byte
		if id, text, err = newIdentity(); err == nil {
			k, err = newKeysText(KeySourceKeychain, "the OS keychain", []age.Identity{id}, text)
		}
	} else {
		k, err = s.loadKeys(false)
	}
	if err != nil {
		return s.keyError(err)
	}
	if err := s.matchesStore(k); err != nil {
		return err
	}
	secret := keyLines(k.text)
	vctx, vcancel := vaultContext(ctx)
	defer vcancel()
	if err := s.opts.Vault.Save(vctx, secret); err != nil {
		return fmt.Errorf("failed to save the store's key in the OS keychain: %w", err)
	}
	got, err := s.opts.Vault.Load(vctx)
	if err != nil || !bytes.Equal(got, secret) {
		return fmt.Errorf("failed to save the store's key in the OS keychain: it does not read back (%v); nothing was changed", err)
	}
	marker := s.keychainMarkerPath()
	note := "# docker-credential-notation: the key of store.age is in the OS keychain, not here.\n# 'docker-credential-notation protect --undo' brings it back to identity.txt.\n"
	if err := atomicfile.WriteFile(marker, []byte(note), atomicfile.Options{}); err != nil {
		return fmt.Errorf("failed to write %s: %v", marker, err)
	}
	if src == KeySourceProtected {
		if err := removeFile(s.protectedIdentityPath()); err != nil {
			return err
		}
	}
	if err := removeKeyFile(plain); err != nil {
		return err
	}
	s.dropCache()
	s.forget()
	return nil
}

// leaveKeychain removes identity.keychain, then the keychain item: the
// caller has written the identity where it goes next.
func (s *Store) leaveKeychain(ctx context.Context) error {
	if err := removeFile(s.keychainMarkerPath()); err != nil {
		return err
	}
	if s.opts.Vault == nil {
		return nil
	}
	vctx, cancel := vaultContext(ctx)
	defer cancel()
	if err := s.opts.Vault.Delete(vctx); err != nil {
		// The store no longer uses it; say so rather than fail.
		return helper.WithHint(fmt.Errorf("the store's key no longer uses the OS keychain, but its item could not be removed: %w", err),
			"remove the keychain item by hand (service "+helper.ProgramName+"-file-key)")
	}
	return nil
}
