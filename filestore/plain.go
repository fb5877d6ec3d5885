package filestore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Reading the plaintext without holding it.
//
// The store's plaintext is read through age.DecryptReaderAt, which parses
// the header, unwraps the file key and authenticates the final STREAM chunk
// before it returns, so a file truncated or extended anywhere is refused up
// front, whatever part of it a command goes on to read. Every other chunk is
// authenticated as it is read: no byte of an unauthenticated chunk ever
// reaches the code below. A get reads the index in the final chunk
// (index.go), then the chunk that holds its key, and the next when the key's
// line crosses into it; without an index, the header chunk and a binary
// search over the sorted entry lines (a handful of 64 KiB chunks). A list
// scans the lines in order; a write streams them into the new file. Nothing
// holds more than two chunks plus one line.

// chunkSize is the plaintext size of one age STREAM chunk: reads are aligned
// to it so that each decrypts one chunk once.
const chunkSize = 64 << 10

// errNotCanonical means the plaintext is not (or not entirely) in the
// layout the store writes: the caller falls back to a full parse.
var errNotCanonical = errors.New("not in the canonical layout")

// smallWindow is what a lookup copies out of a chunk at a time: age
// decrypts the whole chunk (and keeps the last one), but a get reads a few
// lines of it, and every page a process touches for the first time is a
// page fault, which costs more than the copy (BENCHMARKS.md).
const smallWindow = 8 << 10

// plainText reads a plaintext of known size at offsets, one aligned window
// at a time: a whole chunk, or a smaller window while win says so.
type plainText struct {
	r    io.ReaderAt
	size int64
	win  int64  // the window, when smaller than a chunk (see small)
	buf  []byte // the window at off, or nothing
	off  int64
	// prev is the window at prevOff, read before buf, or nothing.
	prev    []byte
	prevOff int64
	long    []byte // a line that spans chunks
	// probes are the lines that binary searches compared against, by
	// midpoint: a later search of this plaintext for a nearby key (the
	// prefixes of one image name) takes the same steps, and decrypts only
	// the chunk it ends in.
	probes map[int64]probe
	// layout is what readLayout found, once it has.
	layout *layout
}

// probe is the first line at or after a midpoint (start == end: none).
type probe struct {
	start, next int64
	f           lineFields
	line        []byte
}

// maxProbes bounds the probes kept: a search of the largest store takes
// about a dozen steps.
const maxProbes = 64

// probeAt returns the first line at or after mid, from the probes when an
// earlier search compared against it.
func (p *plainText) probeAt(l layout, mid int64) (probe, error) {
	if pr, ok := p.probes[mid]; ok {
		return pr, nil
	}
	s, err := p.lineStartFrom(mid, l.end)
	if err != nil {
		return probe{}, err
	}
	pr := probe{start: s}
	if s < l.end {
		line, next, err := p.lineAt(s, l.end)
		if err != nil {
			return probe{}, err
		}
		f, ok := scanLine(line)
		if !ok {
			return probe{}, errNotCanonical
		}
		pr.next, pr.f, pr.line = next, f, bytes.Clone(line)
	}
	if p.probes == nil {
		p.probes = make(map[int64]probe)
	}
	if len(p.probes) < maxProbes {
		p.probes[mid] = pr
	}
	return pr, nil
}

func newPlainText(r io.ReaderAt, size int64) *plainText {
	return &plainText{r: r, size: size, off: -1, prevOff: -1}
}

// small has the reads until done copy small windows: what a lookup does.
func (p *plainText) small() (done func()) {
	prev := p.win
	p.win = smallWindow
	return func() { p.win = prev }
}

