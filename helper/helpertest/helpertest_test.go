package helpertest

import (
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

func TestMemStoreConforms(t *testing.T) {
	Run(t, func(*testing.T) helper.Store { return NewMemStore() })
}
