package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRecordedBackendMissing(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"no store directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "store") }},
		{"empty store directory", func(t *testing.T) string { return t.TempDir() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			got, err := RecordedBackend(dir)
			if got != "" || err != nil {
				t.Errorf("RecordedBackend(%s) = %q, %v; want \"\", nil", dir, got, err)
			}
			if _, err := os.Stat(filepath.Join(dir, BackendMarkerName)); err == nil {
				t.Errorf("RecordedBackend created %s", BackendMarkerName)
			}
		})
	}
}

func TestRecordBackendRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	for _, name := range []string{BackendFile, BackendKeychain, BackendFile} {
		if err := RecordBackend(dir, name); err != nil {
			t.Fatalf("RecordBackend(%q): %v", name, err)
		}
		got, err := RecordedBackend(dir)
		if got != name || err != nil {
			t.Fatalf("after RecordBackend(%q): RecordedBackend = %q, %v", name, got, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, BackendMarkerName))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != name+"\n" {
			t.Errorf("the marker holds %q, want %q", b, name+"\n")
		}
	}
}

// A marker edited by hand reads as long as it names a backend.
func TestRecordedBackendTolerant(t *testing.T) {
	for _, content := range []string{"keychain", "keychain\n", "  keychain \r\n", "\tkeychain\n\n"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, BackendMarkerName), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := RecordedBackend(dir); got != BackendKeychain || err != nil {
			t.Errorf("marker %q: RecordedBackend = %q, %v; want keychain", content, got, err)
		}
	}
}

// A marker that names no backend is an error that names the file, never
// "" (which would let backend auto choose again and hide the credentials).
func TestRecordedBackendInvalid(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"empty", ""},
		{"blank", " \n"},
		{"auto", "auto\n"},
		{"unknown", "bogus\n"},
		{"capitalized", "Keychain\n"},
		{"two lines", "file\nkeychain\n"},
		{"binary", "\x00\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, BackendMarkerName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := RecordedBackend(dir)
			if err == nil {
				t.Fatalf("RecordedBackend = %q, nil; want an error", got)
			}
			if got != "" {
				t.Errorf("RecordedBackend = %q with an error", got)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestRecordedBackendUnreadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, BackendMarkerName)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := RecordedBackend(dir)
	if err == nil {
		t.Fatalf("RecordedBackend of a directory = %q, nil; want an error", got)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

func TestRecordBackendPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix permission bits")
	}
	dir := filepath.Join(t.TempDir(), "a", "store")
	if err := RecordBackend(dir, BackendKeychain); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{filepath.Dir(dir), 0o700},
		{dir, 0o700},
		{filepath.Join(dir, BackendMarkerName), 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s has mode %04o, want %04o", c.path, got, c.want)
		}
	}
}

// RecordBackend replaces the marker by renaming a complete temp file over
// it: no temp file is left behind, whether it succeeds or fails, and a
// failure leaves the old marker as it was.
func TestRecordBackendAtomic(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{BackendFile, BackendKeychain} {
			if err := RecordBackend(dir, name); err != nil {
				t.Fatal(err)
			}
		}
		assertEntries(t, dir, BackendMarkerName)
	})
	t.Run("failure", func(t *testing.T) {
		dir := t.TempDir()
		// A non-empty directory where the marker goes: the rename fails.
		path := filepath.Join(dir, BackendMarkerName)
		if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := RecordBackend(dir, BackendKeychain); err == nil {
			t.Fatal("RecordBackend over a directory succeeded")
		}
		assertEntries(t, dir, BackendMarkerName)
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Errorf("the directory in the marker's place was replaced: %v, %v", fi, err)
		}
	})
	t.Run("unwritable directory", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Getuid() == 0 {
			t.Skip("needs unix permissions that apply (not root)")
		}
		dir := t.TempDir()
		if err := RecordBackend(dir, BackendFile); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		if err := RecordBackend(dir, BackendKeychain); err == nil {
			t.Fatal("RecordBackend in a read-only directory succeeded")
		}
		if got, err := RecordedBackend(dir); got != BackendFile || err != nil {
			t.Errorf("after a failed RecordBackend: RecordedBackend = %q, %v; want the old file", got, err)
		}
		assertEntries(t, dir, BackendMarkerName)
	})
}

// assertEntries checks that dir holds exactly the names given.
func assertEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}
