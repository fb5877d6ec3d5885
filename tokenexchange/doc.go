// Package tokenexchange will hold the OAuth2 token exchange: a decorator
// that wraps any helper.Store and, for a registry whose stored credential is
// an identity (refresh) token, answers get with a short-lived access token
// obtained from the registry's token server, writing a rotated refresh token
// back through the wrapped store.
//
// It is planned, not implemented: the package is empty and nothing uses it.
// When it lands it will depend on package helper only (plus
// internal/filelock, should it need a lock), never on a backend, since it
// works with whichever store main hands it. See ARCHITECTURE.md.
package tokenexchange
