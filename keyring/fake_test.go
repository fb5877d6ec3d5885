package keyring

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

// fakeKeyring is an in-memory keychain with go-keyring's behaviour on a
// chosen platform: its not-found and too-big errors, and the macOS and
// Windows size limits, computed here independently of limits.go (the way
// go-keyring computes them), so that a mistake in either shows.
type fakeKeyring struct {
	goos string // "darwin" or "windows" enforce that platform's limit

	mu     sync.Mutex
	items  map[int]*fakeItem // by id, which grows with each new item
	nextID int
	calls  map[string]int // "get", "set", "delete", "search", "secrets", "create", "remove" -> count

	// before, if set, runs before every call, outside the lock; a non-nil
	// error is returned instead of doing the call.
	before func(op, user string) error
	// diag is what Diagnose returns.
	diag error
}

// fakeItem is an item: its attributes ("service" and "username" always)
// and its secret, as the Secret Service keeps them.
type fakeItem struct {
	attrs  map[string]string
	secret string
}

func newFake(goos string) *fakeKeyring {
	return &fakeKeyring{goos: goos, items: map[int]*fakeItem{}, calls: map[string]int{}}
}

// itemFake is the fake with the Secret Service's item calls, so that a
// Store on it searches by attributes, as one on the real Secret Service
// does; a Store on a bare *fakeKeyring finds items by name only, as on
// macOS and Windows.
type itemFake struct{ *fakeKeyring }

var _ itemKeyring = itemFake{}

func newItemFake() itemFake { return itemFake{newFake("linux")} }

