//go:build !linux

package keyctl

import (
	"fmt"
	"runtime"
	"time"
)

func (k *Key) unavailable() error {
	return fmt.Errorf("%w on %s (it is a Linux facility)", ErrUnavailable, runtime.GOOS)
}

// Load fails: there is no kernel keyring here.
func (k *Key) Load() ([]byte, error) { return nil, k.unavailable() }

// Save fails: there is no kernel keyring here.
func (k *Key) Save([]byte, time.Duration) error { return k.unavailable() }

// Drop fails: there is no kernel keyring here.
func (k *Key) Drop() (bool, error) { return false, k.unavailable() }
