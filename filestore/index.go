package filestore

import (
	"bytes"
	"strconv"
)

// The chunk index: the canonical plaintext's last line.
//
// A get must decrypt the final STREAM chunk anyway (age authenticates it
// before anything is read, which refuses a truncated file). The store's
// last line, which closes the JSON document, lies in that chunk, so it
// carries what a get needs to go straight to the one chunk that holds its
// key: the layout the header gives, and for every chunk the first line
// that starts in it, as its offset and its key:
//
//	},"index":{"lines":2,"start":43,"bytes":180,"at":[65551,"quay.io"]}}
//
// "at" lists offset, key, offset, key…: offsets increasing, keys as the
// entry lines write them, increasing. A get reads the last chunk (already
// decrypted), then the chunk of the last listed key not above its own, and
// at most the next one when that line crosses into it: two chunk decrypts
// at any store size, where a binary search over the lines took about
// log2(chunks) of them. The document stays JSON (`age -d … | jq` reads it;
// the store's full parse ignores "index"); a plaintext that ends in "}}"
// (written before the index, or by hand) is read through its header as
// before, and one whose index does not match its lines falls back to a full
// parse, like any plaintext not in the canonical layout.

const (
	indexPrefix = `},"index":{"lines":`
	indexStart  = `,"start":`
	indexBytes  = `,"bytes":`
	indexAt     = `,"at":[`
	indexEnd    = `]}}`
)

// maxIndexLine bounds how far back from the end a reader looks for the
// index line: the largest store's is a few hundred KiB.
const maxIndexLine = 4 << 20

// indexEntry is the first line that starts in one chunk.
type indexEntry struct {
	off int64
	key []byte // decoded
}

// indexBuilder collects the index while the entry lines are written in
// order, from the offset of each line's start in the plaintext.
type indexBuilder struct {
	next int64 // the next chunk boundary
	at   []byte
}

// add notes the entry line that starts at off (without its comma), if it
// is the first line that starts in its chunk.
func (b *indexBuilder) add(off int64, line []byte) {
	if b.next == 0 {
		b.next = chunkSize // the first chunk's lines come after the header
	}
	if off < b.next {
		return
	}
	key, _, ok := scanString(line, 0)
	if !ok {
		return // not reached: the store writes only lines it can scan
	}
	if len(b.at) > 0 {
		b.at = append(b.at, ',')
	}
	b.at = strconv.AppendInt(b.at, off, 10)
	b.at = append(b.at, ',')
	b.at = append(b.at, line[key.open:key.close+1]...)
	b.next = off - off%chunkSize + chunkSize
}

// trailer returns the index line, its newline included, for a body of n
// bytes and lines lines that starts at start.
func (b *indexBuilder) trailer(lines int, start, n int64) []byte {
	t := make([]byte, 0, len(indexPrefix)+len(b.at)+64)
	t = append(t, indexPrefix...)
	t = strconv.AppendInt(t, int64(lines), 10)
	t = append(t, indexStart...)
	t = strconv.AppendInt(t, start, 10)
	t = append(t, indexBytes...)
	t = strconv.AppendInt(t, n, 10)
	t = append(t, indexAt...)
	t = append(t, b.at...)
	t = append(t, indexEnd...)
	return append(t, '\n')
}

// parseIndex reads an index line (without its newline): the layout it
// gives and its entries. It checks the offsets and keys are increasing
// and inside the body; whether they are the lines' is found as they are
// read.
func parseIndex(b []byte) (l layout, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(indexPrefix))
	if !ok {
		return l, false
	}
	var start, n int
	if l.lines, rest, ok = cutNumber(rest); !ok {
		return l, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(indexStart)); !ok {
		return l, false
	}
	if start, rest, ok = cutNumber(rest); !ok {
		return l, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(indexBytes)); !ok {
		return l, false
	}
	if n, rest, ok = cutNumber(rest); !ok {
		return l, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(indexAt)); !ok {
		return l, false
	}
	l.start, l.end = int64(start), int64(start)+int64(n)
	prev := l.start
	for i := 0; len(rest) > 0 && rest[0] != ']'; i++ {
		if i > 0 {
			if rest, ok = bytes.CutPrefix(rest, []byte(",")); !ok {
				return l, false
			}
		}
		var off int
		if off, rest, ok = cutNumber(rest); !ok || int64(off) <= prev || int64(off) >= l.end {
			return l, false
		}
		if rest, ok = bytes.CutPrefix(rest, []byte(",")); !ok {
			return l, false
		}
		key, j, ok := scanString(rest, 0)
		if !ok {
			return l, false
		}
		e := indexEntry{off: int64(off), key: []byte(key.str(rest))}
		if len(l.index) > 0 && bytes.Compare(l.index[len(l.index)-1].key, e.key) >= 0 {
			return l, false
		}
		l.index = append(l.index, e)
		prev, rest = e.off, rest[j:]
	}
	if !bytes.Equal(rest, []byte(indexEnd)) || l.start <= 0 {
		return layout{}, false
	}
	return l, true
}

// indexLayout reads the layout from the index line, when the plaintext
// ends in one: ok is false for a plaintext that does not (its header then
// says).
func (p *plainText) indexLayout() (l layout, ok bool, err error) {
	defer p.small()()
	last, err := p.at(p.size - 1)
	if err != nil || last[0] != '\n' {
		return l, false, err
	}
	// The index line starts after the newline before the last.
	ls := int64(-1)
	for pos := p.size - 1; pos > 0 && p.size-pos <= maxIndexLine; {
		from := (pos - 1) - (pos-1)%smallWindow
		b, err := p.at(from)
		if err != nil {
			return l, false, err
		}
		if i := bytes.LastIndexByte(b[:pos-from], '\n'); i >= 0 {
			ls = from + int64(i) + 1
			break
		}
		pos = from
	}
	if ls < 0 {
		return l, false, nil
	}
	line, _, err := p.lineAt(ls, p.size)
	if err != nil {
		if err == errNotCanonical {
			err = nil
		}
		return l, false, err
	}
	if l, ok = parseIndex(line); !ok || l.end != ls {
		return layout{}, false, nil
	}
	l.indexed = true
	return l, true, nil
}

// checkHeader checks that the header agrees with the layout the index
// gave: what a list and a write, which read every line, check before they
// trust it.
func (p *plainText) checkHeader(l layout) error {
	if !l.indexed {
		return nil // the layout came from the header
	}
	b, err := p.at(0)
	if err != nil {
		return err
	}
	lines, n, hlen, ok := parseHeader(b)
	if !ok || lines != l.lines || int64(hlen) != l.start || int64(hlen)+int64(n) != l.end {
		return errNotCanonical
	}
	return nil
}

// listed checks, as the lines of an indexed layout are read in order from
// the first, that the first line of each chunk is the one the index lists
// there: the order of a list's or a write's scan carries it.
func (o *keyOrder) listed(l layout, off int64, key []byte) bool {
	if !l.indexed {
		return true
	}
	first := o.seen && off/chunkSize > o.prevOff/chunkSize
	o.prevOff, o.seen = off, true
	if !first {
		return true
	}
	if o.listedAt >= len(l.index) {
		return false
	}
	e := l.index[o.listedAt]
	o.listedAt++
	return e.off == off && bytes.Equal(e.key, key)
}

// allListed says, once every line has been read, that the index listed no
// line more.
func (o *keyOrder) allListed(l layout) bool {
	return !l.indexed || o.listedAt == len(l.index)
}
