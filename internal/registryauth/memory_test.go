package registryauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// memVault is a Vault in memory; Update is serialized, as the store's lock
// serializes it between processes.
type memVault struct {
	mu      sync.Mutex
	values  map[string]string
	updates int
	fail    error
}

func newMemVault() *memVault { return &memVault{values: map[string]string{}} }

func (v *memVault) LoadRegistryTokens(_ context.Context, key helper.Key) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.fail != nil {
		return "", v.fail
	}
	return v.values[key.String()], nil
}

func (v *memVault) UpdateRegistryTokens(_ context.Context, key helper.Key, update func(string) (string, error)) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.fail != nil {
		return v.fail
	}
	next, err := update(v.values[key.String()])
	if err != nil {
		return err
	}
	v.updates++
	if next == "" {
		delete(v.values, key.String())
	} else {
		v.values[key.String()] = next
	}
	return nil
}

// memWorld is a Bearer registry and its token server (distribution's:
// no password grant), with counters, and the memory of the flow.
type memWorld struct {
	*world
	reg, ts recorder
	mu      sync.Mutex
	// issue is the token the token server issues; accept the tokens the
	// registry takes.
	issue  string
	accept map[string]bool
	vault  *memVault
	file   string
}

func newMemWorld(t *testing.T) *memWorld {
	m := &memWorld{world: newWorld(t), issue: "tok-1", accept: map[string]bool{"tok-1": true}, vault: newMemVault(),
		file: filepath.Join(t.TempDir(), "cache", ChallengeFileName)}
	m.serveTLS("registry.test", fakeRegistry(&m.reg, tokenChallenge, func(authz string) bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		tok, ok := strings.CutPrefix(authz, "Bearer ")
		return ok && m.accept[tok]
	}), nil)
	m.serveTLS("auth.test", tokenServer(&m.ts,
		func(w http.ResponseWriter, s seen) {
			writeJSON(w, http.StatusBadRequest, `{"errors":[{"code":"UNSUPPORTED_VALUE","detail":"password grant type not supported"}]}`)
		},
		func(w http.ResponseWriter, s seen) {
			if !basicAuth("alice", "s3cr3t-password")(s.Authorization) {
				writeJSON(w, http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED"}]}`)
				return
			}
			m.mu.Lock()
			tok := m.issue
			m.mu.Unlock()
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"token":%q,"expires_in":900}`, tok))
		}), nil)
	return m
}

func (m *memWorld) client(opts Options) *Client {
	opts.Challenges = &ChallengeFile{Path: m.file}
	opts.Tokens = &StoreTokens{Vault: m.vault}
	return m.world.client(opts)
}

// counts returns the requests the registry and the token server saw since
// the last call.
func (m *memWorld) counts() (reg, ts int) {
	reg, ts = len(m.reg.all()), len(m.ts.all())
	m.reg.mu.Lock()
	m.reg.reqs = nil
	m.reg.mu.Unlock()
	m.ts.mu.Lock()
	m.ts.reqs = nil
	m.ts.mu.Unlock()
	return reg, ts
}

func (m *memWorld) want(t *testing.T, what string, r *Result, wantReg, wantTS int) {
	t.Helper()
	reg, ts := m.counts()
	if reg != wantReg || ts != wantTS {
		t.Errorf("%s: registry saw %d requests, token server %d; want %d and %d", what, reg, ts, wantReg, wantTS)
	}
	if r != nil && r.Requests != reg+ts {
		t.Errorf("%s: Result.Requests = %d, the servers saw %d", what, r.Requests, reg+ts)
	}
}

func TestMemoryBearer(t *testing.T) {
	m := newMemWorld(t)
	ctx := context.Background()
	ep := mustEndpoint(t, "registry.test")
	pull := []string{"repository:alice/app:pull"}

	r, err := m.client(Options{}).Authenticate(ctx, ep, alice, pull)
	if err != nil || !r.Authenticated || r.Cached || r.Remembered {
		t.Fatalf("cold: %+v, %v", r, err)
	}
	m.want(t, "cold", r, 2, 2)

	// Remembered challenge and token; check confirms on /v2/.
	r, err = m.client(Options{}).Authenticate(ctx, ep, alice, pull)
	if err != nil || !r.Authenticated || !r.Cached || !r.Remembered || r.Token.AccessToken != "tok-1" || r.Method != MethodRemembered {
		t.Fatalf("warm: %+v, %v", r, err)
	}
	m.want(t, "warm", r, 1, 0)

	// The token command does not confirm: nothing is sent.
	r, err = m.client(Options{Unconfirmed: true}).Authenticate(ctx, ep, alice, []string{"repository:alice/app:pull", "repository:alice/app:pull"})
	if err != nil || !r.Cached || r.Token.AccessToken != "tok-1" {
		t.Fatalf("warm, unconfirmed: %+v, %v", r, err)
	}
	m.want(t, "warm, unconfirmed", r, 0, 0)

	// A new scope: straight to the token GET (the POST is known refused).
	r, err = m.client(Options{Unconfirmed: true}).Authenticate(ctx, ep, alice, []string{"repository:alice/other:pull"})
	if err != nil || r.Cached || !r.Remembered || r.Method != MethodTokenGET {
		t.Fatalf("new scope: %+v, %v", r, err)
	}
	m.want(t, "new scope", r, 0, 1)

	// Another credential never gets alice's token.
	other := &helper.Credentials{Username: "alice", Secret: "another-password"}
	r, err = m.client(Options{Unconfirmed: true}).Authenticate(ctx, ep, other, pull)
	if !errors.Is(err, ErrRejected) || r.Token != nil {
		t.Fatalf("another credential: %+v, %v", r, err)
	}
	// The remembered GET (401), then the full flow once: ping, POST, GET.
	m.want(t, "another credential", r, 1, 3)

	// Refresh (--no-cache) asks afresh and replaces the memory.
	m.mu.Lock()
	m.issue, m.accept["tok-2"] = "tok-2", true
	m.mu.Unlock()
	r, err = m.client(Options{Refresh: true, Unconfirmed: true}).Authenticate(ctx, ep, alice, pull)
	if err != nil || r.Cached || r.Remembered || r.Token.AccessToken != "tok-2" {
		t.Fatalf("refresh: %+v, %v", r, err)
	}
	m.want(t, "refresh", r, 2, 2)
	r, err = m.client(Options{Unconfirmed: true}).Authenticate(ctx, ep, alice, pull)
	if err != nil || !r.Cached || r.Token.AccessToken != "tok-2" {
		t.Fatalf("after refresh: %+v, %v", r, err)
	}
	m.want(t, "after refresh", r, 0, 0)
}

// TestMemoryRefusedToken: a remembered token the registry refuses is
// dropped and the full flow runs once; a registry refusing every token
// ends in an error after a bounded number of requests.
func TestMemoryRefusedToken(t *testing.T) {
	m := newMemWorld(t)
	ctx := context.Background()
	ep := mustEndpoint(t, "registry.test")
	if _, err := m.client(Options{}).Authenticate(ctx, ep, alice, nil); err != nil {
		t.Fatal(err)
	}
	m.counts()

	// The key rotated: tok-1 is refused, tok-2 is issued.
	m.mu.Lock()
	m.issue, m.accept = "tok-2", map[string]bool{"tok-2": true}
	m.mu.Unlock()
	r, err := m.client(Options{}).Authenticate(ctx, ep, alice, nil)
	if err != nil || !r.Authenticated || r.Cached || r.Token.AccessToken != "tok-2" {
		t.Fatalf("after the rotation: %+v, %v", r, err)
	}
	// The refused token, then ping, POST, GET, confirmation.
	m.want(t, "after the rotation", r, 3, 2)
	r, _ = m.client(Options{Unconfirmed: true}).Authenticate(ctx, ep, alice, nil)
	if !r.Cached || r.Token.AccessToken != "tok-2" {
		t.Errorf("the new token is not the one kept: %+v", r)
	}
	m.counts()

	// Nothing is accepted any more: one full flow, then the error.
	m.mu.Lock()
	m.accept = map[string]bool{}
	m.mu.Unlock()
	r, err = m.client(Options{}).Authenticate(ctx, ep, alice, nil)
	if err == nil || r.Authenticated {
		t.Fatalf("a refusing registry: %+v, %v", r, err)
	}
	m.want(t, "a refusing registry", r, 3, 2)
}

// TestMemoryChangedChallenge: a remembered realm that is gone is
// forgotten, and what the registry says now replaces it.
func TestMemoryChangedChallenge(t *testing.T) {
	m := newMemWorld(t)
	cf := &ChallengeFile{Path: m.file}
	if err := cf.Remember("registry.test", Remembered{Scheme: SchemeBearer, Realm: "https://old-auth.test/token", Service: "old", URL: "https"}); err != nil {
		t.Fatal(err)
	}
	m.serveTLS("old-auth.test", http.NotFoundHandler(), nil)
	r, err := m.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err != nil || !r.Authenticated || r.Remembered || r.Realm != "https://auth.test/token" {
		t.Fatalf("%+v, %v", r, err)
	}
	got, ok := cf.Recall("registry.test")
	if !ok || got.Realm != "https://auth.test/token" || got.Service != "registry.test" || !got.TokenGET {
		t.Errorf("remembered %+v, %v", got, ok)
	}

	// A remembered realm whose host is gone.
	if err := cf.Remember("registry.test", Remembered{Scheme: SchemeBearer, Realm: "https://gone-auth.test/token", URL: "https"}); err != nil {
		t.Fatal(err)
	}
	r, err = m.client(Options{Unconfirmed: true}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err != nil || r.Remembered || r.Realm != "https://auth.test/token" {
		t.Fatalf("gone realm: %+v, %v", r, err)
	}

	// A remembered realm the rules refuse (plain HTTP for an HTTPS
	// registry) is never followed.
	if err := cf.Remember("registry.test", Remembered{Scheme: SchemeBearer, Realm: "http://auth.test/token", URL: "https"}); err != nil {
		t.Fatal(err)
	}
	var plain recorder
	m.serveHTTP("auth.test", tokenServer(&plain, nil, nil))
	r, err = m.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err != nil || r.Remembered || len(plain.all()) != 0 {
		t.Errorf("downgraded realm: %+v, %v, plain HTTP saw %d requests", r, err, len(plain.all()))
	}
}

func TestMemoryBasic(t *testing.T) {
	w := newWorld(t)
	var reg recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="r"`, basicAuth("alice", "s3cr3t-password")), nil)
	file := filepath.Join(t.TempDir(), ChallengeFileName)
	c := func() *Client { return w.client(Options{Challenges: &ChallengeFile{Path: file}}) }
	ep := mustEndpoint(t, "registry.test")
	for i, want := range []int{2, 1, 1} {
		r, err := c().Authenticate(context.Background(), ep, alice, nil)
		if err != nil || !r.Authenticated || r.Requests != want || r.Remembered != (i > 0) {
			t.Errorf("run %d: %+v, %v; want %d requests", i, r, err, want)
		}
	}
	if n := len(reg.all()); n != 4 {
		t.Errorf("the registry saw %d requests, want 4", n)
	}
	// An identity token cannot answer Basic: the full flow says so.
	r, err := c().Authenticate(context.Background(), ep, identity, nil)
	if !errors.Is(err, ErrUnsupported) || r.Remembered {
		t.Errorf("identity token: %+v, %v", r, err)
	}
}

