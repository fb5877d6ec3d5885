package tokenexchange_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// These tests run the decorator against a real OpenID Provider in-process
// (zitadel's example provider, see oidctest): the device flow, refresh,
// rotation, revocation, expiry and the provider going away.

const registryURL = "registry.example.com"

// clock is an injected clock that tests move forward. The provider keeps
// real time, so moving the clock past an access token's expiry makes the
// helper refresh while the provider still honours the refresh token.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// counter counts the requests the helper sends, whatever their target.
type counter struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// fixture is a provider, a shared in-memory store, a store directory for
// the lock and a clock: every Store made from it sees the same state, as
// separate processes over one store directory would.
type fixture struct {
	p     *oidctest.Provider
	mem   *helpertest.MemStore
	dir   string
	clock *clock
	sent  *counter
	warn  *syncBuffer
	reg   tokenexchange.Registry
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newFixture(t *testing.T, confidential bool) *fixture {
	t.Helper()
	f := &fixture{
		p:     oidctest.Start(t, oidctest.Options{AccessTokenLifetime: 2 * time.Minute}),
		mem:   helpertest.NewMemStore(),
		dir:   t.TempDir(),
		clock: newClock(),
		sent:  &counter{base: http.DefaultTransport},
		warn:  &syncBuffer{},
	}
	f.reg = tokenexchange.Registry{Issuer: f.p.Issuer, ClientID: oidctest.PublicClientID}
	if confidential {
		f.reg.ClientID = oidctest.ConfidentialClientID
		f.reg.ClientSecret = oidctest.ConfidentialClientSecret
		f.reg.ClientSecretEnv = "REGISTRY_CLIENT_SECRET"
	}
	return f
}

// store returns a new Store over the fixture's state.
func (f *fixture) store(t *testing.T) *tokenexchange.Store {
	t.Helper()
	s, err := tokenexchange.New(f.mem, tokenexchange.Options{
		Dir:        f.dir,
		Registries: map[string]tokenexchange.Registry{"https://" + registryURL: f.reg},
		HTTPClient: &http.Client{Transport: f.sent},
		Now:        f.clock.Now,
		Warn:       f.warn,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func key(t testing.TB, serverURL string) helper.Key {
	t.Helper()
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// login runs the device flow, approving the code at the provider as the
// user would in a browser.
func (f *fixture) login(t *testing.T, s *tokenexchange.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shown := false
	err := s.DeviceLogin(ctx, key(t, registryURL), registryURL, func(uri, complete, code string, expiry time.Time) {
		shown = true
		if !strings.HasPrefix(uri, f.p.Issuer) || code == "" || time.Until(expiry) < time.Minute {
			t.Errorf("show(%q, %q, %q, %v): want the provider's verification URI, a code and a few minutes", uri, complete, code, expiry)
		}
		go func() {
			if err := f.p.Approve(ctx, code); err != nil {
				t.Errorf("Approve: %v", err)
			}
		}()
	})
	if err != nil {
		t.Fatalf("DeviceLogin: %v (hint: %s)", err, helper.Hint(err))
	}
	if !shown {
		t.Fatal("DeviceLogin never showed the code")
	}
}

// refreshToken returns the refresh token the store holds.
func (f *fixture) refreshToken(t *testing.T) string {
	t.Helper()
	c, err := f.mem.Get(context.Background(), key(t, registryURL))
	if err != nil {
		t.Fatalf("the wrapped store has no credential for the registry: %v", err)
	}
	if c.Username != helper.IdentityTokenUsername || c.Secret == "" {
		t.Fatalf("the wrapped store holds %v, want a refresh token", c)
	}
	return c.Secret
}

func get(t *testing.T, s helper.Store) helper.Credentials {
	t.Helper()
	c, err := s.Get(context.Background(), key(t, registryURL))
	if err != nil {
		t.Fatalf("Get: %v (hint: %s)", err, helper.Hint(err))
	}
	return c
}

func TestDeviceLoginThenGet(t *testing.T) {
	for _, confidential := range []bool{false, true} {
		t.Run(map[bool]string{false: "public client", true: "confidential client"}[confidential], func(t *testing.T) {
			f := newFixture(t, confidential)
			s := f.store(t)
			f.login(t, s)
			rt := f.refreshToken(t)

			// The login cached its access token: get needs no request.
			sent := f.sent.n.Load()
			c := get(t, s)
			if c.Username != tokenexchange.DefaultUsername || c.Secret == "" || c.Secret == rt {
				t.Fatalf("Get = %v, want username %s and an access token that is not the refresh token", c, tokenexchange.DefaultUsername)
			}
			if n := f.sent.n.Load() - sent; n != 0 {
				t.Fatalf("Get with a fresh cached token sent %d requests, want 0", n)
			}

			// Through the protocol: the refresh token never appears on stdout.
			var out bytes.Buffer
			if err := helper.Handle(context.Background(), s, helper.ActionGet, strings.NewReader("https://"+registryURL+"\n"), &out); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), rt) {
				t.Fatal("get's output contains the refresh token")
			}
			want := fmt.Sprintf(`{"ServerURL":"https://%s","Username":"oauth2accesstoken","Secret":"%s"}`+"\n", registryURL, c.Secret)
			if out.String() != want {
				t.Fatalf("get printed %q, want %q", out.String(), want)
			}

			// The access token is still served with zero requests a minute
			// later, and the provider saw none either.
			f.p.ResetRequests()
			f.clock.Advance(time.Minute)
			if again := get(t, s); again.Secret != c.Secret {
				t.Fatal("a second get within the token's lifetime returned another token")
			}
			if n, reqs := f.sent.n.Load()-sent, f.p.Requests(); n != 0 || len(reqs) != 0 {
				t.Fatalf("a second get within the lifetime sent %d requests (the provider saw %v), want none", n, reqs)
			}

			// list shows the registry once, with the username get returns.
			m, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != 1 || m[registryURL] != tokenexchange.DefaultUsername {
				t.Fatalf("List = %v, want only %s: %s", m, registryURL, tokenexchange.DefaultUsername)
			}
		})
	}
}

func TestExpiryRefreshesOnceAndRotates(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	rt := f.refreshToken(t)
	before := get(t, s)

	f.clock.Advance(2 * time.Minute)
	f.p.ResetRequests()
	after := get(t, s)
	if after.Secret == before.Secret {
		t.Fatal("get after the expiry returned the expired access token")
	}
	refreshes := f.p.Refreshes()
	if len(refreshes) != 1 || refreshes[0].RefreshToken != rt {
		t.Fatalf("the provider saw %d refreshes, want one with the stored refresh token", len(refreshes))
	}
	rotated := f.refreshToken(t)
	if rotated == rt {
		t.Fatal("the rotated refresh token was not written back")
	}
	// The old token is spent: the provider refuses it.
	code, err := f.p.RefreshDirectly(context.Background(), rt)
	if err != nil || code != http.StatusBadRequest {
		t.Fatalf("the old refresh token at the provider: %d, %v; want 400 invalid_grant", code, err)
	}
	// The new access token is cached.
	f.p.ResetRequests()
	if again := get(t, s); again.Secret != after.Secret || len(f.p.Requests()) != 0 {
		t.Fatal("the refreshed access token was not cached")
	}
}

func TestConcurrentGetsOnExpiredTokenRefreshOnce(t *testing.T) {
	f := newFixture(t, false)
	f.login(t, f.store(t))
	f.clock.Advance(5 * time.Minute)
	f.p.ResetRequests()

	// Sixteen stores over one store directory: separate processes as far as
	// the lock is concerned (each takes it on its own file descriptor).
	const n = 16
	stores := make([]*tokenexchange.Store, n)
	for i := range stores {
		stores[i] = f.store(t)
	}
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := stores[i].Get(context.Background(), key(t, registryURL))
			tokens[i], errs[i] = c.Secret, err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("get %d returned another access token than get 0", i)
		}
	}
	if r := f.p.Refreshes(); len(r) != 1 {
		t.Fatalf("%d concurrent gets on an expired token caused %d refreshes, want 1", n, len(r))
	}
}

func TestRevokedRefreshTokenAsksToLogInAgain(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	if err := f.p.Revoke(context.Background(), f.refreshToken(t)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Minute)
	_, err := s.Get(context.Background(), key(t, registryURL))
	if err == nil {
		t.Fatal("Get with a revoked refresh token succeeded")
	}
	if errors.Is(err, helper.ErrNotFound) || helper.WireMessage(err) == helper.ErrNotFound.Error() {
		t.Fatalf("Get with a revoked refresh token answered not-found: %v", err)
	}
	if !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("error %q does not say invalid_grant", err)
	}
	if h := helper.Hint(err); !strings.Contains(h, "docker-credential-notation login "+registryURL) {
		t.Errorf("hint %q does not say to log in again", h)
	}
	// The cache of the dead grant is gone; the refresh token stays until
	// the user logs in again.
	if _, err := f.mem.Get(context.Background(), key(t, registryURL+tokenexchange.CacheSuffix)); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("the cache entry of a revoked grant is still there: %v", err)
	}
}

