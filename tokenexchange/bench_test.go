package tokenexchange_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// noNetwork fails any request: a get served from the cache sends none.
type noNetwork struct{ b testing.TB }

func (n noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	n.b.Error("a request was sent")
	return nil, errors.New("no network")
}

// BenchmarkGet measures what the decorator adds to a get: a registry
// served from the cache (two reads of the wrapped store, no lock, no
// network) and a registry that is not configured (a map lookup).
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	mem := helpertest.NewMemStore()
	ts := newTokenServer(b, grantToken("access-token", "", 3600))
	s, err := tokenexchange.New(mem, tokenexchange.Options{
		Dir:        b.TempDir(),
		Registries: map[string]tokenexchange.Registry{registryURL: {TokenURL: ts.URL + "/token", ClientID: "cli"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	k := key(b, registryURL)
	if err := mem.Put(ctx, k, helper.Credentials{ServerURL: registryURL, Username: helper.IdentityTokenUsername, Secret: storedRefreshToken}); err != nil {
		b.Fatal(err)
	}
	if err := tokenexchange.Bind(ctx, s, k, storedRefreshToken); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Get(ctx, k); err != nil { // fills the cache
		b.Fatal(err)
	}
	// From here on any request fails the benchmark.
	cached, err := tokenexchange.New(mem, tokenexchange.Options{
		Dir:        b.TempDir(),
		Registries: map[string]tokenexchange.Registry{registryURL: {TokenURL: ts.URL + "/token", ClientID: "cli"}},
		HTTPClient: &http.Client{Transport: noNetwork{b}},
		Now:        func() time.Time { return time.Now().Add(time.Minute) },
	})
	if err != nil {
		b.Fatal(err)
	}
	plain := key(b, "plain.example.com")
	if err := mem.Put(ctx, plain, helper.Credentials{ServerURL: "plain.example.com", Username: "u", Secret: "p"}); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if c, err := cached.Get(ctx, k); err != nil || c.Secret != "access-token" {
				b.Fatal(c, err)
			}
		}
	})
	b.Run("unconfigured", func(b *testing.B) {
		for b.Loop() {
			if _, err := cached.Get(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrapped store alone", func(b *testing.B) {
		for b.Loop() {
			if _, err := mem.Get(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
