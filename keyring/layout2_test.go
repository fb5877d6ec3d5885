package keyring

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// TestLayout2CallCounts: Get finds the entry's items and the roots in one
// search and reads only the entry's secret, never the index; List reads the
// root alone; a write creates the secret and the root and removes what they
// replace.
func TestLayout2CallCounts(t *testing.T) {
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
	rootSecret, _ := f.item(DefaultService, indexUser)
	if !strings.Contains(rootSecret, `"version":2`) {
		t.Errorf("root does not hold layout 2: %.80q", rootSecret)
	}
	f.resetCalls()
	spy := &secretsSpy{itemFake: f, read: &read}
	s.kr = spy
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
	s.kr = f
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

// TestLayout2IgnoresUncommitted: items of a write that did not commit
// (a generation above the root's) are never returned, and an erase is seen
// at once, before its items are removed.
func TestLayout2IgnoresUncommitted(t *testing.T) {
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

// TestLayout2ReaderRetries: a Get whose entry is replaced, and its items
// removed, between its search and its read returns the new credential.
func TestLayout2ReaderRetries(t *testing.T) {
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

// TestLayout2DamagedEntry: an entry whose item was removed by another
// program is damaged, not missing.
func TestLayout2DamagedEntry(t *testing.T) {
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

// TestLayout2DamagedRoot: a root whose attributes or secret another
// program changed is reported, with a hint, and not overwritten.
func TestLayout2DamagedRoot(t *testing.T) {
	for name, damage := range map[string]func(f itemFake){
		"gen attribute": func(f itemFake) { f.setAttr(indexUser, attrGen, "x") },
		"gen mismatch":  func(f itemFake) { f.setAttr(indexUser, attrGen, "9") },
		"old attribute": func(f itemFake) { f.setAttr(indexUser, attrOld, "5") },
		"secret":        func(f itemFake) { f.put(DefaultService, indexUser, `{"version":2,"gen":2,"parts":1}`+"\n{") },
		"encoding": func(f itemFake) {
			f.put(DefaultService, indexUser, `{"version":2,"gen":2,"parts":1,"encoding":"deflate"}`+"\n!!")
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

// TestLayout2LargeIndexIsCompressed: at 1,000 entries the root holds the
// index compressed, and reads back.
func TestLayout2LargeIndexIsCompressed(t *testing.T) {
	entries := map[string]entry{}
	for i := range 1000 {
		u := fmt.Sprintf("registry-%04d.example.com", i)
		entries[u] = entry{ServerURL: u, Username: fmt.Sprint("user", i), Gen: uint64(i + 1), Parts: 1}
	}
	secret, err := encodeRoot2(1000, entries)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := encodeIndexDoc(entries)
	t.Logf("index of 1000 entries: %d bytes, %d in the root", len(doc), len(secret))
	if !strings.Contains(secret, `"encoding":"deflate"`) || len(secret) > len(doc)/3 {
		t.Errorf("root of %d bytes for an index of %d", len(secret), len(doc))
	}
	idx, err := parseRoot2Secret(&root2{gen: 1000}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(idx.Entries, entries) {
		t.Error("the index did not round-trip")
	}
}

// seedLayout1 stores creds with a Store of layout 1 on f's items, as the
// version before layout 2 left them.
func seedLayout1(t *testing.T, f *fakeKeyring, dir string, chunk int, creds ...helper.Credentials) {
	t.Helper()
	old := newFakeStore(t, f, Options{Dir: dir, ChunkSize: chunk})
	for _, c := range creds {
		mustPut(t, old, c.ServerURL, c.Username, c.Secret)
	}
}

// TestLayout1Upgrade: a keychain written by layout 1 reads as it is; the
// first write converts the index and drops the journal, entries of layout
// 1 stay readable until they are replaced, and nothing is left behind.
func TestLayout1Upgrade(t *testing.T) {
	for _, chunk := range []int{0, 64} {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			f := newItemFake()
			dir := t.TempDir()
			a := helper.Credentials{ServerURL: "a.example.com", Username: "alice", Secret: strings.Repeat("a", 150)}
			b := helper.Credentials{ServerURL: "https://index.docker.io/v1/", Username: "bob", Secret: "b"}
			e := helper.Credentials{ServerURL: "e.example.com", Username: "eve", Secret: ""}
			seedLayout1(t, f.fakeKeyring, dir, chunk, a, b, e)
			s := newFakeStore(t, f.fakeKeyring, Options{Dir: dir, ChunkSize: chunk, Keyring: f})
			check := func(want map[string]helper.Credentials) {
				t.Helper()
				m := mustList(t, s)
				if !maps.Equal(m, usernames(want)) {
					t.Errorf("List = %v, want %v", m, usernames(want))
				}
				for u, c := range want {
					if got := mustGet(t, s, u); got != c {
						t.Errorf("Get(%q) = %v, want %v", u, got, c)
					}
				}
			}
			check(byURL([]helper.Credentials{a, b, e}))
			if _, err := s.Get(context.Background(), key(t, "x.example.com")); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("Get of a missing entry in layout 1: %v", err)
			}
			// The first write converts.
			c := helper.Credentials{ServerURL: "c.example.com", Username: "carol", Secret: "c"}
			mustPut(t, s, c.ServerURL, c.Username, c.Secret)
			if _, ok := f.item(DefaultService, journalUser); ok {
				t.Error("the journal of layout 1 survived the conversion")
			}
			check(byURL([]helper.Credentials{a, b, c, e}))
			if _, err := s.Get(context.Background(), key(t, "x.example.com")); !errors.Is(err, helper.ErrNotFound) {
				t.Errorf("Get of a missing entry with entries of layout 1 left: %v", err)
			}
			checkNoGarbage(t, s, f.fakeKeyring)
			// Replacing and erasing the old entries removes their items.
			a2 := helper.Credentials{ServerURL: a.ServerURL, Username: "alice2", Secret: "a2"}
			mustPut(t, s, a2.ServerURL, a2.Username, a2.Secret)
			if err := s.Delete(context.Background(), key(t, b.ServerURL)); err != nil {
				t.Fatal(err)
			}
			check(byURL([]helper.Credentials{a2, c, e}))
			checkNoGarbage(t, s, f.fakeKeyring)
			if root := f.ids(map[string]string{"service": DefaultService, "username": indexUser, attrLegacy: "3"}); len(root) != 1 {
				t.Errorf("the root does not say that entries of layout 1 are left")
			}
			mustPut(t, s, e.ServerURL, e.Username, "now set")
			if root := f.ids(map[string]string{"service": DefaultService, "username": indexUser}); len(root) != 1 {
				t.Fatalf("%d roots", len(root))
			} else if _, ok := f.items[root[0]].attrs[attrLegacy]; ok {
				t.Errorf("the root still says that entries of layout 1 are left: %v", f.items[root[0]].attrs)
			}
			checkNoGarbage(t, s, f.fakeKeyring)
		})
	}
}

// TestLayout1UpgradeInterrupted: the converting write fails at each of its
// calls in turn; the store shows the old state or the new one, and the next
// write cleans up. Also a journal of layout 1 naming an interrupted write is
// honoured by the conversion.
func TestLayout1UpgradeInterrupted(t *testing.T) {
	a := helper.Credentials{ServerURL: "a.example.com", Username: "alice", Secret: "old"}
	b := helper.Credentials{ServerURL: "b.example.com", Username: "bob", Secret: "b"}
	a2 := helper.Credentials{ServerURL: "a.example.com", Username: "alice2", Secret: "new"}
	vanished := errors.New("org.freedesktop.DBus.Error.ServiceUnknown")
	for n := 1; ; n++ {
		f := newItemFake()
		dir := t.TempDir()
		seedLayout1(t, f.fakeKeyring, dir, 0, a, b)
		// A layout-1 write of generation 3 that died after its secret.
		f.put(DefaultService, journalUser, `{"version":1,"gen":3,"name":"c.example.com","parts":1,"indexParts":1}`)
		f.put(DefaultService, "c.example.com #3", "orphan")
		s := newFakeStore(t, f.fakeKeyring, Options{Dir: dir, Keyring: f})
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
		err := s.Put(context.Background(), key(t, a.ServerURL), a2)
		f.setBefore(nil)
		f.setDiag(nil)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d failing: %v", n, err)
		}
		m := mustList(t, s)
		want := a
		if m[a.ServerURL] == a2.Username {
			want = a2
		}
		if got := mustGet(t, s, a.ServerURL); got != want {
			t.Fatalf("call %d failing: Get = %v, want %v (List says %v)", n, got, want, m)
		}
		if err == nil && want != a2 {
			t.Fatalf("call %d failing: the Put succeeded but the entry is %v", n, want)
		}
		if got := mustGet(t, s, b.ServerURL); got != b {
			t.Fatalf("call %d failing: Get(b) = %v", n, got)
		}
		mustPut(t, s, "next.example.com", "u", "s")
		checkNoGarbage(t, s, f.fakeKeyring)
		if !failed {
			t.Logf("the converting Put takes %d calls; a failure at each was checked", n-1)
			return
		}
	}
}
