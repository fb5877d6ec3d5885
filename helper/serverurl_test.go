package helper_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// acceptedServerURLs maps server URLs as clients send them to the Key each
// must map to. It is shared with the idempotence test and the fuzz seeds.
var acceptedServerURLs = []struct {
	name, in, want string
}{
	// Scheme, case, API roots and default ports.
	{"bare host", "registry.example.com", "registry.example.com"},
	{"upper-case host", "REGISTRY.Example.COM", "registry.example.com"},
	{"https", "https://registry.example.com", "registry.example.com"},
	{"https trailing slash", "https://registry.example.com/", "registry.example.com"},
	{"https upper-case scheme", "HTTPS://registry.example.com", "registry.example.com"},
	{"http", "http://registry.example.com", "registry.example.com"},
	{"http upper-case scheme", "Http://registry.example.com/", "registry.example.com"},
	{"v2 root with slash", "https://registry.example.com/v2/", "registry.example.com"},
	{"v2 root", "https://registry.example.com/v2", "registry.example.com"},
	{"v1 root with slash", "https://registry.example.com/v1/", "registry.example.com"},
	{"v1 root bare host", "registry.example.com/v1", "registry.example.com"},
	{"v2 root several slashes", "https://registry.example.com/v2//", "registry.example.com"},
	{"port 443 no scheme", "registry.example.com:443", "registry.example.com"},
	{"port 443 https", "https://registry.example.com:443", "registry.example.com"},
	{"port 443 https v2", "https://registry.example.com:443/v2/", "registry.example.com"},
	{"port 80 http", "http://registry.example.com:80", "registry.example.com"},
	{"port 80 http upper-case scheme", "HTTP://registry.example.com:80/", "registry.example.com"},
	// A Key has no scheme and no port means 443: http on 443 is the same
	// registry as https://host (and the Key must re-parse to itself).
	{"port 443 http", "http://registry.example.com:443", "registry.example.com"},

	// Other ports are kept.
	{"port 5000", "registry.example.com:5000", "registry.example.com:5000"},
	{"port 5000 https", "https://registry.example.com:5000/", "registry.example.com:5000"},
	{"port 5000 http", "http://registry.example.com:5000", "registry.example.com:5000"},
	{"port 80 no scheme", "registry.example.com:80", "registry.example.com:80"},
	{"port 80 https", "https://registry.example.com:80", "registry.example.com:80"},
	{"port 1", "localhost:1", "localhost:1"},
	{"port 65535", "localhost:65535", "localhost:65535"},
	{"localhost", "localhost", "localhost"},
	{"localhost port", "http://localhost:5000/v2/", "localhost:5000"},
	{"IPv4", "127.0.0.1:5000", "127.0.0.1:5000"},
	{"IPv4 https 443", "https://10.0.0.1:443/", "10.0.0.1"},

	// Leading zeros in a port are dropped.
	{"leading zeros", "registry.example.com:05000", "registry.example.com:5000"},
	{"leading zeros 443", "registry.example.com:0443", "registry.example.com"},
	{"leading zeros 80 http", "http://registry.example.com:00080", "registry.example.com"},

	// IPv6 literals.
	{"IPv6 port", "[::1]:5000", "[::1]:5000"},
	{"IPv6", "[::1]", "[::1]"},
	{"IPv6 long spelling", "[0:0:0:0:0:0:0:1]:5000", "[::1]:5000"},
	{"IPv6 leading zeros and case", "https://[2001:DB8:0::0001]/", "[2001:db8::1]"},
	{"IPv6 https 443", "https://[::1]:443/v2/", "[::1]"},
	{"IPv6 upper-case", "[FE80::ABCD]:5000", "[fe80::abcd]:5000"},
	{"IPv6 http 80", "http://[::1]:80", "[::1]"},

	// Docker Hub.
	{"docker.io", "docker.io", "docker.io"},
	{"index.docker.io", "index.docker.io", "docker.io"},
	{"registry-1.docker.io", "registry-1.docker.io", "docker.io"},
	{"docker hub v1", "https://index.docker.io/v1/", "docker.io"},
	{"docker hub upper-case", "https://Index.Docker.IO/v1/", "docker.io"},
	{"docker hub 443", "index.docker.io:443", "docker.io"},
	{"docker hub http 443", "http://index.docker.io:443", "docker.io"},
	{"docker hub access token", "https://index.docker.io/v1/access-token", "docker.io/v1/access-token"},
	{"docker hub refresh token", "https://index.docker.io/v1/refresh-token", "docker.io/v1/refresh-token"},
	{"docker hub other port", "index.docker.io:5000", "index.docker.io:5000"},
	{"docker.io other port", "docker.io:5000", "docker.io:5000"},
	{"not docker hub", "hub.docker.com", "hub.docker.com"},

	// Paths.
	{"repository scoped", "localhost:5000/ns/repo", "localhost:5000/ns/repo"},
	{"repository scoped https", "https://localhost:5000/ns/repo/", "localhost:5000/ns/repo"},
	{"path case kept", "Registry.Example.com/NS/Repo", "registry.example.com/NS/Repo"},
	{"path trailing slashes", "registry.example.com/ns///", "registry.example.com/ns"},
	{"upper-case V2 is a path", "registry.example.com/V2", "registry.example.com/V2"},
	{"v2 prefix is a path", "registry.example.com/v2/ns/repo", "registry.example.com/v2/ns/repo"},
	{"v3 is a path", "registry.example.com/v3", "registry.example.com/v3"},
	{"escaped path kept", "registry.example.com/a%2Fb", "registry.example.com/a%2Fb"},
	{"non-ASCII path escaped", "registry.example.com/ü", "registry.example.com/%C3%BC"},
	{"root path", "https://registry.example.com//", "registry.example.com"},

	// Non-ASCII host names are lower-cased like ASCII ones.

	// The longest accepted input.
	{"max length", "r.example.com/" + strings.Repeat("p", helper.MaxServerURLLength-len("r.example.com/")), "r.example.com/" + strings.Repeat("p", helper.MaxServerURLLength-len("r.example.com/"))},
}

