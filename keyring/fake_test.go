package keyring

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
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
// Store on it keeps layout 2, as one on the real Secret Service does; a
// Store on a bare *fakeKeyring keeps layout 1, as on macOS and Windows.
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
// whose Store keeps layout 1, or "secret-service", the item fake, whose
// Store keeps layout 2; and the Keyring to give the Store.
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

// expectedUsers lists the items that the index of s names, which must be
// all the items of s's service once no write is in progress: anything else
// is garbage that a write failed to collect.
func expectedUsers(t *testing.T, s *Store) []string {
	t.Helper()
	var us []string
	if _, ok := s.kr.(itemKeyring); ok {
		// Layout 2: one root, no journal, no index parts.
		idx, err := s.readIndex2(context.Background(), s.newCaller())
		if err != nil {
			t.Fatalf("reading the index: %v", err)
		}
		if idx.Gen > 0 {
			us = append(us, indexUser)
		}
		for k, e := range idx.Entries {
			us = append(us, entryUsers(nameKey(k), e.Gen, e.Parts)...)
		}
		sort.Strings(us)
		return us
	}
	idx, err := s.readIndex(context.Background(), s.newCaller())
	if err != nil {
		t.Fatalf("reading the index: %v", err)
	}
	if idx.Gen > 0 {
		us = append(us, indexUser, journalUser)
		for i := 2; i <= idx.Parts; i++ {
			us = append(us, indexPartUser(idx.Gen, i, idx.Parts))
		}
	}
	for k, e := range idx.Entries {
		for i := 1; i <= e.Parts; i++ {
			us = append(us, entryUser(nameKey(k), e.Gen, i, e.Parts))
		}
	}
	sort.Strings(us)
	return us
}

func checkNoGarbage(t *testing.T, s *Store, f *fakeKeyring) {
	t.Helper()
	got, want := f.users(s.service), expectedUsers(t, s)
	if !slices.Equal(got, want) {
		t.Errorf("keychain items of %q:\n got  %q\n want %q (those the index names)", s.service, got, want)
	}
}

var fakePlatforms = []struct {
	goos  string
	chunk int
}{
	{"linux", 0},
	{"darwin", 0},
	{"windows", 0},
	{"linux", 64},
	{"darwin", 100},
	{"secret-service", 0},
	{"secret-service", 64},
}

func TestConformance(t *testing.T) {
	for _, p := range fakePlatforms {
		t.Run(fmt.Sprintf("%s-chunk%d", p.goos, p.chunk), func(t *testing.T) {
			helpertest.Run(t, func(t *testing.T) helper.Store {
				f, kr := fakeFor(p.goos)
				s := newFakeStore(t, f, Options{ChunkSize: p.chunk, Keyring: kr})
				t.Cleanup(func() { checkNoGarbage(t, s, f) })
				return s
			})
		})
	}
}

func key(t testing.TB, serverURL string) helper.Key {
	t.Helper()
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPut(t testing.TB, s helper.Store, serverURL, user, secret string) {
	t.Helper()
	if err := s.Put(context.Background(), key(t, serverURL), helper.Credentials{ServerURL: serverURL, Username: user, Secret: secret}); err != nil {
		t.Fatalf("Put(%q): %v", serverURL, err)
	}
}

func mustGet(t testing.TB, s helper.Store, serverURL string) helper.Credentials {
	t.Helper()
	c, err := s.Get(context.Background(), key(t, serverURL))
	if err != nil {
		t.Fatalf("Get(%q): %v", serverURL, err)
	}
	return c
}

func mustList(t testing.TB, s helper.Store) map[string]string {
	t.Helper()
	m, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return m
}

func TestItemNames(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{})
	mustPut(t, s, "https://registry.example.com", "alice", "s3cret")
	mustPut(t, s, "localhost:5000", "<token>", "")
	want := []string{"(index)", "(journal)", "registry.example.com #1"}
	if got := f.users(DefaultService); !slices.Equal(got, want) {
		t.Fatalf("items = %q, want %q", got, want)
	}
	root, _ := f.item(DefaultService, indexUser)
	for _, w := range []string{`"serverURL":"https://registry.example.com"`, `"username":"alice"`, `"localhost:5000":`, `"username":"<token>"`} {
		if !strings.Contains(root, w) {
			t.Errorf("index item %q does not contain %s", root, w)
		}
	}
	if strings.Contains(root, "s3cret") {
		t.Errorf("the index holds a secret: %q", root)
	}
	if v, _ := f.item(DefaultService, "registry.example.com #1"); v != "s3cret" {
		t.Errorf("secret item holds %q", v)
	}
	// Another service's items are never touched.
	f.put("other", "registry.example.com #1", "theirs")
	mustPut(t, s, "registry.example.com", "bob", "new")
	if v, _ := f.item("other", "registry.example.com #1"); v != "theirs" {
		t.Errorf("another service's item changed to %q", v)
	}
	checkNoGarbage(t, s, f)
}

