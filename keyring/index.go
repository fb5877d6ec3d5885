package keyring

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// The items a Store keeps under its service name. Every name of an entry's
// item contains " #" right after the key, and no reserved name does, so the
// two can never collide (a key contains no white space).
const (
	// indexUser is the root of the index: the commit point of every write.
	indexUser = "(index)"
	// journalUser records the last write, so that the next writer can
	// remove what an interrupted one left behind.
	journalUser = "(journal)"
)

// Bounds on what is read back from the keychain, which another program
// could have written: they keep a damaged item from costing unbounded
// keychain calls or memory.
const (
	// maxParts bounds the items of one secret or of the index: a 1 MiB
	// secret (helper.MaxPayload) in parts of minPart bytes.
	maxParts = helper.MaxPayload / minPart
	// maxIndexSize bounds the index: thousands of entries take a few MiB.
	maxIndexSize = 32 << 20
	// minPart is the least room an item must leave for data; names are
	// bounded (maxNameKey), so only a tiny ChunkSize comes near it.
	minPart = 16
	// maxNameKey bounds the key as it appears in an item's name; longer
	// keys are shortened and made unique with a hash (see nameKey).
	maxNameKey = 128
)

// formatVersion is the version of the root's header line and of the
// journal. A root of a higher version was written by a newer
// docker-credential-notation.
const formatVersion = 1

// deflateAbove is the size above which the index document is stored
// compressed (raw DEFLATE, then base64): the index of 1,000 entries shrinks
// about eight times, which saves macOS and Windows most of its parts and
// the Secret Service most of the bytes that godbus decodes at about 0.2 µs
// a byte.
const deflateAbove = 2048

// nameKey returns key as it appears in item names: the key itself, or for a
// key longer than maxNameKey bytes its start, "…" and a hash of the whole,
// which keeps names well below every keychain's limit on them.
func nameKey(key string) string {
	if len(key) <= maxNameKey {
		return key
	}
	cut := 96
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	sum := sha256.Sum256([]byte(key))
	return key[:cut] + "…" + hex.EncodeToString(sum[:8])
}

// entryUser names part i (1-based) of n of the secret that the write of
// generation gen stored for a key: "registry.example.com #7", or
// "registry.example.com #7 part 2/3".
func entryUser(name string, gen uint64, i, n int) string {
	u := name + " #" + strconv.FormatUint(gen, 10)
	if n > 1 {
		u += " part " + strconv.Itoa(i) + "/" + strconv.Itoa(n)
	}
	return u
}

// entryUsers names the items of a secret of parts parts.
func entryUsers(name string, gen uint64, parts int) []string {
	us := make([]string, parts)
	for i := range parts {
		us[i] = entryUser(name, gen, i+1, parts)
	}
	return us
}

// parseEntryUser parses an entry item's name, entryUser(name, gen, i, n).
func parseEntryUser(user string) (name string, gen uint64, i, n int, ok bool) {
	at := strings.LastIndex(user, " #")
	if at < 0 {
		return "", 0, 0, 0, false
	}
	name, rest := user[:at], user[at+2:]
	i, n = 1, 1
	if g, part, found := strings.Cut(rest, " part "); found {
		rest = g
		si, sn, ok := strings.Cut(part, "/")
		if !ok {
			return "", 0, 0, 0, false
		}
		var err1, err2 error
		i, err1 = strconv.Atoi(si)
		n, err2 = strconv.Atoi(sn)
		if err1 != nil || err2 != nil || n < 2 || n > maxParts || i < 1 || i > n {
			return "", 0, 0, 0, false
		}
	}
	gen, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || gen < 1 {
		return "", 0, 0, 0, false
	}
	return name, gen, i, n, true
}

// indexPartUser names part i (2 or more; part 1 is the root) of n of the
// index of generation gen: "(index) part 2/3 #7".
func indexPartUser(gen uint64, i, n int) string {
	return indexUser + " part " + strconv.Itoa(i) + "/" + strconv.Itoa(n) + " #" + strconv.FormatUint(gen, 10)
}