// at returns the plaintext from off to the end of the window that holds it
// (never past the end of off's chunk), valid until the next call.
func (p *plainText) at(off int64) ([]byte, error) {
	if off < 0 || off >= p.size {
		return nil, io.ErrUnexpectedEOF
	}
	in := func(b []byte, at int64) bool { return at >= 0 && off >= at && off < at+int64(len(b)) }
	if !in(p.buf, p.off) && in(p.prev, p.prevOff) {
		p.buf, p.prev, p.off, p.prevOff = p.prev, p.buf, p.prevOff, p.off
	}
	if !in(p.buf, p.off) {
		// The window read last stays as the previous one: a search's
		// final scan often crosses from one chunk into the next, and the
		// next search of the same command (another prefix of one image)
		// makes the same crossing.
		p.buf, p.prev, p.off, p.prevOff = p.prev, p.buf, p.prevOff, p.off
		w := int64(chunkSize)
		if p.win > 0 {
			w = p.win // a divisor of chunkSize: a window is inside one chunk
		}
		start := off - off%w
		n := min(w, p.size-start)
		if int64(cap(p.buf)) < n {
			p.buf = make([]byte, n)
		}
		p.off = -1
		// A ReaderAt may return io.EOF with a full read at the end.
		if m, err := p.r.ReadAt(p.buf[:n], start); err != nil && (err != io.EOF || int64(m) != n) {
			return nil, &payloadError{err}
		}
		p.buf = p.buf[:n]
		p.off = start
	}
	return p.buf[off-p.off:], nil
}

// payloadError is a failure to read or authenticate a chunk of the payload.
type payloadError struct{ err error }

func (e *payloadError) Error() string { return e.err.Error() }
func (e *payloadError) Unwrap() error { return e.err }

// lineAt returns the line that starts at off, without its newline, and the
// offset after the newline. A line must end before end. The line is valid
// until the next call.
func (p *plainText) lineAt(off, end int64) (line []byte, next int64, err error) {
	b, err := p.at(off)
	if err != nil {
		return nil, 0, err
	}
	b = b[:min(int64(len(b)), end-off)]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], off + int64(i) + 1, nil
	}
	// The line goes on in the next chunks.
	p.long = append(p.long[:0], b...)
	for pos := off + int64(len(b)); ; {
		if pos >= end {
			return nil, 0, errNotCanonical // no newline before the end
		}
		b, err := p.at(pos)
		if err != nil {
			return nil, 0, err
		}
		b = b[:min(int64(len(b)), end-pos)]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			p.long = append(p.long, b[:i]...)
			return p.long, pos + int64(i) + 1, nil
		}
		p.long = append(p.long, b...)
		pos += int64(len(b))
	}
}

// lineStartFrom returns the first line start at or after off (end if none
// starts before end); off must be after the first line start.
func (p *plainText) lineStartFrom(off, end int64) (int64, error) {
	for pos := off - 1; pos < end; {
		b, err := p.at(pos)
		if err != nil {
			return 0, err
		}
		b = b[:min(int64(len(b)), end-pos)]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return pos + int64(i) + 1, nil
		}
		pos += int64(len(b))
	}
	return end, nil
}

// layout is where the entry lines of a canonical plaintext are.
type layout struct {
	lines      int   // as the header says; checked by whoever reads them all
	start, end int64 // the entry lines, each ending in a newline
	// indexed says the layout came from the index line (index.go), which
	// lists the first line of each chunk after the first.
	indexed bool
	index   []indexEntry
}

// readLayout checks what can be checked of the canonical layout without
// reading the entries: the header, the body length it gives against the
// plaintext's real length, and the closing line. It returns
// errNotCanonical for a plaintext in any other layout.
func (p *plainText) readLayout() (layout, error) {
	if p.layout != nil {
		return *p.layout, nil
	}
	l, err := p.checkLayout()
	if err == nil {
		p.layout = &l
	}
	return l, err
}

func (p *plainText) checkLayout() (layout, error) {
	if p.size == 0 {
		return layout{}, errNotCanonical
	}
	if l, ok, err := p.indexLayout(); err != nil || ok {
		return l, err
	}
	b, err := p.at(0)
	if err != nil {
		return layout{}, err
	}
	lines, n, hlen, ok := parseHeader(b)
	if !ok || int64(hlen)+int64(n)+int64(len(canonicalTail)) != p.size {
		return layout{}, errNotCanonical
	}
	l := layout{lines: lines, start: int64(hlen), end: int64(hlen) + int64(n)}
	tailAt := l.end
	if n > 0 {
		tailAt-- // the body ends in a newline
	}
	want := canonicalTail
	if n > 0 {
		want = append([]byte{'\n'}, canonicalTail...)
	}
	for i := range want {
		b, err := p.at(tailAt + int64(i))
		if err != nil {
			return layout{}, err
		}
		if b[0] != want[i] {
			return layout{}, errNotCanonical
		}
	}
	return l, nil
}

