package tokenexchange_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// TestRefreshTokenBoundToItsProvider: get sends a stored refresh token
// only to the provider and client it was obtained from by the helper's own
// login (security review M1): an identity token that docker login stored,
// or a token after the registry's entry was pointed elsewhere, is never
// sent; importing it with login --refresh-token-stdin opts it in.
func TestRefreshTokenBoundToItsProvider(t *testing.T) {
	var seen []string
	ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		seen = append(seen, r.PostForm.Get("refresh_token"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"access-1","token_type":"Bearer","expires_in":300}`))
	})
	ctx := context.Background()
	mem := helpertest.NewMemStore()
	k := key(t, registryURL)
	open := func(tokenURL string) *tokenexchange.Store {
		s, err := tokenexchange.New(mem, tokenexchange.Options{Dir: t.TempDir(), Registries: map[string]tokenexchange.Registry{registryURL: {TokenURL: tokenURL, ClientID: "registry-cli"}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(ts.URL + "/token")
	refused := func(s *tokenexchange.Store, what string) {
		t.Helper()
		_, err := s.Get(ctx, k)
		if err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(err.Error(), "is not sent to their provider") || !strings.Contains(helper.Hint(err), "--refresh-token-stdin") {
			t.Fatalf("%s: Get = %v (hint %q), want a refusal", what, err, helper.Hint(err))
		}
		if len(seen) != 0 {
			t.Fatalf("%s: the token was sent: %q", what, seen)
		}
	}

	// docker login stores an identity token for the registry.
	if err := s.Put(ctx, k, helper.Credentials{ServerURL: registryURL, Username: helper.IdentityTokenUsername, Secret: "identity-token-from-docker-login"}); err != nil {
		t.Fatal(err)
	}
	refused(s, "identity token stored by docker login")

	// The user opts it in.
	if err := s.ImportRefreshToken(ctx, k, registryURL, "identity-token-from-docker-login"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Get(ctx, k); err != nil || c.Secret != "access-1" {
		t.Fatalf("Get after import = %v, %v", c, err)
	}
	if len(seen) != 1 {
		t.Fatalf("import made %d token requests, want 1", len(seen))
	}
	seen = nil

	// The entry is pointed at another token URL (a hostile or mistaken
	// edit): the token is not sent there.
	other := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		seen = append(seen, r.PostForm.Get("refresh_token"))
		http.Error(w, "{}", http.StatusBadRequest)
	})
	refused(open(other.URL+"/token"), "entry pointed at another token URL")
}
