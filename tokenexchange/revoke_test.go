package tokenexchange_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// Logging out (erase, which docker logout and notation logout call, and the
// helper's own logout) ends the grant at the provider, not only its copy
// here: afterwards the refresh token no longer works anywhere.
func TestLogoutRevokesTheGrant(t *testing.T) {
	for _, confidential := range []bool{false, true} {
		name := "public client"
		if confidential {
			name = "confidential client"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, confidential)
			s := f.store(t)
			f.login(t, s)
			get(t, s) // caches an access token
			rt := f.refreshToken(t)

			if err := s.Delete(context.Background(), key(t, registryURL)); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			for _, k := range []string{registryURL, registryURL + tokenexchange.CacheSuffix} {
				if _, err := f.mem.Get(context.Background(), key(t, k)); !errors.Is(err, helper.ErrNotFound) {
					t.Errorf("%s is still stored after logout: %v", k, err)
				}
			}
			status, err := f.p.RefreshDirectly(context.Background(), rt)
			if err != nil {
				t.Fatal(err)
			}
			if status != http.StatusBadRequest {
				t.Errorf("the provider still honours the logged-out refresh token: HTTP %d, want 400", status)
			}
			if w := f.warn.String(); w != "" {
				t.Errorf("a successful revocation warned: %q", w)
			}
		})
	}
}

// A provider that cannot be reached does not keep the user logged in: the
// credential is erased here, and the warning says the grant lives on at the
// provider. It never shows the token.
func TestLogoutWithTheProviderDown(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	rt := f.refreshToken(t)
	f.p.Server.Close()

	if err := s.Delete(context.Background(), key(t, registryURL)); err != nil {
		t.Fatalf("Delete with the provider down: %v, want the credential erased all the same", err)
	}
	if _, err := f.mem.Get(context.Background(), key(t, registryURL)); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("the refresh token is still stored: %v", err)
	}
	w := f.warn.String()
	if !strings.Contains(w, "stays valid at the provider") || !strings.Contains(w, registryURL) {
		t.Errorf("warning %q does not say the grant stays valid at the provider for %s", w, registryURL)
	}
	if strings.Contains(w, rt) {
		t.Error("the warning shows the refresh token")
	}
}

// Erasing a registry that holds a password (not a refresh token) sends
// nothing to the provider.
func TestEraseOfAPasswordSendsNothing(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	ctx := context.Background()
	if err := s.Put(ctx, key(t, registryURL), helper.Credentials{ServerURL: registryURL, Username: "alice", Secret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	before := f.sent.n.Load()
	if err := s.Delete(ctx, key(t, registryURL)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := f.sent.n.Load() - before; n != 0 {
		t.Errorf("erasing a password sent %d requests to the provider", n)
	}
}