func TestNameKey(t *testing.T) {
	long := "registry.example.com/" + strings.Repeat("ü", 200)
	other := long[:len(long)-2] + "x"
	for _, k := range []string{"registry.example.com", strings.Repeat("a", maxNameKey), long, other} {
		n := nameKey(k)
		if len(n) > maxNameKey+30 || !strings.HasPrefix(k, strings.TrimRight(strings.SplitN(n, "…", 2)[0], "…")) {
			t.Errorf("nameKey(%d bytes) = %q", len(k), n)
		}
		if strings.ContainsAny(n, " \t\n") {
			t.Errorf("nameKey(%q) contains white space", k)
		}
	}
	if nameKey(long) == nameKey(other) {
		t.Errorf("long keys that differ share a name")
	}
	if !strings.HasPrefix(nameKey(long), "registry.example.com/ü") || strings.Contains(nameKey(long), "\ufffd") {
		t.Errorf("nameKey cut a character: %q", nameKey(long))
	}
}

func TestSplit(t *testing.T) {
	constant := func(c int) func(i, n int) int { return func(int, int) int { return c } }
	// Capacity shrinking as n gains digits, as item names do.
	digits := func(i, n int) int { return 40 - len(fmt.Sprint(i)) - len(fmt.Sprint(n)) }
	cases := []struct {
		name     string
		data     string
		capacity func(i, n int) int
		parts    int
	}{
		{"empty", "", constant(16), 0},
		{"fits", "hello", constant(16), 1},
		{"exact", strings.Repeat("x", 32), constant(16), 2},
		{"one over", strings.Repeat("x", 33), constant(16), 3},
		{"utf8", strings.Repeat("€", 20), constant(16), 4}, // 5 characters (15 bytes) per part
		{"digits", strings.Repeat("y", 5000), digits, 144}, // 9*36 + 90*35 + 45*34 >= 5000 > 9*36 + 90*35 + 44*34
		{"64KiB", strings.Repeat("0123456789abcdef", 4096), constant(2560), 26},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts, err := split(c.data, c.capacity)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != c.parts {
				t.Errorf("%d parts, want %d", len(parts), c.parts)
			}
			if n := len(parts) - 1; n > 0 {
				room := 0
				for i := 1; i <= n; i++ {
					room += c.capacity(i, n)
				}
				if room >= len(c.data) {
					t.Errorf("%d parts would do: they hold %d bytes", n, room)
				}
			}
			if strings.Join(parts, "") != c.data {
				t.Errorf("parts do not join to the data")
			}
			for i, p := range parts {
				if len(p) > c.capacity(i+1, len(parts)) {
					t.Errorf("part %d holds %d bytes, capacity %d", i+1, len(p), c.capacity(i+1, len(parts)))
				}
				if strings.Contains(c.data, "€") && !strings.HasPrefix(p, "€") {
					t.Errorf("part %d starts inside a character", i+1)
				}
			}
		})
	}
	if _, err := split("data", constant(minPart-1)); !errors.Is(err, errTooLong) {
		t.Errorf("capacity below minPart: %v, want errTooLong", err)
	}
}

