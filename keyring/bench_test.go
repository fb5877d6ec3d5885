package keyring

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// seed stores n entries in s directly, as n Puts would leave them but with
// n+1 keychain writes instead of 6n: one item per secret, then the index.
func seed(b *testing.B, s *Store, n int) {
	b.Helper()
	c := s.newCaller()
	ctx := context.Background()
	if _, ok := s.kr.(itemKeyring); ok {
		seed2(b, s, n)
		return
	}
	entries := make(map[string]entry, n)
	for i := range n {
		u := fmt.Sprintf("registry-%04d.example.com", i)
		if err := c.set(ctx, entryUser(nameKey(u), 1, 1, 1), strings.Repeat("s", 40)); err != nil {
			b.Fatal(err)
		}
		// As docker (for registries other than Docker Hub), oras and
		// notation store them: the bare host.
		entries[u] = entry{ServerURL: u, Username: "user" + fmt.Sprint(i), Gen: 1, Parts: 1}
	}
	doc, err := encodeIndexDoc(entries)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.set(ctx, indexUser, rootHeaderLine(1, 1)+doc); err != nil {
		b.Fatal(err)
	}
}

// seed2 is seed for layout 2: one item per secret, with its attributes,
// then the root.
func seed2(b *testing.B, s *Store, n int) {
	c := s.newCaller()
	ctx := context.Background()
	entries := make(map[string]entry, n)
	last := ""
	for i := range n {
		u := fmt.Sprintf("registry-%04d.example.com", i)
		last = nameKey(u)
		attrs := map[string]string{attrService: s.service, attrUser: entryUser(last, 1, 1, 1), attrKey: last, attrGen: "1",
			attrServer: u, attrAccount: "user" + fmt.Sprint(i)}
		if err := c.create(ctx, attrs, strings.Repeat("s", 40)); err != nil {
			b.Fatal(err)
		}
		entries[u] = entry{ServerURL: u, Username: "user" + fmt.Sprint(i), Gen: 1, Parts: 1}
	}
	root, err := encodeRoot2(1, entries)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.create(ctx, map[string]string{attrService: s.service, attrUser: indexUser, attrGen: "1", attrLast: last}, root); err != nil {
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
// with an in-memory keychain.
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
		b.Run(fmt.Sprintf("layout2/entries=%d", n), func(b *testing.B) {
			f := newItemFake()
			s, err := New(Options{Dir: b.TempDir(), Keyring: f})
			if err != nil {
				b.Fatal(err)
			}
			benchStore(b, s, n)
		})
	}
}
