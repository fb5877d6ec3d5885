package registryauth

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The authentication schemes the flow knows. Any other scheme is parsed and
// reported, but never answered.
const (
	// SchemeBasic is RFC 7617's "Basic": the credential itself, on every
	// request.
	SchemeBasic = "Basic"
	// SchemeBearer is RFC 6750's "Bearer": a token from the realm named in
	// the challenge (the Docker token and OAuth2 specifications).
	SchemeBearer = "Bearer"
)

// maxChallenges bounds the challenges kept from one response: a registry
// offers one or two, and a hostile one must not make the parser allocate
// without limit.
const maxChallenges = 32

// Challenge is one challenge of a WWW-Authenticate header.
type Challenge struct {
	// Scheme is the authentication scheme: SchemeBasic or SchemeBearer
	// (whatever case the server used), or any other scheme as sent.
	Scheme string
	// Token68 is the challenge's token68 form (RFC 7235, section 2.1), when
	// the server sent one instead of parameters; usually empty.
	Token68 string
	// Params are the challenge's parameters, names lower-cased (they are
	// case-insensitive), values unquoted. Nil when there are none.
	Params map[string]string
}

// Realm, Service and Scope return the parameters of those names ("" when
// absent).
func (c Challenge) Realm() string   { return c.Params["realm"] }
func (c Challenge) Service() string { return c.Params["service"] }
func (c Challenge) Scope() string   { return c.Params["scope"] }

// String formats c as a challenge that ParseChallenges reads back into c:
// parameters sorted by name, every value quoted.
func (c Challenge) String() string {
	var b strings.Builder
	b.WriteString(c.Scheme)
	if c.Token68 != "" {
		b.WriteByte(' ')
		b.WriteString(c.Token68)
		return b.String()
	}
	names := make([]string, 0, len(c.Params))
	for n := range c.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(quote(c.Params[n]))
	}
	return b.String()
}

// quote makes a quoted-string of v, escaping '"' and '\'.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ErrMalformedChallenge is wrapped by the error ParseChallenges returns for
// a header that breaks RFC 7235's grammar.
var ErrMalformedChallenge = errors.New("malformed WWW-Authenticate header")

