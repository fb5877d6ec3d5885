//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestConfigFileMustBeTrusted(t *testing.T) {
	write := func(t *testing.T, dir string, dirMode, fileMode os.FileMode) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, []byte(`{"registries":{"r.example.com":{"tokenURL":"https://idp.example.com/token","clientID":"c"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		// Chmod, not the umask, decides the modes under test.
		if err := os.Chmod(path, fileMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, dirMode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name              string
		dirMode, fileMode os.FileMode
		want              string
	}{
		{"private", 0o700, 0o600, ""},
		{"readable by others", 0o755, 0o644, ""},
		{"sticky shared directory", 0o777 | os.ModeSticky, 0o600, ""},
		{"group-writable file", 0o700, 0o660, "writable by group or others"},
		{"world-writable file", 0o700, 0o666, "writable by group or others"},
		{"world-writable directory", 0o777, 0o600, "config directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, filepath.Join(t.TempDir(), "d"), tc.dirMode, tc.fileMode)
			_, err := Load(env{EnvConfig: path, "HOME": t.TempDir()}.get)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "decides where credentials are sent") {
				t.Fatalf("Load: %v, want a refusal mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("FIFO", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip(err)
		}
		if _, err := Load(env{EnvConfig: path, "HOME": t.TempDir()}.get); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("Load of a FIFO: %v, want refused at once", err)
		}
	})
}

func TestBackendMarkerPlanted(t *testing.T) {
	for name, plant := range map[string]func(path string) error{
		"symlink to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"symlink to a marker":  func(p string) error { return os.Symlink(filepath.Join(filepath.Dir(p), "elsewhere"), p) },
		"FIFO":                 func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"huge":                 func(p string) error { return os.WriteFile(p, make([]byte, 1<<20), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.WriteFile(filepath.Join(dir, "elsewhere"), []byte("keychain\n"), 0o600)
			if err := plant(filepath.Join(dir, BackendMarkerName)); err != nil {
				t.Skip(err)
			}
			if b, err := RecordedBackend(dir); err == nil {
				t.Fatalf("RecordedBackend = %q, want an error", b)
			}
		})
	}
}
