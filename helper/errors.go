package helper

import (
	"errors"

	"github.com/docker/docker-credential-helpers/credentials"
)

// The protocol's fixed messages, which clients compare after trimming.
var (
	// ErrMissingServerURL is "no credentials server URL".
	ErrMissingServerURL = credentials.NewErrCredentialsMissingServerURL()
	// ErrMissingUsername is "no credentials username".
	ErrMissingUsername = credentials.NewErrCredentialsMissingUsername()
)

// hintError carries one line that tells the user what to do about err.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

// WithHint attaches a hint to err: one line, shown on stderr, that says what
// the user can do. It returns nil when err is nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// Hint returns the outermost hint attached to err, or "": by WithHint, or
// by any error in the chain with a Hint() string method (packages that do
// not import helper, such as internal/config, attach hints that way).
func Hint(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// WireMessage returns the text that the protocol writes on stdout for err:
// exactly "credentials not found in native keychain" for anything wrapping
// ErrNotFound, the protocol's own message for a missing server URL or user
// name, and err's message otherwise.
func WireMessage(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotFound.Error()
	case credentials.IsCredentialsMissingServerURL(err):
		return ErrMissingServerURL.Error()
	case credentials.IsCredentialsMissingUsername(err):
		return ErrMissingUsername.Error()
	}
	return err.Error()
}