// indexPartUsers names the parts of an index of n parts other than the root.
func indexPartUsers(gen uint64, n int) []string {
	var us []string
	for i := 2; i <= n; i++ {
		us = append(us, indexPartUser(gen, i, n))
	}
	return us
}

// index is what the index items hold: every entry's server URL, username
// and where its secret is.
type index struct {
	// Gen is the generation of the write that committed this index; 0 for
	// an empty keychain. Each write commits Gen+1.
	Gen uint64
	// Parts is how many items hold the index, the root included.
	Parts int
	// Entries maps helper.Key strings to entries.
	Entries map[string]entry
}

type entry struct {
	// ServerURL is the server URL as the client stored it.
	ServerURL string
	Username  string
	// Gen is the generation of the write that stored the secret: its items
	// are named entryUser(nameKey(key), Gen, i, Parts).
	Gen uint64
	// Parts is how many items hold the secret, at least 1.
	Parts int
}

// entryJSON is an entry as the index stores it, compactly, since List reads
// the index whole: the server URL only when it differs from the key, the
// parts only when not 1.
type entryJSON struct {
	ServerURL string `json:"serverURL,omitempty"`
	Username  string `json:"username"`
	Gen       uint64 `json:"gen"`
	Parts     *int   `json:"parts,omitempty"`
}

// rootHeader is the first line of the root item: the index's generation
// and shape, and what the write that committed it replaced, so that the
// next write can remove it if this one could not.
type rootHeader struct {
	Version int    `json:"version"`
	Gen     uint64 `json:"gen"`
	Parts   int    `json:"parts"`
	// Encoding is "deflate" when the document is compressed (raw DEFLATE,
	// then base64), else empty.
	Encoding string `json:"encoding,omitempty"`
	// Last is nameKey of the key that the write stored or erased (empty
	// for a PutMany batch), Erased whether it erased it.
	Last   string `json:"last,omitempty"`
	Erased bool   `json:"erased,omitempty"`
	// OldGen and OldParts locate the secret that the write replaced (OldGen
	// 0: none); OldIndexParts is how many items held the index it replaced.
	OldGen        uint64 `json:"oldGen,omitempty"`
	OldParts      int    `json:"oldParts,omitempty"`
	OldIndexParts int    `json:"oldIndexParts,omitempty"`
}

func (h rootHeader) line() string {
	b, _ := json.Marshal(h) // cannot fail: strings, integers and a bool
	return string(b) + "\n"
}

// replaced names the items that the root's write replaced: garbage once the
// root is committed.
func (h rootHeader) replaced() []string {
	var us []string
	if h.OldGen > 0 {
		us = entryUsers(h.Last, h.OldGen, h.OldParts)
	}
	return append(us, indexPartUsers(h.Gen-1, h.OldIndexParts)...)
}

// errDamaged describes keychain content that cannot be used.
type errDamaged struct{ msg string }

func (e *errDamaged) Error() string { return e.msg }
func (e *errDamaged) Unwrap() error { return ErrDamaged }

func damagedf(format string, args ...any) error {
	return &errDamaged{fmt.Sprintf(format, args...)}
}

// parseRootHeader splits the root item into its header and its part of the
// document.
func parseRootHeader(root string) (rootHeader, string, error) {
	line, rest, ok := strings.Cut(root, "\n")
	if !ok {
		return rootHeader{}, "", damagedf("the index item %q has no header line", indexUser)
	}
	var h rootHeader
	if err := json.Unmarshal([]byte(line), &h); err != nil {
		return rootHeader{}, "", damagedf("the index item %q has a malformed header: %v", indexUser, err)
	}
	switch {
	case h.Version > formatVersion:
		return rootHeader{}, "", &errVersion{h.Version}
	case h.Version != formatVersion:
		return rootHeader{}, "", damagedf("the index item %q has unknown version %d", indexUser, h.Version)
	case h.Gen < 1 || h.Parts < 1 || h.Parts > maxParts:
		return rootHeader{}, "", damagedf("the index item %q has an invalid header (generation %d, %d parts)", indexUser, h.Gen, h.Parts)
	case h.OldGen >= h.Gen || h.OldParts < 0 || h.OldParts > maxParts || h.OldIndexParts < 0 || h.OldIndexParts > maxParts ||
		(h.OldGen > 0 || h.Erased) && h.Last == "":
		return rootHeader{}, "", damagedf("the index item %q has an invalid header (what generation %d replaced)", indexUser, h.Gen)
	}
	return h, rest, nil
}

