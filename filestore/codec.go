package filestore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The plaintext inside the age file is JSON in a canonical layout that the
// store writes and can search without parsing every entry:
//
//	{"version":1,"layout":{"lines":2,"bytes":180},"entries":{
//	"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"…","secret":"…"},
//	"registry.example.com":{"serverURL":"registry.example.com","username":"…","secret":"…"}
//	},"index":{"lines":2,"start":43,"bytes":180,"at":[]}}
//
// One entry per line, sorted by key; "layout" gives the number of entry lines
// and their length in bytes. A JSON string cannot hold a raw newline, so in
// such a body a line that starts with a quoted key is always one entry. The
// last line is the chunk index (index.go), which a get reads first; one
// that ends in "}}" instead (written before the index) is read through the
// header.
//
// A plaintext whose index (or header, length from the age file's size and
// closing line) match that layout is read line by line (plain.go) without
// reading the rest: a get reads the lines of one chunk, found through the
// index (a binary search over the lines without it), a list and a write read
// them all. Every line read must be exactly as the store writes it
// (scanLine), and the lines read in order must have increasing keys; the
// first line a get reads must be the one the index lists; a list and a
// write also check the line count, every line the index lists and the
// header. Anything else (a file edited by hand, then re-encrypted with age)
// is read with a full parse and rewritten canonically on the next write. A
// hand edit that keeps the index, the header and the exact length but
// breaks lines that a get does not read can mislead that get; the next list
// or write finds it.

const (
	canonicalPrefix = `{"version":1,"layout":{"lines":`
	canonicalMid    = `,"bytes":`
	canonicalOpen   = `},"entries":{` + "\n"
)

// canonicalTail closes a plaintext written before the chunk index
// (index.go), whose last line now closes the document instead.
var canonicalTail = []byte("}}\n")

// encodeDocument returns doc in the canonical layout.
func encodeDocument(doc *document) ([]byte, error) {
	keys := make([]string, 0, len(doc.Entries))
	for k := range doc.Entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	lines := make([][]byte, len(keys))
	n := 0
	for i, k := range keys {
		line, err := encodeLine(k, doc.Entries[k])
		if err != nil {
			return nil, err
		}
		lines[i] = line
		n += len(line) + 1 // and its newline
		if i < len(keys)-1 {
			n++ // its comma
		}
	}
	var buf bytes.Buffer
	buf.Grow(n + 128)
	fmt.Fprintf(&buf, "%s%d%s%d%s", canonicalPrefix, len(keys), canonicalMid, n, canonicalOpen)
	bw := &bodyWriter{w: &buf, start: int64(buf.Len())}
	for _, line := range lines {
		bw.line(line) // a bytes.Buffer does not fail
	}
	bw.end()
	buf.Write(bw.index.trailer(len(keys), bw.start, int64(n)))
	return buf.Bytes(), nil
}

// encodeLine returns the line of one entry, without its comma and newline.
func encodeLine(key string, e entry) ([]byte, error) {
	kb, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	eb, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return append(append(kb, ':'), eb...), nil
}

// parseHeader reads the canonical header line at the start of b: the
// number of entry lines, their length in bytes, and the header's own length.
func parseHeader(b []byte) (lines, n, hlen int, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(canonicalPrefix))
	if !ok {
		return 0, 0, 0, false
	}
	if lines, rest, ok = cutNumber(rest); !ok {
		return 0, 0, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(canonicalMid)); !ok {
		return 0, 0, 0, false
	}
	if n, rest, ok = cutNumber(rest); !ok {
		return 0, 0, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(canonicalOpen)); !ok {
		return 0, 0, 0, false
	}
	return lines, n, len(b) - len(rest), true
}

// cutNumber reads a non-negative decimal number of at most 12 digits, as
// JSON writes it (no leading zero).
func cutNumber(b []byte) (int, []byte, bool) {
	n, i := 0, 0
	for ; i < len(b) && i < 12 && '0' <= b[i] && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if i > 1 && b[0] == '0' {
		return 0, b, false
	}
	return n, b[i:], i > 0
}

// document reads and parses the whole plaintext, in any layout: the
// fallback of lookup, hasPrefix and list.
func (p *plainText) document() (*document, error) {
	plain, err := p.readAll()
	if err != nil {
		return nil, err
	}
	return parseDocument(plain)
}

// parseDocument parses the whole plaintext, in any layout.
func parseDocument(plain []byte) (*document, error) {
	var doc document
	if err := json.Unmarshal(plain, &doc); err != nil {
		return nil, fmt.Errorf("invalid JSON inside the encrypted file: %v", err)
	}
	if doc.Version != SchemaVersion {
		return nil, errSchema(doc.Version)
	}
	if doc.Entries == nil {
		doc.Entries = map[string]entry{}
	}
	return &doc, nil
}

type errSchema int

func (e errSchema) Error() string {
	return fmt.Sprintf("schema version %d is not supported (want %d)", int(e), SchemaVersion)
}

// lookup finds one entry, reading a few lines of a canonical plaintext and
// all of any other. Errors reading the plaintext are *payloadError.
func lookup(p *plainText, key string) (entry, bool, error) {
	defer p.small()()
	l, err := p.readLayout()
	if err == nil {
		var f found
		if f, err = p.search(l, key); err == nil {
			return f.e, f.ok, nil
		}
	}
	if err != errNotCanonical {
		return entry{}, false, err
	}
	doc, err := p.document()
	if err != nil {
		return entry{}, false, err
	}
	e, ok := doc.Entries[key]
	return e, ok, nil
}

