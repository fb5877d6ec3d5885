package registry

import (
	"context"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/registryfixture"
)

// The one user of both registries. The token server grants scopes only on
// repositories under "<user>/".
const testUser = "alice"

// The token registry's service and the Basic registry's realm.
const (
	tokenService = "dcn-registry-test"
	basicRealm   = "dcn-basic"
)

// fixture is the servers (internal/testutil/registryfixture), started once
// for the package: BasicHost serves registry v3 with htpasswd over TLS;
// TokenHost is a TLS front on 127.0.0.1 routing /token/ to the token server
// and the rest to registry v3 with token auth, so the realm is on the
// registry's own host and port.
type fixture struct {
	*registryfixture.Servers
}

func startFixture(ctx context.Context, dir string, paths map[string]string) (*fixture, error) {
	s, err := registryfixture.Start(ctx, registryfixture.Options{
		Dir:         dir,
		Registry:    paths["registry"],
		TokenServer: paths["token-server"],
		Name:        "dcn",
		User:        testUser,
		Service:     tokenService,
		Issuer:      "dcn-token-server",
		BasicRealm:  basicRealm,
		ClientID:    "dcn-registry-test",
	})
	if err != nil {
		return nil, err
	}
	return &fixture{s}, nil
}
