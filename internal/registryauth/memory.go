package registryauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// What the flow remembers between runs, so that the next one makes fewer
// requests (the specification's "optimization might be performed to reduce
// the number of requests"):
//
//   - per registry host[:port], the scheme, realm and service of its last
//     challenge and the URL scheme /v2/ answered on ([ChallengeMemory],
//     kept in a non-secret file by [ChallengeFile]). A registry known to
//     use Basic gets the authenticated request at once, one request; one
//     known to use Bearer has its token requested at once, without a ping;
//   - per (registry, credential, realm and service, sorted scope set), the
//     token its token service issued ([TokenMemory], kept encrypted in the
//     store by [StoreTokens]), reused while it has life left.
//
// A 401, or a failed token request, on the remembered path forgets the
// challenge, and the token that was refused, and runs the full flow once.
// A challenge that differs from the remembered one replaces it; a token is
// bound to the realm and service it came from, so it is never sent after a
// change. The realm rules apply to a remembered realm as to a new one.

// Remembered is a registry's challenge as the flow remembers it. Nothing in
// it is secret.
type Remembered struct {
	// Scheme is SchemeBasic or SchemeBearer.
	Scheme string `json:"scheme"`
	// Realm and Service are the challenge's (Service for Bearer only).
	Realm   string `json:"realm,omitempty"`
	Service string `json:"service,omitempty"`
	// URL is the URL scheme that /v2/ answered on: "https" or "http".
	URL string `json:"url"`
	// TokenGET is set when the token server refused the OAuth2 password
	// grant and answered the Docker token GET: the next token request
	// goes straight to the GET.
	TokenGET bool `json:"tokenGET,omitempty"`
	// Learned is when the challenge was read.
	Learned time.Time `json:"learned"`
}

// same reports whether r and o describe the same challenge.
func (r Remembered) same(o Remembered) bool {
	return r.Scheme == o.Scheme && r.Realm == o.Realm && r.Service == o.Service && r.URL == o.URL && r.TokenGET == o.TokenGET
}

// ChallengeMemory remembers each registry's last challenge, by host[:port].
type ChallengeMemory interface {
	// Recall returns the challenge remembered for host.
	Recall(host string) (Remembered, bool)
	// Remember keeps r for host, replacing what was there.
	Remember(host string, r Remembered) error
	// Forget drops what is remembered for host.
	Forget(host string) error
}

// TokenID names a remembered token.
type TokenID struct {
	// Registry is the store key of the registry's credential.
	Registry helper.Key
	// Binding is a digest of the registry host, the credential (user name
	// and secret), and the realm and service the token came from: another
	// credential, or a token server moved elsewhere, never gets the token.
	Binding string
	// Scopes is the sorted, space-separated set of scopes asked for.
	Scopes string
}

// newTokenID is the ID of the token for these scopes, from realm and
// service, obtained with cred.
func newTokenID(e Endpoint, cred helper.Credentials, realm, service string, scopes []string) TokenID {
	h := sha256.New()
	for _, f := range []string{"docker-credential-notation registry token v1", e.Host, cred.Username, cred.Secret, realm, service} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return TokenID{Registry: e.Key, Binding: hex.EncodeToString(h.Sum(nil)[:16]), Scopes: scopeSet(scopes)}
}

// scopeSet is scopes sorted, without duplicates, space-separated.
func scopeSet(scopes []string) string {
	s := slices.Clone(scopes)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), " ")
}

// TokenMemory keeps the tokens of token services.
type TokenMemory interface {
	// Obtain returns the token kept for id while it has life left (and
	// cached true), unless reuse is false; otherwise it calls fetch once
	// and keeps the token that fetch returns. Concurrent callers for one
	// registry, in this process or others, wait for each other, so that
	// they fetch one token between them. A failure to read or keep the
	// memory never fails Obtain: it fetches, or returns what it fetched.
	Obtain(ctx context.Context, id TokenID, reuse bool, fetch func(context.Context) (*Token, error)) (tok *Token, cached bool, err error)
	// Forget drops the token kept for id if it is still accessToken (the
	// one a registry refused).
	Forget(ctx context.Context, id TokenID, accessToken string) error
}