// hasPrefix reports whether a key that skip does not reject starts with
// prefix. In a canonical plaintext the keys under a prefix are adjacent:
// the lines from the first at or after prefix in key order say; any other
// plaintext is parsed in full.
func hasPrefix(p *plainText, prefix string, skip func(key string) bool) (bool, error) {
	defer p.small()()
	l, err := p.readLayout()
	if err == nil {
		var f found
		if f, err = p.search(l, prefix); err == nil {
			for off := f.at; off < l.end; {
				line, next, err := p.lineAt(off, l.end)
				if err != nil {
					return false, err
				}
				lf, ok := scanLine(line)
				if !ok {
					return false, errNotCanonical
				}
				k := lf.keyBytes(line)
				if !bytes.HasPrefix(k, []byte(prefix)) {
					return false, nil
				}
				if skip == nil || !skip(string(k)) {
					return true, nil
				}
				off = next
			}
			return false, nil
		}
	}
	if err != errNotCanonical {
		return false, err
	}
	doc, err := p.document()
	if err != nil {
		return false, err
	}
	for k := range doc.Entries {
		if strings.HasPrefix(k, prefix) && (skip == nil || !skip(k)) {
			return true, nil
		}
	}
	return false, nil
}

// list returns server URL -> username. A canonical plaintext is scanned
// line by line, taking from each line the two fields it needs as they
// stand; any other is parsed in full.
func list(p *plainText) (map[string]string, error) {
	l, err := p.readLayout()
	if err == nil {
		// The header's count sizes the map, within what the body can hold.
		m := make(map[string]string, min(l.lines, int((l.end-l.start)/32)+1))
		if err = p.eachOfAll(l, func(line []byte, f lineFields) error {
			m[f.serverURL.str(line)] = f.username.str(line)
			return nil
		}); err == nil {
			return m, nil
		}
	}
	if err != errNotCanonical {
		return nil, err
	}
	doc, err := p.document()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(doc.Entries))
	for _, e := range doc.Entries {
		m[e.ServerURL] = e.Username
	}
	return m, nil
}

// An entry line as the store writes it:
//
//	"key":{"serverURL":"…","username":"…","secret":"…"},
//
// with the comma on every line but the last. scanLine accepts exactly that
// (any valid JSON strings, no white space, the fields in this order); a
// line it accepts is one that encoding/json parses into the same entry.

// span is a JSON string inside a line: its quotes are at open and close.
type span struct {
	open, close int
	plain       bool // no escape and valid UTF-8: the bytes are the value
}

func (s span) raw(line []byte) []byte { return line[s.open+1 : s.close] }

// str decodes the string as encoding/json does.
func (s span) str(line []byte) string {
	if s.plain {
		return string(s.raw(line))
	}
	var v string
	if err := json.Unmarshal(line[s.open:s.close+1], &v); err != nil {
		return "" // not reached: scanString accepted it
	}
	return v
}

type lineFields struct {
	key, serverURL, username, secret span
	comma                            bool
}

func (f lineFields) entry(line []byte) entry {
	return entry{ServerURL: f.serverURL.str(line), Username: f.username.str(line), Secret: f.secret.str(line)}
}

// keyBytes returns the decoded key, without a copy when it needs no
// decoding.
func (f lineFields) keyBytes(line []byte) []byte {
	if f.key.plain {
		return f.key.raw(line)
	}
	return []byte(f.key.str(line))
}

func (f lineFields) compareKey(line, key []byte) int {
	return bytes.Compare(f.keyBytes(line), key)
}

// keyOrder checks that keys come in strictly increasing order, and (see
// listed) that an index lists the lines it should.
type keyOrder struct {
	prev []byte
	have bool

	seen     bool
	prevOff  int64
	listedAt int
}

func (o *keyOrder) next(k []byte) bool {
	if o.have && bytes.Compare(o.prev, k) >= 0 {
		return false
	}
	o.prev, o.have = append(o.prev[:0], k...), true
	return true
}

func scanLine(line []byte) (f lineFields, ok bool) {
	i := 0
	if f.key, i, ok = scanString(line, i); !ok {
		return f, false
	}
	if i, ok = cutLiteral(line, i, `:{"serverURL":`); !ok {
		return f, false
	}
	if f.serverURL, i, ok = scanString(line, i); !ok {
		return f, false
	}
	if i, ok = cutLiteral(line, i, `,"username":`); !ok {
		return f, false
	}
	if f.username, i, ok = scanString(line, i); !ok {
		return f, false
	}
	if i, ok = cutLiteral(line, i, `,"secret":`); !ok {
		return f, false
	}
	if f.secret, i, ok = scanString(line, i); !ok {
		return f, false
	}
	if i, ok = cutLiteral(line, i, "}"); !ok {
		return f, false
	}
	if i < len(line) && line[i] == ',' {
		f.comma = true
		i++
	}
	return f, i == len(line)
}

func cutLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// stringStop marks the bytes that end a run of plain characters inside a
// JSON string: the quote, the backslash and the control characters.
var stringStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString reads the JSON string that starts at b[i], returning it and the
// index after its closing quote.
func scanString(b []byte, i int) (span, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return span{}, i, false
	}
	s := span{open: i, plain: true}
	j := i + 1
	for {
		for j < len(b) && !stringStop[b[j]] {
			j++
		}
		if j >= len(b) || b[j] < 0x20 {
			return span{}, i, false
		}
		if b[j] == '"' {
			break
		}
		// A backslash.
		s.plain = false
		if j+1 >= len(b) {
			return span{}, i, false
		}
		switch b[j+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j += 2
		case 'u':
			if j+6 > len(b) || !isHex4(b[j+2:j+6]) {
				return span{}, i, false
			}
			j += 6
		default:
			return span{}, i, false
		}
	}
	s.close = j
	if s.plain && !utf8.Valid(b[i+1:j]) {
		s.plain = false // encoding/json replaces invalid UTF-8
	}
	return s, j + 1, true
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
