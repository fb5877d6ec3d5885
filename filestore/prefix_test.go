package filestore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// HasPrefix answers whether a registry has repository-scoped entries, for
// kubelet-provider: from the lines a binary search reaches in a store that
// spans many chunks, and from a full parse of a store another program
// wrote in any JSON layout.
func TestHasPrefix(t *testing.T) {
	ctx := context.Background()
	stored := []string{"a.example", "reg.example", "reg.example/team-a", "reg.example/team-a/app", "regx.example", "z.example:5000"}
	cases := []struct {
		prefix string
		want   bool
	}{
		{"reg.example/", true},
		{"reg.example/team-a/", true},
		{"reg.example/team-b/", false},
		{"regx.example/", false},
		{"a.example/", false},
		{"z.example:5000/", false},
		{"z.example:5000", true},
		{"zz.example/", false},
		{"0.example/", false},
	}
	check := func(t *testing.T, s *Store) {
		t.Helper()
		for _, c := range cases {
			got, err := s.HasPrefix(ctx, c.prefix, nil)
			if err != nil || got != c.want {
				t.Errorf("HasPrefix(%q) = %v, %v; want %v", c.prefix, got, err, c.want)
			}
		}
	}

	t.Run("canonical", func(t *testing.T) {
		s := newStore(t, Options{Dir: t.TempDir()})
		for _, u := range stored {
			mustPut(t, s, u, "user", "secret")
		}
		check(t, s)
	})
	t.Run("many chunks", func(t *testing.T) {
		s := newStore(t, Options{Dir: t.TempDir()})
		for _, u := range stored {
			mustPut(t, s, u, "user", "secret")
		}
		// Enough entries around the ones that matter that the search
		// narrows the range over several 64 KiB chunks.
		secret := fmt.Sprintf("%0800d", 0)
		for i := range 400 {
			mustPut(t, s, fmt.Sprintf("reg.examplf/n%03d", i), "user", secret)
			mustPut(t, s, fmt.Sprintf("reg.exampld/n%03d", i), "user", secret)
		}
		check(t, s)
		if ok, err := s.HasPrefix(ctx, "reg.examplf/n399", nil); err != nil || !ok {
			t.Errorf("HasPrefix of the last entry = %v, %v", ok, err)
		}
	})
	t.Run("skipped keys", func(t *testing.T) {
		// The token exchange's own entries (host/@…) sort among a host's
		// repository-scoped ones; skip passes over them, however many.
		s := newStore(t, Options{Dir: t.TempDir()})
		for _, u := range []string{"reg.example", "reg.example/@access-token", "reg.example/@b", "other.example/@access-token", "other.example/ns"} {
			mustPut(t, s, u, "user", "secret")
		}
		reserved := func(k string) bool { return strings.Contains(k, "/@") }
		for prefix, want := range map[string]bool{"reg.example/": false, "other.example/": true} {
			if got, err := s.HasPrefix(ctx, prefix, reserved); err != nil || got != want {
				t.Errorf("HasPrefix(%q) skipping reserved keys = %v, %v; want %v", prefix, got, err, want)
			}
		}
		if got, err := s.HasPrefix(ctx, "reg.example/", nil); err != nil || !got {
			t.Errorf("HasPrefix(reg.example/) skipping nothing = %v, %v; want true", got, err)
		}
	})
	t.Run("other layout", func(t *testing.T) {
		dir := t.TempDir()
		id := newHybrid(t)
		writeFile(t, filepath.Join(dir, StoreFileName), encryptTo(t, id.Recipient(), mustJSON(t, v1Doc(t, stored...))), 0o600)
		s := newStore(t, Options{Dir: dir, KeySource: KeySourceIdentity, Identity: id.String()})
		check(t, s)
	})
	t.Run("no store", func(t *testing.T) {
		s := newStore(t, Options{Dir: t.TempDir()})
		if ok, err := s.HasPrefix(ctx, "reg.example/", nil); err != nil || ok {
			t.Errorf("HasPrefix on no store = %v, %v", ok, err)
		}
	})
}

// A Store keeps the file its last read opened for the next read, and must
// still see every write: its own, and another Store's (another process's)
// that replaced the file in between, whatever the entry's size.
func TestReadsSeeEveryWrite(t *testing.T) {
	dir := t.TempDir()
	reader, writer := newStore(t, Options{Dir: dir}), newStore(t, Options{Dir: dir})
	mustPut(t, writer, "reg.example", "user", "one")
	for i, secret := range []string{"two", "six", "three", "six"} {
		if got := mustGet(t, reader, "reg.example"); i > 0 && got.Secret == secret {
			t.Fatalf("round %d: already %q before the write", i, secret)
		}
		mustPut(t, writer, "reg.example", "user", secret)
		if got := mustGet(t, reader, "reg.example"); got.Secret != secret {
			t.Fatalf("round %d: reader got %q after another Store wrote %q", i, got.Secret, secret)
		}
		mustPut(t, reader, "reg.example", "user", secret+"-own")
		if got := mustGet(t, reader, "reg.example"); got.Secret != secret+"-own" {
			t.Fatalf("round %d: reader got %q after its own write", i, got.Secret)
		}
	}
	if err := writer.Delete(context.Background(), mustKey(t, "reg.example")); err != nil {
		t.Fatal(err)
	}
	if ok, err := reader.HasPrefix(context.Background(), "reg.example", nil); err != nil || ok {
		t.Errorf("after another Store's erase: HasPrefix = %v, %v", ok, err)
	}
}

// A write uses the file a read of the same Store decrypted only when it is
// still the file on disk: another Store's write in between is never lost.
func TestWriteAfterReadKeepsOtherWrites(t *testing.T) {
	dir := t.TempDir()
	a, b := newStore(t, Options{Dir: dir}), newStore(t, Options{Dir: dir})
	mustPut(t, a, "one.example", "user", "1")
	mustGet(t, a, "one.example") // a keeps the file open
	mustPut(t, b, "two.example", "user", "2")
	mustPut(t, a, "three.example", "user", "3")
	for _, u := range []string{"one.example", "two.example", "three.example"} {
		if got := mustGet(t, newStore(t, Options{Dir: dir}), u); got.Username != "user" {
			t.Errorf("%s = %v after the writes of two Stores", u, got)
		}
	}
}
