package tokenexchange

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// reservedMarker starts the last part of every key the helper keeps for
// itself. A registry or repository name never contains "@" (it separates a
// digest), so no client sends such a key; the store refuses to store one
// and List never shows one.
const reservedMarker = "/@"

// Reserved reports whether key (a [helper.Key] string) is one the helper
// keeps for itself, such as a cached access token: not a credential any
// client stored.
func Reserved(key string) bool { return strings.Contains(key, reservedMarker) }

// cacheSuffix derives the key of a registry's cached access token from the
// registry's key: "registry.example.com" keeps its cache under
// "registry.example.com/@access-token".
const cacheSuffix = reservedMarker + "access-token"

// cacheUsername is the username of a cache entry, for whoever decrypts the
// store by hand.
const cacheUsername = "<access-token-cache>"

// maxCacheEntry bounds the cache entry decoded from the store: it holds one
// access token (real ones are below 16 KiB) and a few short fields.
const maxCacheEntry = 1 << 20

// defaultLifetime is assumed for an access token whose response has no
// expires_in (RFC 6749 only recommends it): a minute, as the Docker token
// specification assumes, so a token of unknown lifetime is not served for
// long.
const defaultLifetime = 60 * time.Second

// maxLeeway is how long before its expiry a cached access token is
// refreshed: a client gets a token with at least this much life left.
// Short-lived tokens are refreshed when a quarter of their life is left.
const maxLeeway = 60 * time.Second

// isReserved reports whether k is one of the helper's own keys.
func isReserved(k helper.Key) bool { return strings.Contains(k.String(), reservedMarker) }

// cacheKey returns the key of the cached access token for the registry k.
func cacheKey(k helper.Key) (helper.Key, error) {
	ck, err := helper.ParseServerURL(k.String() + cacheSuffix)
	if err != nil {
		return helper.Key{}, fmt.Errorf("failed to derive the token cache key for %s: %v", k, err)
	}
	if ck.String() != k.String()+cacheSuffix {
		return helper.Key{}, fmt.Errorf("failed to derive the token cache key for %s: it does not round-trip", k)
	}
	return ck, nil
}

// cacheEntry is a cached access token, stored as the secret of the cache
// key's entry, JSON-encoded.
type cacheEntry struct {
	// V is the format version, 1.
	V int `json:"v"`
	// AccessToken is the access token get hands out.
	AccessToken string `json:"accessToken"`
	// Expiry is when the provider said the token expires.
	Expiry time.Time `json:"expiry"`
	// RefreshAt is when get stops serving the token and refreshes it:
	// shortly before Expiry.
	RefreshAt time.Time `json:"refreshAt"`
	// Grant binds the entry to the refresh token and the provider and client
	// it came from (see grantID): logging in again, or pointing the registry
	// at another provider, makes the entry stale.
	Grant string `json:"grant"`
	// Previous is the SHA-256 of the access token handed out before this
	// one, so that a `docker login` that stores what an earlier get returned
	// is still recognised after a refresh in between.
	Previous string `json:"previous,omitempty"`
}

// newCacheEntry makes the entry for an access token obtained at issued
// that lives for lifetime.
func newCacheEntry(accessToken string, issued time.Time, lifetime time.Duration, grant string, prev *cacheEntry) *cacheEntry {
	if lifetime <= 0 {
		lifetime = defaultLifetime
	}
	leeway := min(maxLeeway, lifetime/4)
	e := &cacheEntry{
		V:           1,
		AccessToken: accessToken,
		Expiry:      issued.Add(lifetime).UTC().Round(0),
		RefreshAt:   issued.Add(lifetime - leeway).UTC().Round(0),
		Grant:       grant,
	}
	if prev != nil && prev.AccessToken != accessToken {
		e.Previous = tokenHash(prev.AccessToken)
	}
	return e
}

// fresh reports whether the token is served without asking the provider.
func (e *cacheEntry) fresh(now time.Time) bool { return e != nil && now.Before(e.RefreshAt) }

// valid reports whether the token has not yet expired: it is still served
// when the provider cannot be reached.
func (e *cacheEntry) valid(now time.Time) bool { return e != nil && now.Before(e.Expiry) }

// handedOut reports whether secret is an access token this entry's token or
// the one before it, compared in constant time.
func (e *cacheEntry) handedOut(secret string) bool {
	if e == nil || secret == "" {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(e.AccessToken)) == 1 {
		return true
	}
	return e.Previous != "" && subtle.ConstantTimeCompare([]byte(tokenHash(secret)), []byte(e.Previous)) == 1
}

func tokenHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// encodeCache returns the store entry holding e.
func encodeCache(key helper.Key, e *cacheEntry) (helper.Credentials, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return helper.Credentials{}, err
	}
	return helper.Credentials{ServerURL: key.String(), Username: cacheUsername, Secret: string(b)}, nil
}

// decodeCache parses a cache entry's secret. Anything but a well-formed
// version-1 entry is an error; the caller then treats the cache as empty
// and the next refresh replaces it.
func decodeCache(secret string) (*cacheEntry, error) {
	if len(secret) > maxCacheEntry {
		return nil, fmt.Errorf("cache entry is larger than %d bytes", maxCacheEntry)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(secret)))
	dec.DisallowUnknownFields()
	var e cacheEntry
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("invalid cache entry: %v", err)
	}
	if dec.More() {
		return nil, errors.New("invalid cache entry: trailing data")
	}
	switch {
	case e.V != 1:
		return nil, fmt.Errorf("invalid cache entry: version %d", e.V)
	case e.AccessToken == "":
		return nil, errors.New("invalid cache entry: no access token")
	case e.Expiry.IsZero() || e.RefreshAt.IsZero() || e.RefreshAt.After(e.Expiry):
		return nil, errors.New("invalid cache entry: bad times")
	case e.Grant == "":
		return nil, errors.New("invalid cache entry: no grant")
	}
	return &e, nil
}
