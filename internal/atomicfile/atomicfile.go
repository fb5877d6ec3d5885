// Package atomicfile is the one way this module replaces a file: the new
// content goes to a temporary file in the same directory, which is fsynced,
// renamed over the target and followed by an fsync of the directory. A
// reader therefore sees the old file or the new one, never a mix, and after
// a crash the file is one of the two.
//
// The usual entry point is [WriteFile]; [Write] streams the content, and
// [RemoveStale] deletes temporary files left by a writer that died.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// ErrSymlink is returned for a target that is a symbolic link: the rename
// would replace the link, not the file it names, which is never what its
// owner meant.
var ErrSymlink = errors.New("is a symbolic link")

// ErrExist is returned by a write with [Options.NoReplace] to a path that
// exists.
var ErrExist = errors.New("already exists")

// Options tunes one write. The zero value replaces the file with mode 0600.
type Options struct {
	// Perm is the mode of the new file. Zero means 0600.
	Perm fs.FileMode
	// NoReplace leaves an existing file alone and returns an error wrapping
	// ErrExist. The caller serializes writers (a lock), so the check and
	// the rename cannot race with another writer of this module.
	NoReplace bool
}

// TempPrefix is the name prefix of the temporary files of a write to a file
// named base: ".<base>.tmp-".
func TempPrefix(base string) string { return "." + base + ".tmp-" }

// WriteFile writes data to path atomically, creating path's directory
// (0700) when it is missing.
func WriteFile(path string, data []byte, opts Options) error {
	return Write(path, opts, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write writes what write writes (through a buffer) to path atomically,
// creating path's directory (0700) when it is missing. On any failure the
// temporary file is removed and the cause returned as it is (write's own
// error, or the os package's, which names the file), for the caller to
// word: "failed to write credential store <path>: <cause>".
func Write(path string, opts Options, write func(io.Writer) error) (err error) {
	perm := opts.Perm
	if perm == 0 {
		perm = 0o600
	}
	fi, lerr := os.Lstat(path)
	switch {
	case lerr == nil && fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s %w", path, ErrSymlink)
	case lerr == nil && opts.NoReplace:
		return fmt.Errorf("%s %w", path, ErrExist)
	case lerr == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, TempPrefix(filepath.Base(path))+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	renamed = true
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("failed to sync directory %s: %w", dir, err)
	}
	return nil
}

// SyncDir fsyncs a directory, so that a rename in it survives a crash. It
// does nothing on Windows, which cannot open a directory for that, and
// ignores the EINVAL that some file systems (and some FUSE mounts) answer.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// RemoveStale deletes the temporary files of writes to dir/base, left by a
// writer that died. The caller holds the lock that serializes writers, so
// no live writer owns them. Names are matched in dir itself, never as a
// pattern: a directory whose name holds '*', '?' or '[' is nothing special.
func RemoveStale(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := TempPrefix(base)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