type errVersion struct{ v int }

func (e *errVersion) Error() string {
	return fmt.Sprintf("the keychain index has version %d, newer than this program's %d", e.v, formatVersion)
}

// encodeIndex returns the index document as the root and its parts hold
// it, and its encoding.
func encodeIndex(entries map[string]entry) (doc, encoding string, err error) {
	doc, err = encodeIndexDoc(entries)
	if err != nil || len(doc) <= deflateAbove {
		return doc, "", err
	}
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression) // cannot fail: a valid level
	if _, err := io.WriteString(w, doc); err != nil {
		return "", "", err
	}
	if err := w.Close(); err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), "deflate", nil
}

// decodeIndex parses the reassembled document of the index whose header
// is h.
func decodeIndex(h rootHeader, doc string) (*index, error) {
	switch h.Encoding {
	case "":
	case "deflate":
		z, err := base64.StdEncoding.DecodeString(doc)
		if err != nil {
			return nil, damagedf("the index (generation %d) is not valid base64: %v", h.Gen, err)
		}
		// Bounded: see maxIndexSize.
		raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), maxIndexSize+1))
		if err != nil {
			return nil, damagedf("the index (generation %d) does not decompress: %v", h.Gen, err)
		}
		if len(raw) > maxIndexSize {
			return nil, damagedf("the index is larger than %d MiB", maxIndexSize>>20)
		}
		doc = string(raw)
	default:
		return nil, damagedf("the index (generation %d) has unknown encoding %q", h.Gen, h.Encoding)
	}
	return parseIndexDoc(doc, h.Gen, h.Parts)
}

// parseIndexDoc parses the plain document of an index whose header said
// gen and parts.
func parseIndexDoc(doc string, gen uint64, parts int) (*index, error) {
	d, ok := scanIndexDoc(doc)
	if !ok {
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, damagedf("the index (generation %d, %d parts) is not valid JSON: %v", gen, parts, err)
		}
	}
	entries := make(map[string]entry, len(d))
	for k, ej := range d {
		e := entry{ServerURL: ej.ServerURL, Username: ej.Username, Gen: ej.Gen, Parts: 1}
		if e.ServerURL == "" {
			e.ServerURL = k
		}
		if ej.Parts != nil {
			e.Parts = *ej.Parts
		}
		if k == "" || e.Username == "" || e.Gen < 1 || e.Gen > gen || e.Parts < 1 || e.Parts > maxParts {
			return nil, damagedf("the index (generation %d) has an invalid entry for %q", gen, k)
		}
		entries[k] = e
	}
	return &index{Gen: gen, Parts: parts, Entries: entries}, nil
}

