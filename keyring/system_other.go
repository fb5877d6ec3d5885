//go:build !darwin && !windows && !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package keyring

import (
	"context"
	"fmt"
	"runtime"

	"github.com/notaryproject/docker-credential-notation/helper"
)

const (
	keychainName = "keychain"
	timeoutHint  = "this platform has no supported keychain"
	failureHint  = timeoutHint
	// removeItemsHowTo says how a user removes the items of a service (%s).
	removeItemsHowTo = "those of service %s"
)

// systemKeyring reports that go-keyring supports no keychain here.
type systemKeyring struct{}

func (systemKeyring) unsupported() error {
	return helper.WithHint(fmt.Errorf("%w: go-keyring supports no keychain on %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH),
		"set DOCKER_CREDENTIAL_NOTATION_BACKEND=file to use the encrypted file store")
}

func (k systemKeyring) Set(string, string, string) error   { return k.unsupported() }
func (k systemKeyring) Get(string, string) (string, error) { return "", k.unsupported() }
func (k systemKeyring) Delete(string, string) error        { return k.unsupported() }
func (k systemKeyring) Diagnose(context.Context) error     { return k.unsupported() }
