package tokenexchange

import (
	"context"
	"errors"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
)

var helperKeyForTests, _ = helper.ParseServerURL("registry.example.com" + cacheSuffix)

// CacheSuffix is the reserved suffix of cache keys.
const CacheSuffix = cacheSuffix

var DecodeCache = decodeCache

// ParseDiscovery parses a discovery document for issuer and returns its
// token endpoint.
func ParseDiscovery(b []byte, issuer string) (string, error) {
	d, err := parseDiscovery(b, issuer, &httppolicy.Policy{})
	if err != nil {
		return "", err
	}
	return d.TokenEndpoint, nil
}

// EncodeCache encodes a cache entry's secret.
func EncodeCache(e *cacheEntry) (string, error) {
	c, err := encodeCache(helperKeyForTests, e)
	return c.Secret, err
}

// ParseExchanged parses a token-exchange answer and returns its access
// token and lifetime.
func ParseExchanged(b []byte) (string, time.Duration, error) {
	t, err := parseExchanged(b)
	if err != nil {
		return "", 0, err
	}
	return t.AccessToken, t.lifetime(), nil
}

// TokenIdentity is the cache binding of a subject token.
var TokenIdentity = tokenIdentity

// Bind records refreshToken as obtained by the helper's login for key, as
// login does: a stale cache entry bound to it, so that get refreshes it.
func Bind(ctx context.Context, s *Store, key helper.Key, refreshToken string) error {
	r := s.lookup(key)
	if r == nil {
		return errors.New("not configured")
	}
	past := time.Now().Add(-time.Hour)
	return s.writeCache(ctx, r, newCacheEntry("stale-access-token", past, time.Minute, r.grant(refreshToken), nil))
}
