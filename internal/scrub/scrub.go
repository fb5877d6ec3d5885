// Package scrub makes text that comes from a peer (a provider's
// error_description, a token server's or registry's error body, another
// helper's output) fit to show: every secret in play removed in each
// encoding a peer might echo it in, credentials that follow an
// authentication scheme and JWTs removed whatever they are, control
// characters and terminal escape sequences neutralised, whitespace
// collapsed, and the result cut to one line of valid UTF-8.
//
// The usual entry point is [Secrets.Line], or [Line] when no secret is in
// play. Nothing here runs on a successful request: only error paths and
// text shown to the user call it.
package scrub

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxLine is the most bytes of peer text that Line keeps.
const MaxLine = 200

// Redacted replaces each secret removed from a text.
const Redacted = "<redacted>"

// withheld replaces a whole text that holds a secret too short to be cut
// out without garbling the rest.
const withheld = "(the message was withheld: it contained a secret)"

// minNeedle is the shortest secret that is cut out of a text; a shorter one
// (a 3-character password) would match inside ordinary words, so a text
// that holds it is withheld whole instead.
const minNeedle = 4

// Secrets are the values that must not appear in what a peer says. The zero
// value holds none.
type Secrets struct {
	needles []string
	short   []string
}

// New returns Secrets holding values (empty ones are ignored).
func New(values ...string) *Secrets {
	s := &Secrets{}
	s.Add(values...)
	return s
}

// Add adds values, each in every encoding a peer could echo it in: as it
// is, form- and path-escaped, JSON-escaped, and base64 (standard and URL
// alphabets, padded or not).
func (s *Secrets) Add(values ...string) *Secrets {
	for _, v := range values {
		if v == "" {
			continue
		}
		if len(v) < minNeedle {
			s.short = append(s.short, v)
			continue
		}
		s.addNeedles(v, url.QueryEscape(v), url.PathEscape(v), jsonEscape(v, true), jsonEscape(v, false))
		s.addBase64(v)
	}
	return s
}

// AddBasic adds password as Add does, and the HTTP Basic credential of user
// and password (RFC 7617: base64 of user:password), which a server that
// echoes the Authorization header would show.
func (s *Secrets) AddBasic(user, password string) *Secrets {
	if password == "" {
		return s
	}
	s.Add(password)
	s.addBase64(user + ":" + password)
	return s
}

func (s *Secrets) addBase64(v string) {
	s.addNeedles(base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)))
}

func (s *Secrets) addNeedles(vs ...string) {
	for _, v := range vs {
		if len(v) >= minNeedle && !contains(s.needles, v) {
			s.needles = append(s.needles, v)
		}
	}
	// Longest first, so that an encoding that contains another is removed
	// whole.
	sort.SliceStable(s.needles, func(i, j int) bool { return len(s.needles[i]) > len(s.needles[j]) })
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func jsonEscape(v string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(v)
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// Line returns text with no secret in it, fit for one line of a message:
// at most MaxLine bytes (cut at a character, marked with "…").
func (s *Secrets) Line(text string) string { return s.Clean(text, MaxLine) }

// Clean is Line with a bound of max bytes (0: no bound).
func (s *Secrets) Clean(text string, max int) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	// Secrets are cut out of the text as it came and again once it is one
	// line, in case neutralising joined the parts of one.
	text = s.cut(text)
	text = strings.Join(strings.Fields(neutralise(redactCredentials(text))), " ")
	text = s.cut(text)
	if max > 0 && len(text) > max {
		for max > 0 && !utf8.RuneStart(text[max]) {
			max--
		}
		text = text[:max] + "…"
	}
	return text
}

func (s *Secrets) cut(text string) string {
	if s == nil {
		return text
	}
	for _, n := range s.needles {
		text = strings.ReplaceAll(text, n, Redacted)
	}
	for _, v := range s.short {
		if strings.Contains(text, v) {
			return withheld
		}
	}
	return text
}

// Line is Secrets.Line with no secret in play: control characters,
// escapes, scheme credentials and JWTs are still handled.
func Line(text string) string { return (*Secrets)(nil).Line(text) }

// Clean is Secrets.Clean with no secret in play.
func Clean(text string, max int) string { return (*Secrets)(nil).Clean(text, max) }

// neutralise drops terminal escape sequences (ESC and the CSI or OSC
// sequence it opens) and turns every other control character (C0, DEL,
// C1), bidirectional override and line or paragraph separator into a space.
func neutralise(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == 0x1b || r == 0x9b || r == 0x9d:
			i = skipEscape(s, i, r)
			b.WriteByte(' ')
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x200e && r <= 0x200f, r >= 0x2028 && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// skipEscape returns the index after the escape sequence that opener (ESC,
// or the C1 CSI or OSC) started just before i.
func skipEscape(s string, i int, opener rune) int {
	kind := opener
	if opener == 0x1b && i < len(s) {
		switch s[i] {
		case '[':
			kind, i = 0x9b, i+1
		case ']':
			kind, i = 0x9d, i+1
		default:
			return i + 1 // a two-character sequence such as ESC c
		}
	}
	switch kind {
	case 0x9b: // CSI: parameters and intermediates, then one final byte
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
			i++
		}
		if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
			i++
		}
	case 0x9d: // OSC: up to BEL or ST (ESC \)
		for i < len(s) {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			i++
		}
	}
	return i
}

// redactCredentials replaces the credential after an authentication scheme
// word ("Basic …", "Bearer …") and anything shaped like a JWT, whoever's
// they are: a peer has no reason to show either.
func redactCredentials(s string) string {
	if !strings.ContainsAny(s, "bBeE") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if n := schemeCredential(s, i); n > 0 {
			b.WriteString(s[i : i+n])
			b.WriteString(Redacted)
			i += n
			i += tokenLen(s[i:])
			continue
		}
		if n := jwtLen(s, i); n > 0 {
			b.WriteString(Redacted)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// schemeCredential returns, when s[i:] starts a word "basic" or "bearer"
// (any case) followed by spaces and a credential, the length of the word
// and the spaces; 0 otherwise.
func schemeCredential(s string, i int) int {
	if i > 0 && isTokenByte(s[i-1]) {
		return 0
	}
	for _, w := range []string{"basic", "bearer"} {
		if len(s)-i <= len(w) || !strings.EqualFold(s[i:i+len(w)], w) {
			continue
		}
		j := i + len(w)
		if s[j] != ' ' && s[j] != '\t' {
			continue
		}
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		// Eight characters at least: "Basic auth" and "bearer token" in
		// prose are not credentials.
		if tokenLen(s[j:]) >= 8 {
			return j - i
		}
	}
	return 0
}

// jwtLen returns the length of a JWT (three base64url segments, the first
// a JSON object: "eyJ") starting at s[i], or 0.
func jwtLen(s string, i int) int {
	if !strings.HasPrefix(s[i:], "eyJ") || (i > 0 && isTokenByte(s[i-1])) {
		return 0
	}
	n := tokenLen(s[i:])
	if strings.Count(s[i:i+n], ".") < 2 {
		return 0
	}
	return n
}

// tokenLen is the length of the run of token68 characters (RFC 7235) at
// the start of s.
func tokenLen(s string) int {
	n := 0
	for n < len(s) && isTokenByte(s[n]) {
		n++
	}
	return n
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}