// TestMemoryTokenFailures: a vault that fails never fails the flow.
func TestMemoryTokenFailures(t *testing.T) {
	m := newMemWorld(t)
	m.vault.fail = errors.New("the store is locked")
	r, err := m.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err != nil || !r.Authenticated || r.Cached {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestStoreTokensConcurrent(t *testing.T) {
	v := newMemVault()
	s := &StoreTokens{Vault: v}
	id := TokenID{Registry: helper.Key{}, Binding: "b", Scopes: "s"}
	var (
		mu      sync.Mutex
		fetches int
		wg      sync.WaitGroup
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, _, err := s.Obtain(context.Background(), id, true, func(context.Context) (*Token, error) {
				mu.Lock()
				fetches++
				mu.Unlock()
				return &Token{AccessToken: "t", IssuedAt: time.Now(), ExpiresIn: time.Hour, lifetime: time.Hour}, nil
			})
			if err != nil || tok.AccessToken != "t" {
				t.Errorf("Obtain: %v, %v", tok, err)
			}
		}()
	}
	wg.Wait()
	if fetches != 1 {
		t.Errorf("%d fetches, want 1", fetches)
	}
}

func TestTokenSetLifetime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := TokenID{Binding: "b", Scopes: "repository:a:pull"}
	for _, tc := range []struct {
		name      string
		body      string
		received  time.Time
		usable    time.Duration // after t0, still handed out
		notUsable time.Duration // after t0, no longer
	}{
		{"default 60 s, a quarter as margin", `{"token":"x"}`, t0, 44 * time.Second, 46 * time.Second},
		{"15 minutes, a minute as margin", `{"token":"x","expires_in":900}`, t0, 839 * time.Second, 841 * time.Second},
		{"below 60 s is believed", `{"token":"x","expires_in":4}`, t0, 2 * time.Second, 3*time.Second + time.Millisecond},
		{"issued_at honoured", `{"token":"x","expires_in":120,"issued_at":"2025-12-31T23:59:30Z"}`, t0, 59 * time.Second, 61 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := DecodeTokenResponse([]byte(tc.body), tc.received)
			if err != nil {
				t.Fatal(err)
			}
			set := ParseTokenSet("")
			set.put(id, tok, t0)
			again := ParseTokenSet(set.encode(t0))
			if again.find(id, t0.Add(tc.usable)) == nil {
				t.Errorf("not handed out at +%s", tc.usable)
			}
			if again.find(id, t0.Add(tc.notUsable)) != nil {
				t.Errorf("still handed out at +%s", tc.notUsable)
			}
			if again.find(TokenID{Binding: "other", Scopes: id.Scopes}, t0) != nil || again.find(TokenID{Binding: "b", Scopes: "repository:a:push"}, t0) != nil {
				t.Error("handed out for another binding or scope set")
			}
		})
	}
}

