// Package helpertest is the conformance suite that every helper.Store must
// pass, and an in-memory Store for tests of code built on top of one.
//
// A backend's test calls Run with a function that returns a fresh, empty
// store; each case gets its own.
package helpertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// Run runs every conformance case against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) helper.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

// Secrets that stores have mangled in the past: the suite checks each
// round-trips byte for byte.
var ExoticSecrets = map[string]string{
	"empty":          "",
	"multi-line":     "line one\nline two\r\nline three\n",
	"non-ASCII":      "pässwörd-密码-🔑-\u00a0-\u200b",
	"JSON-special":   `"quoted" \back\slash </script> & {"a":1}`,
	"64KiB":          strings.Repeat("0123456789abcdef", 4096),
	"64KiB-plus-one": strings.Repeat("x", 64<<10+1),
	"tabs-and-bell":  "a\tb\x07c",
	"looks-like-url": "https://user:pass@example.com/?q=1#f",
}

var cases = []struct {
	name string
	run  func(t *testing.T, s helper.Store)
}{
	{"RoundTrip", func(t *testing.T, s helper.Store) {
		put(t, s, "registry.example.com", "alice", "hunter2")
		want(t, s, "registry.example.com", helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "hunter2"})
	}},
	{"IdentityToken", func(t *testing.T, s helper.Store) {
		put(t, s, "registry.example.com:5000", helper.IdentityTokenUsername, "refresh-token")
		want(t, s, "registry.example.com:5000", helper.Credentials{ServerURL: "registry.example.com:5000", Username: "<token>", Secret: "refresh-token"})
	}},
	{"Overwrite", func(t *testing.T, s helper.Store) {
		put(t, s, "registry.example.com", "alice", "old")
		put(t, s, "registry.example.com", "bob", "new")
		want(t, s, "registry.example.com", helper.Credentials{ServerURL: "registry.example.com", Username: "bob", Secret: "new"})
		wantList(t, s, map[string]string{"registry.example.com": "bob"})
	}},
	{"OtherSpellingReplaces", func(t *testing.T, s helper.Store) {
		put(t, s, "https://Registry.Example.com/", "alice", "old")
		put(t, s, "registry.example.com:443", "bob", "new")
		for _, u := range []string{"registry.example.com", "https://registry.example.com", "http://registry.example.com", "https://registry.example.com/v2/"} {
			want(t, s, u, helper.Credentials{ServerURL: "registry.example.com:443", Username: "bob", Secret: "new"})
		}
		wantList(t, s, map[string]string{"registry.example.com:443": "bob"})
	}},
	{"PortsStayApart", func(t *testing.T, s helper.Store) {
		put(t, s, "localhost:5000", "a", "1")
		put(t, s, "localhost:5001", "b", "2")
		want(t, s, "localhost:5000", helper.Credentials{ServerURL: "localhost:5000", Username: "a", Secret: "1"})
		want(t, s, "localhost:5001", helper.Credentials{ServerURL: "localhost:5001", Username: "b", Secret: "2"})
		wantNotFound(t, s, "localhost")
	}},
	{"DockerHubKeysStayApart", func(t *testing.T, s helper.Store) {
		put(t, s, "https://index.docker.io/v1/", "alice", "password")
		put(t, s, "https://index.docker.io/v1/access-token", "alice", "access")
		put(t, s, "https://index.docker.io/v1/refresh-token", "alice", "refresh")
		for _, u := range []string{"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"} {
			want(t, s, u, helper.Credentials{ServerURL: "https://index.docker.io/v1/", Username: "alice", Secret: "password"})
		}
		want(t, s, "https://index.docker.io/v1/access-token", helper.Credentials{ServerURL: "https://index.docker.io/v1/access-token", Username: "alice", Secret: "access"})
		want(t, s, "https://index.docker.io/v1/refresh-token", helper.Credentials{ServerURL: "https://index.docker.io/v1/refresh-token", Username: "alice", Secret: "refresh"})
		if err := s.Delete(context.Background(), key(t, "https://index.docker.io/v1/access-token")); err != nil {
			t.Fatalf("Delete access-token: %v", err)
		}
		wantNotFound(t, s, "https://index.docker.io/v1/access-token")
		want(t, s, "https://index.docker.io/v1/refresh-token", helper.Credentials{ServerURL: "https://index.docker.io/v1/refresh-token", Username: "alice", Secret: "refresh"})
	}},
	{"Missing", func(t *testing.T, s helper.Store) {
		wantNotFound(t, s, "missing.example.com")
		put(t, s, "registry.example.com", "alice", "x")
		wantNotFound(t, s, "missing.example.com")
	}},
	{"RepositoryScopedFallsBack", func(t *testing.T, s helper.Store) {
		put(t, s, "localhost:5000", "alice", "x")
		wantNotFound(t, s, "localhost:5000/ns/repo")
		put(t, s, "localhost:5000/ns/repo", "bob", "y")
		want(t, s, "localhost:5000/ns/repo", helper.Credentials{ServerURL: "localhost:5000/ns/repo", Username: "bob", Secret: "y"})
		want(t, s, "localhost:5000", helper.Credentials{ServerURL: "localhost:5000", Username: "alice", Secret: "x"})
	}},
	{"ListEmpty", func(t *testing.T, s helper.Store) {
		wantList(t, s, map[string]string{})
	}},
	{"List", func(t *testing.T, s helper.Store) {
		wantMap := map[string]string{}
		for i := range 20 {
			u := fmt.Sprintf("https://r%d.example.com", i)
			put(t, s, u, fmt.Sprintf("user%d", i), "s")
			wantMap[u] = fmt.Sprintf("user%d", i)
		}
		put(t, s, "https://index.docker.io/v1/", "<token>", "t")
		wantMap["https://index.docker.io/v1/"] = "<token>"
		wantList(t, s, wantMap)
	}},
	{"Erase", func(t *testing.T, s helper.Store) {
		put(t, s, "a.example.com", "alice", "1")
		put(t, s, "b.example.com", "bob", "2")
		if err := s.Delete(context.Background(), key(t, "https://a.example.com")); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantNotFound(t, s, "a.example.com")
		want(t, s, "b.example.com", helper.Credentials{ServerURL: "b.example.com", Username: "bob", Secret: "2"})
		wantList(t, s, map[string]string{"b.example.com": "bob"})
	}},
	{"EraseMissing", func(t *testing.T, s helper.Store) {
		err := s.Delete(context.Background(), key(t, "missing.example.com"))
		if !errors.Is(err, helper.ErrNotFound) {
			t.Fatalf("Delete of a missing entry: got %v, want an error wrapping ErrNotFound", err)
		}
		put(t, s, "a.example.com", "alice", "1")
		err = s.Delete(context.Background(), key(t, "missing.example.com"))
		if !errors.Is(err, helper.ErrNotFound) {
			t.Fatalf("Delete of a missing entry: got %v, want an error wrapping ErrNotFound", err)
		}
		wantList(t, s, map[string]string{"a.example.com": "alice"})
	}},
	{"ExoticSecrets", func(t *testing.T, s helper.Store) {
		for name, secret := range ExoticSecrets {
			u := "exotic-" + strings.ToLower(strings.ReplaceAll(name, "-", "")) + ".example.com"
			put(t, s, u, "user-"+name, secret)
		}
		for name, secret := range ExoticSecrets {
			u := "exotic-" + strings.ToLower(strings.ReplaceAll(name, "-", "")) + ".example.com"
			want(t, s, u, helper.Credentials{ServerURL: u, Username: "user-" + name, Secret: secret})
		}
	}},
	{"ExoticUsernames", func(t *testing.T, s helper.Store) {
		for i, u := range []string{"ünïcødé", "user@example.com", `quote"and\backslash`, "<token>", strings.Repeat("u", 1024)} {
			url := fmt.Sprintf("user%d.example.com", i)
			put(t, s, url, u, "s")
			want(t, s, url, helper.Credentials{ServerURL: url, Username: u, Secret: "s"})
		}
	}},
	{"ConcurrentPuts", func(t *testing.T, s helper.Store) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := fmt.Sprintf("c%d.example.com", i)
				errs <- s.Put(context.Background(), key(t, u), helper.Credentials{ServerURL: u, Username: "u", Secret: fmt.Sprint(i)})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Put: %v", err)
			}
		}
		m, err := s.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 16 {
			t.Fatalf("after 16 concurrent Puts of distinct keys, List has %d entries: %v", len(m), m)
		}
	}},
}

