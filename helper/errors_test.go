package helper_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/notaryproject/docker-credential-notation/helper"
)

func TestWithHint(t *testing.T) {
	if err := helper.WithHint(nil, "run `docker login`"); err != nil {
		t.Errorf("WithHint(nil, ...) = %v, want nil", err)
	}

	base := errors.New("failed to unlock the keychain: locked")
	err := helper.WithHint(base, "unlock it with `gnome-keyring-daemon --unlock`")
	if err.Error() != base.Error() {
		t.Errorf("WithHint changed the message to %q, want %q", err, base)
	}
	if !errors.Is(err, base) {
		t.Errorf("errors.Is(WithHint(base), base) = false")
	}
	if got := helper.Hint(err); got != "unlock it with `gnome-keyring-daemon --unlock`" {
		t.Errorf("Hint = %q", got)
	}
}

func TestHint(t *testing.T) {
	base := errors.New("failed to read the store: permission denied")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"no hint", base, ""},
		{"hint", helper.WithHint(base, "check the file's owner"), "check the file's owner"},
		{"wrapped with %w", fmt.Errorf("failed to get credentials: %w", helper.WithHint(base, "check the file's owner")), "check the file's owner"},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", helper.WithHint(base, "h"))), "h"},
		{"wrapped with %v loses it", fmt.Errorf("failed to get credentials: %v", helper.WithHint(base, "h")), ""},
		{"joined", errors.Join(errors.New("other"), helper.WithHint(base, "h")), "h"},
		{"outermost wins", helper.WithHint(fmt.Errorf("x: %w", helper.WithHint(base, "inner")), "outer"), "outer"},
		{"empty hint", helper.WithHint(base, ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := helper.Hint(tt.err); got != tt.want {
				t.Errorf("Hint(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestWireMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"not found", helper.ErrNotFound, notFoundMessage},
		{"wrapped not found", fmt.Errorf("registry.example.com: %w", helper.ErrNotFound), notFoundMessage},
		{"twice-wrapped not found", fmt.Errorf("keyring: %w", fmt.Errorf("registry.example.com: %w", helper.ErrNotFound)), notFoundMessage},
		{"not found with a hint", helper.WithHint(fmt.Errorf("x: %w", helper.ErrNotFound), "run `docker login`"), notFoundMessage},
		{"missing server URL", helper.ErrMissingServerURL, "no credentials server URL"},
		{"wrapped missing server URL", fmt.Errorf("get: %w", helper.ErrMissingServerURL), "no credentials server URL"},
		{"reference missing server URL", credentials.NewErrCredentialsMissingServerURL(), "no credentials server URL"},
		{"missing username", helper.ErrMissingUsername, "no credentials username"},
		{"wrapped missing username", fmt.Errorf("store: %w", helper.ErrMissingUsername), "no credentials username"},
		{"other", errors.New("failed to unlock the keychain: locked"), "failed to unlock the keychain: locked"},
		{"other with a hint", helper.WithHint(errors.New("failed to decrypt the store: wrong key"), "check NOTATION_CREDENTIALS_KEY"), "failed to decrypt the store: wrong key"},
		// Wrapped with %v the sentinel is gone: the failure reads as itself,
		// never as not-found.
		{"not found wrapped with %v", fmt.Errorf("backend: %v", helper.ErrNotFound), "backend: " + notFoundMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := helper.WireMessage(tt.err); got != tt.want {
				t.Errorf("WireMessage(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	// Clients compare these after trimming white space; they must not change.
	for _, tt := range []struct {
		err  error
		want string
	}{
		{helper.ErrNotFound, "credentials not found in native keychain"},
		{helper.ErrMissingServerURL, "no credentials server URL"},
		{helper.ErrMissingUsername, "no credentials username"},
	} {
		if tt.err.Error() != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, tt.err, tt.want)
		}
	}
	if !credentials.IsErrCredentialsNotFoundMessage(helper.WireMessage(helper.ErrNotFound)) {
		t.Errorf("the reference does not read WireMessage(ErrNotFound) as not-found")
	}
	if errors.Is(helper.ErrMissingServerURL, helper.ErrMissingUsername) || errors.Is(helper.ErrMissingUsername, helper.ErrMissingServerURL) {
		t.Errorf("ErrMissingServerURL and ErrMissingUsername are not distinct")
	}
}