func TestParseServerURL(t *testing.T) {
	for _, tt := range acceptedServerURLs {
		t.Run(tt.name, func(t *testing.T) {
			k, err := helper.ParseServerURL(tt.in)
			if err != nil {
				t.Fatalf("ParseServerURL(%q): %v", tt.in, err)
			}
			if k.String() != tt.want {
				t.Errorf("ParseServerURL(%q) = %q, want %q", tt.in, k, tt.want)
			}
			if k.IsZero() {
				t.Errorf("ParseServerURL(%q) returned a zero Key", tt.in)
			}
		})
	}
}

// TestParseServerURLSameRegistry checks that the spellings docker, oras,
// notation and crane use for one registry share a Key, and that keys that
// must stay apart do.
func TestParseServerURLSameRegistry(t *testing.T) {
	same := [][]string{
		{"registry.example.com", "https://registry.example.com", "http://registry.example.com", "https://Registry.Example.com/", "registry.example.com:443", "https://registry.example.com/v2/"},
		{"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"},
		{"localhost:5000", "http://localhost:5000", "https://localhost:5000/v2/"},
	}
	keys := map[helper.Key]string{}
	for _, group := range same {
		k0 := mustKey(t, group[0])
		for _, u := range group[1:] {
			if k := mustKey(t, u); k != k0 {
				t.Errorf("ParseServerURL(%q) = %q, want the same Key as %q (%q)", u, k, group[0], k0)
			}
		}
		keys[k0] = group[0]
	}
	apart := []string{
		"https://index.docker.io/v1/access-token",
		"https://index.docker.io/v1/refresh-token",
		"index.docker.io:5000",
		"localhost:5001",
		"localhost",
		"localhost:5000/ns/repo",
		"registry.example.com:80",
	}
	for _, u := range apart {
		k := mustKey(t, u)
		if other, ok := keys[k]; ok {
			t.Errorf("ParseServerURL(%q) = %q, the same Key as %q; they must stay apart", u, k, other)
		}
		keys[k] = u
	}
}

