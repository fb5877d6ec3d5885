// Package userdir finds the per-user directories that this helper and the
// clients it serves (docker, notation) keep their configuration in, with
// the environment passed in, so that tests and the helper resolve them the
// same way as os.UserConfigDir and os.UserHomeDir do.
package userdir

import (
	"errors"
	"path/filepath"
	"runtime"
)

// ConfigDir returns the user's configuration directory, as os.UserConfigDir
// resolves it: %AppData% on Windows, ~/Library/Application Support on macOS,
// and $XDG_CONFIG_HOME elsewhere, or ~/.config when it is unset or relative
// (the XDG specification says to ignore a relative one).
func ConfigDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := getenv("AppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%AppData% is not set")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support"), nil
		}
		return "", errors.New("$HOME is not set")
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config"), nil
	}
	return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
}

// HomeDir returns the user's home directory as os.UserHomeDir finds it
// (%USERPROFILE% first on Windows), or "" when the environment names none.
func HomeDir(getenv func(string) string) string {
	if runtime.GOOS == "windows" {
		if h := getenv("USERPROFILE"); h != "" {
			return h
		}
	}
	return getenv("HOME")
}

// CacheDir returns the user's cache directory, as os.UserCacheDir resolves
// it: %LocalAppData% on Windows, ~/Library/Caches on macOS, and
// $XDG_CACHE_HOME elsewhere, or ~/.cache when it is unset or relative.
func CacheDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%LocalAppData% is not set")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Caches"), nil
		}
		return "", errors.New("$HOME is not set")
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache"), nil
	}
	return "", errors.New("neither $XDG_CACHE_HOME nor $HOME is set")
}