// ids returns the ids of the items whose attributes include q, in the order
// they were created.
func (f *fakeKeyring) ids(q map[string]string) []int {
	var ids []int
	for id, it := range f.items {
		match := true
		for k, v := range q {
			if w, ok := it.attrs[k]; !ok || w != v {
				match = false
				break
			}
		}
		if match {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (f *fakeKeyring) first(service, user string) (int, bool) {
	ids := f.ids(map[string]string{"service": service, "username": user})
	if len(ids) == 0 {
		return 0, false
	}
	return ids[0], true
}

// create adds an item, replacing one with exactly the same attributes.
func (f *fakeKeyring) create(attrs map[string]string, secret string) {
	for _, id := range f.ids(attrs) {
		if maps.Equal(f.items[id].attrs, attrs) {
			f.items[id].secret = secret
			return
		}
	}
	f.nextID++
	f.items[f.nextID] = &fakeItem{attrs: maps.Clone(attrs), secret: secret}
}

func (f itemFake) Search(queries ...map[string]string) ([][]Item, error) {
	if err := f.do("search", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res := make([][]Item, len(queries))
	for i, q := range queries {
		for _, id := range f.ids(q) {
			res[i] = append(res[i], Item{ID: strconv.Itoa(id), Attrs: maps.Clone(f.items[id].attrs)})
		}
	}
	return res, nil
}

func (f itemFake) Secrets(ids []string) (map[string]string, error) {
	if err := f.do("secrets", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, s := range ids {
		id, _ := strconv.Atoi(s)
		if it, ok := f.items[id]; ok {
			out[s] = it.secret
		}
	}
	return out, nil
}

func (f itemFake) Create(label string, attrs map[string]string, secret string) error {
	if err := f.do("create", attrs["username"]); err != nil {
		return err
	}
	if want := "Password for '" + attrs["username"] + "' on '" + attrs["service"] + "'"; label != want {
		return fmt.Errorf("fake: label %q, want %q", label, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.create(attrs, secret)
	return nil
}

func (f itemFake) Remove(s string) error {
	f.mu.Lock()
	id, _ := strconv.Atoi(s)
	var user string
	if it, ok := f.items[id]; ok {
		user = it.attrs["username"]
	}
	f.mu.Unlock()
	if err := f.do("remove", user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, id)
	return nil
}

// shellSafe is go-keyring's shellescape pattern.
var shellSafe = regexp.MustCompile(`[^\w@%+=:,./-]`)

func fakeQuote(s string) string {
	if s == "" {
		return "''"
	}
	if shellSafe.MatchString(s) {
		return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
	}
	return s
}

func (f *fakeKeyring) tooBig(service, user, password string) bool {
	switch f.goos {
	case "darwin":
		pw := "go-keyring-base64:" + base64.StdEncoding.EncodeToString([]byte(password))
		cmd := fmt.Sprintf("add-generic-password -U -s %s -a %s -w %s\n", fakeQuote(service), fakeQuote(user), fakeQuote(pw))
		return len(cmd) > 4096
	case "windows":
		return len(password) > 2560 || len(service) >= 512
	}
	return false
}

func (f *fakeKeyring) do(op, user string) error {
	f.mu.Lock()
	f.calls[op]++
	before := f.before
	f.mu.Unlock()
	if before != nil {
		return before(op, user)
	}
	return nil
}

func (f *fakeKeyring) Set(service, user, password string) error {
	if err := f.do("set", user); err != nil {
		return err
	}
	if f.tooBig(service, user, password) {
		return gokeyring.ErrSetDataTooBig
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.create(map[string]string{"service": service, "username": user}, password)
	return nil
}

func (f *fakeKeyring) Get(service, user string) (string, error) {
	if err := f.do("get", user); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.first(service, user)
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return f.items[id].secret, nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	if err := f.do("delete", user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.first(service, user)
	if !ok {
		return gokeyring.ErrNotFound
	}
	delete(f.items, id)
	return nil
}

func (f *fakeKeyring) Diagnose(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.diag
}

func (f *fakeKeyring) setBefore(fn func(op, user string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before = fn
}

func (f *fakeKeyring) setDiag(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.diag = err
}

// users returns the users of every item of service, sorted.
func (f *fakeKeyring) users(service string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var us []string
	for _, id := range f.ids(map[string]string{"service": service}) {
		us = append(us, f.items[id].attrs["username"])
	}
	sort.Strings(us)
	return us
}

// item returns the secret of the first item named user.
func (f *fakeKeyring) item(service, user string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.first(service, user)
	if !ok {
		return "", false
	}
	return f.items[id].secret, true
}

// remove removes every item named user.
func (f *fakeKeyring) remove(service, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.ids(map[string]string{"service": service, "username": user}) {
		delete(f.items, id)
	}
}

// put sets the secret of the first item named user, or creates one.
func (f *fakeKeyring) put(service, user, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.first(service, user); ok {
		f.items[id].secret = v
		return
	}
	f.create(map[string]string{"service": service, "username": user}, v)
}

func (f *fakeKeyring) resetCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = map[string]int{}
	return c
}

// fakeFor returns the fake for platform p: "linux", "darwin" or "windows",
// whose Store finds items by name, or "secret-service", the item fake,
// whose Store searches by attributes; and the Keyring to give the Store.
func fakeFor(p string) (*fakeKeyring, Keyring) {
	if p == "secret-service" {
		f := newItemFake()
		return f.fakeKeyring, f
	}
	f := newFake(p)
	return f, f
}

// newFakeStore returns a store on f (or opts.Keyring) that applies goos's limits.
func newFakeStore(t *testing.T, f *fakeKeyring, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Keyring == nil {
		opts.Keyring = f
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.goos = f.goos
	return s
}

// plainKeyring is the fake without Diagnose, as on macOS and Windows.
type plainKeyring struct{ f *fakeKeyring }

func (p plainKeyring) Set(s, u, pw string) error       { return p.f.Set(s, u, pw) }
func (p plainKeyring) Get(s, u string) (string, error) { return p.f.Get(s, u) }
func (p plainKeyring) Delete(s, u string) error        { return p.f.Delete(s, u) }

// blockingFake makes every call wait until release is closed.
func blockingFake(t *testing.T, f *fakeKeyring, match func(op, user string) bool) (release func()) {
	ch := make(chan struct{})
	f.setBefore(func(op, user string) error {
		if match(op, user) {
			<-ch
		}
		return nil
	})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

// within runs fn and fails the test if it does not return within limit: a
// hang, not a slow answer, is what it catches.
func within(t *testing.T, limit time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("still waiting after %v", limit)
		return nil
	}
}