func TestParseServerURLRejects(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"too long", "r.example.com/" + strings.Repeat("p", helper.MaxServerURLLength+1-len("r.example.com/")), "longer than 2048 bytes"},
		{"too long once escaped", "r.example.com/" + strings.Repeat("ü", 1000), "longer than 2048 bytes once escaped"},
		{"invalid UTF-8", "registry.example.com/\xff", "not valid UTF-8"},
		{"invalid UTF-8 host", "regi\xc3stry.example.com", "not valid UTF-8"},
		{"space", "registry example.com", "white space or control character U+0020"},
		{"leading space", " registry.example.com", "white space or control character U+0020"},
		{"trailing newline", "registry.example.com\n", "white space or control character U+000A"},
		{"CRLF", "registry.example.com\r\n", "white space or control character U+000D"},
		{"tab", "registry.example.com\t", "white space or control character U+0009"},
		{"newline in path", "registry.example.com/a\nb", "white space or control character U+000A"},
		{"NUL", "registry.example.com\x00", "white space or control character U+0000"},
		{"DEL", "registry.example.com\x7f", "white space or control character U+007F"},
		{"C1 NEL", "registry.example.com\u0085", "white space or control character U+0085"},
		{"C1 CSI", "registry\u009b.example.com", "white space or control character U+009B"},
		{"no-break space", "registry.example.com\u00a0", "white space or control character U+00A0"},
		{"ideographic space", "registry\u3000example.com", "white space or control character U+3000"},
		{"line separator", "registry.example.com\u2028", "white space or control character U+2028"},
		{"paragraph separator", "registry.example.com\u2029", "white space or control character U+2029"},
		{"backslash", `registry.example.com\ns`, "contains a backslash"},
		{"backslash scheme", `https:\\registry.example.com`, "contains a backslash"},
		{"ftp", "ftp://registry.example.com", `unsupported scheme "ftp"`},
		{"dotted I folds onto docker.io", "\u0130ndex.docker.io", "is not ASCII"},
		{"non-ASCII host", "RÉGISTRY.example", "is not ASCII"},
		{"Kelvin sign", "\u212a.example", "is not ASCII"},
		{"label of 64 bytes", strings.Repeat("a", 64) + ".example", "longer than 63 bytes"},
		{"host is a hyphen", "-", "starts or ends with a hyphen"},
		{"host starts with a hyphen", "-registry.example", "starts or ends with a hyphen"},
		{"label ends with a hyphen", "registry-.example", "starts or ends with a hyphen"},
		{"dot segment", "registry.example/ns/./repo", `"." segment`},
		{"dot-dot segment", "registry.example/ns/../other", `".." segment`},
		{"dot-dot at the end", "registry.example/ns/..", `".." segment`},
		{"unix", "unix:///var/run/docker.sock", `unsupported scheme "unix"`},
		{"oci", "oci://registry.example.com", `unsupported scheme "oci"`},
		{"empty scheme", "://registry.example.com", `"://" may only follow the scheme`},
		{"malformed scheme", "1https://registry.example.com", `"://" may only follow the scheme`},
		{"password before ://", "user:pw@registry.example.com://", `"://" may only follow the scheme`},
		{":// in path", "registry.example.com/ns://repo", `"://" may only follow the scheme`},
		{":// in path after scheme", "http://0/://0", `"://" may only follow the scheme`},
		{"two schemes", "https://http://registry.example.com", `"://" may only follow the scheme`},
		{"scheme with digits", "s3+https://registry.example.com", `unsupported scheme "s3+https"`},
		{"user and password", "user:pw@registry.example.com", "must not contain a user name or password"},
		{"user https", "https://user@registry.example.com", "must not contain a user name or password"},
		{"empty user", "@registry.example.com", "must not contain a user name or password"},
		{"query", "registry.example.com?x=1", "must not contain a query"},
		{"query after path", "https://registry.example.com/v2/?x=1", "must not contain a query"},
		{"trailing question mark", "registry.example.com?", "must not contain a query"},
		{"fragment", "registry.example.com#f", "must not contain a fragment"},
		{"empty fragment", "registry.example.com/#", "must not contain a fragment"},
		{"port 0", "registry.example.com:0", `port "0" is out of range 1-65535`},
		{"port 00", "registry.example.com:00", `port "00" is out of range 1-65535`},
		{"port 65536", "registry.example.com:65536", `port "65536" is out of range 1-65535`},
		{"port 99999", "https://registry.example.com:99999", `port "99999" is out of range 1-65535`},
		{"huge port", "registry.example.com:99999999999999999999999", "is out of range 1-65535"},
		{"non-numeric port", "registry.example.com:http", `invalid port ":http"`},
		{"negative port", "registry.example.com:-1", `invalid port ":-1"`},
		{"plus port", "registry.example.com:+5", `invalid port ":+5"`},
		{"scheme only", "https://", "no host name"},
		{"scheme and path", "https:///v2/", "no host name"},
		{"port only", ":5000", "no host name"},
		{"path only", "/path", "no host name"},
		{"slashes only", "//", "no host name"},
		{"two ports", "registry.example.com:5000:6000", "invalid host name"},
		{"bare IPv6", "::1", "invalid host name"},
		{"empty labels", "..", "invalid host name"},
		{"double dot", "registry..example.com", "invalid host name"},
		{"trailing dot", "registry.example.com.", "invalid host name"},
		{"leading dot", ".example.com", "invalid host name"},
		{"empty port", "registry.example.com:", "empty port"},
		{"single slash after scheme", "https:/r.example.com", "empty port"},
		{"punctuation in host", "reg!stry.example.com", "invalid host name"},
		{"IPv4 in brackets", "[127.0.0.1]:5000", "invalid IP-literal"},
		{"not an address in brackets", "[host]:5000", "invalid"},
		{"IPv6 zone", "[fe80::1%25eth0]:5000", "invalid host name"},
		{"percent-encoded host", "regi%73try.example.com", "invalid"},
		{"percent-encoded space in host", "registry%C2%A0.example.com", "invalid host name"},
		{"percent-encoded control in host", "registry%C2%85.example.com", "invalid host name"},
		{"percent-encoded invalid UTF-8 in host", "registry%C3.example.com", "invalid host name"},
		{"bracketed name", "[registry.example.com]", "invalid"},
		{"unclosed bracket", "[::1", "missing ']' in host"},
		{"bad path escape", "registry.example.com/%zz", "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := helper.ParseServerURL(tt.in)
			if err == nil {
				t.Fatalf("ParseServerURL(%q) = %q, want an error containing %q", tt.in, k, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseServerURL(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "invalid server URL: ") {
				t.Errorf("ParseServerURL(%q) error = %q, want it to start with %q", tt.in, err, "invalid server URL: ")
			}
			if !k.IsZero() {
				t.Errorf("ParseServerURL(%q) returned Key %q with its error, want the zero Key", tt.in, k)
			}
			if strings.Contains(tt.in, "pw@") && strings.Contains(err.Error(), "pw") {
				t.Errorf("ParseServerURL(%q) error = %q quotes the password", tt.in, err)
			}
			if errors.Is(err, helper.ErrNotFound) || helper.WireMessage(err) == helper.ErrNotFound.Error() {
				t.Errorf("ParseServerURL(%q) error %q reads as not-found", tt.in, err)
			}
		})
	}
}