// TestPlatformLimits checks that items never exceed the macOS and Windows
// limits as go-keyring enforces them, that 64 KiB secrets and large indexes
// are split to fit, and that without the split the fake does refuse them.
func TestPlatformLimits(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 4096)
	for _, goos := range []string{"darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			f := newFake(goos)
			s := newFakeStore(t, f, Options{})
			long := "registry.example.com/" + strings.Repeat("'", 300) // worst case for shell quoting
			for _, u := range []string{"registry.example.com", long} {
				mustPut(t, s, u, "alice", big)
				if got := mustGet(t, s, u); got.Secret != big {
					t.Fatalf("64 KiB secret for %q did not round-trip", u)
				}
			}
			for i := range 60 {
				mustPut(t, s, fmt.Sprintf("https://r%d.example.com/%s", i, strings.Repeat("p", 100)), strings.Repeat("u", 200), "x")
			}
			if len(mustList(t, s)) != 62 {
				t.Fatal("List lost entries")
			}
			idx, err := s.readIndex(context.Background(), s.newCaller())
			if err != nil {
				t.Fatal(err)
			}
			if idx.Parts < 2 {
				t.Errorf("an index of 62 long entries fits in one %s item? (%d parts)", goos, idx.Parts)
			}
			checkNoGarbage(t, s, f)

			// The same store, ignorant of the limit, is refused: the fake
			// enforces it, and the refusal is an error, not not-found.
			s.goos = "linux"
			err = s.Put(context.Background(), key(t, "big.example.com"), helper.Credentials{ServerURL: "big.example.com", Username: "u", Secret: big})
			if err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(helper.Hint(err), "bug") {
				t.Fatalf("Put of 64 KiB with no limit applied: %v (hint %q), want a too-large error with a hint", err, helper.Hint(err))
			}
		})
	}
}

// TestDarwinCapacityIsExact checks darwinCapacity against the fake's
// independent computation of go-keyring's check: a part of the computed
// capacity fits, with the documented margin to spare.
func TestDarwinCapacityIsExact(t *testing.T) {
	f := newFake("darwin")
	for _, user := range []string{"(index)", "registry.example.com #12 part 3/30", strings.Repeat("é'", 60) + " #1"} {
		c := darwinCapacity(DefaultService, user)
		if f.tooBig(DefaultService, user, strings.Repeat("x", c)) {
			t.Errorf("user %q: %d bytes, the computed capacity, are too big", user, c)
		}
		if !f.tooBig(DefaultService, user, strings.Repeat("x", c+darwinMargin)) {
			t.Errorf("user %q: capacity %d leaves more than the margin unused", user, c)
		}
	}
}

func TestCallCounts(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{})
	for i := range 100 {
		mustPut(t, s, fmt.Sprintf("r%d.example.com", i), "u", "s")
	}
	f.resetCalls()
	mustGet(t, s, "r7.example.com")
	if c := f.resetCalls(); c["get"] != 2 || len(c) != 1 {
		t.Errorf("Get made calls %v, want 2 gets", c)
	}
	mustList(t, s)
	if c := f.resetCalls(); c["get"] != 1 || len(c) != 1 {
		t.Errorf("List made calls %v, want 1 get", c)
	}
	mustPut(t, s, "r7.example.com", "u", "new")
	c := f.resetCalls()
	t.Logf("overwriting Put: %v", c)
	if c["set"] != 3 || c["delete"] != 1 {
		t.Errorf("overwriting Put made calls %v, want 3 sets (journal, secret, index) and 1 delete (old secret)", c)
	}
	before := f.users(DefaultService)
	mustPut(t, s, "r7.example.com", "u", "new")
	if c := f.resetCalls(); c["set"] != 0 {
		t.Errorf("storing what is stored made calls %v, want no sets", c)
	}
	if after := f.users(DefaultService); !slices.Equal(before, after) {
		t.Errorf("storing what is stored changed the items from %q to %q", before, after)
	}
}

