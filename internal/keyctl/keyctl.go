// Package keyctl keeps one small secret per name in the Linux kernel's key
// retention service: a "user" key in the user keyring (@u), which every
// process of the user can reach, whatever its session, and which the kernel
// drops at its timeout. Nothing is written to disk.
//
// The file store keeps an unlocked identity here (see filestore.KeyCache),
// so that a protected key is asked for once per session, as ssh-agent and
// gpg-agent do, without a daemon.
//
// Elsewhere (not Linux) and where the system calls are refused (docker's
// default seccomp profile blocks add_key and keyctl), every method fails
// with an error that wraps ErrUnavailable.
//
// Reference: keyrings(7), user-keyring(7), keyctl(2)
package keyctl

import (
	"errors"
	"path/filepath"
)

// ErrUnavailable means the kernel keyring cannot be used here.
var ErrUnavailable = errors.New("the kernel keyring is not available")

// maxPayload is the kernel's limit for a user key's payload.
const maxPayload = 32767

// Key is one named user key. Its zero value is not usable; see New.
type Key struct {
	desc string
}

// New returns the key with the given description (its name in the
// keyring, visible in /proc/keys to the user; never secret). It makes no
// system call.
func New(description string) *Key { return &Key{desc: description} }

// Description returns the key's name.
func (k *Key) Description() string { return k.desc }

// ForStore returns the key of one kind (the unlocked "identity", the
// "file-key") that program keeps for the store in dir: named
// program:kind:dir, dir made absolute, so that two stores never share one.
func ForStore(program, kind, dir string) *Key {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return New(program + ":" + kind + ":" + dir)
}
