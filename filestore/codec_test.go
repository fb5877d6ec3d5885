package filestore

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func sampleDoc() *document {
	return &document{Version: SchemaVersion, Entries: map[string]entry{
		"docker.io":                 {ServerURL: "https://index.docker.io/v1/", Username: "<token>", Secret: "refresh"},
		"docker.io/v1/access-token": {ServerURL: "https://index.docker.io/v1/access-token", Username: "alice", Secret: "a\nb\"c\\d"},
		"localhost:5000":            {ServerURL: "localhost:5000", Username: "ünï", Secret: strings.Repeat("x", 70000)},
		"localhost:5000/ns/repo":    {ServerURL: "localhost:5000/ns/repo", Username: "bob", Secret: ""},
	}}
}

func TestCanonicalLayout(t *testing.T) {
	plain, err := encodeDocument(sampleDoc())
	if err != nil {
		t.Fatal(err)
	}
	if !isCanonical(plain) {
		t.Fatalf("encodeDocument output is not canonical:\n%.300s", plain)
	}
	// It is plain JSON that any tool reads back as the same document.
	var back document
	if err := json.Unmarshal(plain, &back); err != nil {
		t.Fatalf("canonical layout is not valid JSON: %v", err)
	}
	if !maps.Equal(back.Entries, sampleDoc().Entries) || back.Version != SchemaVersion {
		t.Fatalf("round trip through encoding/json changed the document")
	}
	// One line per entry plus head and tail.
	if got, want := strings.Count(string(plain), "\n"), len(back.Entries)+2; got != want {
		t.Fatalf("canonical layout has %d lines, want %d", got, want)
	}
}

func TestLookupAndListAgreeWithFullParse(t *testing.T) {
	doc := sampleDoc()
	canonical, err := encodeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	pretty, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, plain := range map[string][]byte{"canonical": canonical, "hand-edited": pretty} {
		t.Run(name, func(t *testing.T) {
			for k, want := range doc.Entries {
				got, ok, err := lookupEntry(plain, k)
				if err != nil || !ok || got != want {
					t.Errorf("lookupEntry(%q) = %v, %v, %v; want the entry", k, got.Username, ok, err)
				}
			}
			for _, k := range []string{"docker.io/v1", "localhost", "localhost:5000/ns", "ns/repo", ""} {
				if _, ok, err := lookupEntry(plain, k); ok || err != nil {
					t.Errorf("lookupEntry(%q) = found %v, err %v; want not found", k, ok, err)
				}
			}
			m, err := listEntries(plain)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, e := range doc.Entries {
				want[e.ServerURL] = e.Username
			}
			if !maps.Equal(m, want) {
				t.Errorf("listEntries = %v, want %v", m, want)
			}
		})
	}
}

// A body that does not match its layout is read with a full parse, so an
// edit by hand that keeps the first and last lines cannot hide an entry.
func TestHandEditedBodyIsParsedInFull(t *testing.T) {
	a := `"a":{"serverURL":"a","username":"ua","secret":"sa"}`
	b := `"b":{"serverURL":"b","username":"ub","secret":"sb"}`
	head := func(lines, n int) string {
		return canonicalPrefix + strconv.Itoa(lines) + canonicalMid + strconv.Itoa(n) + canonicalOpen
	}
	for name, body := range map[string]string{
		"two entries on one line": a + ", " + b + "\n",
		"space before the colon":  `"a" : {"serverURL":"a","username":"ua","secret":"sa"}` + ",\n" + b + "\n",
		"escaped key":             `"\u0061":{"serverURL":"a","username":"ua","secret":"sa"}` + ",\n" + b + "\n",
		"fields reordered":        `"a":{"username":"ua","serverURL":"a","secret":"sa"}` + ",\n" + b + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			// The layout of the canonical original, kept by the editor.
			plain := []byte(head(2, len(a)+len(b)+3) + body + string(canonicalTail))
			if isCanonical(plain) && len(body) != len(a)+len(b)+3 {
				t.Fatalf("a body of %d bytes passed as canonical", len(body))
			}
			for k, want := range map[string]entry{"a": {"a", "ua", "sa"}, "b": {"b", "ub", "sb"}} {
				got, ok, err := lookupEntry(plain, k)
				if err != nil || !ok || got != want {
					t.Errorf("lookupEntry(%q) = %+v, %v, %v; want %+v", k, got, ok, err, want)
				}
			}
			m, err := listEntries(plain)
			if err != nil || !maps.Equal(m, map[string]string{"a": "ua", "b": "ub"}) {
				t.Errorf("listEntries = %v, %v", m, err)
			}
		})
	}
}

func TestContentErrors(t *testing.T) {
	for name, plain := range map[string]string{
		"not JSON":         "hello",
		"other version":    `{"version":2,"entries":{}}`,
		"no version":       `{"entries":{}}`,
		"broken canonical": canonicalPrefix + "1" + canonicalMid + "17" + canonicalOpen + `"a":{"serverURL":` + "\n" + string(canonicalTail),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := listEntries([]byte(plain)); err == nil {
				t.Errorf("listEntries accepted %q", plain)
			}
			if _, err := parseDocument([]byte(plain)); err == nil {
				t.Errorf("parseDocument accepted %q", plain)
			}
		})
	}
}

func FuzzCodec(f *testing.F) {
	f.Add("docker.io", "https://index.docker.io/v1/", "<token>", "secret", "")
	f.Add("host:5000/ns", "host:5000/ns", "u\n", "\x00\"\\", `{"version":1,"entries":{`+"\n"+`"x":{}`+"\n}}\n")
	f.Fuzz(func(t *testing.T, key, serverURL, user, secret, raw string) {
		// Arbitrary plaintext never panics.
		_, _, _ = lookupEntry([]byte(raw), key)
		_, _ = listEntries([]byte(raw))
		if strings.ContainsAny(key, `"\`) || !utf8.ValidString(key) {
			return // ParseServerURL never produces such a key
		}
		doc := &document{Version: SchemaVersion, Entries: map[string]entry{
			key:          {ServerURL: serverURL, Username: user, Secret: secret},
			key + "/sub": {ServerURL: serverURL + "/sub", Username: user, Secret: secret + "2"},
		}}
		plain, err := encodeDocument(doc)
		if err != nil {
			return // invalid UTF-8 is replaced, not an error; nothing else fails
		}
		full, err := parseDocument(plain)
		if err != nil {
			t.Fatalf("canonical encoding does not parse: %v", err)
		}
		for k, want := range full.Entries {
			got, ok, err := lookupEntry(plain, k)
			if err != nil || !ok || got != want {
				t.Fatalf("lookupEntry(%q) = %+v, %v, %v; full parse has %+v", k, got, ok, err, want)
			}
		}
		m, err := listEntries(plain)
		if err != nil {
			t.Fatalf("listEntries: %v", err)
		}
		want := map[string]string{}
		for _, e := range full.Entries {
			want[e.ServerURL] = e.Username
		}
		if !maps.Equal(m, want) {
			t.Fatalf("listEntries = %v, full parse gives %v", m, want)
		}
	})
}
