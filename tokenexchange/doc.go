// Package tokenexchange keeps OAuth2 refresh tokens inside the helper and
// hands clients short-lived access tokens instead: a decorator that wraps
// any helper.Store, as oauth2.Transport wraps a RoundTripper.
//
// # The model
//
// A registry is configured for exchange with a [Registry]: an OpenID issuer
// (whose discovery document gives the token and device authorization
// endpoints) or a token URL, a client id (and, for a confidential client, a
// secret from the environment), scopes, and the username to return with the
// access token ([DefaultUsername], "oauth2accesstoken", by default; GitLab
// uses "oauth2"). Registries that are not configured pass straight through,
// at the cost of a map lookup.
//
// For a configured registry, the wrapped store holds under the registry's
// key the refresh token, as docker stores an identity token: username
// "<token>", the token as the secret. Under a reserved key derived from it,
// key + "/@access-token", it holds the cached access token with its expiry,
// encrypted like every other entry. A registry or repository name never
// contains "@", so no client key collides with a reserved one: Put refuses
// them, Get and Delete answer not-found, and List leaves them out.
//
// Get on a configured registry holding a refresh token:
//
//   - returns {Username: the configured username, Secret: the cached access
//     token} while the token has more than a minute (or a quarter of its
//     lifetime) to live: two store reads, no lock, no network;
//   - otherwise takes an exclusive lock on [LockFileName] in the store
//     directory, reads the store again (another process may have refreshed
//     meanwhile, so N concurrent gets on an expired token cause one refresh),
//     and trades the refresh token at the token endpoint (RFC 6749 section
//     6). A rotated refresh token is written back before anything else; the
//     new access token is cached;
//   - on invalid_grant (revoked, expired or spent refresh token) fails with
//     a hint to run `docker-credential-notation login <registry>`; on a
//     network failure, a timeout or a 5xx answer serves the cached token
//     while it has not expired, and otherwise fails. Neither is ever
//     "not found".
//
// A stored password (any username but "<token>") is returned as it is.
// Put of the access token a get handed out (or the one before it) with the
// configured username, as `docker login` does after a get, is a no-op, so
// the refresh token stays; any other Put replaces the credential and drops
// the cache. Delete removes the refresh token and the cache, then revokes
// the refresh token at the provider (RFC 7009) when the issuer's discovery
// document names a revocation endpoint; if that fails the credential is
// gone all the same, and a warning says the grant lives on at the provider.
//
// For every registry, configured or not, [Store.LoadRegistryTokens] and
// [Store.UpdateRegistryTokens] keep the tokens that the token and check
// commands obtained from the registry's own token service (see
// internal/registryauth) under the reserved key + "/@registry-tokens",
// encrypted like every entry and updated under a lock of their own
// ([RegistryTokensLockFileName]), so a slow token service never holds up a
// get's refresh; Put of a new credential and Delete drop them.
//
// [Store.DeviceLogin] logs in with the device authorization grant and
// [Store.ImportRefreshToken] stores a refresh token obtained elsewhere
// after trading it once; the CLI's login command reaches both through a
// small interface, since it imports no backend.
//
// # Transport
//
// Every request to a provider goes over HTTPS with TLS 1.2 or later; plain
// HTTP only to a loopback address or for a registry whose settings say
// insecure. Each request has a timeout ([DefaultTimeout] unless the
// settings say otherwise), every response body is bounded, and a redirect
// to another host is refused, so the refresh token and client secret in a
// token request are never forwarded.
//
// The usual entry point is [New], called by the composition root with the
// registries of the configuration.
//
// Reference: RFC 6749 (OAuth 2.0), sections 2.3.1, 5.2 and 6;
// RFC 7009 (OAuth 2.0 Token Revocation); RFC 8628 (OAuth 2.0 Device Authorization Grant);
// OpenID Connect Discovery 1.0, sections 3 and 4;
// https://github.com/docker/docker-credential-helpers (the protocol and the
// "<token>" username).
package tokenexchange
