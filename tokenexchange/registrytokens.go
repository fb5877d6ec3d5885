package tokenexchange

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// registryTokensSuffix derives the key under which the `token` and `check`
// commands keep the tokens a registry's own token service issued
// (internal/registryauth's token memory): "registry.example.com" keeps
// them under "registry.example.com/@registry-tokens", a reserved key like
// the access-token cache's, so the store refuses it from clients, Get and
// Delete answer not-found for it and List leaves it out.
const registryTokensSuffix = reservedMarker + "registry-tokens"

// registryTokensUsername is the username of that entry, for whoever
// decrypts the store by hand.
const registryTokensUsername = "<registry-tokens>"

// maxRegistryTokensLock bounds the wait for the lock when the context has
// no deadline: the holder fetches one token, within its own timeout.
const maxRegistryTokensLock = 15 * time.Second

// registryTokensKey is the reserved key of the registry key k's tokens.
func registryTokensKey(k helper.Key) (helper.Key, error) {
	rk, err := helper.ParseServerURL(k.String() + registryTokensSuffix)
	if err != nil || rk.String() != k.String()+registryTokensSuffix {
		return helper.Key{}, fmt.Errorf("failed to derive the registry token key for %s", k)
	}
	return rk, nil
}

// LoadRegistryTokens returns what [Store.UpdateRegistryTokens] last kept
// for the registry key, "" when nothing is kept. It reads the wrapped
// store, without a lock.
func (s *Store) LoadRegistryTokens(ctx context.Context, key helper.Key) (string, error) {
	if isReserved(key) {
		return "", notFound(key)
	}
	rk, err := registryTokensKey(key)
	if err != nil {
		return "", err
	}
	c, err := s.inner.Get(ctx, rk)
	switch {
	case errors.Is(err, helper.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("failed to read the registry tokens kept for %s: %w", key, err)
	}
	return c.Secret, nil
}

// UpdateRegistryTokens replaces what is kept for the registry key with what
// update returns for the current content ("" when none), under a lock of
// its own (RegistryTokensLockFileName), so that concurrent processes neither lose each other's
// tokens nor fetch the same one twice: update may fetch a token while the
// others wait. An answer equal to the current content writes nothing; ""
// deletes the entry. The content is encrypted like every other entry.
// Storing or erasing the registry's credential drops it.
func (s *Store) UpdateRegistryTokens(ctx context.Context, key helper.Key, update func(current string) (string, error)) error {
	if isReserved(key) {
		return notFound(key)
	}
	rk, err := registryTokensKey(key)
	if err != nil {
		return err
	}
	if s.registryTokensLock != "" {
		if err := os.MkdirAll(filepath.Dir(s.registryTokensLock), 0o700); err != nil {
			return fmt.Errorf("failed to create the store directory: %v", err)
		}
		lctx := ctx
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			lctx, cancel = context.WithTimeout(ctx, maxRegistryTokensLock)
			defer cancel()
		}
		l, err := filelock.Acquire(lctx, s.registryTokensLock)
		if err != nil {
			return fmt.Errorf("failed to lock the registry tokens of %s: %w", key, err)
		}
		defer func() { _ = l.Unlock() }()
	}
	current, err := s.LoadRegistryTokens(ctx, key)
	if err != nil {
		return err
	}
	next, err := update(current)
	if err != nil || next == current {
		return err
	}
	if next == "" {
		if err := s.inner.Delete(ctx, rk); err != nil && !errors.Is(err, helper.ErrNotFound) {
			return fmt.Errorf("failed to delete the registry tokens kept for %s: %w", key, err)
		}
		return nil
	}
	if err := s.inner.Put(ctx, rk, helper.Credentials{ServerURL: rk.String(), Username: registryTokensUsername, Secret: next}); err != nil {
		return fmt.Errorf("failed to keep the registry tokens for %s: %w", key, err)
	}
	return nil
}

// dropRegistryTokens deletes the tokens kept for the registry key, if any,
// after its credential was stored or erased, and reports whether there
// were some. It costs one read when there are none. A failure is only a
// warning: the tokens are bound to the credential that obtained them
// (internal/registryauth), so they are never used with another.
func (s *Store) dropRegistryTokens(ctx context.Context, key helper.Key) bool {
	rk, err := registryTokensKey(key)
	if err != nil {
		return false
	}
	if _, err := s.inner.Get(ctx, rk); err != nil {
		return false
	}
	if err := s.inner.Delete(ctx, rk); err != nil && !errors.Is(err, helper.ErrNotFound) {
		s.warnf("failed to delete the registry tokens kept for %s: %v; they are bound to the old credential and will not be used", key, err)
		return false
	}
	return true
}
