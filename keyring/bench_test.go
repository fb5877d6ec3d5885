package keyring

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// seed stores n entries in s in one write, as n Puts would leave them but
// with n+1 keychain writes (plus the index's parts) instead of about 4n.
func seed(b *testing.B, s *Store, n int) {
	b.Helper()
	c := s.newCaller()
	ctx := context.Background()
	st, err := s.begin(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	gen := st.idx.Gen + 1
	entries := make(map[string]entry, n)
	var items []newItem
	for i := range n {
		// As docker (for registries other than Docker Hub), oras and
		// notation store them: the bare host.
		u := fmt.Sprintf("registry-%04d.example.com", i)
		cred := helper.Credentials{ServerURL: u, Username: "user" + fmt.Sprint(i), Secret: strings.Repeat("s", 40)}
		its, err := s.secretItems(nameKey(u), gen, cred)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, its...)
		entries[u] = entry{ServerURL: u, Username: cred.Username, Gen: gen, Parts: len(its)}
	}
	if err := s.commit(ctx, c, st, rootHeader{Gen: gen}, entries, items, "seed"); err != nil {
		b.Fatal(err)
	}
}

func benchStore(b *testing.B, s *Store, n int) {
	seed(b, s, n)
	k, err := helper.ParseServerURL("registry-0000.example.com")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("Get", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Get(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("List", func(b *testing.B) {
		for b.Loop() {
			m, err := s.List(ctx)
			if err != nil || len(m) != n {
				b.Fatal(len(m), err)
			}
		}
	})
	b.Run("Put", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if err := s.Put(ctx, k, helper.Credentials{ServerURL: "registry-0000.example.com", Username: "u", Secret: fmt.Sprint("new", i)}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFake measures the store's own cost (encoding, parsing the index)
// with an in-memory keychain: one that finds items by name (macOS,
// Windows), and one that searches by attributes (the Secret Service).
func BenchmarkFake(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			f := newFake("linux")
			s, err := New(Options{Dir: b.TempDir(), Keyring: f})
			if err != nil {
				b.Fatal(err)
			}
			benchStore(b, s, n)
		})
		b.Run(fmt.Sprintf("search/entries=%d", n), func(b *testing.B) {
			f := newItemFake()
			s, err := New(Options{Dir: b.TempDir(), Keyring: f})
			if err != nil {
				b.Fatal(err)
			}
			benchStore(b, s, n)
		})
	}
}