// TestTinyChunks uses the smallest chunk size, which splits even the index
// root's first part to a few bytes after its header.
func TestTinyChunks(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		f := newFake(goos)
		s := newFakeStore(t, f, Options{ChunkSize: minPart})
		for i, secret := range []string{"", "x", "pässwörd-密码-🔑", strings.Repeat("0123456789", 100)} {
			u := fmt.Sprintf("https://r%d.example.com/ns", i)
			mustPut(t, s, u, "ü", secret)
			if got := mustGet(t, s, u); got.Secret != secret || got.Username != "ü" || got.ServerURL != u {
				t.Errorf("%s: Get(%q) = %v", goos, u, got)
			}
		}
		if len(mustList(t, s)) != 4 {
			t.Errorf("%s: List = %v", goos, mustList(t, s))
		}
		checkNoGarbage(t, s, f)
	}
}

// sweep runs op against a store holding entries, failing every keychain
// call from the nth on as a Secret Service that vanished would, for every n
// until op succeeds; after each failure the service comes back and the test
// checks that the store shows either the old or the new state, consistently
// in Get and List, and that the next write leaves no garbage behind.
func sweep(t *testing.T, goos string, chunk int, op func(s *Store) error, beforeList, afterList []helper.Credentials) {
	before, after := byURL(beforeList), byURL(afterList)
	vanished := errors.New("org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files")
	for n := 1; ; n++ {
		f, kr := fakeFor(goos)
		s := newFakeStore(t, f, Options{ChunkSize: chunk, Keyring: kr})
		for _, c := range before {
			mustPut(t, s, c.ServerURL, c.Username, c.Secret)
		}
		calls, failed := 0, false
		f.setBefore(func(op, user string) error {
			calls++
			if calls >= n {
				failed = true
				return vanished
			}
			return nil
		})
		f.setDiag(helper.WithHint(fmt.Errorf("%w: no Secret Service", ErrUnavailable), "start one"))
		err := op(s)
		f.setBefore(nil)
		f.setDiag(nil)
		if err != nil {
			if errors.Is(err, helper.ErrNotFound) || !errors.Is(err, ErrUnavailable) || helper.Hint(err) == "" {
				t.Fatalf("call %d failing: error %v (hint %q), want ErrUnavailable with a hint", n, err, helper.Hint(err))
			}
		}
		var state map[string]helper.Credentials
		m := mustList(t, s)
		switch {
		case maps.Equal(m, usernames(before)):
			state = before
		case maps.Equal(m, usernames(after)):
			state = after
		default:
			t.Fatalf("call %d failing: List = %v, neither the old %v nor the new %v", n, m, usernames(before), usernames(after))
		}
		if err == nil && !maps.Equal(m, usernames(after)) {
			t.Fatalf("op succeeded but List = %v", m)
		}
		for _, c := range union(before, after) {
			got, gerr := s.Get(context.Background(), key(t, c.ServerURL))
			w, ok := state[c.ServerURL]
			switch {
			case ok && (gerr != nil || got != w):
				t.Fatalf("call %d failing: Get(%q) = %v, %v; want %v", n, c.ServerURL, got, gerr, w)
			case !ok && !errors.Is(gerr, helper.ErrNotFound):
				t.Fatalf("call %d failing: Get(%q) = %v, %v; want not found", n, c.ServerURL, got, gerr)
			}
		}
		// The next write collects whatever the failed one left.
		mustPut(t, s, "next.example.com", "u", "s")
		checkNoGarbage(t, s, f)
		if !failed {
			t.Logf("%s: op takes %d calls; a failure at each was checked", goos, n-1)
			return
		}
	}
}

func byURL(cs []helper.Credentials) map[string]helper.Credentials {
	m := map[string]helper.Credentials{}
	for _, c := range cs {
		m[c.ServerURL] = c
	}
	return m
}

func usernames(m map[string]helper.Credentials) map[string]string {
	u := map[string]string{}
	for _, c := range m {
		u[c.ServerURL] = c.Username
	}
	return u
}

