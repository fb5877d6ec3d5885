package filestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// ageDecrypt returns the plaintext of the store file as stock age reads it.
func ageDecrypt(t *testing.T, path string, id age.Identity) []byte {
	t.Helper()
	plain, err := decryptFile(t, path, id)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// TestMergeMatchesFullEncoding drives puts and deletes over stores that
// span many age chunks (with lines longer than a chunk), at the first, a
// middle and the last line, and checks after each write that the file is
// byte for byte what a full encode of the expected document gives, and
// that Get and List agree with it.
func TestMergeMatchesFullEncoding(t *testing.T) {
	x := newX25519(t)
	dir := t.TempDir()
	s := newStore(t, Options{Dir: dir, Identity: x.String()})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]entry{}
	check := func(step string) {
		t.Helper()
		plain := ageDecrypt(t, s.Path(), x)
		enc, err := encodeDocument(&document{Version: SchemaVersion, Entries: want})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, enc) {
			t.Fatalf("%s: the merged file differs from the canonical encoding (%d against %d bytes)", step, len(plain), len(enc))
		}
		m, err := s.List(ctx)
		if err != nil {
			t.Fatalf("%s: List: %v", step, err)
		}
		wantList := map[string]string{}
		for _, e := range want {
			wantList[e.ServerURL] = e.Username
		}
		if !maps.Equal(m, wantList) {
			t.Fatalf("%s: List differs", step)
		}
	}
	secret := func() string {
		n := rng.IntN(3000)
		if rng.IntN(20) == 0 {
			n = 70000 + rng.IntN(70000) // longer than a chunk
		}
		return strings.Repeat(string(rune('a'+rng.IntN(26))), n) + "\"\\\n<&"
	}
	put := func(name string) {
		k := mustKey(t, name)
		e := entry{ServerURL: name, Username: "u-" + name, Secret: secret()}
		if err := s.Put(ctx, k, helper.Credentials{ServerURL: e.ServerURL, Username: e.Username, Secret: e.Secret}); err != nil {
			t.Fatal(err)
		}
		want[k.String()] = e
	}
	del := func(name string) {
		k := mustKey(t, name)
		err := s.Delete(ctx, k)
		if _, ok := want[k.String()]; !ok {
			if !errors.Is(err, helper.ErrNotFound) {
				t.Fatalf("Delete(%s) of a missing key = %v", name, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		delete(want, k.String())
	}

	put("m.example.com")
	check("first put")
	del("m.example.com")
	check("delete the only entry")
	put("m.example.com")
	for i := range 150 {
		put(fmt.Sprintf("r%03d.example.com", rng.IntN(1000)))
		if i%50 == 0 {
			check(fmt.Sprintf("put %d", i))
		}
	}
	check("filled")
	for step, name := range []string{"a.example.com", "z.example.com", "m.example.com", "a.example.com", "z.example.com", "missing.example.com"} {
		if step < 3 {
			put(name)
		} else {
			del(name)
		}
		check(fmt.Sprintf("edge %d (%s)", step, name))
	}
	for i := range 100 {
		name := fmt.Sprintf("r%03d.example.com", rng.IntN(1000))
		if rng.IntN(3) == 0 {
			put(name)
		} else {
			del(name)
		}
		if i%25 == 0 {
			check(fmt.Sprintf("mixed %d", i))
		}
	}
	check("mixed")
	for k, e := range want {
		c, err := s.Get(ctx, mustKey(t, k))
		if err != nil || c.Secret != e.Secret || c.Username != e.Username {
			t.Fatalf("Get(%s) = %v", k, err)
		}
	}
	for _, name := range []string{"0.example.com", "r5000.example.com", "zz.example.com"} {
		if _, err := s.Get(ctx, mustKey(t, name)); !errors.Is(err, helper.ErrNotFound) {
			t.Fatalf("Get(%s) of a missing key = %v", name, err)
		}
	}
}

// A canonical-looking file whose lines were reordered by hand (same length,
// same header) is not merged: the write parses it in full and writes every
// entry back in order.
func TestMergeRefusesOutOfOrderLines(t *testing.T) {
	x := newX25519(t)
	dir := t.TempDir()
	doc := &document{Version: SchemaVersion, Entries: map[string]entry{}}
	for i := range 300 {
		k := fmt.Sprintf("r%03d.example.com", i)
		doc.Entries[k] = entry{ServerURL: k, Username: "u", Secret: strings.Repeat("s", 1000)}
	}
	plain, err := encodeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the first two lines, moving the comma-less last line up.
	lines := bytes.SplitAfter(plain, []byte("\n"))
	n := len(lines) - 3 // the last entry line (then "}}\n" and "")
	last := bytes.TrimSuffix(lines[n], []byte("\n"))
	lines[1], lines[n] = append(bytes.Clone(last), ",\n"...), append(bytes.TrimSuffix(lines[1], []byte(",\n")), '\n')
	swapped := bytes.Join(lines, nil)
	if len(swapped) != len(plain) || !isCanonical(swapped) {
		t.Fatal("the swap changed the layout")
	}
	writeFile(t, dir+"/"+StoreFileName, encryptTo(t, x.Recipient(), swapped), 0o600)
	s := newStore(t, Options{Dir: dir, Identity: x.String()})
	mustPut(t, s, "r150.example.com", "new", "new")
	doc.Entries["r150.example.com"] = entry{ServerURL: "r150.example.com", Username: "new", Secret: "new"}
	want, _ := encodeDocument(doc)
	if got := ageDecrypt(t, s.Path(), x); !bytes.Equal(got, want) {
		t.Fatal("the write did not rewrite the reordered store in full and in order")
	}
}

// TestSearchEveryKey looks up every key, and keys between them, in canonical
// plaintexts of many sizes, in memory.
func TestSearchEveryKey(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 70, 200, 1000} {
		doc := &document{Version: SchemaVersion, Entries: map[string]entry{}}
		for i := range n {
			k := fmt.Sprintf("h%04d.example.com", i*2)
			doc.Entries[k] = entry{ServerURL: k, Username: fmt.Sprint(i), Secret: strings.Repeat("x", (i*7919)%3000)}
		}
		plain, err := encodeDocument(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2*n + 1 {
			k := fmt.Sprintf("h%04d.example.com", i)
			e, ok, err := lookupEntry(plain, k)
			if err != nil || ok != (i%2 == 0 && i < 2*n) || (ok && e != doc.Entries[k]) {
				t.Fatalf("n=%d: lookupEntry(%s) = %v, %v", n, k, ok, err)
			}
		}
		m, err := listEntries(plain)
		if err != nil || len(m) != n {
			t.Fatalf("n=%d: listEntries = %d entries, %v", n, len(m), err)
		}
	}
}

// FuzzScanLine checks the line scanner against encoding/json: a line it
// accepts parses to the same key and entry, and every line the store
// writes is accepted.
func FuzzScanLine(f *testing.F) {
	f.Add(`"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"u","secret":"s"},`, "k", "u", "n", "s")
	f.Add(`"a\u003cb":{"serverURL":"\ud800","username":"\"\\\/\b\f\n\r\t","secret":"\u00e9"}`, "a<b", "\xff", "é", "\x00")
	f.Add(`"a":{"serverURL":"a","username":"b","secret":"c"}}`, "", "", "", "")
	f.Fuzz(func(t *testing.T, line, key, serverURL, user, secret string) {
		if fl, ok := scanLine([]byte(line)); ok {
			body := strings.TrimSuffix(line, ",")
			if fl.comma != (body != line) {
				t.Fatalf("comma = %v for %q", fl.comma, line)
			}
			var m map[string]entry
			if err := json.Unmarshal([]byte("{"+body+"}"), &m); err != nil {
				t.Fatalf("scanLine accepted %q, which encoding/json refuses: %v", line, err)
			}
			k := fl.key.str([]byte(line))
			if len(m) != 1 || m[k] != fl.entry([]byte(line)) {
				t.Fatalf("scanLine reads %q as %q: %+v; encoding/json: %+v", line, k, fl.entry([]byte(line)), m)
			}
			if !bytes.Equal(fl.keyBytes([]byte(line)), []byte(k)) {
				t.Fatalf("keyBytes differs from the decoded key")
			}
		}
		e := entry{ServerURL: serverURL, Username: user, Secret: secret}
		enc, err := encodeLine(key, e)
		if err != nil {
			t.Fatal(err)
		}
		fl, ok := scanLine(enc)
		if !ok {
			t.Fatalf("scanLine refused the store's own line %q", enc)
		}
		var back entry
		if err := json.Unmarshal(enc[fl.serverURL.open-len(`{"serverURL":`):], &back); err != nil || back != fl.entry(enc) {
			t.Fatalf("scanLine reads %q as %+v; encoding/json: %+v (%v)", enc, fl.entry(enc), back, err)
		}
	})
}

// The temporary file of a write that fell back to a full parse is gone.
func TestNoTempLeftAfterFallback(t *testing.T) {
	x := newX25519(t)
	dir := t.TempDir()
	// A hand edit that keeps the header: one byte of the last secret
	// replaced by a raw tab, which JSON forbids in a string. A put of "b"
	// finds its line before reaching "c", so the merge starts writing.
	body := `"a":{"serverURL":"a","username":"u","secret":"s"},` + "\n" +
		`"b":{"serverURL":"b","username":"u","secret":"s"},` + "\n" +
		`"c":{"serverURL":"c","username":"u","secret":"s` + "\t" + `"}` + "\n"
	plain := []byte(canonicalPrefix + "3" + canonicalMid + fmt.Sprint(len(body)) + canonicalOpen + body + string(canonicalTail))
	if !isCanonical(plain) {
		t.Fatal("test plaintext does not claim the layout")
	}
	data := encryptTo(t, x.Recipient(), plain)
	writeFile(t, dir+"/"+StoreFileName, data, 0o600)
	s := newStore(t, Options{Dir: dir, Identity: x.String()})
	if err := s.Put(context.Background(), mustKey(t, "b"), helper.Credentials{ServerURL: "b"}); err == nil {
		t.Fatal("Put over an invalid store succeeded")
	}
	if !bytes.Equal(readBytes(t, s.Path()), data) {
		t.Fatal("Put changed a store it could not parse")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix(StoreFileName)) {
			t.Fatalf("%s left behind", e.Name())
		}
	}
}
