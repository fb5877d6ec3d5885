package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// BackendMarkerName is the file in the store directory that records which
// backend holds the credentials. With backend auto the helper keeps using
// that backend, so that credentials never seem to vanish because a keychain
// came or went (a desktop session versus SSH); an explicit backend that
// disagrees with it is an error rather than an empty store.
const BackendMarkerName = "backend"

// RecordedBackend returns the backend recorded in dir, or "" if none is.
func RecordedBackend(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, BackendMarkerName))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read the backend marker: %v", err)
	}
	name := strings.TrimSpace(string(b))
	switch name {
	case BackendFile, BackendKeychain:
		return name, nil
	}
	return "", fmt.Errorf("invalid backend marker %s: %q (want file or keychain)", filepath.Join(dir, BackendMarkerName), name)
}

// RecordBackend records name as the backend holding the credentials in dir,
// atomically.
func RecordBackend(dir, name string) error {
	if err := atomicfile.WriteFile(filepath.Join(dir, BackendMarkerName), []byte(name+"\n"), atomicfile.Options{}); err != nil {
		return fmt.Errorf("failed to record the backend: %v", err)
	}
	return nil
}
