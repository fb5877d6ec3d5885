package registryauth

import (
	"net/url"

	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
)

// ErrInsecure is wrapped by the error for a request that would send a
// credential over plain HTTP to a host that is neither on loopback nor
// marked insecure.
var ErrInsecure = httppolicy.ErrInsecure

// DefaultCertsDirs returns the certs.d roots that docker reads
// (httppolicy.DefaultCertsDirs).
func DefaultCertsDirs(getenv func(string) string) []string {
	return httppolicy.DefaultCertsDirs(getenv)
}

// redactURL is u without user information, for messages.
func redactURL(u *url.URL) string { return httppolicy.Redact(u) }
