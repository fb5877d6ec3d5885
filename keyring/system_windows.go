package keyring

import gokeyring "github.com/zalando/go-keyring"

const (
	keychainName = "Windows Credential Manager"
	timeoutHint  = "check that the Credential Manager service (VaultSvc) is running"
	failureHint  = "check that Windows Credential Manager works for this user (cmdkey /list)"
	// removeItemsHowTo says how a user removes the items of a service (%s).
	removeItemsHowTo = "in Credential Manager, Windows Credentials, those whose name starts with %s:"
)

// systemKeyring is go-keyring, which calls the Credential Manager API.
type systemKeyring struct{}

func (systemKeyring) Set(service, user, password string) error {
	return gokeyring.Set(service, user, password)
}

func (systemKeyring) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }

func (systemKeyring) Delete(service, user string) error { return gokeyring.Delete(service, user) }