func TestProviderDown(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	cached := get(t, s)

	for _, down := range []struct {
		name  string
		apply func()
	}{
		{"503", func() { f.p.SetDown(true) }},
		{"connection refused", func() { f.p.Server.Close() }},
	} {
		t.Run(down.name, func(t *testing.T) {
			down.apply()
			// Past the point where the token is refreshed, before it expires:
			// the cached token is served, with a warning.
			f.clock.Advance(100 * time.Second)
			defer f.clock.Advance(-100 * time.Second)
			c := get(t, s)
			if c.Secret != cached.Secret {
				t.Fatal("with the provider down, get did not serve the still-valid cached token")
			}
			if !strings.Contains(f.warn.String(), "serving the cached access token") {
				t.Errorf("no warning on stderr: %q", f.warn.String())
			}
			// Expired: a clear error, never not-found.
			f.clock.Advance(time.Minute)
			defer f.clock.Advance(-time.Minute)
			_, err := s.Get(context.Background(), key(t, registryURL))
			if err == nil || errors.Is(err, helper.ErrNotFound) {
				t.Fatalf("Get with the provider down and the token expired: %v, want an error that is not not-found", err)
			}
			if !strings.Contains(err.Error(), "failed to") || !strings.Contains(err.Error(), registryURL) {
				t.Errorf("error %q does not say what failed for which registry", err)
			}
			t.Logf("error: %v; hint: %s", err, helper.Hint(err))
		})
	}
}