func TestTokenSetBounded(t *testing.T) {
	now := time.Now()
	set := ParseTokenSet("")
	for i := range maxKeptTokens + 10 {
		set.put(TokenID{Binding: "b", Scopes: fmt.Sprint(i)}, &Token{AccessToken: "t", IssuedAt: now, lifetime: time.Duration(i+1) * time.Hour}, now)
	}
	again := ParseTokenSet(set.encode(now))
	if len(again.Tokens) != maxKeptTokens {
		t.Fatalf("%d tokens kept, want %d", len(again.Tokens), maxKeptTokens)
	}
	if again.find(TokenID{Binding: "b", Scopes: "0"}, now) != nil || again.find(TokenID{Binding: "b", Scopes: fmt.Sprint(maxKeptTokens + 9)}, now) == nil {
		t.Error("the shortest-lived should go first")
	}
	// Huge tokens: what is written can be read back.
	big := ParseTokenSet("")
	for i := range 20 {
		big.put(TokenID{Binding: "b", Scopes: fmt.Sprint(i)}, &Token{AccessToken: strings.Repeat("t", 100<<10), IssuedAt: now, lifetime: time.Hour}, now)
	}
	if v := big.encode(now); len(v) > maxTokenSet || len(ParseTokenSet(v).Tokens) == 0 {
		t.Errorf("%d bytes written, %d tokens read back", len(v), len(ParseTokenSet(v).Tokens))
	}
	// Expired tokens are not written back.
	if v := set.encode(now.Add(1000 * time.Hour)); v != "" {
		t.Errorf("expired tokens kept: %.80s", v)
	}
	for _, bad := range []string{"{", `{"v":2,"tokens":[]}`, `{"v":1,"tokens":[],"x":1}`, strings.Repeat(" ", maxTokenSet+1)} {
		if s := ParseTokenSet(bad); len(s.Tokens) != 0 || s.V != 1 {
			t.Errorf("ParseTokenSet(%.20q) = %+v", bad, s)
		}
	}
}

func TestChallengeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", ChallengeFileName)
	f := &ChallengeFile{Path: path}
	if _, ok := f.Recall("r.test"); ok {
		t.Fatal("recalled from a missing file")
	}
	want := Remembered{Scheme: SchemeBearer, Realm: "https://a.test/token?x=1&y=2", Service: "svc", URL: "https"}
	if err := f.Remember("r.test:5000", want); err != nil {
		t.Fatal(err)
	}
	got, ok := f.Recall("r.test:5000")
	if !ok || !got.same(want) || got.Learned.IsZero() {
		t.Errorf("recalled %+v, %v", got, ok)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode().Perm(), err)
	}
	if err := f.Remember("bad/host", want); err == nil {
		t.Error("remembered a host with a path")
	}
	if err := f.Remember("r.test", Remembered{Scheme: "Negotiate", URL: "https"}); err == nil {
		t.Error("remembered an unknown scheme")
	}
	for _, realm := range []string{"", "/token", "ftp://a.test/token", "https://user:pw@a.test/token"} {
		if err := f.Remember("r.test", Remembered{Scheme: SchemeBearer, Realm: realm, URL: "https"}); err == nil {
			t.Errorf("remembered the realm %q", realm)
		}
	}

	// Damaged content reads as empty and the next write replaces it.
	if err := os.WriteFile(path, []byte(`{"v":1,"registries":{`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Recall("r.test:5000"); ok {
		t.Error("recalled from a damaged file")
	}
	if err := f.Remember("r.test", Remembered{Scheme: SchemeBasic, URL: "https"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"r.test"`) {
		t.Errorf("not rewritten: %s", b)
	}

	// A file others may write is not trusted.
	if err := os.Chmod(path, 0o622); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Recall("r.test"); ok && runtime.GOOS != "windows" {
		t.Error("recalled from a file others may write")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Recall("r.test"); !ok {
		t.Error("not recalled from a private file")
	}
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Recall("r.test"); ok && runtime.GOOS != "windows" {
		t.Error("recalled from a directory others may write")
	}
	if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := f.Forget("r.test"); err != nil {
		t.Fatal(err)
	}

	// Bounded: the ones learned longest ago go first.
	_ = os.Remove(path)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxRemembered + 5 {
		r := Remembered{Scheme: SchemeBasic, URL: "https", Learned: base.Add(time.Duration(i) * time.Second)}
		if err := f.Remember(fmt.Sprintf("h%d.test", i), r); err != nil {
			t.Fatal(err)
		}
	}
	m := f.load()
	if len(m) != maxRemembered {
		t.Errorf("%d remembered, want %d", len(m), maxRemembered)
	}
	if _, ok := m["h0.test"]; ok {
		t.Error("the oldest was kept")
	}
	if _, ok := m[fmt.Sprintf("h%d.test", maxRemembered+4)]; !ok {
		t.Error("the newest was dropped")
	}
}
