//go:build unix

package filelock

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLockFileNotFollowed: a lock file planted as a symbolic link (in a
// directory someone else can write) is refused, and the file it points at
// is not created; a FIFO is refused without blocking.
func TestLockFileNotFollowed(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim-file")
	link := filepath.Join(dir, "store.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if _, err := Acquire(context.Background(), link); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Acquire through a symlink: %v, want refused", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the link's target was created: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.lock")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	if _, err := Acquire(context.Background(), fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Acquire of a FIFO: %v, want refused", err)
	}
}