// ParseChallenges parses the values of every WWW-Authenticate header of a
// response (RFC 7235, section 4.1), in order: each value holds one or more
// comma-separated challenges, each a scheme followed by a token68 or by
// comma-separated name=value parameters, the values tokens or quoted
// strings with backslash escapes. Scheme and parameter names are
// case-insensitive; empty list elements are skipped, as the list syntax
// (RFC 7230, section 7) allows.
//
// On a grammar error it returns the challenges parsed before the error
// (from this and the earlier headers) with an error wrapping
// ErrMalformedChallenge that says where, and parses the remaining headers
// on their own; a repeated parameter name is such an error. Callers may
// use the challenges they got.
//
// Reference: RFC 7235, sections 2.1 and 4.1; RFC 7230, sections 3.2.6 and 7.
func ParseChallenges(headers []string) ([]Challenge, error) {
	var all []Challenge
	var errs []error
	for i, h := range headers {
		cs, err := parseHeader(h)
		for _, c := range cs {
			if len(all) == maxChallenges {
				errs = append(errs, fmt.Errorf("%w: more than %d challenges", ErrMalformedChallenge, maxChallenges))
				return all, errors.Join(errs...)
			}
			all = append(all, c)
		}
		if err != nil {
			if len(headers) > 1 {
				err = fmt.Errorf("header %d: %w", i+1, err)
			}
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// Find returns the first challenge with the given scheme (compared
// case-insensitively).
func Find(cs []Challenge, scheme string) (Challenge, bool) {
	for _, c := range cs {
		if strings.EqualFold(c.Scheme, scheme) {
			return c, true
		}
	}
	return Challenge{}, false
}

// parser walks one header value.
type parser struct {
	s string
	i int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrMalformedChallenge, p.i, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

// skipOWS skips optional white space: spaces and tabs.
func (p *parser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// skipSeparators skips white space and the commas of empty list elements.
func (p *parser) skipSeparators() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

// token reads a token (1*tchar); "" when there is none at p.i.
func (p *parser) token() string {
	start := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func parseHeader(h string) ([]Challenge, error) {
	p := &parser{s: h}
	var cs []Challenge
	for {
		p.skipSeparators()
		if p.eof() {
			return cs, nil
		}
		c, err := p.challenge()
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
		if len(cs) > maxChallenges {
			return cs, nil // ParseChallenges reports it
		}
	}
}

// challenge reads one challenge: auth-scheme [ 1*SP ( token68 / #auth-param ) ].
// It leaves p after the challenge, at a comma that ends it or at the end.
func (p *parser) challenge() (Challenge, error) {
	scheme := p.token()
	if scheme == "" {
		return Challenge{}, p.errorf("expected an authentication scheme, found %q", p.s[p.i])
	}
	c := Challenge{Scheme: canonicalScheme(scheme)}
	if p.eof() || p.s[p.i] == ',' {
		return c, nil
	}
	if p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		return Challenge{}, p.errorf("unexpected %q after scheme %q", p.s[p.i], scheme)
	}
	p.skipOWS()
	if p.eof() {
		return c, nil
	}
	if p.s[p.i] == ',' {
		// "Scheme , name=value": the list of parameters may start with
		// empty elements. Anything else after the comma is the next
		// challenge.
		save := p.i
		p.skipSeparators()
		if p.eof() || !p.atParam() {
			p.i = save
			return c, nil
		}
	} else if t, ok := p.token68(); ok {
		c.Token68 = t
		return c, nil
	}
	for {
		name, value, err := p.param()
		if err != nil {
			return Challenge{}, err
		}
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		if _, dup := c.Params[name]; dup {
			return Challenge{}, p.errorf("parameter %q repeated in the %s challenge", name, scheme)
		}
		c.Params[name] = value
		p.skipOWS()
		if p.eof() {
			return c, nil
		}
		if p.s[p.i] != ',' {
			return Challenge{}, p.errorf("expected a comma after parameter %q, found %q", name, p.s[p.i])
		}
		// After the comma (and any empty list elements) comes either
		// another parameter of this challenge or the next challenge.
		save := p.i
		p.skipSeparators()
		if p.eof() || !p.atParam() {
			p.i = save
			return c, nil
		}
	}
}

// atParam reports whether a parameter (token BWS "=") starts at p.i, as
// opposed to the scheme of the next challenge. A scheme followed by a
// token68 that ends in '=' ("Other abc=") is not a parameter: a parameter
// name is followed, after optional white space, directly by "=".
func (p *parser) atParam() bool {
	q := *p
	if q.token() == "" {
		return false
	}
	q.skipOWS()
	return !q.eof() && q.s[q.i] == '='
}

// token68 reads a token68 when the rest of the challenge is exactly one:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", followed by
// white space up to a comma or the end. Otherwise it leaves p where it was.
func (p *parser) token68() (string, bool) {
	j := p.i
	for j < len(p.s) && isToken68Char(p.s[j]) {
		j++
	}
	if j == p.i {
		return "", false
	}
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	end := j
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	if j < len(p.s) && p.s[j] != ',' {
		return "", false
	}
	t := p.s[p.i:end]
	p.i = end
	return t, true
}

// param reads auth-param = token BWS "=" BWS ( token / quoted-string ).
func (p *parser) param() (name, value string, err error) {
	name = p.token()
	if name == "" {
		return "", "", p.errorf("expected a parameter name, found %q", p.s[p.i])
	}
	p.skipOWS()
	if p.eof() || p.s[p.i] != '=' {
		return "", "", p.errorf("expected '=' after parameter name %q", name)
	}
	p.i++
	p.skipOWS()
	if p.eof() {
		return "", "", p.errorf("parameter %q has no value", name)
	}
	if p.s[p.i] == '"' {
		value, err = p.quotedString()
		if err != nil {
			return "", "", err
		}
	} else if value = p.token(); value == "" {
		return "", "", p.errorf("parameter %q has no value", name)
	}
	return strings.ToLower(name), value, nil
}

// quotedString reads DQUOTE *( qdtext / quoted-pair ) DQUOTE and returns
// its content with the escapes removed.
func (p *parser) quotedString() (string, error) {
	start := p.i
	p.i++ // the opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) || !isQuotedPairChar(p.s[p.i+1]) {
				p.i++
				return "", p.errorf("invalid escape in the quoted string starting at byte %d", start)
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case isQdtext(c):
			b.WriteByte(c)
			p.i++
		default:
			return "", p.errorf("invalid character %q in a quoted string", c)
		}
	}
	return "", p.errorf("unterminated quoted string starting at byte %d", start)
}

// canonicalScheme spells the schemes the flow knows as RFC 7617 and RFC
// 6750 do; others are kept as sent.
func canonicalScheme(s string) string {
	switch {
	case strings.EqualFold(s, SchemeBasic):
		return SchemeBasic
	case strings.EqualFold(s, SchemeBearer):
		return SchemeBearer
	}
	return s
}

// isTchar reports whether c is a tchar (RFC 7230, section 3.2.6):
// any VCHAR except delimiters.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// isQdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5B) || (0x5D <= c && c <= 0x7E) || c >= 0x80
}

// isQuotedPairChar: HTAB / SP / VCHAR / obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (0x21 <= c && c <= 0x7E) || c >= 0x80
}