func union(a, b map[string]helper.Credentials) map[string]helper.Credentials {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

func TestServiceVanishesMidWrite(t *testing.T) {
	big := strings.Repeat("b", 6000)
	a := helper.Credentials{ServerURL: "a.example.com", Username: "alice", Secret: "old"}
	b := helper.Credentials{ServerURL: "b.example.com", Username: "bob", Secret: big}
	a2 := helper.Credentials{ServerURL: "a.example.com", Username: "alice2", Secret: big}
	for _, p := range []struct {
		goos  string
		chunk int
	}{{"linux", 0}, {"darwin", 0}, {"linux", 512}, {"secret-service", 0}, {"secret-service", 512}} {
		t.Run(fmt.Sprintf("%s-chunk%d", p.goos, p.chunk), func(t *testing.T) {
			t.Run("overwrite", func(t *testing.T) {
				sweep(t, p.goos, p.chunk, func(s *Store) error {
					return s.Put(context.Background(), key(t, a.ServerURL), a2)
				}, []helper.Credentials{a, b}, []helper.Credentials{a2, b})
			})
			t.Run("new", func(t *testing.T) {
				sweep(t, p.goos, p.chunk, func(s *Store) error {
					return s.Put(context.Background(), key(t, b.ServerURL), b)
				}, []helper.Credentials{a}, []helper.Credentials{a, b})
			})
			t.Run("erase", func(t *testing.T) {
				sweep(t, p.goos, p.chunk, func(s *Store) error {
					return s.Delete(context.Background(), key(t, b.ServerURL))
				}, []helper.Credentials{a, b}, []helper.Credentials{a})
			})
		})
	}
}

func TestLocked(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{})
	mustPut(t, s, "registry.example.com", "alice", "x")
	// go-keyring's own message says nothing useful; the diagnosis does.
	f.setBefore(func(string, string) error {
		return errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")
	})
	f.setDiag(helper.WithHint(fmt.Errorf("%w: the Secret Service keyring /org/freedesktop/secrets/collection/login is locked", ErrLocked), "unlock it"))
	ctx := context.Background()
	k := key(t, "registry.example.com")
	_, gerr := s.Get(ctx, k)
	_, lerr := s.List(ctx)
	for name, err := range map[string]error{
		"Get":    gerr,
		"List":   lerr,
		"Put":    s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com", Username: "a", Secret: "b"}),
		"Delete": s.Delete(ctx, k),
		"Probe":  s.Probe(ctx),
	} {
		if !errors.Is(err, ErrLocked) || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) != "unlock it" {
			t.Errorf("%s on a locked keychain: %v (hint %q), want ErrLocked with the hint", name, err, helper.Hint(err))
		}
		if err != nil && !strings.Contains(err.Error(), "failed to unlock correct collection") && name != "Probe" {
			t.Errorf("%s: %v does not carry go-keyring's message", name, err)
		}
	}
	f.setBefore(nil)
	f.setDiag(nil)
	if got := mustGet(t, s, "registry.example.com"); got.Secret != "x" {
		t.Errorf("after unlocking, Get = %v", got)
	}
}

// plainKeyring is the fake without Diagnose, as on macOS and Windows.
type plainKeyring struct{ f *fakeKeyring }

func (p plainKeyring) Set(s, u, pw string) error       { return p.f.Set(s, u, pw) }
func (p plainKeyring) Get(s, u string) (string, error) { return p.f.Get(s, u) }
func (p plainKeyring) Delete(s, u string) error        { return p.f.Delete(s, u) }

func TestFailureWithoutDiagnosis(t *testing.T) {
	f := newFake("darwin")
	s, err := New(Options{Dir: t.TempDir(), Keyring: plainKeyring{f}})
	if err != nil {
		t.Fatal(err)
	}
	f.setBefore(func(string, string) error { return errors.New("exit status 36") })
	_, err = s.Get(context.Background(), key(t, "registry.example.com"))
	if err == nil || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) == "" || !strings.Contains(err.Error(), "exit status 36") {
		t.Fatalf("Get: %v (hint %q), want the keychain's error with a hint", err, helper.Hint(err))
	}
	for _, e := range []error{ErrUnavailable, ErrLocked, ErrTimeout, ErrDamaged} {
		if errors.Is(err, e) {
			t.Errorf("an unexplained failure claims %v", e)
		}
	}
}

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

