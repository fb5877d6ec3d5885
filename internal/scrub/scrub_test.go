package scrub

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	const rt = "RT-ORIGINAL-SECRET&x=1+2"
	secrets := New(rt).AddBasic("alice", "REG-PASSWORD-XYZ")
	basic := base64.StdEncoding.EncodeToString([]byte("alice:REG-PASSWORD-XYZ"))
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "invalid_grant: the token expired", "invalid_grant: the token expired"},
		{"raw secret", "bad token " + rt, "bad token " + Redacted},
		{"form-encoded secret", "body=grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt), "body=grant_type=refresh_token&refresh_token=" + Redacted},
		{"JSON-escaped secret", `{"token":"RT-ORIGINAL-SECRET\u0026x=1+2"}`, `{"token":"` + Redacted + `"}`},
		{"echoed Basic header", "UNAUTHORIZED: bad password Basic " + basic, "UNAUTHORIZED: bad password Basic " + Redacted},
		{"base64 of the secret", "got " + base64.StdEncoding.EncodeToString([]byte(rt)), "got " + Redacted},
		{"someone else's Basic", "Authorization: Basic dXNlcjpvdGhlcnBhc3N3b3Jk", "Authorization: Basic " + Redacted},
		{"bearer token", "echo: bearer abcdefghijklmnop.qrs", "echo: bearer " + Redacted},
		{"prose is not a credential", "use Basic auth or a bearer token", "use Basic auth or a bearer token"},
		{"JWT", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rejected", "token " + Redacted + " rejected"},
		{"color escape", "bad \x1b[31mred\x1b[0m text", "bad red text"},
		{"OSC hyperlink", "see \x1b]8;;https://evil.example/\x07here\x1b]8;;\x07", "see here"},
		{"C1 CSI", "a\u009b2Jb", "a b"},
		{"newlines and tabs", "line one\n\tline two\r\n", "line one line two"},
		{"bidi override", "abc\u202egnp.exe", "abc gnp.exe"},
		{"invalid UTF-8", "bad \xff\xfe byte", "bad \uFFFD byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := secrets.Line(tc.in); got != tc.want {
				t.Errorf("Line(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLineTruncatesAtACharacter(t *testing.T) {
	got := Line(strings.Repeat("€", 100))
	if !utf8.ValidString(got) {
		t.Fatalf("Line of 100 × € is not valid UTF-8: %q", got)
	}
	if !strings.HasSuffix(got, "…") || len(got) > MaxLine+len("…") {
		t.Errorf("Line of 100 × €: %d bytes %q, want at most %d and a … mark", len(got), got, MaxLine+len("…"))
	}
}

func TestShortSecretWithholdsTheText(t *testing.T) {
	s := New("abc")
	if got := s.Line("password abc was rejected"); got != withheld {
		t.Errorf("got %q, want the text withheld", got)
	}
	if got := s.Line("nothing secret"); got != "nothing secret" {
		t.Errorf("got %q, want the text as it is", got)
	}
}

func TestNilSecrets(t *testing.T) {
	var s *Secrets
	if got := s.Line("plain"); got != "plain" {
		t.Errorf("nil Secrets: %q", got)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("bad token SECRET-VALUE-1234", "SECRET-VALUE-1234", "alice")
	f.Add("Basic YWxpY2U6U0VDUkVU \x1b[31m", "SECRET", "alice")
	f.Add(strings.Repeat("€", 80), "€€€€", "")
	f.Add("\x1b]8;;x\x07\u202e\xff", "", "")
	f.Fuzz(func(t *testing.T, text, secret, user string) {
		got := New().AddBasic(user, secret).Line(text)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if len(got) > MaxLine+len("…") {
			t.Fatalf("%d bytes, more than the bound", len(got))
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
		// A secret that survives must only be there because the text was
		// cut into it or it is part of the redaction mark itself.
		if len(secret) >= minNeedle && strings.TrimSpace(secret) == secret && !strings.ContainsAny(secret, "\x00\x1b\u009b\u009d") &&
			utf8.ValidString(secret) && strings.Join(strings.Fields(neutralise(secret)), " ") == secret &&
			strings.Contains(got, secret) && !strings.Contains(Redacted+withheld, secret) {
			t.Fatalf("secret %q survives in %q", secret, got)
		}
	})
}
