package filestore

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// bigDoc has n entries of about 800 bytes, as docker stores a token.
func bigDoc(n int) *document {
	doc := &document{Version: SchemaVersion, Entries: map[string]entry{}}
	for i := range n {
		k := fmt.Sprintf("registry-%05d.example.com", i*2)
		doc.Entries[k] = entry{ServerURL: k, Username: fmt.Sprintf("user%05d", i), Secret: strings.Repeat("s", 700+(i*7919)%200)}
	}
	return doc
}

// chunkReader counts the distinct chunks read from a plaintext, as
// age.DecryptReaderAt decrypts them.
type chunkReader struct {
	r      io.ReaderAt
	chunks map[int64]bool
}

func (c *chunkReader) ReadAt(p []byte, off int64) (int, error) {
	for o := off - off%chunkSize; o < off+int64(len(p)); o += chunkSize {
		c.chunks[o] = true
	}
	return c.r.ReadAt(p, off)
}

func countingPlainText(plain []byte) (*plainText, *chunkReader) {
	c := &chunkReader{r: bytes.NewReader(plain), chunks: map[int64]bool{}}
	return newPlainText(c, int64(len(plain))), c
}

// withoutIndex is plain as the store wrote it before the index: the last
// line closes the document at once.
func withoutIndex(t *testing.T, plain []byte) []byte {
	t.Helper()
	i := bytes.LastIndexByte(plain[:len(plain)-1], '\n')
	if !bytes.HasPrefix(plain[i+1:], []byte(indexPrefix)) {
		t.Fatalf("no index line at the end: %.80q", plain[i+1:])
	}
	return append(bytes.Clone(plain[:i+1]), canonicalTail...)
}

// TestIndexListsEveryChunk: the index names, for every chunk after the
// first that a line starts in, the first such line, by offset and key.
func TestIndexListsEveryChunk(t *testing.T) {
	plain, err := encodeDocument(bigDoc(1000))
	if err != nil {
		t.Fatal(err)
	}
	p := newPlainText(bytes.NewReader(plain), int64(len(plain)))
	l, err := p.readLayout()
	if err != nil || !l.indexed {
		t.Fatalf("readLayout = %+v, %v; want the index's layout", l, err)
	}
	var want []indexEntry
	prevChunk := int64(0)
	for off := l.start; off < l.end; {
		line, next, err := p.lineAt(off, l.end)
		if err != nil {
			t.Fatal(err)
		}
		if c := off / chunkSize; c > prevChunk {
			f, _ := scanLine(line)
			want = append(want, indexEntry{off, bytes.Clone(f.keyBytes(line))})
			prevChunk = c
		}
		off = next
	}
	if len(want) < 10 || len(l.index) != len(want) {
		t.Fatalf("the index lists %d lines, want %d", len(l.index), len(want))
	}
	for i := range want {
		if l.index[i].off != want[i].off || !bytes.Equal(l.index[i].key, want[i].key) {
			t.Fatalf("index entry %d = %d %s, want %d %s", i, l.index[i].off, l.index[i].key, want[i].off, want[i].key)
		}
	}
}

// TestIndexedGetReadsTwoChunks: a lookup in the largest store reads the
// final chunk (which age decrypts before anything else) and one or two
// more, where the header's binary search read a dozen.
func TestIndexedGetReadsTwoChunks(t *testing.T) {
	doc := bigDoc(10000)
	plain, err := encodeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	old := withoutIndex(t, plain)
	worstIndexed, worstOld := 0, 0
	for i := 0; i < 20000; i += 997 {
		k := fmt.Sprintf("registry-%05d.example.com", i)
		for _, v := range []struct {
			plain []byte
			worst *int
		}{{plain, &worstIndexed}, {old, &worstOld}} {
			p, c := countingPlainText(v.plain)
			e, ok, err := lookup(p, k)
			if err != nil || ok != (i%2 == 0) || (ok && e != doc.Entries[k]) {
				t.Fatalf("lookup(%s) = %v, %v", k, ok, err)
			}
			*v.worst = max(*v.worst, len(c.chunks))
			// What the lookup copied out of the chunks it read: two
			// small windows, whatever the chunks' size (every page a
			// process touches first is a fault).
			if cap(p.buf) > smallWindow || cap(p.prev) > smallWindow {
				t.Fatalf("lookup(%s) kept windows of %d and %d bytes, want at most %d", k, cap(p.buf), cap(p.prev), smallWindow)
			}
		}
	}
	if worstIndexed > 3 {
		t.Errorf("an indexed lookup read %d chunks, want at most 3 (the final chunk, the key's and the next)", worstIndexed)
	}
	if worstOld <= worstIndexed {
		t.Errorf("without the index a lookup read at most %d chunks, with it %d: the index saves nothing", worstOld, worstIndexed)
	}
	t.Logf("chunks read at 10,000 entries: %d with the index, %d without", worstIndexed, worstOld)
}

