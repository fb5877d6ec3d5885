package tokenexchange_test

import (
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// The decorator is a helper.Store like any backend: with no registry
// configured it must be a pure pass-through, and with one configured it must
// leave every other registry alone. The suite's keys are not the configured
// registry's, and its provider is never contacted.
func TestConformance(t *testing.T) {
	t.Run("no registries", func(t *testing.T) {
		helpertest.Run(t, func(t *testing.T) helper.Store {
			s, err := tokenexchange.New(helpertest.NewMemStore(), tokenexchange.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("one registry", func(t *testing.T) {
		helpertest.Run(t, func(t *testing.T) helper.Store {
			s, err := tokenexchange.New(helpertest.NewMemStore(), tokenexchange.Options{
				Dir: t.TempDir(),
				Registries: map[string]tokenexchange.Registry{
					"exchange.example.net": {Issuer: "https://idp.invalid/", ClientID: "cli"},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
