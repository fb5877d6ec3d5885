package keyring

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"
)

func sameEntries(a, b map[string]entryJSON) bool {
	return maps.EqualFunc(a, b, func(x, y entryJSON) bool {
		return x.ServerURL == y.ServerURL && x.Username == y.Username && x.Gen == y.Gen &&
			(x.Parts == nil) == (y.Parts == nil) && (x.Parts == nil || *x.Parts == *y.Parts)
	})
}

// TestScanIndexDoc: what encodeIndexDoc writes, the scan reads without
// encoding/json, unless a string needs an escape.
func TestScanIndexDoc(t *testing.T) {
	entries := map[string]entry{}
	for i := range 300 {
		u := fmt.Sprintf("registry-%04d.example.com", i)
		e := entry{ServerURL: u, Username: fmt.Sprint("user", i), Gen: uint64(i + 1), Parts: i%3 + 1}
		if i%5 == 0 {
			e.ServerURL = "https://" + u + "/v1/"
		}
		entries[u] = e
	}
	entries["ü.example.com"] = entry{ServerURL: "ü.example.com", Username: "<token>", Gen: 9, Parts: 1}
	// In this order: the escaped entry, once added, stays.
	for _, step := range []struct {
		name string
		want bool
	}{{"plain", true}, {"escaped", false}} {
		name, want := step.name, step.want
		if !want {
			entries["q.example.com"] = entry{ServerURL: "q.example.com", Username: `a"b\c` + "\u2028", Gen: 3, Parts: 1}
		}
		doc, err := encodeIndexDoc(entries)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := scanIndexDoc(doc)
		if ok != want {
			t.Fatalf("%s: scan ok = %v", name, ok)
		}
		var j map[string]entryJSON
		if err := json.Unmarshal([]byte(doc), &j); err != nil {
			t.Fatal(err)
		}
		if ok && !sameEntries(d, j) {
			t.Errorf("%s: the scan differs from encoding/json", name)
		}
		idx, err := parseIndexDoc(doc, 1000, 1)
		if err != nil || !maps.Equal(idx.Entries, entries) {
			t.Errorf("%s: parseIndexDoc: %v", name, err)
		}
	}
	for _, doc := range []string{"{\n}", "{}", "{\n\"a\":{\"username\":\"u\",\"gen\":1}\n}"} {
		if _, err := parseIndexDoc(doc, 1, 1); err != nil {
			t.Errorf("parseIndexDoc(%q): %v", doc, err)
		}
	}
}

// FuzzScanIndexDoc: whatever the scan accepts, encoding/json reads the same.
func FuzzScanIndexDoc(f *testing.F) {
	f.Add("{\n\"a\":{\"serverURL\":\"https://a\",\"username\":\"u\",\"gen\":12,\"parts\":0},\n\"b\":{\"username\":\"v\",\"gen\":1}\n}")
	f.Add("{\n\"a\":{\"username\":\"u\",\"gen\":01}\n}")
	f.Add("{\n\"a\":{\"username\":\"\xff\",\"gen\":1}\n}")
	f.Add("{\n\"a\":{\"username\":\"u\",\"gen\":1},\n\"a\":{\"username\":\"w\",\"gen\":2}\n}")
	f.Fuzz(func(t *testing.T, doc string) {
		d, ok := scanIndexDoc(doc)
		if !ok {
			return
		}
		var j map[string]entryJSON
		if err := json.Unmarshal([]byte(doc), &j); err != nil {
			t.Fatalf("the scan accepted what encoding/json rejects (%v):\n%q", err, doc)
		}
		if !sameEntries(d, j) {
			t.Fatalf("the scan differs from encoding/json:\n%q", doc)
		}
	})
}
