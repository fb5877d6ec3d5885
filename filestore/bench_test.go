package filestore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// newFilledStore returns a store holding n entries with 800-byte secrets.
func newFilledStore(b *testing.B, n int) *Store {
	b.Helper()
	s, err := New(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	secret := strings.Repeat("s", 800)
	// Fill through one write: the document is built, then stored.
	if err := s.update(ctx, func(doc *document) (bool, error) {
		for i := range n {
			k, _ := helper.ParseServerURL(fmt.Sprintf("r%d.example.com", i))
			doc.Entries[k.String()] = entry{ServerURL: k.String(), Username: fmt.Sprintf("user%d", i), Secret: secret}
		}
		return true, nil
	}); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkGet(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			k, _ := helper.ParseServerURL("r0.example.com")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(context.Background(), k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkList(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.List(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newFilledStore(b, n)
			k, _ := helper.ParseServerURL("r0.example.com")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := s.Put(context.Background(), k, helper.Credentials{ServerURL: "r0.example.com", Username: "u", Secret: fmt.Sprint(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
