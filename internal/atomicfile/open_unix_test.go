//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Skip(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		path   string
		follow bool
		want   error
	}{
		{file, false, nil},
		{link, true, nil},
		{link, false, ErrSymlink},
		{fifo, true, ErrNotRegular},
		{dir, true, ErrNotRegular},
		{"/dev/zero", true, ErrNotRegular},
	} {
		// A FIFO must be refused at once, not block the open.
		f, err := OpenRegular(tc.path, tc.follow)
		if tc.want == nil {
			if err != nil {
				t.Errorf("OpenRegular(%s, %v): %v", tc.path, tc.follow, err)
			} else {
				f.Close()
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("OpenRegular(%s, %v) = %v, want %v", tc.path, tc.follow, err, tc.want)
		}
	}
}
