package filestore

import (
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

func TestConformance(t *testing.T) {
	helpertest.Run(t, func(t *testing.T) helper.Store {
		s, err := New(Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
