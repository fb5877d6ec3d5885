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
