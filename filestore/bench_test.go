package filestore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// benchSizes are the store sizes of the benchmarks, as in BENCHMARKS.md.
var benchSizes = []int{1, 100, 1000, 10000}

// newFilledStore returns a store (generated hybrid identity) holding n
// entries r0.example.com … with 800-byte secrets, written in one go.
func newFilledStore(b *testing.B, n int) *Store {
	b.Helper()
	s, err := New(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	doc := &document{Version: SchemaVersion, Entries: make(map[string]entry, n)}
	secret := strings.Repeat("s", 800)
	for i := range n {
		k := benchKey(b, i)
		doc.Entries[k.String()] = entry{ServerURL: k.String(), Username: fmt.Sprintf("user%d", i), Secret: secret}
	}
	if err := ensureDir(s.opts.Dir); err != nil {
		b.Fatal(err)
	}
	k, err := s.loadKeys(true)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := encodeDocument(doc)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	_, r, err := k.load()
	if err != nil {
		b.Fatal(err)
	}
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := atomicfile.WriteFile(s.path, buf.Bytes(), atomicfile.Options{}); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchKey(b *testing.B, i int) helper.Key {
	k, err := helper.ParseServerURL(fmt.Sprintf("r%d.example.com", i))
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// BenchmarkGet looks up the entry in the middle of the sorted file.
func BenchmarkGet(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			k := benchKey(b, n/2)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(context.Background(), k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetMissing looks up a key that is not stored.
func BenchmarkGetMissing(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			k, _ := helper.ParseServerURL("r5x.example.com")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(context.Background(), k); err == nil {
					b.Fatal("found a missing key")
				}
			}
		})
	}
}

func BenchmarkList(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			b.ReportAllocs()
			for b.Loop() {
				m, err := s.List(context.Background())
				if err != nil || len(m) != n {
					b.Fatal(len(m), err)
				}
			}
		})
	}
}

// BenchmarkPut replaces the secret of the entry in the middle.
func BenchmarkPut(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			k := benchKey(b, n/2)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := s.Put(context.Background(), k, helper.Credentials{ServerURL: k.String(), Username: "u", Secret: fmt.Sprint(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutDelete inserts a new entry and erases it again: two writes
// per iteration, the store back to n entries after each.
func BenchmarkPutDelete(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			k, _ := helper.ParseServerURL("r5x.example.com")
			c := helper.Credentials{ServerURL: k.String(), Username: "u", Secret: strings.Repeat("t", 800)}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Put(context.Background(), k, c); err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(context.Background(), k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