func TestTimeout(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{Timeout: 50 * time.Millisecond})
	mustPut(t, s, "registry.example.com", "alice", "old")
	release := blockingFake(t, f, func(string, string) bool { return true })
	k := key(t, "registry.example.com")
	for name, fn := range map[string]func() error{
		"Get":  func() error { _, err := s.Get(context.Background(), k); return err },
		"List": func() error { _, err := s.List(context.Background()); return err },
		"Put": func() error {
			return s.Put(context.Background(), k, helper.Credentials{ServerURL: "registry.example.com", Username: "a", Secret: "b"})
		},
		"Probe": func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			return s.Probe(ctx)
		},
	} {
		err := within(t, 10*time.Second, fn)
		if !errors.Is(err, ErrTimeout) || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) == "" {
			t.Errorf("%s on a hung keychain: %v (hint %q), want ErrTimeout with a hint", name, err, helper.Hint(err))
		}
	}
	release()
	if got := mustGet(t, s, "registry.example.com"); got.Secret != "old" {
		t.Errorf("after the keychain answers again, Get = %v, want the old secret", got)
	}
	checkNoGarbage(t, s, f)
}

// TestAbandonedCommitHoldsLock: a write whose commit times out but lands
// later keeps the lock until it lands, so a second writer cannot interleave,
// and the next write sees the late commit and cleans up after it.
func TestAbandonedCommitHoldsLock(t *testing.T) {
	f := newFake("linux")
	dir := t.TempDir()
	s1 := newFakeStore(t, f, Options{Dir: dir, Timeout: 50 * time.Millisecond})
	s2 := newFakeStore(t, f, Options{Dir: dir, Timeout: 50 * time.Millisecond})
	mustPut(t, s1, "a.example.com", "alice", "old")
	release := blockingFake(t, f, func(op, user string) bool { return op == "set" && user == indexUser })
	err := within(t, 10*time.Second, func() error {
		return s1.Put(context.Background(), key(t, "a.example.com"), helper.Credentials{ServerURL: "a.example.com", Username: "alice", Secret: "new"})
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put with a hung commit: %v, want ErrTimeout", err)
	}
	f.setBefore(nil) // later calls answer; the abandoned one still waits
	err = s2.Put(context.Background(), key(t, "b.example.com"), helper.Credentials{ServerURL: "b.example.com", Username: "bob", Secret: "x"})
	if err == nil || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("second writer while a commit is in flight: %v, want a lock timeout", err)
	}
	release() // the abandoned commit lands
	var perr error
	for range 200 { // until the first writer's lock is released
		if perr = s2.Put(context.Background(), key(t, "b.example.com"), helper.Credentials{ServerURL: "b.example.com", Username: "bob", Secret: "x"}); perr == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if perr != nil {
		t.Fatal(perr)
	}
	if got := mustGet(t, s2, "a.example.com"); got.Secret != "new" {
		t.Errorf("the late commit was lost: %v", got)
	}
	checkNoGarbage(t, s2, f)
}

func TestDamagedEntry(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{})
	mustPut(t, s, "https://a.example.com", "alice", "x")
	mustPut(t, s, "b.example.com", "bob", "y")
	f.remove(DefaultService, "a.example.com #1") // removed outside the helper
	_, err := s.Get(context.Background(), key(t, "a.example.com"))
	if !errors.Is(err, ErrDamaged) || errors.Is(err, helper.ErrNotFound) || !strings.Contains(helper.Hint(err), "docker logout https://a.example.com") {
		t.Fatalf("Get of an entry whose item is gone: %v (hint %q), want ErrDamaged with a logout hint", err, helper.Hint(err))
	}
	if m := mustList(t, s); len(m) != 2 {
		t.Errorf("List = %v: the index still names the damaged entry", m)
	}
	if err := s.Delete(context.Background(), key(t, "a.example.com")); err != nil {
		t.Fatalf("Delete of a damaged entry: %v", err)
	}
	if _, err := s.Get(context.Background(), key(t, "a.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get after erasing the damaged entry: %v", err)
	}
	if got := mustGet(t, s, "b.example.com"); got.Secret != "y" {
		t.Errorf("the other entry: %v", got)
	}
	mustPut(t, s, "a.example.com", "alice", "again")
	checkNoGarbage(t, s, f)
}

