// Package registryauth runs the registry authentication flow of notation's
// specification against one registry, with a stored credential: ping
// /v2/, read the WWW-Authenticate challenge, answer it (Basic: the user
// name and password; Bearer: a token from the challenge's realm), and
// confirm on /v2/ that the registry takes the result. The `token` and
// `check` commands are built on it.
//
// The usual entry point is [New] followed by [Client.Authenticate] with an
// [Endpoint] from [ParseRegistry] and the credential from the store. For
// Bearer, an identity (refresh) token, stored under the user name
// "<token>", goes in an OAuth2 POST with grant_type=refresh_token; a user
// name and password go in an OAuth2 POST with grant_type=password, falling
// back to the Docker token GET with Basic credentials when the token server
// does not take that grant. [ParseChallenges] and [DecodeTokenResponse]
// are the parsers of untrusted input, usable on their own.
//
// Transport security: credentials go only over HTTPS (TLS 1.2 or later),
// except to loopback hosts and hosts listed in [Options.Insecure]; a token
// realm must satisfy the same rule, and may be on loopback only when the
// registry's host name is the same; each host's CA certificates and client
// certificate come from docker's certs.d layout ([DefaultCertsDirs]) on
// top of the system roots (which honour SSL_CERT_FILE); a redirect to
// another host never carries the Authorization header, and one that would
// resend a form holding a secret is refused; every request has a timeout
// and every response body is read to a bound.
//
// Memory between runs (Options.Challenges, Options.Tokens): each
// registry's challenge, in a non-secret file ([ChallengeFile]), and the
// token services' tokens, encrypted in a [Vault] ([StoreTokens]), so that
// a known Basic registry gets one request, a known Bearer registry no
// ping, and a token is reused while it has life left (see memory.go). A
// 401 on the remembered path forgets and runs the full flow once.
//
// The package depends on helper and the shared leaves alone from this
// module, and never on a store: the caller looks the credential up, hands
// in the vault, and writes back a rotated refresh token
// (Result.Token.RefreshToken) if it wants to keep it.
//
// References:
//   - https://github.com/notaryproject/notation/blob/main/specs/registry-auth.md
//   - https://distribution.github.io/distribution/spec/auth/token/
//   - https://distribution.github.io/distribution/spec/auth/oauth/
//   - RFC 6749 (OAuth 2.0), RFC 6750 (Bearer), RFC 7235 (HTTP
//     authentication), RFC 7617 (Basic)
package registryauth
