package keyring

import gokeyring "github.com/zalando/go-keyring"

const (
	keychainName = "macOS keychain"
	timeoutHint  = "answer the Keychain Access prompt if one is showing, or unlock the login keychain (security unlock-keychain)"
	failureHint  = "check that the login keychain exists and is unlocked (security unlock-keychain; in an SSH session it must be unlocked first)"
	// removeItemsHowTo says how a user removes the items of a service (%s).
	removeItemsHowTo = "in Keychain Access, search for %s"
)

// systemKeyring is go-keyring, which runs /usr/bin/security.
type systemKeyring struct{}

func (systemKeyring) Set(service, user, password string) error {
	return gokeyring.Set(service, user, password)
}

func (systemKeyring) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }

func (systemKeyring) Delete(service, user string) error { return gokeyring.Delete(service, user) }