func TestDamagedIndex(t *testing.T) {
	for name, root := range map[string]string{
		"no header":   "garbage",
		"bad header":  "{\n{}",
		"bad JSON":    `{"version":1,"gen":3,"parts":1}` + "\n{",
		"bad entry":   `{"version":1,"gen":3,"parts":1}` + "\n" + `{"a.example.com":{"username":"u","gen":9}}`,
		"no username": `{"version":1,"gen":3,"parts":1}` + "\n" + `{"a.example.com":{"gen":2}}`,
		"lost part":   `{"version":1,"gen":3,"parts":2}` + "\n" + `{"entries":{`,
		"huge header": `{"version":1,"gen":3,"parts":999999999}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake("linux")
			s := newFakeStore(t, f, Options{})
			f.put(DefaultService, indexUser, root)
			_, gerr := s.Get(context.Background(), key(t, "a.example.com"))
			_, lerr := s.List(context.Background())
			perr := s.Put(context.Background(), key(t, "a.example.com"), helper.Credentials{ServerURL: "a.example.com", Username: "u", Secret: "s"})
			for op, err := range map[string]error{"Get": gerr, "List": lerr, "Put": perr} {
				if !errors.Is(err, ErrDamaged) || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) == "" {
					t.Errorf("%s: %v (hint %q), want ErrDamaged with a hint", op, err, helper.Hint(err))
				}
			}
			if got, _ := f.item(DefaultService, indexUser); got != root {
				t.Errorf("a damaged index was overwritten")
			}
		})
	}
	t.Run("newer version", func(t *testing.T) {
		f := newFake("linux")
		s := newFakeStore(t, f, Options{})
		f.put(DefaultService, indexUser, `{"version":2,"gen":3,"parts":1}`+"\n{}")
		_, err := s.List(context.Background())
		if err == nil || !strings.Contains(helper.Hint(err), "upgrade") {
			t.Errorf("List of a newer index: %v (hint %q)", err, helper.Hint(err))
		}
	})
}

// TestOrphanWithoutIndexLine: items written by a Put whose commit never
// happened are neither listed nor returned, and the next write of any key
// removes them.
func TestOrphanWithoutIndexLine(t *testing.T) {
	f := newFake("darwin")
	s := newFakeStore(t, f, Options{})
	mustPut(t, s, "a.example.com", "alice", "x")
	f.setBefore(func(op, user string) error {
		if op == "set" && user == indexUser {
			return errors.New("crash")
		}
		return nil
	})
	big := strings.Repeat("z", 10000)
	if err := s.Put(context.Background(), key(t, "b.example.com"), helper.Credentials{ServerURL: "b.example.com", Username: "bob", Secret: big}); err == nil {
		t.Fatal("Put with a failing commit succeeded")
	}
	f.setBefore(nil)
	var orphans []string
	for _, u := range f.users(DefaultService) {
		if strings.HasPrefix(u, "b.example.com #") {
			orphans = append(orphans, u)
		}
	}
	if len(orphans) < 2 {
		t.Fatalf("expected the uncommitted secret's parts to be left behind, have %q", f.users(DefaultService))
	}
	if m := mustList(t, s); !maps.Equal(m, map[string]string{"a.example.com": "alice"}) {
		t.Errorf("List = %v", m)
	}
	if _, err := s.Get(context.Background(), key(t, "b.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get of the uncommitted entry: %v, want not found", err)
	}
	if err := s.Delete(context.Background(), key(t, "a.example.com")); err != nil {
		t.Fatal(err)
	}
	for _, u := range orphans {
		if _, ok := f.item(DefaultService, u); ok {
			t.Errorf("orphan %q survived the next write", u)
		}
	}
	checkNoGarbage(t, s, f)
}

func TestDamagedJournalIsDropped(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{})
	mustPut(t, s, "a.example.com", "alice", "x")
	f.put(DefaultService, journalUser, "not json")
	mustPut(t, s, "b.example.com", "bob", "y")
	checkNoGarbage(t, s, f)
}

// TestReaderRetriesAfterConcurrentWrite: a Get that finds its secret item
// removed by a writer that replaced the entry meanwhile reads the index
// again and returns the new credential, not an error.
func TestReaderRetriesAfterConcurrentWrite(t *testing.T) {
	for _, chunk := range []int{0, 64} {
		f := newFake("linux")
		dir := t.TempDir()
		reader := newFakeStore(t, f, Options{Dir: dir, ChunkSize: chunk})
		writer := newFakeStore(t, f, Options{Dir: dir, ChunkSize: chunk})
		for i := range 10 {
			mustPut(t, writer, fmt.Sprintf("r%d.example.com", i), "u", strings.Repeat("s", 200))
		}
		var fired atomic.Bool
		var werr error
		f.setBefore(func(op, user string) error {
			// On the reader's first read of a secret or an index part,
			// another process replaces the entry.
			if op == "get" && user != indexUser && user != journalUser && fired.CompareAndSwap(false, true) {
				werr = writer.Put(context.Background(), key(t, "r3.example.com"), helper.Credentials{ServerURL: "r3.example.com", Username: "u2", Secret: "new"})
			}
			return nil
		})
		got, err := reader.Get(context.Background(), key(t, "r3.example.com"))
		if werr != nil {
			t.Fatal(werr)
		}
		if err != nil || got.Username != "u2" || got.Secret != "new" {
			t.Errorf("chunk %d: Get racing a write = %v, %v; want the new credential", chunk, got, err)
		}
	}
}

// TestConcurrentWriters runs writers as separate stores (as separate
// processes would be) on one keychain and lock directory.
func TestConcurrentWriters(t *testing.T) {
	f := newFake("darwin")
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 128)
	for w := range 8 {
		s := newFakeStore(t, f, Options{Dir: dir, Timeout: 30 * time.Second})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				u := fmt.Sprintf("w%d-%d.example.com", w, i)
				errs <- s.Put(context.Background(), key(t, u), helper.Credentials{ServerURL: u, Username: "u", Secret: strings.Repeat("x", 3000*(i%3))})
				if i%2 == 1 {
					errs <- s.Delete(context.Background(), key(t, u))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := newFakeStore(t, f, Options{Dir: dir})
	m := mustList(t, s)
	if len(m) != 32 {
		t.Fatalf("List has %d entries, want 32", len(m))
	}
	for u := range m {
		mustGet(t, s, u)
	}
	checkNoGarbage(t, s, f)
}

func TestProbe(t *testing.T) {
	f := newFake("linux")
	s := newFakeStore(t, f, Options{})
	if err := s.Probe(context.Background()); err != nil {
		t.Fatalf("Probe of a working keychain: %v", err)
	}
	f.setDiag(helper.WithHint(fmt.Errorf("%w: no Secret Service", ErrUnavailable), "start one"))
	if err := s.Probe(context.Background()); !errors.Is(err, ErrUnavailable) || helper.Hint(err) == "" {
		t.Errorf("Probe with no Secret Service: %v", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Dir succeeded")
	}
	if _, err := New(Options{Dir: t.TempDir(), ChunkSize: 3}); err == nil {
		t.Error("New with a 3-byte chunk size succeeded")
	}
	s, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Describe(), DefaultService) {
		t.Errorf("Describe() = %q", s.Describe())
	}
}
