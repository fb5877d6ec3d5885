package keyring

import (
	"context"
	"errors"
	"maps"
	"testing"
)

// FuzzIndex feeds arbitrary content as the root's secret, and on the
// Secret Service as its attributes, as another program (or a damaged
// keychain) could leave them: reading the index never panics, fails only
// with ErrDamaged or a newer-version error, a compressed document is
// bounded, and what it accepts encodes back to the same entries.
func FuzzIndex(f *testing.F) {
	small := map[string]entry{"a.example.com": {ServerURL: "a.example.com", Username: "u", Gen: 2, Parts: 1}}
	big := map[string]entry{}
	for i := range 200 {
		u := "registry-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com"
		big[u] = entry{ServerURL: "https://" + u, Username: "user", Gen: uint64(i + 1), Parts: 1}
	}
	for _, e := range []map[string]entry{small, big, {}} {
		doc, encoding, err := encodeIndex(e)
		if err != nil {
			f.Fatal(err)
		}
		h := rootHeader{Version: formatVersion, Gen: 700, Parts: 1, Encoding: encoding, Last: "x", OldGen: 3, OldParts: 1}
		f.Add(h.line()+doc, "700", "x", false)
	}
	f.Add(`{"version":1,"gen":9,"parts":1}`+"\n{\n"+`"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"<token>","gen":9,"parts":3},`+"\n"+`"r.example.com":{"username":"alice","gen":7}`+"\n}", "9", "", false)
	f.Add(`{"version":1,"gen":3,"parts":2}`+"\n{", "3", "", false)
	f.Add(`{"version":1,"gen":7,"parts":1,"encoding":"deflate","last":"x","erased":true}`+"\n"+"8wEA", "7", "x", true)
	f.Add(`{"version":1,"gen":7,"parts":1,"encoding":"zstd"}`+"\n{}", "7", "", false)
	f.Add(`{"version":2,"gen":3,"parts":1}`+"\n{}", "3", "", false)
	f.Add("garbage", "x", "", false)
	f.Fuzz(func(t *testing.T, root, gen, last string, erased bool) {
		for _, p := range []string{"linux", "secret-service"} {
			fk, kr := fakeFor(p)
			s, err := New(Options{Dir: "lock-dir-unused-by-reads", Keyring: kr})
			if err != nil {
				t.Fatal(err)
			}
			attrs := map[string]string{attrService: DefaultService, attrUser: indexUser, attrGen: gen, attrLast: last}
			if erased {
				attrs[attrErased] = "true"
			}
			fk.mu.Lock()
			fk.create(attrs, root)
			fk.mu.Unlock()
			st, err := s.readState(context.Background(), s.newCaller())
			if err != nil {
				var v *errVersion
				if !errors.Is(err, ErrDamaged) && !errors.As(err, &v) {
					t.Fatalf("%s: readState: %v, want ErrDamaged or a version error", p, err)
				}
				continue
			}
			if h := st.header; h.OldGen >= h.Gen || h.OldParts > maxParts || h.OldIndexParts > maxParts {
				t.Fatalf("%s: accepted the header %+v", p, h)
			}
			doc, encoding, err := encodeIndex(st.idx.Entries)
			if err != nil {
				t.Fatal(err)
			}
			again, err := decodeIndex(rootHeader{Version: formatVersion, Gen: st.idx.Gen, Parts: 1, Encoding: encoding}, doc)
			if err != nil {
				t.Fatalf("%s: re-parsing the encoded index: %v\n%s", p, err, doc)
			}
			if !maps.Equal(st.idx.Entries, again.Entries) {
				t.Fatalf("%s: entries changed in a round trip:\n%v\n%v", p, st.idx.Entries, again.Entries)
			}
		}
	})
}

// FuzzJournal: a journal of any content parses or is rejected without
// panicking, and never names more items than one write can create.
func FuzzJournal(f *testing.F) {
	f.Add(`{"version":1,"gen":5,"name":"a.example.com","parts":2,"indexParts":3}`, uint64(4))
	f.Add(`{"version":1,"gen":1,"name":"x","parts":0,"indexParts":1}`, uint64(0))
	f.Fuzz(func(t *testing.T, raw string, rootGen uint64) {
		j, err := parseJournal(raw)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("parseJournal: %v, want ErrDamaged", err)
			}
			return
		}
		if n := len(j.uncommitted(rootGen)); n > 2*maxParts {
			t.Fatalf("journal names %d items", n)
		}
	})
}
