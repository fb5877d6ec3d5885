package helper

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxServerURLLength bounds a server URL. Host names are at most 253 bytes and
// repository paths are short; anything longer is a mistake or an attack, and
// keychains have item size limits of their own.
const MaxServerURLLength = 2048

// Key identifies one registry (or one repository-scoped entry) in a store.
// Every spelling of a server URL that clients use for the same registry maps
// to the same Key; see [ParseServerURL]. The zero Key is invalid.
type Key struct{ s string }

// String returns the canonical form, host[:port][/path].
func (k Key) String() string { return k.s }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.s == "" }

// dockerHubHosts are the names clients use for Docker Hub; they all map to
// the canonical host "docker.io".
var dockerHubHosts = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// ParseServerURL returns the Key for a server URL as clients send it.
//
// The rules, applied in this order, are the single definition of "the same
// registry" for every backend:
//
//   - The scheme (http or https, any case) is dropped; no scheme means https.
//   - The host is lower-cased (ASCII only); docker.io, index.docker.io and
//     registry-1.docker.io become docker.io.
//   - Port 443, and port 80 with http, is dropped; any other port is kept.
//     (A Key has no scheme and a Key without a port means 443, so
//     http://host:443 is host, as https://host is.)
//   - Trailing slashes are dropped, and a path of exactly /v1 or /v2 (the API
//     roots clients append) is dropped. Any other path is kept, case and all,
//     so https://index.docker.io/v1/access-token and a repository-scoped key
//     such as host:5000/ns/repo stay distinct from the registry's own entry.
//
// A server URL with user information, a query, a fragment, a port outside
// 1-65535, white space, control characters, invalid UTF-8, a percent-encoded,
// non-ASCII or malformed host name (a label over 63 bytes, or one that starts
// or ends with a hyphen), a "." or ".." path segment, or whose Key would be longer than
// MaxServerURLLength, is rejected with an error saying which. Every accepted
// Key is its own canonical form: ParseServerURL(k.String()) returns k.
func ParseServerURL(raw string) (Key, error) {
	if raw == "" {
		return Key{}, ErrMissingServerURL
	}
	if len(raw) > MaxServerURLLength {
		return Key{}, fmt.Errorf("invalid server URL: longer than %d bytes", MaxServerURLLength)
	}
	if !utf8.ValidString(raw) {
		return Key{}, errors.New("invalid server URL: not valid UTF-8")
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Key{}, fmt.Errorf("invalid server URL: contains white space or control character %U", r)
		}
		if r == '\\' {
			return Key{}, errors.New("invalid server URL: contains a backslash")
		}
	}

	scheme, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = strings.ToLower(raw[:i]), raw[i+3:]
		// "://" anywhere else (host/a://b, user:pw@host://) is no scheme;
		// taking it for one would quote a password in the error, and
		// keeping it in the path would make a Key that does not parse again.
		if !isScheme(scheme) || strings.Contains(rest, "://") {
			return Key{}, errors.New(`invalid server URL: "://" may only follow the scheme (https, http or none)`)
		}
		if scheme != "https" && scheme != "http" {
			return Key{}, fmt.Errorf("invalid server URL: unsupported scheme %q (use https, http or none)", raw[:i])
		}
	}
	u, err := url.Parse("//" + rest)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Key{}, fmt.Errorf("invalid server URL: %v", err)
	}
	switch {
	case u.User != nil:
		return Key{}, errors.New("invalid server URL: must not contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery:
		return Key{}, errors.New("invalid server URL: must not contain a query")
	case u.Fragment != "" || strings.Contains(rest, "#"):
		return Key{}, errors.New("invalid server URL: must not contain a fragment")
	}

	// ASCII case folding only: strings.ToLower maps "İ" (U+0130) to "i",
	// which would make İndex.docker.io the docker.io entry, while net/http
	// dials it as another domain (IDNA).
	host := asciiLower(u.Hostname())
	if host == "" {
		return Key{}, errors.New("invalid server URL: no host name")
	}
	// url.Parse decodes percent-encoding in the host (which could smuggle in
	// white space, controls or invalid UTF-8 past the checks above) and takes
	// an unbracketed host with several colons; no client sends either.
	authority, _, _ := strings.Cut(rest, "/")
	bracketed := strings.HasPrefix(u.Host, "[")
	if strings.ContainsAny(host, "%[]") || strings.Contains(authority, "%") || (strings.Contains(host, ":") && !bracketed) {
		return Key{}, fmt.Errorf("invalid server URL: invalid host name %q", host)
	}
	if bracketed {
		// An IPv6 literal, in its canonical spelling: [0:0::1] is [::1].
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() {
			return Key{}, fmt.Errorf("invalid server URL: invalid IPv6 address %q", host)
		}
		host = "[" + addr.String() + "]"
	}
	if !bracketed {
		// Host names are dot-separated labels of ASCII letters, digits,
		// '-' and '_', none empty: "..", "a..b" and "host." are mistakes
		// that would otherwise become keys. An internationalized name is
		// refused: every client spells references in ASCII (the xn-- form),
		// and folding or mapping Unicode here could make another domain's
		// name this registry's key.
		if strings.ContainsFunc(host, func(r rune) bool { return r >= 0x80 }) {
			return Key{}, fmt.Errorf("invalid server URL: host name %q is not ASCII (use its xn-- form, as clients do)", host)
		}
		for label := range strings.SplitSeq(host, ".") {
			if label == "" || strings.ContainsFunc(label, func(r rune) bool {
				return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
			}) {
				return Key{}, fmt.Errorf("invalid server URL: invalid host name %q", host)
			}
			// RFC 1123: at most 63 bytes, no hyphen at either end (a host
			// of "-" or "-x" would read as an option elsewhere).
			if len(label) > 63 {
				return Key{}, fmt.Errorf("invalid server URL: host name label %.20q… is longer than 63 bytes", label)
			}
			if label[0] == '-' || label[len(label)-1] == '-' {
				return Key{}, fmt.Errorf("invalid server URL: host name label %q starts or ends with a hyphen", label)
			}
		}
	}
	if strings.HasSuffix(u.Host, ":") {
		return Key{}, errors.New("invalid server URL: empty port")
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Key{}, fmt.Errorf("invalid server URL: port %q is out of range 1-65535", port)
		}
		port = strconv.Itoa(n) // drops leading zeros
		if n == 443 || (scheme == "http" && n == 80) {
			port = ""
		}
	}
	if dockerHubHosts[host] && port == "" {
		host = "docker.io"
	}

	// "." and ".." segments would make two spellings of one repository two
	// keys, and mean something else to whoever resolves the path.
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return Key{}, fmt.Errorf("invalid server URL: the path has a %q segment", seg)
		}
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	if p == "/v1" || p == "/v2" {
		p = ""
	}

	k := host
	if port != "" {
		k += ":" + port
	}
	k += p
	// Escaping the path (and lower-casing the host) can lengthen it.
	if len(k) > MaxServerURLLength {
		return Key{}, fmt.Errorf("invalid server URL: longer than %d bytes once escaped", MaxServerURLLength)
	}
	return Key{s: k}, nil
}

// isScheme reports whether s is a URL scheme: a letter, then letters, digits,
// "+", "-" or "." (RFC 3986, section 3.1).
func isScheme(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// asciiLower lower-cases A-Z only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