func TestParseServerURLEmpty(t *testing.T) {
	k, err := helper.ParseServerURL("")
	if !errors.Is(err, helper.ErrMissingServerURL) {
		t.Fatalf(`ParseServerURL("") error = %v, want ErrMissingServerURL`, err)
	}
	if got, want := err.Error(), "no credentials server URL"; got != want {
		t.Errorf(`ParseServerURL("") error = %q, want %q`, got, want)
	}
	if !k.IsZero() {
		t.Errorf(`ParseServerURL("") = %q, want the zero Key`, k)
	}
}

// TestParseServerURLIdempotent checks that a Key is its own canonical form,
// so that a store may keep Key.String() and parse it again.
func TestParseServerURLIdempotent(t *testing.T) {
	for _, tt := range acceptedServerURLs {
		t.Run(tt.name, func(t *testing.T) {
			k := mustKey(t, tt.in)
			k2, err := helper.ParseServerURL(k.String())
			if err != nil {
				t.Fatalf("ParseServerURL(%q) = %q, which does not parse again: %v", tt.in, k, err)
			}
			if k2 != k {
				t.Errorf("ParseServerURL(%q) = %q, which parses again to %q", tt.in, k, k2)
			}
		})
	}
}

func TestKeyZero(t *testing.T) {
	var k helper.Key
	if !k.IsZero() || k.String() != "" {
		t.Errorf("zero Key: IsZero() = %v, String() = %q; want true, \"\"", k.IsZero(), k.String())
	}
	if k2 := mustKey(t, "a.example.com"); k2 == k {
		t.Errorf("a parsed Key equals the zero Key")
	}
}

func mustKey(t testing.TB, serverURL string) helper.Key {
	t.Helper()
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		t.Fatalf("ParseServerURL(%q): %v", serverURL, err)
	}
	return k
}
