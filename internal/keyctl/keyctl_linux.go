//go:build linux

package keyctl

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// perm gives the possessor and the user (the same uid, from any session)
// everything, and the group and others nothing. The default would deny
// reading to a process of the user whose session keyring does not link
// the user keyring (a cron job, a systemd service).
const perm = 0x3f3f0000 // KEY_POS_ALL | KEY_USR_ALL (linux/keyctl.h)

// Load returns the key's payload, or nil when there is no such key (never
// set, expired, removed).
func (k *Key) Load() ([]byte, error) {
	id, err := k.search()
	if err != nil || id == 0 {
		return nil, err
	}
	buf := make([]byte, maxPayload+1)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	switch {
	case gone(err):
		return nil, nil
	case err != nil:
		return nil, k.wrap("read", err)
	case n > maxPayload:
		return nil, fmt.Errorf("failed to read key %q: larger than %d bytes", k.desc, maxPayload)
	}
	return buf[:n], nil
}

// Save sets the key's payload (replacing it in place if the key exists)
// and has the kernel drop it after ttl, rounded up to a second.
func (k *Key) Save(payload []byte, ttl time.Duration) error {
	if len(payload) > maxPayload {
		return fmt.Errorf("failed to save key %q: larger than %d bytes", k.desc, maxPayload)
	}
	secs := int((ttl + time.Second - 1) / time.Second)
	if secs < 1 {
		return fmt.Errorf("failed to save key %q: the timeout must be positive", k.desc)
	}
	id, err := unix.AddKey("user", k.desc, payload, unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		return k.wrap("add", err)
	}
	if err := unix.KeyctlSetperm(id, perm); err != nil {
		k.invalidate(id)
		return k.wrap("set the permissions of", err)
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, secs, 0, 0); err != nil {
		// A key without its timeout would outlive what the user asked for.
		k.invalidate(id)
		return k.wrap("set the timeout of", err)
	}
	return nil
}

// Drop removes the key and reports whether there was one.
func (k *Key) Drop() (bool, error) {
	id, err := k.search()
	if err != nil || id == 0 {
		return false, err
	}
	if err := k.invalidate(id); err != nil {
		if gone(err) {
			return false, nil
		}
		return false, k.wrap("remove", err)
	}
	return true, nil
}

// search finds the key in the user keyring: 0 when there is none.
func (k *Key) search() (int, error) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", k.desc, 0)
	if gone(err) {
		return 0, nil
	}
	if err != nil {
		return 0, k.wrap("look up", err)
	}
	return id, nil
}

// invalidate removes the key at once, from every keyring (KEYCTL_INVALIDATE,
// Linux 3.5), or revokes it on an older kernel.
func (k *Key) invalidate(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		_, err = unix.KeyctlInt(unix.KEYCTL_REVOKE, id, 0, 0, 0)
	}
	return err
}

// gone reports an error that means the key is not there (any more).
func gone(err error) bool {
	return errors.Is(err, unix.ENOKEY) || errors.Is(err, unix.EKEYEXPIRED) || errors.Is(err, unix.EKEYREVOKED)
}

// wrap explains err; the system calls being refused (seccomp's EPERM, an
// old or restricted kernel's ENOSYS) wraps ErrUnavailable.
func (k *Key) wrap(verb string, err error) error {
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("failed to %s key %q: %w (%v: blocked, for example by a container's seccomp profile)", verb, k.desc, ErrUnavailable, err)
	}
	return fmt.Errorf("failed to %s key %q: %v", verb, k.desc, err)
}