// Vault keeps one encrypted value per registry for [StoreTokens]: the
// store's reserved entry for it (tokenexchange.Store implements it).
type Vault interface {
	// LoadRegistryTokens returns the value kept for key, "" when none.
	LoadRegistryTokens(ctx context.Context, key helper.Key) (string, error)
	// UpdateRegistryTokens replaces the value kept for key with what
	// update returns for the current one, under a lock between processes;
	// an unchanged value writes nothing, "" deletes it.
	UpdateRegistryTokens(ctx context.Context, key helper.Key, update func(current string) (string, error)) error
}

// StoreTokens is a TokenMemory in a Vault: for each registry, one entry
// holding its tokens (see [ParseTokenSet]).
type StoreTokens struct {
	// Vault holds the entries. Required.
	Vault Vault
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logf, if set, receives why the memory could not be used.
	Logf func(format string, args ...any)
}

var _ TokenMemory = (*StoreTokens)(nil)

func (s *StoreTokens) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *StoreTokens) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// fetchError marks the error of fetch inside an update, so that Obtain
// tells it from a failure of the memory.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// Obtain implements TokenMemory: a lock-free read first, then, when the
// token is missing or stale, the same read again under the vault's lock
// (another process may have fetched meanwhile), the fetch and the write.
func (s *StoreTokens) Obtain(ctx context.Context, id TokenID, reuse bool, fetch func(context.Context) (*Token, error)) (*Token, bool, error) {
	if reuse {
		v, err := s.Vault.LoadRegistryTokens(ctx, id.Registry)
		if err != nil {
			s.logf("token memory: %v", err)
		} else if t := ParseTokenSet(v).find(id, s.now()); t != nil {
			return t, true, nil
		}
	}
	var (
		tok     *Token
		cached  bool
		fetched bool
	)
	err := s.Vault.UpdateRegistryTokens(ctx, id.Registry, func(current string) (string, error) {
		set := ParseTokenSet(current)
		now := s.now()
		if reuse {
			if t := set.find(id, now); t != nil {
				tok, cached = t, true
				return current, nil
			}
		}
		t, err := fetch(ctx)
		fetched = true
		if err != nil {
			return current, &fetchError{err}
		}
		tok = t
		set.put(id, t, s.now())
		return set.encode(now), nil
	})
	var fe *fetchError
	switch {
	case errors.As(err, &fe):
		return nil, false, fe.err
	case err != nil && tok != nil:
		s.logf("token memory: %v", err)
		return tok, cached, nil
	case err != nil && !fetched:
		s.logf("token memory: %v; fetching without it", err)
		t, err := fetch(ctx)
		return t, false, err
	case err != nil:
		return nil, false, err
	}
	return tok, cached, nil
}

// Forget implements TokenMemory.
func (s *StoreTokens) Forget(ctx context.Context, id TokenID, accessToken string) error {
	return s.Vault.UpdateRegistryTokens(ctx, id.Registry, func(current string) (string, error) {
		set := ParseTokenSet(current)
		set.drop(id, accessToken)
		return set.encode(s.now()), nil
	})
}

// maxKeptTokens bounds the tokens kept per registry: a user works on a few
// repositories at a time, and each scope set is one entry. The entries
// closest to expiry go first.
const maxKeptTokens = 32

// maxTokenSet bounds the kept value decoded: 32 tokens of a few kilobytes.
const maxTokenSet = 1 << 20

// refreshMargin is how long before its expiry a kept token stops being
// handed out, so that a client gets one with time left to use it: a
// quarter of its life, at most a minute (as tokenexchange's access tokens).
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(time.Minute, lifetime/4)
}

// keptToken is one remembered token.
type keptToken struct {
	Binding  string    `json:"binding"`
	Scopes   string    `json:"scopes"`
	Token    string    `json:"token"`
	IssuedAt time.Time `json:"issuedAt"`
	// Expiry is when the token server said it expires (issued_at, or the
	// time it was received, plus expires_in, 60 s when absent).
	Expiry time.Time `json:"expiry"`
	// UseUntil is when it stops being handed out: Expiry less the margin.
	UseUntil time.Time `json:"useUntil"`
}

