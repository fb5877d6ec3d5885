package keyring

import (
	"context"
	"errors"
)

// SecretService is the service name of the items that Secret keeps: apart
// from DefaultService, so that the credential layout (its index, its
// garbage collection of what a crash left) never sees them.
const SecretService = DefaultService + "-file-key"

// Secret is one item of the keychain outside the credential layout, named
// by SecretService and a user: main gives one to the file store to keep
// its identity in after `protect --keychain`. Each call is bounded like
// the Store's (the context's deadline, else the Store's timeout) and a
// failure is diagnosed the same way (unavailable, locked, timed out, with
// a hint).
type Secret struct {
	s    *Store
	user string
}

// Secret returns the item named user.
func (s *Store) Secret(user string) *Secret { return &Secret{s: s, user: user} }

func (x *Secret) caller() *caller {
	return &caller{kr: x.s.kr, service: SecretService}
}

// Load returns the item's secret, or nil when there is no such item.
func (x *Secret) Load(ctx context.Context) ([]byte, error) {
	ctx, cancel := x.s.withTimeout(ctx)
	defer cancel()
	v, err := x.caller().get(ctx, x.user)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, x.s.explain(ctx, "read the keychain item "+x.user, err)
	}
	return []byte(v), nil
}

// Save sets the item's secret.
func (x *Secret) Save(ctx context.Context, secret []byte) error {
	if len(secret) == 0 {
		return errors.New("failed to write the keychain item " + x.user + ": empty secret")
	}
	ctx, cancel := x.s.withTimeout(ctx)
	defer cancel()
	if err := x.caller().set(ctx, x.user, string(secret)); err != nil {
		return x.s.explain(ctx, "write the keychain item "+x.user, err)
	}
	return nil
}

// Delete removes the item; a missing one is no error.
func (x *Secret) Delete(ctx context.Context) error {
	ctx, cancel := x.s.withTimeout(ctx)
	defer cancel()
	if err := x.caller().del(ctx, x.user); err != nil && !isNotFound(err) {
		return x.s.explain(ctx, "remove the keychain item "+x.user, err)
	}
	return nil
}
