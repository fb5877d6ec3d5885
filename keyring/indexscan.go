package keyring

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanIndexDoc parses an index document exactly as encodeIndexDoc writes
// it (one entry per line, fields in its order, strings without escapes)
// without encoding/json, which at 1,000 entries makes about 15,000
// allocations; List pays for them in every process. Anything else (escapes,
// other line breaks, a document another program wrote) returns ok false, and
// parseIndexDoc uses encoding/json, whose result this one equals.
func scanIndexDoc(doc string) (map[string]entryJSON, bool) {
	body, ok := strings.CutPrefix(doc, "{")
	if !ok {
		return nil, false
	}
	body, ok = strings.CutSuffix(body, "\n}")
	if !ok {
		return nil, false
	}
	d := make(map[string]entryJSON, strings.Count(body, "\n"))
	for body != "" {
		body, ok = strings.CutPrefix(body, "\n")
		if !ok {
			return nil, false
		}
		line := body
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i:]
			if line, ok = strings.CutSuffix(line, ","); !ok {
				return nil, false
			}
		} else {
			body = ""
		}
		k, rest, ok := scanString(line)
		if !ok {
			return nil, false
		}
		if rest, ok = strings.CutPrefix(rest, ":{"); !ok {
			return nil, false
		}
		var e entryJSON
		if r, found := strings.CutPrefix(rest, `"serverURL":`); found {
			if e.ServerURL, rest, ok = scanString(r); !ok {
				return nil, false
			}
			if rest, ok = strings.CutPrefix(rest, ","); !ok {
				return nil, false
			}
		}
		if rest, ok = strings.CutPrefix(rest, `"username":`); !ok {
			return nil, false
		}
		if e.Username, rest, ok = scanString(rest); !ok {
			return nil, false
		}
		if rest, ok = strings.CutPrefix(rest, `,"gen":`); !ok {
			return nil, false
		}
		var g string
		if g, rest, ok = scanDigits(rest); !ok {
			return nil, false
		}
		var err error
		if e.Gen, err = strconv.ParseUint(g, 10, 64); err != nil {
			return nil, false
		}
		if r, found := strings.CutPrefix(rest, `,"parts":`); found {
			var p string
			if p, rest, ok = scanDigits(r); !ok {
				return nil, false
			}
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, false
			}
			e.Parts = &n
		}
		if rest != "}" {
			return nil, false
		}
		if _, dup := d[k]; dup {
			return nil, false
		}
		d[k] = e
	}
	return d, true
}

// scanString reads a JSON string at the start of s that has no escapes,
// control characters or invalid UTF-8 (on which encoding/json would
// differ), and returns its value and the rest of s.
func scanString(s string) (v, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	v = s[1 : 1+end]
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == '\\' {
			return "", "", false
		}
	}
	if !utf8.ValidString(v) {
		return "", "", false
	}
	return v, s[2+end:], true
}

// scanDigits reads a JSON non-negative integer at the start of s.
func scanDigits(s string) (digits, rest string, ok bool) {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 1 && s[0] == '0' {
		return "", "", false
	}
	return s[:n], s[n:], true
}
