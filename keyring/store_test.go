package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

// expectedUsers lists the items that the index of s names, which must be
// all the items of s's service once no write is in progress: anything else
// is garbage that a write failed to collect.
func expectedUsers(t *testing.T, s *Store) []string {
	t.Helper()
	st, err := s.readState(context.Background(), s.newCaller())
	if err != nil {
		t.Fatalf("reading the index: %v", err)
	}
	var us []string
	if st.header.Gen > 0 {
		us = append(us, indexUser)
		us = append(us, indexPartUsers(st.header.Gen, st.header.Parts)...)
		if s.items == nil {
			us = append(us, journalUser)
		}
	}
	for k, e := range st.idx.Entries {
		us = append(us, entryUsers(nameKey(k), e.Gen, e.Parts)...)
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
	want := []string{"(index)", "(journal)", "localhost:5000 #2", "registry.example.com #1"}
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
				// Usernames that do not compress, so that the index needs parts.
				sum := sha256.Sum256([]byte(fmt.Sprint(i)))
				mustPut(t, s, fmt.Sprintf("https://r%d.example.com/%s", i, strings.Repeat("p", 100)), strings.Repeat(hex.EncodeToString(sum[:]), 3), "x")
			}
			if len(mustList(t, s)) != 62 {
				t.Fatal("List lost entries")
			}
			st, err := s.readState(context.Background(), s.newCaller())
			if err != nil {
				t.Fatal(err)
			}
			if st.idx.Parts < 2 {
				t.Errorf("an index of 62 long entries fits in one %s item? (%d parts)", goos, st.idx.Parts)
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

// TestSearchCallCounts: Get finds the entry's items and the roots in one
// search and reads only the entry's secret, never the index; List reads the
// root alone; a write creates the secret and the root and removes what they
// replace.
func TestSearchCallCounts(t *testing.T) {
	f := newItemFake()
	s := newFakeStore(t, f.fakeKeyring, Options{Keyring: f})
	for i := range 100 {
		mustPut(t, s, fmt.Sprintf("r%d.example.com", i), "u", "s")
	}
	var read []string
	f.setBefore(func(op, user string) error { return nil })
	root := f.ids(map[string]string{"service": DefaultService, "username": indexUser})
	if len(root) != 1 {
		t.Fatalf("%d roots after the writes, want 1", len(root))
	}
	f.resetCalls()
	spy := &secretsSpy{itemFake: f, read: &read}
	s.kr, s.items = spy, spy
	if got := mustGet(t, s, "r7.example.com"); got.Username != "u" || got.Secret != "s" || got.ServerURL != "r7.example.com" {
		t.Errorf("Get = %v", got)
	}
	if c := f.resetCalls(); c["search"] != 1 || c["secrets"] != 1 || len(c) != 2 {
		t.Errorf("Get made calls %v, want 1 search and 1 secrets", c)
	}
	if len(read) != 1 || read[0] == fmt.Sprint(root[0]) {
		t.Errorf("Get read the secrets of items %v (the root is %d), want the entry's only", read, root[0])
	}
	if _, err := s.Get(context.Background(), key(t, "absent.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get of a missing entry: %v", err)
	}
	if c := f.resetCalls(); c["search"] != 1 || len(c) != 1 {
		t.Errorf("Get of a missing entry made calls %v, want 1 search", c)
	}
	if m := mustList(t, s); len(m) != 100 {
		t.Errorf("List has %d entries", len(m))
	}
	if c := f.resetCalls(); c["search"] != 1 || c["secrets"] != 1 || len(c) != 2 {
		t.Errorf("List made calls %v, want 1 search and 1 secrets", c)
	}
	s.kr, s.items = f, f
	mustPut(t, s, "r7.example.com", "u", "new")
	c := f.resetCalls()
	t.Logf("overwriting Put: %v", c)
	if c["create"] != 2 || c["remove"] != 2 || c["set"]+c["delete"] != 0 {
		t.Errorf("overwriting Put made calls %v, want 2 creates (secret, root) and 2 removes (old root, old secret)", c)
	}
	mustPut(t, s, "r7.example.com", "u", "new")
	if c := f.resetCalls(); c["create"]+c["remove"] != 0 {
		t.Errorf("storing what is stored made calls %v, want no writes", c)
	}
	mustPut(t, s, "new.example.com", "u", "x")
	if c := f.resetCalls(); c["create"] != 2 || c["remove"] != 1 {
		t.Errorf("new Put made calls %v, want 2 creates and 1 remove (old root)", c)
	}
	if err := s.Delete(context.Background(), key(t, "new.example.com")); err != nil {
		t.Fatal(err)
	}
	if c := f.resetCalls(); c["create"] != 1 || c["remove"] != 2 {
		t.Errorf("erase made calls %v, want 1 create (root) and 2 removes (old root, secret)", c)
	}
	checkNoGarbage(t, s, f.fakeKeyring)
}

// secretsSpy records which items Secrets reads.
type secretsSpy struct {
	itemFake
	read *[]string
}

func (s *secretsSpy) Secrets(ids []string) (map[string]string, error) {
	*s.read = append(*s.read, ids...)
	return s.itemFake.Secrets(ids)
}

// TestSearchIgnoresUncommitted: items of a write that did not commit
// (a generation above the root's) are never returned, and an erase is seen
// at once, before its items are removed.
func TestSearchIgnoresUncommitted(t *testing.T) {
	f := newItemFake()
	s := newFakeStore(t, f.fakeKeyring, Options{Keyring: f})
	mustPut(t, s, "a.example.com", "alice", "old")
	// A write of generation 2 that died before its root: a new secret for
	// a, and a first one for b.
	f.mu.Lock()
	f.create(map[string]string{"service": DefaultService, "username": "a.example.com #2", "key": "a.example.com", "gen": "2",
		"server": "a.example.com", "account": "mallory"}, "uncommitted")
	f.create(map[string]string{"service": DefaultService, "username": "b.example.com #2", "key": "b.example.com", "gen": "2",
		"server": "b.example.com", "account": "bob"}, "uncommitted")
	f.mu.Unlock()
	if got := mustGet(t, s, "a.example.com"); got.Secret != "old" || got.Username != "alice" {
		t.Errorf("Get returned %v, want the committed secret", got)
	}
	if _, err := s.Get(context.Background(), key(t, "b.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get of an uncommitted entry: %v, want not found", err)
	}
	// The next write removes them, and takes generation 2 itself.
	mustPut(t, s, "c.example.com", "carol", "c")
	checkNoGarbage(t, s, f.fakeKeyring)

	// An erase whose clean-up failed: the root says it erased the key,
	// and its items are still there.
	f.setBefore(func(op, user string) error {
		if op == "remove" {
			return errors.New("remove failed")
		}
		return nil
	})
	if err := s.Delete(context.Background(), key(t, "a.example.com")); err != nil {
		t.Fatal(err)
	}
	f.setBefore(nil)
	if _, ok := f.item(DefaultService, "a.example.com #1"); !ok {
		t.Fatal("the failed clean-up removed the item anyway")
	}
	if _, err := s.Get(context.Background(), key(t, "a.example.com")); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get of an erased entry whose items remain: %v, want not found", err)
	}
	if m := mustList(t, s); !maps.Equal(m, map[string]string{"c.example.com": "carol"}) {
		t.Errorf("List = %v", m)
	}
	mustPut(t, s, "d.example.com", "dave", "d")
	checkNoGarbage(t, s, f.fakeKeyring)
}

// TestSearchReaderRetries: a Get whose entry is replaced, and its items
// removed, between its search and its read returns the new credential.
func TestSearchReaderRetries(t *testing.T) {
	for _, chunk := range []int{0, 64} {
		f := newItemFake()
		dir := t.TempDir()
		reader := newFakeStore(t, f.fakeKeyring, Options{Dir: dir, ChunkSize: chunk, Keyring: f})
		writer := newFakeStore(t, f.fakeKeyring, Options{Dir: dir, ChunkSize: chunk, Keyring: f})
		for i := range 10 {
			mustPut(t, writer, fmt.Sprintf("r%d.example.com", i), "u", strings.Repeat("s", 200))
		}
		var fired atomic.Bool
		var werr error
		f.setBefore(func(op, user string) error {
			if op == "secrets" && fired.CompareAndSwap(false, true) {
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
		f.setBefore(nil)
		checkNoGarbage(t, writer, f.fakeKeyring)
	}
}

// TestSearchDamagedEntry: an entry whose item was removed by another
// program is damaged, not missing.
func TestSearchDamagedEntry(t *testing.T) {
	f := newItemFake()
	s := newFakeStore(t, f.fakeKeyring, Options{Keyring: f, ChunkSize: 64})
	mustPut(t, s, "a.example.com", "alice", strings.Repeat("x", 200))
	f.remove(DefaultService, "a.example.com #1 part 2/4")
	_, err := s.Get(context.Background(), key(t, "a.example.com"))
	if !errors.Is(err, ErrDamaged) || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) == "" {
		t.Errorf("Get of an entry missing a part: %v (hint %q), want ErrDamaged with a hint", err, helper.Hint(err))
	}
	if m := mustList(t, s); len(m) != 1 {
		t.Errorf("List = %v, want the damaged entry still listed", m)
	}
	if err := s.Delete(context.Background(), key(t, "a.example.com")); err != nil {
		t.Fatalf("erasing a damaged entry: %v", err)
	}
	checkNoGarbage(t, s, f.fakeKeyring)
}

// TestDamagedRootItem: a root whose attributes or secret another
// program changed is reported, with a hint, and not overwritten.
func TestDamagedRootItem(t *testing.T) {
	for name, damage := range map[string]func(f itemFake){
		"gen attribute":  func(f itemFake) { f.setAttr(indexUser, attrGen, "x") },
		"gen mismatch":   func(f itemFake) { f.setAttr(indexUser, attrGen, "9") },
		"last attribute": func(f itemFake) { f.setAttr(indexUser, attrLast, "a.example.com") },
		"secret": func(f itemFake) {
			f.put(DefaultService, indexUser, `{"version":1,"gen":2,"parts":1,"last":"b.example.com"}`+"\n{")
		},
		"encoding": func(f itemFake) {
			f.put(DefaultService, indexUser, `{"version":1,"gen":2,"parts":1,"encoding":"deflate","last":"b.example.com"}`+"\n!!")
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newItemFake()
			s := newFakeStore(t, f.fakeKeyring, Options{Keyring: f})
			mustPut(t, s, "a.example.com", "alice", "x")
			mustPut(t, s, "b.example.com", "bob", "y")
			damage(f)
			before := f.users(DefaultService)
			_, lerr := s.List(context.Background())
			perr := s.Put(context.Background(), key(t, "c.example.com"), helper.Credentials{ServerURL: "c.example.com", Username: "c", Secret: "z"})
			for op, err := range map[string]error{"List": lerr, "Put": perr} {
				if !errors.Is(err, ErrDamaged) || helper.Hint(err) == "" {
					t.Errorf("%s with a damaged root: %v (hint %q), want ErrDamaged with a hint", op, err, helper.Hint(err))
				}
			}
			if after := f.users(DefaultService); !slicesEqual(before, after) {
				t.Errorf("the failed Put changed the items from %q to %q", before, after)
			}
		})
	}
}

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func (f itemFake) setAttr(user, k, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.first(DefaultService, user)
	if !ok {
		panic("no item " + user)
	}
	f.items[id].attrs[k] = v
}

// TestLargeIndexIsCompressed: at 1,000 entries the root holds the
// index compressed, and reads back.
func TestLargeIndexIsCompressed(t *testing.T) {
	entries := map[string]entry{}
	for i := range 1000 {
		u := fmt.Sprintf("registry-%04d.example.com", i)
		entries[u] = entry{ServerURL: u, Username: fmt.Sprint("user", i), Gen: uint64(i + 1), Parts: 1}
	}
	z, encoding, err := encodeIndex(entries)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := encodeIndexDoc(entries)
	t.Logf("index of 1000 entries: %d bytes, %d stored", len(doc), len(z))
	if encoding != "deflate" || len(z) > len(doc)/3 {
		t.Errorf("%d bytes stored (encoding %q) for an index of %d", len(z), encoding, len(doc))
	}
	idx, err := decodeIndex(rootHeader{Version: formatVersion, Gen: 1000, Parts: 1, Encoding: encoding}, z)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(idx.Entries, entries) {
		t.Error("the index did not round-trip")
	}
}
