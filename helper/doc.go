// Package helper implements the Docker credential-helper protocol on top of a
// small, context-first [Store] interface.
//
// The protocol is the one spoken by the docker CLI, notation, oras, crane,
// regctl and skopeo: the program is invoked as `docker-credential-<name>
// <action>`, reads its payload from stdin and answers on stdout. Errors are
// written to stdout too, followed by exit status 1; the text
// "credentials not found in native keychain" means "no credential" and makes
// clients fall back to anonymous access, so it is only ever produced from
// [ErrNotFound].
//
// The usual entry point is [Handle], which runs one action against a Store.
// Backends (filestore, keyring) and decorators (tokenexchange) implement
// [Store]; they translate their own not-found condition into [ErrNotFound] and
// compute entry keys with [ParseServerURL], so that every backend agrees on
// which spellings of a server URL name the same registry.
//
// Reference: https://github.com/docker/docker-credential-helpers (protocol)
package helper