func key(t *testing.T, serverURL string) helper.Key {
	t.Helper()
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		t.Fatalf("ParseServerURL(%q): %v", serverURL, err)
	}
	return k
}

func put(t *testing.T, s helper.Store, serverURL, user, secret string) {
	t.Helper()
	c := helper.Credentials{ServerURL: serverURL, Username: user, Secret: secret}
	if err := s.Put(context.Background(), key(t, serverURL), c); err != nil {
		t.Fatalf("Put(%q): %v", serverURL, err)
	}
}

func want(t *testing.T, s helper.Store, serverURL string, w helper.Credentials) {
	t.Helper()
	got, err := s.Get(context.Background(), key(t, serverURL))
	if err != nil {
		t.Fatalf("Get(%q): %v", serverURL, err)
	}
	if got != w {
		t.Fatalf("Get(%q) = %v (secret of %d bytes), want %v (secret of %d bytes); secrets equal: %v",
			serverURL, got, len(got.Secret), w, len(w.Secret), got.Secret == w.Secret)
	}
}

func wantNotFound(t *testing.T, s helper.Store, serverURL string) {
	t.Helper()
	got, err := s.Get(context.Background(), key(t, serverURL))
	if !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want an error wrapping ErrNotFound", serverURL, got, err)
	}
}

func wantList(t *testing.T, s helper.Store, w map[string]string) {
	t.Helper()
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !maps.Equal(got, w) {
		t.Fatalf("List = %v, want %v", got, w)
	}
}

// MemStore is an in-memory helper.Store for unit tests of code that uses a
// store. It passes the conformance suite.
type MemStore struct {
	mu sync.Mutex
	m  map[helper.Key]helper.Credentials
	// Err, if set, is returned by every call, to simulate a failing backend.
	Err error
}

var _ helper.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[helper.Key]helper.Credentials{}} }

// Get implements helper.Store.
func (s *MemStore) Get(_ context.Context, k helper.Key) (helper.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return helper.Credentials{}, s.Err
	}
	c, ok := s.m[k]
	if !ok {
		return helper.Credentials{}, fmt.Errorf("%s: %w", k, helper.ErrNotFound)
	}
	return c, nil
}

// Put implements helper.Store.
func (s *MemStore) Put(_ context.Context, k helper.Key, c helper.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.m[k] = c
	return nil
}

// Delete implements helper.Store.
func (s *MemStore) Delete(_ context.Context, k helper.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	if _, ok := s.m[k]; !ok {
		return fmt.Errorf("%s: %w", k, helper.ErrNotFound)
	}
	delete(s.m, k)
	return nil
}

// List implements helper.Store.
func (s *MemStore) List(context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	m := make(map[string]string, len(s.m))
	for _, c := range s.m {
		m[c.ServerURL] = c.Username
	}
	return m, nil
}