func TestDockerLoginStoreAfterGet(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	rt := f.refreshToken(t)
	c := get(t, s)

	// docker login stores what get returned: nothing changes.
	if err := s.Put(context.Background(), key(t, registryURL), helper.Credentials{ServerURL: registryURL, Username: c.Username, Secret: c.Secret}); err != nil {
		t.Fatal(err)
	}
	if f.refreshToken(t) != rt {
		t.Fatal("storing the handed-out access token replaced the refresh token")
	}
	// Also after a refresh in between (docker's get, then another process's
	// refresh, then docker's store).
	f.clock.Advance(5 * time.Minute)
	if get(t, s).Secret == c.Secret {
		t.Fatal("no refresh happened")
	}
	rt = f.refreshToken(t)
	if err := s.Put(context.Background(), key(t, registryURL), helper.Credentials{ServerURL: registryURL, Username: c.Username, Secret: c.Secret}); err != nil {
		t.Fatal(err)
	}
	if f.refreshToken(t) != rt {
		t.Fatal("storing the access token handed out before the last refresh replaced the refresh token")
	}

	// A real password replaces the refresh token, and get returns it as is.
	pw := helper.Credentials{ServerURL: registryURL, Username: "alice", Secret: "hunter2"}
	if err := s.Put(context.Background(), key(t, registryURL), pw); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s); got != pw {
		t.Fatalf("Get after storing a password = %v, want %v", got, pw)
	}
	if _, err := f.mem.Get(context.Background(), key(t, registryURL+tokenexchange.CacheSuffix)); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("the cache survived a new credential: %v", err)
	}
}

func TestEraseClearsEverything(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	_ = get(t, s)
	var out bytes.Buffer
	if err := helper.Handle(context.Background(), s, helper.ActionErase, strings.NewReader(registryURL), &out); err != nil {
		t.Fatal(err)
	}
	m, err := f.mem.List(context.Background())
	if err != nil || len(m) != 0 {
		t.Fatalf("after erase the wrapped store holds %v (%v), want nothing", m, err)
	}
	if _, err := s.Get(context.Background(), key(t, registryURL)); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Get after erase: %v, want not-found", err)
	}
	if err := s.Delete(context.Background(), key(t, registryURL)); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("a second erase: %v, want not-found", err)
	}
}

func TestImportRefreshToken(t *testing.T) {
	f := newFixture(t, false)
	// A refresh token obtained elsewhere: log in on another "machine".
	other := newFixture(t, false)
	other.p = f.p
	other.reg = f.reg
	other.login(t, other.store(t))
	rt := other.refreshToken(t)

	s := f.store(t)
	if err := s.ImportRefreshToken(context.Background(), key(t, registryURL), registryURL, rt); err != nil {
		t.Fatalf("ImportRefreshToken: %v", err)
	}
	if got := f.refreshToken(t); got == rt {
		t.Fatal("the imported token was not traded (the provider rotates it)")
	}
	f.p.ResetRequests()
	if c := get(t, s); c.Username != tokenexchange.DefaultUsername || len(f.p.Requests()) != 0 {
		t.Fatalf("get after import = %v with %d requests, want the cached access token", c, len(f.p.Requests()))
	}

	// A token the provider refuses (here: the one just spent) stores nothing.
	fresh := newFixture(t, false)
	fresh.p, fresh.reg = f.p, f.reg
	err := fresh.store(t).ImportRefreshToken(context.Background(), key(t, registryURL), registryURL, rt)
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("importing a spent token: %v, want invalid_grant", err)
	}
	if m, _ := fresh.mem.List(context.Background()); len(m) != 0 {
		t.Fatalf("a refused import stored %v", m)
	}
}

func TestDeviceLoginDenied(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.DeviceLogin(ctx, key(t, registryURL), registryURL, func(_, _, code string, _ time.Time) {
		go func() {
			if err := f.p.Deny(ctx, code); err != nil {
				t.Errorf("Deny: %v", err)
			}
		}()
	})
	if err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("DeviceLogin denied by the user: %v", err)
	}
	if m, _ := f.mem.List(context.Background()); len(m) != 0 {
		t.Fatalf("a denied login stored %v", m)
	}
}

func TestDeviceLoginContextEnds(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.DeviceLogin(ctx, key(t, registryURL), registryURL, func(string, string, string, time.Time) {})
	if err == nil {
		t.Fatal("DeviceLogin without approval succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("DeviceLogin outlived its context by %v", d)
	}
}