// TestUnindexedLayoutStillCanonical: a store written before the index is
// read line by line through its header, and the next write indexes it.
func TestUnindexedLayoutStillCanonical(t *testing.T) {
	doc := bigDoc(300)
	plain, err := encodeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	old := withoutIndex(t, plain)
	if !isCanonical(old) {
		t.Fatal("a plaintext without the index is not canonical")
	}
	for k, want := range doc.Entries {
		if got, ok, err := lookupEntry(old, k); err != nil || !ok || got != want {
			t.Fatalf("lookupEntry(%s) = %v, %v", k, ok, err)
		}
	}
	if m, err := listEntries(old); err != nil || len(m) != len(doc.Entries) {
		t.Fatalf("listEntries = %d, %v", len(m), err)
	}

	x := newX25519(t)
	dir := t.TempDir()
	writeFile(t, dir+"/"+StoreFileName, encryptTo(t, x.Recipient(), old), 0o600)
	s := newStore(t, Options{Dir: dir, Identity: x.String()})
	mustPut(t, s, "new.example.com", "u", "p")
	doc.Entries["new.example.com"] = entry{ServerURL: "new.example.com", Username: "u", Secret: "p"}
	want, _ := encodeDocument(doc)
	if got := ageDecrypt(t, s.Path(), x); !bytes.Equal(got, want) {
		t.Error("a write to an unindexed store did not write the indexed layout")
	}
}

// TestIndexNotTheBody: an index that does not describe its lines (a hand
// edit that kept the lengths) never makes a get miss an entry or a list
// skip one: the lines a get reads must be the ones listed, and a list and
// a write check them all; anything else is parsed in full.
func TestIndexNotTheBody(t *testing.T) {
	doc := bigDoc(300)
	plain, err := encodeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndexByte(plain[:len(plain)-1], '\n') + 1
	idx := string(plain[i:])
	first := strings.Index(idx, `,"registry-`) + 2
	for name, edited := range map[string]string{
		// A listed key renamed to another that sorts the same way.
		"key": idx[:first] + "registry-00001" + idx[first+len("registry-00000"):],
		// A listed offset moved by one.
		"offset": strings.Replace(idx, `"at":[6`, `"at":[7`, 1),
		// The layout's line count.
		"lines": strings.Replace(idx, `{"lines":300,`, `{"lines":299,`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if edited == idx || len(edited) != len(idx) {
				t.Fatalf("the edit did not apply: %.120s", edited)
			}
			bad := append(bytes.Clone(plain[:i]), edited...)
			for k, want := range doc.Entries {
				if got, ok, err := lookupEntry(bad, k); err != nil || !ok || got != want {
					t.Fatalf("lookupEntry(%s) = %v, %v", k, ok, err)
				}
			}
			if m, err := listEntries(bad); err != nil || len(m) != len(doc.Entries) {
				t.Fatalf("listEntries = %d entries, %v", len(m), err)
			}
		})
	}
}

// FuzzIndex: the index line parses or is refused, never panics, and what
// it accepts keeps the promises a search relies on: offsets increasing
// inside the body, keys increasing.
func FuzzIndex(f *testing.F) {
	plain, _ := encodeDocument(bigDoc(200))
	i := bytes.LastIndexByte(plain[:len(plain)-1], '\n') + 1
	f.Add(plain[i : len(plain)-1])
	f.Add([]byte(indexPrefix + `0,"start":1,"bytes":0,"at":[]}}`))
	f.Add([]byte(indexPrefix + `1,"start":1,"bytes":9,"at":[5,"a\u0041"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, ok := parseIndex(b)
		if !ok {
			return
		}
		prev := l.start
		for i, e := range l.index {
			if e.off <= prev || e.off >= l.end {
				t.Fatalf("%q: entry %d at %d, outside (%d, %d)", b, i, e.off, prev, l.end)
			}
			if i > 0 && bytes.Compare(l.index[i-1].key, e.key) >= 0 {
				t.Fatalf("%q: keys not increasing at entry %d", b, i)
			}
			prev = e.off
		}
	})
}