// encodeIndexDoc returns the plain index document: a JSON object from key
// to entry, one entry per line, sorted by key, without HTML escaping, so
// that a user reading the item sees plain URLs.
func encodeIndexDoc(entries map[string]entry) (string, error) {
	keys := slices.Sorted(maps.Keys(entries))
	var b bytes.Buffer
	b.Grow(64 * len(keys))
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteString("{")
	for i, k := range keys {
		e := entries[k]
		ej := entryJSON{Username: e.Username, Gen: e.Gen}
		if e.ServerURL != k {
			ej.ServerURL = e.ServerURL
		}
		if e.Parts != 1 {
			ej.Parts = &e.Parts
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		if err := enc.Encode(k); err != nil {
			return "", err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteString(":")
		if err := enc.Encode(ej); err != nil {
			return "", err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteString("\n}")
	return b.String(), nil
}

// journal names the items that a write is about to create, on a keychain
// that cannot search (macOS, Windows): written before them, it tells the
// next writer what to remove should the write never commit. (The Secret
// Service finds such items by their generation attribute instead.)
type journal struct {
	Version int    `json:"version"`
	Gen     uint64 `json:"gen"`
	// Name is nameKey of the key written, Parts the items of its secret (0
	// for an erase).
	Name  string `json:"name"`
	Parts int    `json:"parts"`
	// IndexParts is how many items hold the new index.
	IndexParts int `json:"indexParts"`
}

func (j *journal) encode() string {
	b, _ := json.Marshal(j) // cannot fail: strings and integers
	return string(b)
}

func parseJournal(s string) (*journal, error) {
	var j journal
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return nil, damagedf("the journal item %q is not valid JSON: %v", journalUser, err)
	}
	if j.Version != formatVersion || j.Gen < 1 || j.Name == "" || j.Parts < 0 || j.Parts > maxParts ||
		j.IndexParts < 1 || j.IndexParts > maxParts {
		return nil, damagedf("the journal item %q is invalid", journalUser)
	}
	return &j, nil
}

// uncommitted returns the items that the journal's write created if it
// never committed (the index in the keychain is of generation rootGen),
// else nothing: a committed write's leftovers are named by its root.
func (j *journal) uncommitted(rootGen uint64) []string {
	if rootGen >= j.Gen {
		return nil
	}
	return append(entryUsers(j.Name, j.Gen, j.Parts), indexPartUsers(j.Gen, j.IndexParts)...)
}

// errTooLong is returned by split when an item name leaves no room for data.
var errTooLong = errors.New("item name too long for the keychain")

// split cuts data into the fewest parts such that part i (1-based) of n
// holds at most capacity(i, n) bytes, cutting only between UTF-8 sequences
// where data is valid UTF-8. Empty data has no parts.
//
// capacity must not grow with n, which holds because it depends on item
// names, which only lengthen as n gains digits. Then, if filling parts
// greedily with the capacities for n takes k > n parts, no split into fewer
// than k parts exists, and trying n = k next converges on the fewest.
func split(data string, capacity func(i, n int) int) ([]string, error) {
	if data == "" {
		return nil, nil
	}
	for n := 1; ; {
		parts, err := greedy(data, n, capacity)
		if err != nil {
			return nil, err
		}
		if len(parts) <= n {
			for i, p := range parts {
				if len(p) > capacity(i+1, len(parts)) {
					return nil, fmt.Errorf("bug: part %d of %d holds %d bytes, more than its capacity %d", i+1, len(parts), len(p), capacity(i+1, len(parts)))
				}
			}
			return parts, nil
		}
		n = len(parts)
	}
}

// greedy fills parts in order, with the capacities of a split into n.
func greedy(data string, n int, capacity func(i, n int) int) ([]string, error) {
	parts := make([]string, 0, n)
	for rest := data; rest != ""; {
		i := len(parts) + 1
		if i > maxParts {
			return nil, fmt.Errorf("data of %d bytes needs more than %d keychain items", len(data), maxParts)
		}
		c := capacity(i, n)
		if c < minPart {
			return nil, errTooLong
		}
		if len(rest) <= c {
			parts = append(parts, rest)
			break
		}
		cut := c
		// Back off to the start of a UTF-8 sequence, at most UTFMax-1
		// bytes, so that a part never ends inside a character.
		for b := 0; b < utf8.UTFMax-1 && !utf8.RuneStart(rest[cut]); b++ {
			cut--
		}
		if !utf8.RuneStart(rest[cut]) {
			cut = c // not UTF-8 here: cut anywhere
		}
		parts = append(parts, rest[:cut])
		rest = rest[cut:]
	}
	return parts, nil
}
