package tokenexchange

import (
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
