package config

import (
	"errors"
	"fmt"
	"io"
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

// maxMarker bounds the marker's size: "keychain\n" with room to spare.
const maxMarker = 64

// RecordedBackend returns the backend recorded in dir, or "" if none is.
func RecordedBackend(dir string) (string, error) {
	// The helper writes the marker itself, in its own directory: a
	// symbolic link, a FIFO or a device there was planted, and the read is
	// bounded (it is one word).
	path := filepath.Join(dir, BackendMarkerName)
	f, err := atomicfile.OpenRegular(path, false)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if errors.Is(err, atomicfile.ErrNotRegular) || errors.Is(err, atomicfile.ErrSymlink) {
		return "", fmt.Errorf("failed to read the backend marker %s: %v", path, err)
	}
	if err != nil {
		return "", fmt.Errorf("failed to read the backend marker: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMarker+1))
	if err == nil && len(b) > maxMarker {
		err = fmt.Errorf("larger than %d bytes", maxMarker)
	}
	if err != nil {
		return "", fmt.Errorf("failed to read the backend marker %s: %v", filepath.Join(dir, BackendMarkerName), err)
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
