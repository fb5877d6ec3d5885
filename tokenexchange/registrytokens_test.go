package tokenexchange_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// TestRegistryTokens: the registry tokens of token and check live in the
// reserved entry beside the credential, invisible to clients, and go when
// the credential is stored again or erased, for a registry with exchange
// settings and one without.
func TestRegistryTokens(t *testing.T) {
	ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "unused", http.StatusTeapot) })
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		regs map[string]tokenexchange.Registry
	}{
		{"passthrough", nil},
		{"exchanged", map[string]tokenexchange.Registry{registryURL: {TokenURL: ts.URL + "/token", ClientID: "c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := helpertest.NewMemStore()
			s, err := tokenexchange.New(mem, tokenexchange.Options{Dir: t.TempDir(), Registries: tc.regs})
			if err != nil {
				t.Fatal(err)
			}
			k := key(t, registryURL)
			reserved := key(t, registryURL+"/@registry-tokens")
			if err := s.Put(ctx, k, helper.Credentials{ServerURL: registryURL, Username: "alice", Secret: "pw"}); err != nil {
				t.Fatal(err)
			}
			if err := s.UpdateRegistryTokens(ctx, k, func(cur string) (string, error) {
				if cur != "" {
					t.Errorf("current %q", cur)
				}
				return "kept", nil
			}); err != nil {
				t.Fatal(err)
			}
			if v, err := s.LoadRegistryTokens(ctx, k); v != "kept" || err != nil {
				t.Fatalf("load: %q, %v", v, err)
			}
			if c, err := mem.Get(ctx, reserved); err != nil || c.Secret != "kept" {
				t.Fatalf("the wrapped store holds %v, %v", c, err)
			}
			// Invisible and untouchable for clients.
			if _, err := s.Get(ctx, reserved); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("get of the reserved key: %v", err)
			}
			if err := s.Put(ctx, reserved, helper.Credentials{Username: "x", Secret: "y"}); err == nil {
				t.Error("put of the reserved key accepted")
			}
			if m, _ := s.List(ctx); len(m) != 1 {
				t.Errorf("list: %v", m)
			}
			// An update that fails, or changes nothing, writes nothing.
			boom := errors.New("boom")
			if err := s.UpdateRegistryTokens(ctx, k, func(string) (string, error) { return "other", boom }); !errors.Is(err, boom) {
				t.Errorf("update error: %v", err)
			}
			if v, _ := s.LoadRegistryTokens(ctx, k); v != "kept" {
				t.Errorf("after a failed update: %q", v)
			}

			// Storing the credential again drops them.
			if err := s.Put(ctx, k, helper.Credentials{ServerURL: registryURL, Username: "alice", Secret: "pw2"}); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.LoadRegistryTokens(ctx, k); v != "" {
				t.Errorf("after store: %q", v)
			}
			// So does erasing it.
			_ = s.UpdateRegistryTokens(ctx, k, func(string) (string, error) { return "kept", nil })
			if err := s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.LoadRegistryTokens(ctx, k); v != "" {
				t.Errorf("after erase: %q", v)
			}
			if _, err := mem.Get(ctx, reserved); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("the wrapped store still holds the tokens: %v", err)
			}
			// "" deletes.
			_ = s.UpdateRegistryTokens(ctx, k, func(string) (string, error) { return "kept", nil })
			_ = s.UpdateRegistryTokens(ctx, k, func(string) (string, error) { return "", nil })
			if _, err := mem.Get(ctx, reserved); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("an empty value is kept: %v", err)
			}
		})
	}
}

// TestRegistryTokensSerialized: concurrent updates (each through its own
// Store, as separate processes would be) lose nothing.
func TestRegistryTokensSerialized(t *testing.T) {
	mem := helpertest.NewMemStore()
	dir := t.TempDir()
	k := key(t, registryURL)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := tokenexchange.New(mem, tokenexchange.Options{Dir: dir})
			if err != nil {
				t.Error(err)
				return
			}
			if err := s.UpdateRegistryTokens(ctx, k, func(cur string) (string, error) { return cur + "x", nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s, _ := tokenexchange.New(mem, tokenexchange.Options{Dir: dir})
	if v, _ := s.LoadRegistryTokens(ctx, k); len(v) != 20 {
		t.Errorf("%d updates survived, want 20", len(v))
	}
}