// TokenSet is the tokens kept for one registry, as the vault holds them:
// JSON {"v":1,"tokens":[…]}.
type TokenSet struct {
	V      int         `json:"v"`
	Tokens []keptToken `json:"tokens"`
}

// ParseTokenSet decodes a kept value. Anything it cannot use (damage,
// another version, entries without a token or with impossible times) is
// left out, so a damaged value reads as empty and the next write replaces
// it.
func ParseTokenSet(v string) *TokenSet {
	set := &TokenSet{V: 1}
	if v == "" || len(v) > maxTokenSet {
		return set
	}
	var in TokenSet
	if err := decodeStrict([]byte(v), &in); err != nil || in.V != 1 {
		return set
	}
	for _, t := range in.Tokens {
		if t.Binding == "" || t.Token == "" || !isVisibleASCII(t.Token) || t.IssuedAt.IsZero() ||
			t.Expiry.Before(t.IssuedAt) || t.UseUntil.After(t.Expiry) || len(set.Tokens) == maxKeptTokens {
			continue
		}
		set.Tokens = append(set.Tokens, t)
	}
	return set
}

// find returns the token kept for id while it may be handed out at now.
func (s *TokenSet) find(id TokenID, now time.Time) *Token {
	for _, t := range s.Tokens {
		if t.Binding == id.Binding && t.Scopes == id.Scopes && now.Before(t.UseUntil) && !now.Before(t.IssuedAt.Add(-time.Minute)) {
			return &Token{AccessToken: t.Token, IssuedAt: t.IssuedAt, ExpiresIn: t.Expiry.Sub(t.IssuedAt), lifetime: t.Expiry.Sub(t.IssuedAt)}
		}
	}
	return nil
}

// put keeps tok for id, replacing the one it had.
func (s *TokenSet) put(id TokenID, tok *Token, now time.Time) {
	s.drop(id, "")
	life := tok.lifetime
	if life <= 0 {
		life = tok.ExpiresIn
	}
	expiry := tok.IssuedAt.Add(life)
	s.Tokens = append(s.Tokens, keptToken{
		Binding:  id.Binding,
		Scopes:   id.Scopes,
		Token:    tok.AccessToken,
		IssuedAt: tok.IssuedAt.UTC().Round(0),
		Expiry:   expiry.UTC().Round(0),
		UseUntil: expiry.Add(-refreshMargin(life)).UTC().Round(0),
	})
}

// drop removes the token kept for id (only if it is accessToken, unless
// that is empty).
func (s *TokenSet) drop(id TokenID, accessToken string) {
	s.Tokens = slices.DeleteFunc(s.Tokens, func(t keptToken) bool {
		return t.Binding == id.Binding && t.Scopes == id.Scopes && (accessToken == "" || t.Token == accessToken)
	})
}

// encode returns the value to keep: the tokens still usable at now, at
// most maxKeptTokens of them and maxTokenSet bytes (the longest-lived
// first), "" when none are left.
func (s *TokenSet) encode(now time.Time) string {
	live := slices.DeleteFunc(slices.Clone(s.Tokens), func(t keptToken) bool { return !now.Before(t.UseUntil) })
	if len(live) == 0 {
		return ""
	}
	slices.SortStableFunc(live, func(a, b keptToken) int { return b.UseUntil.Compare(a.UseUntil) })
	if len(live) > maxKeptTokens {
		live = live[:maxKeptTokens]
	}
	for len(live) > 0 {
		b, err := marshalJSON(TokenSet{V: 1, Tokens: live})
		if err != nil {
			return ""
		}
		if len(b) <= maxTokenSet {
			return string(b)
		}
		// Huge tokens: keep what ParseTokenSet will read back.
		live = live[:len(live)-1]
	}
	return ""
}

// String describes the set without its tokens.
func (s *TokenSet) String() string { return fmt.Sprintf("%d registry tokens", len(s.Tokens)) }
