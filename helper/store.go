package helper

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned by a [Store] when it holds no credential for a key.
// It is the only error that [Handle] reports with the protocol's not-found
// message; every other failure is reported as itself.
var ErrNotFound = errors.New("credentials not found in native keychain")

// Credentials is one stored credential.
//
// Username "<token>" means Secret is an identity (OAuth2 refresh) token, as
// docker, oras-go, notation, crane and regctl understand it.
type Credentials struct {
	// ServerURL is the server URL exactly as the client sent it when storing.
	ServerURL string
	// Username is never empty in a stored credential.
	Username string
	// Secret is the password or token; it may be empty.
	Secret string
}

// IdentityTokenUsername is the username under which clients store an identity
// (refresh) token.
const IdentityTokenUsername = "<token>"

// String returns the credential without its secret, so that a credential can
// be logged or wrapped into an error without leaking.
func (c Credentials) String() string {
	secret := "<empty>"
	if c.Secret != "" {
		secret = "<redacted>"
	}
	return fmt.Sprintf("{ServerURL:%q Username:%q Secret:%s}", c.ServerURL, c.Username, secret)
}

// GoString hides the secret from %#v as well.
func (c Credentials) GoString() string { return "helper.Credentials" + c.String() }

// Format hides the secret from every fmt verb (%v, %+v, %s, %q, %#v).
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// Store is the storage a credential helper serves. Implementations must be
// safe for use by several processes at once.
type Store interface {
	// Get returns the credential stored under key, or an error wrapping
	// ErrNotFound when there is none.
	Get(ctx context.Context, key Key) (Credentials, error)
	// Put stores c under key, replacing any credential stored under the same
	// key, whatever spelling of the server URL that one was stored with.
	Put(ctx context.Context, key Key, c Credentials) error
	// Delete removes the credential stored under key, or returns an error
	// wrapping ErrNotFound when there is none.
	Delete(ctx context.Context, key Key) error
	// List returns the server URL (as stored) and username of every credential.
	List(ctx context.Context) (map[string]string, error)
}