// readAll returns the whole plaintext, for a full parse.
func (p *plainText) readAll() ([]byte, error) {
	if p.size > maxStoreFile {
		return nil, fmt.Errorf("larger than %d MiB", maxStoreFile>>20)
	}
	prev := p.win
	p.win = 0 // whole chunks: it reads them all
	defer func() { p.win = prev }()
	buf := make([]byte, p.size)
	for off := int64(0); off < p.size; {
		b, err := p.at(off)
		if err != nil {
			return nil, err
		}
		off += int64(copy(buf[off:], b))
	}
	p.buf, p.off, p.prev, p.prevOff = nil, -1, nil, -1
	return buf, nil
}

// found is where a key is, or would be, among the entry lines.
type found struct {
	ok   bool
	e    entry // when ok
	at   int64 // the key's line, or the first line with a greater key, or the end
	next int64 // after the key's line when ok, else at
}

// search finds key among the entry lines, which the store keeps sorted: the
// index (or without one a binary search over byte offsets) narrows the range
// to one chunk, then the lines are read in order. Every line it reads must be one well-formed entry,
// and those it reads in order must have increasing keys; otherwise it
// returns errNotCanonical.
func (p *plainText) search(l layout, key string) (found, error) {
	defer p.small()()
	kb := []byte(key)
	lo, hi := l.start, l.end
	// With the index, the lines from the last listed key not above key's
	// to the next listed one; the first of them must be the listed line.
	stop, listed := l.end, []byte(nil)
	if l.indexed {
		i, _ := slices.BinarySearchFunc(l.index, kb, func(e indexEntry, k []byte) int { return bytes.Compare(e.key, k) })
		if i < len(l.index) && bytes.Equal(l.index[i].key, kb) {
			i++ // the key's own line is listed
		}
		if i > 0 {
			lo, listed = l.index[i-1].off, l.index[i-1].key
		}
		if i < len(l.index) {
			stop = l.index[i].off
		}
	}
	for !l.indexed && hi-lo > chunkSize {
		mid := lo + (hi-lo)/2
		pr, err := p.probeAt(l, mid)
		if err != nil {
			return found{}, err
		}
		if pr.start >= hi {
			hi = mid
			continue
		}
		switch c := pr.f.compareKey(pr.line, kb); {
		case c < 0:
			lo = pr.next
		case c == 0:
			return found{ok: true, e: pr.f.entry(pr.line), at: pr.start, next: pr.next}, nil
		default:
			hi = mid
		}
	}
	var order keyOrder
	for off := lo; off < l.end; {
		if off == stop {
			// The next listed line: its key is greater.
			return found{at: off, next: off}, nil
		}
		line, next, err := p.lineAt(off, l.end)
		if err != nil {
			return found{}, err
		}
		f, ok := scanLine(line)
		if !ok || f.comma != (next < l.end) || !order.next(f.keyBytes(line)) || next > stop {
			return found{}, errNotCanonical
		}
		if listed != nil {
			if !bytes.Equal(f.keyBytes(line), listed) {
				return found{}, errNotCanonical // the index is not this body's
			}
			listed = nil
		}
		switch c := f.compareKey(line, kb); {
		case c == 0:
			return found{ok: true, e: f.entry(line), at: off, next: next}, nil
		case c > 0:
			return found{at: off, next: off}, nil
		}
		off = next
	}
	return found{at: l.end, next: l.end}, nil
}

// eachLine reads the entry lines from off to end in order, checking each:
// one well-formed entry, a comma after every line but the body's last,
// keys strictly increasing (order carries on from earlier calls). It
// returns the number of lines.
func (p *plainText) eachLine(l layout, off, end int64, order *keyOrder, fn func(line []byte, f lineFields) error) (int, error) {
	n := 0
	for off < end {
		line, next, err := p.lineAt(off, l.end)
		if err != nil {
			return n, err
		}
		f, ok := scanLine(line)
		if !ok || f.comma != (next < l.end) || next > end || !order.next(f.keyBytes(line)) || !order.listed(l, off, f.keyBytes(line)) {
			return n, errNotCanonical
		}
		if err := fn(line, f); err != nil {
			return n, err
		}
		n++
		off = next
	}
	return n, nil
}
