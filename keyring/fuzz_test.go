package keyring

import (
	"context"
	"errors"
	"maps"
	"testing"
)

// FuzzIndex feeds arbitrary content as the index root, as another program
// (or a damaged keychain) could leave it: reading it never panics, fails
// only with ErrDamaged or a newer-version error, and what it accepts encodes
// back to the same entries.
func FuzzIndex(f *testing.F) {
	f.Add(`{"version":1,"gen":3,"parts":1}` + "\n" + `{"a.example.com":{"username":"u","gen":2}}`)
	f.Add(`{"version":1,"gen":9,"parts":1}` + "\n{\n" + `"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"<token>","gen":9,"parts":3},` + "\n" + `"r.example.com":{"username":"alice","gen":7,"parts":0}` + "\n}")
	f.Add(`{"version":1,"gen":3,"parts":2}` + "\n{")
	f.Add(`{"version":2,"gen":3,"parts":1}` + "\n{}")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, root string) {
		fk := newFake("linux")
		s, err := New(Options{Dir: "lock-dir-unused-by-reads", Keyring: fk})
		if err != nil {
			t.Fatal(err)
		}
		fk.put(DefaultService, indexUser, root)
		idx, err := s.readIndex(context.Background(), s.newCaller())
		if err != nil {
			var v *errVersion
			if !errors.Is(err, ErrDamaged) && !errors.As(err, &v) {
				t.Fatalf("readIndex: %v, want ErrDamaged or a version error", err)
			}
			return
		}
		doc, err := encodeIndexDoc(idx.Entries)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseIndexDoc(doc, idx.Gen, 1)
		if err != nil {
			t.Fatalf("re-parsing the encoded index: %v\n%s", err, doc)
		}
		if !maps.Equal(idx.Entries, again.Entries) {
			t.Fatalf("entries changed in a round trip:\n%v\n%v", idx.Entries, again.Entries)
		}
	})
}

// FuzzJournal: a journal of any content parses or is rejected without
// panicking, and never names more items than two writes can create.
func FuzzJournal(f *testing.F) {
	f.Add(`{"version":1,"gen":5,"name":"a.example.com","parts":2,"indexParts":1,"oldGen":3,"oldParts":1,"oldIndexParts":2}`, uint64(5))
	f.Add(`{"version":1,"gen":1,"name":"x","parts":0,"indexParts":1}`, uint64(0))
	f.Fuzz(func(t *testing.T, raw string, rootGen uint64) {
		j, err := parseJournal(raw)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("parseJournal: %v, want ErrDamaged", err)
			}
			return
		}
		if n := len(j.garbage(rootGen)); n > 2*maxParts {
			t.Fatalf("journal names %d items", n)
		}
	})
}

// FuzzRoot2 feeds arbitrary content as the secret and attributes of a
// layout-2 root, as a damaged keychain or another program could leave them:
// parsing never panics, fails only with ErrDamaged or a newer-version
// error, a compressed document is bounded, and what it accepts encodes back
// to the same entries.
func FuzzRoot2(f *testing.F) {
	small := map[string]entry{"a.example.com": {Username: "u", Gen: 2, Parts: 1}}
	big := map[string]entry{}
	for i := range 200 {
		u := "registry-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com"
		big[u] = entry{ServerURL: "https://" + u, Username: "user", Gen: uint64(i + 1), Parts: 1}
	}
	for _, e := range []map[string]entry{small, big, {}} {
		s, err := encodeRoot2(7, e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s, "7", "", "")
	}
	f.Add(`{"version":2,"gen":7,"parts":1,"encoding":"deflate"}`+"\n"+"!!!", "7", "3 1", "0")
	f.Add(`{"version":2,"gen":7,"parts":1,"encoding":"deflate"}`+"\n"+"8wEA", "7", "", "")
	f.Add(`{"version":3,"gen":7,"parts":1}`+"\n{}", "7", "", "")
	f.Add(`{"version":2,"gen":7,"parts":1,"encoding":"zstd"}`+"\n{}", "7", "8 1", "9")
	f.Fuzz(func(t *testing.T, secret, gen, old, legacy string) {
		attrs := map[string]string{attrGen: gen, attrLast: "x"}
		if old != "" {
			attrs[attrOld] = old
		}
		if legacy != "" {
			attrs[attrLegacy] = legacy
		}
		r, err := parseRoot2(Item{ID: "1", Attrs: attrs})
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("parseRoot2: %v, want ErrDamaged", err)
			}
			return
		}
		if r.gen < 1 || (r.oldGen != 0 && r.oldGen >= r.gen) || r.legacy >= r.gen || r.oldParts < 0 || r.oldParts > maxParts {
			t.Fatalf("parseRoot2 accepted %+v", r)
		}
		idx, err := parseRoot2Secret(&r, secret)
		if err != nil {
			var v *errVersion
			if !errors.Is(err, ErrDamaged) && !errors.As(err, &v) {
				t.Fatalf("parseRoot2Secret: %v, want ErrDamaged or a version error", err)
			}
			return
		}
		enc, err := encodeRoot2(r.gen, idx.Entries)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseRoot2Secret(&r, enc)
		if err != nil {
			t.Fatalf("re-parsing the encoded root: %v", err)
		}
		if !maps.Equal(idx.Entries, again.Entries) {
			t.Fatalf("entries changed in a round trip:\n%v\n%v", idx.Entries, again.Entries)
		}
	})
}
