package helper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

var serverURLSeeds = []string{
	"", "/", "//", "https://", ":5000", "?", "#", "@", "[", "[]", "[::1", "%", "%zz",
	"ftp://host", "unix:///var/run/docker.sock", "user:pw@host", "https://user@host",
	"host?x=1", "host#f", "host:0", "host:65536", "host:abc", "host:5000:6000", "::1",
	"[fe80::1%25eth0]:5000", "regi%73try", "a%C2%A0b", "host/%zz", "host\\x",
	"host\x00", "host\t", "host\u0085", "host\u00a0", "host\u2028", "\xff",
	"İ.example", "K.example", "ß.example", "Σ.example",
	"https://index.docker.io/v1/access-token", "http://docker.io:443",
	"host/" + strings.Repeat("ü", 700), strings.Repeat("a", helper.MaxServerURLLength),
}

func FuzzParseServerURL(f *testing.F) {
	for _, tt := range acceptedServerURLs {
		f.Add(tt.in)
	}
	for _, s := range serverURLSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		k, err := helper.ParseServerURL(raw)
		if err != nil {
			if !k.IsZero() {
				t.Fatalf("ParseServerURL(%q) returned Key %q with error %v", raw, k, err)
			}
			if errors.Is(err, helper.ErrNotFound) || helper.WireMessage(err) == notFoundMessage {
				t.Fatalf("ParseServerURL(%q) error %q reads as not-found", raw, err)
			}
			return
		}
		s := k.String()
		if k.IsZero() || s == "" {
			t.Fatalf("ParseServerURL(%q) returned the zero Key without an error", raw)
		}
		k2, err := helper.ParseServerURL(s)
		if err != nil {
			t.Fatalf("ParseServerURL(%q) = %q, which does not parse again: %v", raw, s, err)
		}
		if k2 != k {
			t.Fatalf("ParseServerURL(%q) = %q, which parses again to %q", raw, s, k2)
		}
		if len(s) > helper.MaxServerURLLength {
			t.Fatalf("ParseServerURL(%q) = %q, longer than MaxServerURLLength", raw, s)
		}
		if !utf8.ValidString(s) {
			t.Fatalf("ParseServerURL(%q) = %q, not valid UTF-8", raw, s)
		}
		for _, r := range s {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				t.Fatalf("ParseServerURL(%q) = %q, contains %U", raw, s, r)
			}
		}
		if strings.ContainsAny(s, `?#\`) || strings.Contains(s, "://") {
			t.Fatalf("ParseServerURL(%q) = %q, contains a query, a fragment, a backslash or a scheme", raw, s)
		}
		host, path, _ := strings.Cut(s, "/")
		if strings.Contains(host, "@") {
			t.Fatalf("ParseServerURL(%q) = %q, contains user info", raw, s)
		}
		if host == "" || strings.HasPrefix(host, ":") {
			t.Fatalf("ParseServerURL(%q) = %q, has no host", raw, s)
		}
		if strings.Contains(host, "%") {
			t.Fatalf("ParseServerURL(%q) = %q, has a percent sign in its host", raw, s)
		}
		if host != strings.ToLower(host) {
			t.Fatalf("ParseServerURL(%q) = %q, host not lower-case", raw, s)
		}
		if strings.HasSuffix(s, "/") || path == "v1" || path == "v2" {
			t.Fatalf("ParseServerURL(%q) = %q, ends with a slash or an API root", raw, s)
		}
		if strings.HasSuffix(host, ":443") || host == "index.docker.io" || host == "registry-1.docker.io" {
			t.Fatalf("ParseServerURL(%q) = %q, not canonical", raw, s)
		}
		// Every spelling a client might add must land on the same Key.
		if !strings.Contains(raw, "://") {
			for _, spelling := range []string{"https://" + raw, "HTTPS://" + raw} {
				if len(spelling) > helper.MaxServerURLLength {
					continue
				}
				if k3, err := helper.ParseServerURL(spelling); err != nil || k3 != k {
					t.Fatalf("ParseServerURL(%q) = %q but ParseServerURL(%q) = %q, %v", raw, s, spelling, k3, err)
				}
			}
		}
	})
}

var credentialSeeds = []string{
	`{"ServerURL":"registry.example.com","Username":"alice","Secret":"pw"}`,
	`{"serverurl":"https://index.docker.io/v1/","USERNAME":"<token>","secret":"rt"}`,
	`{"ServerURL":"localhost:5000/ns/repo","Username":"u","Secret":"","Extra":[1,{"a":null}]}`,
	`{"ServerURL":"r","Username":"u","Secret":"a\u0000\ud800\n\"\\"}`,
	`{"ServerURL":"r","Username":"a\u0007"}`,
	`{"ServerURL":"r","Username":"u","Secret":5}`,
	`{"ServerURL":{},"Username":"u"}`,
	`{"ServerURL":"ftp://r","Username":"u"}`,
	`{"ServerURL":"r","Username":"u"} x`,
	`{"ServerURL":"r","Username":"u"}{}`,
	`{"ServerURL":"r","Username":"u"`,
	`{"ServerURL":"r","Username":"u","ServerURL":"s"}`,
	`[]`, `"s"`, `5`, `null`, `true`, `{}`, ``, ` `, `{`, `}`, `{"a":`, "\xff", "\x00",
}

func FuzzDecodeCredentials(f *testing.F) {
	for _, s := range credentialSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, k, err := helper.DecodeCredentials(b)
		if err != nil {
			if c != (helper.Credentials{}) || !k.IsZero() {
				t.Fatalf("DecodeCredentials(%q) returned %v, %q with error %v", b, c, k, err)
			}
			if helper.WireMessage(err) == notFoundMessage {
				t.Fatalf("DecodeCredentials(%q) error %q reads as not-found", b, err)
			}
			return
		}
		if c.ServerURL == "" || c.Username == "" || k.IsZero() {
			t.Fatalf("DecodeCredentials(%q) = %v, %q: empty server URL, username or key", b, c, k)
		}
		if strings.ContainsFunc(c.Username, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("DecodeCredentials(%q) accepted username %q with a control character", b, c.Username)
		}
		k2, err := helper.ParseServerURL(c.ServerURL)
		if err != nil || k2 != k {
			t.Fatalf("DecodeCredentials(%q) returned Key %q, but ParseServerURL(%q) = %q, %v", b, k, c.ServerURL, k2, err)
		}
		// Encoding what was decoded and decoding it again changes nothing.
		again, err := json.Marshal(credentials.Credentials{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
		if err != nil {
			t.Fatal(err)
		}
		c2, k3, err := helper.DecodeCredentials(again)
		if err != nil || c2 != c || k3 != k {
			t.Fatalf("DecodeCredentials(%q) = %v; re-encoded as %q it decodes to %v, %q, %v", b, c, again, c2, k3, err)
		}
	})
}

func FuzzHandleStoreGet(f *testing.F) {
	for _, s := range credentialSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(storePayload("https://Registry.Example.com/", "<token>", "<&>\u2028"+strings.Repeat("x", 1000))))
	f.Fuzz(func(t *testing.T, stdin []byte) {
		ctx := context.Background()
		s := helpertest.NewMemStore()
		var out bytes.Buffer
		err := helper.Handle(ctx, s, "store", bytes.NewReader(stdin), &out)
		if out.Len() != 0 {
			t.Fatalf("store wrote %q to stdout", out.String())
		}
		m, lerr := s.List(ctx)
		if lerr != nil {
			t.Fatal(lerr)
		}
		if err != nil {
			if len(m) != 0 {
				t.Fatalf("store %q failed with %v but left %v in the store", stdin, err, m)
			}
			if helper.WireMessage(err) == notFoundMessage {
				t.Fatalf("store %q error %q reads as not-found", stdin, err)
			}
			return
		}
		c, _, derr := helper.DecodeCredentials(stdin)
		if derr != nil {
			t.Fatalf("store %q succeeded but DecodeCredentials fails: %v", stdin, derr)
		}
		if len(m) != 1 || m[c.ServerURL] != c.Username {
			t.Fatalf("after store %q, List = %v; want {%q: %q}", stdin, m, c.ServerURL, c.Username)
		}

		// get of the same server URL returns what was stored, with the bytes
		// the reference implementation writes.
		got, err := handle(t, s, "get", c.ServerURL)
		if err != nil {
			t.Fatalf("get %q after store %q: %v", c.ServerURL, stdin, err)
		}
		var gc credentials.Credentials
		if err := json.Unmarshal([]byte(got), &gc); err != nil {
			t.Fatalf("get wrote %q: %v", got, err)
		}
		if gc.ServerURL != c.ServerURL || gc.Username != c.Username || gc.Secret != c.Secret {
			t.Fatalf("store %q then get %q returned %+v, want %v", stdin, c.ServerURL, gc, c)
		}
		ref, err := reference(t, s, "get", c.ServerURL)
		if err != nil {
			t.Fatalf("reference get %q: %v", c.ServerURL, err)
		}
		if got != ref {
			t.Fatalf("get %q wrote %q, the reference %q", c.ServerURL, got, ref)
		}

		// erase removes it, and get then reads not-found.
		if _, err := handle(t, s, "erase", c.ServerURL); err != nil {
			t.Fatalf("erase %q: %v", c.ServerURL, err)
		}
		if _, err := handle(t, s, "get", c.ServerURL); helper.WireMessage(err) != notFoundMessage {
			t.Fatalf("get %q after erase: %v, want not-found", c.ServerURL, err)
		}
	})
}
