package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "f.json")
	if err := WriteFile(path, []byte("one"), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two"), Options{Perm: 0o640}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "two" {
		t.Fatalf("content %q, %v; want two", b, err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode %v, want 0700", fi.Mode().Perm())
	}
	if got := names(t, dir); !slices.Equal(got, []string{"f.json"}) {
		t.Errorf("directory holds %q, want only f.json", got)
	}
}

func TestWriteFileDefaultMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "secret")
	if err := WriteFile(path, []byte("s"), Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(existing, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		opts Options
		want error
	}{
		{"symlink", link, Options{}, ErrSymlink},
		{"exists with NoReplace", existing, Options{NoReplace: true}, ErrExist},
		{"directory", sub, Options{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFile(tc.path, []byte("new"), tc.opts)
			if err == nil {
				t.Fatal("write succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep" {
				t.Errorf("existing file now %q", b)
			}
		})
	}
	if got := names(t, dir); !slices.Equal(got, []string{"existing", "link", "sub"}) {
		t.Errorf("directory holds %q after refused writes", got)
	}
}

func TestWriteErrorRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "store")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, Options{}, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return boom
	})
	if err != boom {
		t.Fatalf("error %v, want write's own error as it is", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("file now %q, want old", b)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"store"}) {
		t.Errorf("directory holds %q, want the temporary file gone", got)
	}
}

func TestRemoveStale(t *testing.T) {
	// A directory name that is a glob pattern matching its sibling: the
	// sibling's files must survive.
	root := t.TempDir()
	dir := filepath.Join(root, "st[o]re*")
	sibling := filepath.Join(root, "store")
	for _, d := range []string{dir, sibling} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Skip("cannot create a directory with glob characters:", err)
		}
	}
	for _, p := range []string{
		filepath.Join(dir, TempPrefix("store.age")+"123"),
		filepath.Join(dir, "store.age"),
		filepath.Join(dir, TempPrefix("other")+"1"),
		filepath.Join(sibling, TempPrefix("store.age")+"456"),
	} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	RemoveStale(dir, "store.age")
	if got, want := names(t, dir), []string{TempPrefix("other") + "1", "store.age"}; !slices.Equal(got, want) {
		t.Errorf("after RemoveStale: %q, want %q", got, want)
	}
	if got := names(t, sibling); len(got) != 1 {
		t.Errorf("the sibling directory lost files: %q", got)
	}
}

func TestSyncDirMissing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SyncDir does nothing on Windows")
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("SyncDir of a missing directory: %v, want ENOENT", err)
	}
}
