package filestore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The plaintext inside the age file is JSON in a canonical layout that the
// store writes and can search without parsing every entry:
//
//	{"version":1,"layout":{"lines":2,"bytes":180},"entries":{
//	"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"…","secret":"…"},
//	"registry.example.com":{"serverURL":"registry.example.com","username":"…","secret":"…"}
//	}}
//
// One entry per line, sorted by key; "layout" gives the number of entry lines
// and their length in bytes. A JSON string cannot hold a raw newline, so in
// such a body a line that starts with a quoted key is always one entry. Only
// a body whose line count and length match the layout is read line by line;
// anything else (a file edited by hand, then re-encrypted with age) is read
// with a full parse, and rewritten canonically on the next write.

const (
	canonicalPrefix = `{"version":1,"layout":{"lines":`
	canonicalMid    = `,"bytes":`
	canonicalOpen   = `},"entries":{` + "\n"
)

var canonicalTail = []byte("}}\n")

// encodeDocument returns doc in the canonical layout.
func encodeDocument(doc *document) ([]byte, error) {
	keys := make([]string, 0, len(doc.Entries))
	for k := range doc.Entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var body bytes.Buffer
	for i, k := range keys {
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		eb, err := json.Marshal(doc.Entries[k])
		if err != nil {
			return nil, err
		}
		body.Write(kb)
		body.WriteByte(':')
		body.Write(eb)
		if i < len(keys)-1 {
			body.WriteByte(',')
		}
		body.WriteByte('\n')
	}
	var buf bytes.Buffer
	buf.Grow(body.Len() + 64)
	fmt.Fprintf(&buf, "%s%d%s%d%s", canonicalPrefix, len(keys), canonicalMid, body.Len(), canonicalOpen)
	buf.Write(body.Bytes())
	buf.Write(canonicalTail)
	return buf.Bytes(), nil
}

// canonicalBody returns the entry lines of a canonical plaintext, or false
// if plain is not in the canonical layout.
func canonicalBody(plain []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(plain, []byte(canonicalPrefix))
	if !ok {
		return nil, false
	}
	lines, rest, ok := cutNumber(rest)
	if !ok {
		return nil, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(canonicalMid)); !ok {
		return nil, false
	}
	n, rest, ok := cutNumber(rest)
	if !ok {
		return nil, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(canonicalOpen)); !ok {
		return nil, false
	}
	body, ok := bytes.CutSuffix(rest, canonicalTail)
	if !ok || len(body) != n || bytes.Count(body, []byte("\n")) != lines {
		return nil, false
	}
	return body, true
}

// cutNumber reads a non-negative decimal number of at most 12 digits.
func cutNumber(b []byte) (int, []byte, bool) {
	n, i := 0, 0
	for ; i < len(b) && i < 12 && '0' <= b[i] && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	return n, b[i:], i > 0
}

// isCanonical reports whether plain is in the canonical layout.
func isCanonical(plain []byte) bool {
	_, ok := canonicalBody(plain)
	return ok
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

// lookupEntry finds one entry, parsing only its own line when plain is
// canonical.
func lookupEntry(plain []byte, key string) (entry, bool, error) {
	body, ok := canonicalBody(plain)
	if !ok {
		doc, err := parseDocument(plain)
		if err != nil {
			return entry{}, false, err
		}
		e, ok := doc.Entries[key]
		return e, ok, nil
	}
	kb, err := json.Marshal(key)
	if err != nil {
		return entry{}, false, err
	}
	// Every line, the first included, follows a newline.
	body = plain[len(plain)-len(canonicalTail)-len(body)-1:]
	needle := make([]byte, 0, len(kb)+2)
	needle = append(append(append(needle, '\n'), kb...), ':')
	i := bytes.Index(body, needle)
	if i < 0 {
		return entry{}, false, nil
	}
	line := body[i+len(needle):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	line = bytes.TrimSuffix(line, []byte(","))
	var e entry
	if err := json.Unmarshal(line, &e); err != nil {
		return entry{}, false, fmt.Errorf("invalid entry inside the encrypted file: %v", err)
	}
	return e, true, nil
}

// listEntries returns server URL -> username, reading from each canonical
// line only the two fields it needs (they come first), not the secret.
func listEntries(plain []byte) (map[string]string, error) {
	body, ok := canonicalBody(plain)
	if !ok {
		doc, err := parseDocument(plain)
		if err != nil {
			return nil, err
		}
		m := make(map[string]string, len(doc.Entries))
		for _, e := range doc.Entries {
			m[e.ServerURL] = e.Username
		}
		return m, nil
	}
	m := make(map[string]string, bytes.Count(body, []byte("\n")))
	for len(body) > 0 {
		line := body
		if j := bytes.IndexByte(body, '\n'); j >= 0 {
			line, body = body[:j], body[j+1:]
		} else {
			body = nil
		}
		u, user, err := entryHead(line)
		if err != nil {
			// Not as the store writes it (fields in another order, say):
			// parse the whole line.
			var e entry
			if err := parseLine(line, &e); err != nil {
				return nil, fmt.Errorf("invalid entry inside the encrypted file: %v", err)
			}
			u, user = e.ServerURL, e.Username
		}
		m[u] = user
	}
	return m, nil
}

// entryHead reads `"key":{"serverURL":"…","username":"…"` from the start of
// a canonical line with a tokenizer, stopping before the secret. Keys never
// hold a quote (ParseServerURL escapes or rejects one), so the key ends at
// the first `":{`.
func entryHead(line []byte) (serverURL, username string, err error) {
	i := bytes.Index(line, []byte(`":{`))
	if len(line) == 0 || line[0] != '"' || i < 1 || bytes.IndexByte(line[1:i], '"') >= 0 {
		return "", "", fmt.Errorf("malformed line")
	}
	dec := json.NewDecoder(bytes.NewReader(line[i+2:]))
	want := []string{"{", "serverURL", "", "username", ""}
	var vals [5]string
	for n, w := range want {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", "", err
		}
		if w == "{" {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return "", "", fmt.Errorf("malformed line")
			}
			continue
		}
		s, ok := tok.(string)
		if !ok || (w != "" && !strings.EqualFold(s, w)) {
			return "", "", fmt.Errorf("unexpected token at position %d", n)
		}
		vals[n] = s
	}
	return vals[2], vals[4], nil
}

// parseLine parses a whole `"key":{…}` line into e.
func parseLine(line []byte, e *entry) error {
	i := bytes.Index(line, []byte(`":`))
	if len(line) == 0 || line[0] != '"' || i < 1 {
		return fmt.Errorf("malformed line")
	}
	return json.Unmarshal(bytes.TrimSuffix(line[i+2:], []byte(",")), e)
}
