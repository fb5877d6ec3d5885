//go:build unix

package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// TestStoreDirectoryMustBeTheUsers: a store directory that others can
// write, or that another user owns, is refused for reads and writes with a
// hint, and nothing in it is changed.
func TestStoreDirectoryMustBeTheUsers(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*Store, string) {
		dir := filepath.Join(t.TempDir(), "store")
		s := newStore(t, Options{Dir: dir})
		mustPut(t, s, "registry.example.com", "alice", "hunter2")
		return newStore(t, Options{Dir: dir}), dir
	}
	check := func(t *testing.T, s *Store, dir, want, hint string) {
		t.Helper()
		before := readBytes(t, s.Path())
		_, err := s.Get(ctx, mustKey(t, "registry.example.com"))
		if err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(err.Error(), want) || !strings.Contains(helper.Hint(err), hint) {
			t.Fatalf("Get: %v (hint %q), want refused with %q and a hint about %q", err, helper.Hint(err), want, hint)
		}
		err = s.Put(ctx, mustKey(t, "other.example.com"), helper.Credentials{ServerURL: "other.example.com", Username: "u", Secret: "s"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Put: %v, want refused", err)
		}
		if after := readBytes(t, s.Path()); string(after) != string(before) {
			t.Fatal("the store changed")
		}
	}
	t.Run("group-writable", func(t *testing.T) {
		s, dir := setup(t)
		if err := os.Chmod(dir, 0o770); err != nil {
			t.Fatal(err)
		}
		check(t, s, dir, "writable by group or others", "chmod 700")
	})
	t.Run("another user's", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give the directory away")
		}
		s, dir := setup(t)
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		check(t, s, dir, "owned by uid 65534", "chown")
	})
}
