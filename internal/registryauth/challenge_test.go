package registryauth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	type p = map[string]string
	tests := []struct {
		name    string
		headers []string
		want    []Challenge
		wantErr string // substring; "" means no error
	}{
		{
			name:    "distribution bearer",
			headers: []string{`Bearer realm="https://auth.example.com/token",service="registry.example.com"`},
			want:    []Challenge{{Scheme: "Bearer", Params: p{"realm": "https://auth.example.com/token", "service": "registry.example.com"}}},
		},
		{
			name:    "bearer with scope and error",
			headers: []string{`Bearer realm="https://a/token",service="reg",scope="repository:u/r:pull,push",error="insufficient_scope"`},
			want: []Challenge{{Scheme: "Bearer", Params: p{
				"realm": "https://a/token", "service": "reg", "scope": "repository:u/r:pull,push", "error": "insufficient_scope",
			}}},
		},
		{
			name:    "basic",
			headers: []string{`Basic realm="Registry Realm"`},
			want:    []Challenge{{Scheme: "Basic", Params: p{"realm": "Registry Realm"}}},
		},
		{
			name:    "scheme alone",
			headers: []string{`Basic`},
			want:    []Challenge{{Scheme: "Basic"}},
		},
		{
			name:    "case-insensitive scheme and parameter names",
			headers: []string{`bEaReR REALM="https://a/t", Service=svc`},
			want:    []Challenge{{Scheme: "Bearer", Params: p{"realm": "https://a/t", "service": "svc"}}},
		},
		{
			name:    "unknown scheme keeps its spelling",
			headers: []string{`NewAuth realm="x"`},
			want:    []Challenge{{Scheme: "NewAuth", Params: p{"realm": "x"}}},
		},
		{
			name:    "token values unquoted",
			headers: []string{`Bearer realm=https://a/t,service=svc`},
			wantErr: "byte 18: expected a comma after parameter \"realm\", found ':'", // ':' is not a tchar: an unquoted URL is malformed
		},
		{
			name:    "token value",
			headers: []string{`Bearer service=registry.docker.io, realm=x`},
			want:    []Challenge{{Scheme: "Bearer", Params: p{"service": "registry.docker.io", "realm": "x"}}},
		},
		{
			name:    "two challenges in one header",
			headers: []string{`Basic realm="simple", Bearer realm="https://a/t", service="s"`},
			want: []Challenge{
				{Scheme: "Basic", Params: p{"realm": "simple"}},
				{Scheme: "Bearer", Params: p{"realm": "https://a/t", "service": "s"}},
			},
		},
		{
			name:    "RFC 7235 example: Newauth and Basic",
			headers: []string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			want: []Challenge{
				{Scheme: "Newauth", Params: p{"realm": "apps", "type": "1", "title": `Login to "apps"`}},
				{Scheme: "Basic", Params: p{"realm": "simple"}},
			},
		},
		{
			name:    "challenges across headers",
			headers: []string{`Basic realm="one"`, `Bearer realm="https://a/t"`},
			want: []Challenge{
				{Scheme: "Basic", Params: p{"realm": "one"}},
				{Scheme: "Bearer", Params: p{"realm": "https://a/t"}},
			},
		},
		{
			name:    "bare schemes separated by commas",
			headers: []string{`Negotiate, Basic realm="x", NTLM`},
			want: []Challenge{
				{Scheme: "Negotiate"},
				{Scheme: "Basic", Params: p{"realm": "x"}},
				{Scheme: "NTLM"},
			},
		},
		{
			name:    "token68",
			headers: []string{`Negotiate YIIB+/abc==`},
			want:    []Challenge{{Scheme: "Negotiate", Token68: "YIIB+/abc=="}},
		},
		{
			name:    "token68 then another challenge",
			headers: []string{`Negotiate abc=, Bearer realm="r"`},
			want: []Challenge{
				{Scheme: "Negotiate", Token68: "abc="},
				{Scheme: "Bearer", Params: p{"realm": "r"}},
			},
		},
		{
			name:    "token68 without padding",
			headers: []string{`Custom abcdef`},
			want:    []Challenge{{Scheme: "Custom", Token68: "abcdef"}},
		},
		{
			name:    "escapes in quoted strings",
			headers: []string{`Bearer realm="a\"b\\c\d"`},
			want:    []Challenge{{Scheme: "Bearer", Params: p{"realm": `a"b\cd`}}},
		},
		{
			name:    "commas and equals inside quotes",
			headers: []string{`Bearer realm="https://a/t?x=1,y=2", scope="repository:a:pull,push repository:b:pull"`},
			want: []Challenge{{Scheme: "Bearer", Params: p{
				"realm": "https://a/t?x=1,y=2", "scope": "repository:a:pull,push repository:b:pull",
			}}},
		},
		{
			name:    "empty quoted value",
			headers: []string{`Bearer realm="", service="s"`},
			want:    []Challenge{{Scheme: "Bearer", Params: p{"realm": "", "service": "s"}}},
		},
		{
			name:    "white space around equals, tabs and empty list elements",
			headers: []string{" ,\tBearer  realm \t=\t\"r\" ,, service = s ,  , Basic , "},
			want: []Challenge{
				{Scheme: "Bearer", Params: p{"realm": "r", "service": "s"}},
				{Scheme: "Basic"},
			},
		},
		{
			name:    "parameter list starting with an empty element",
			headers: []string{`Basic , realm="x"`},
			want:    []Challenge{{Scheme: "Basic", Params: p{"realm": "x"}}},
		},
		{
			name:    "non-ASCII (obs-text) in a quoted string",
			headers: []string{"Basic realm=\"caf\xc3\xa9\""},
			want:    []Challenge{{Scheme: "Basic", Params: p{"realm": "café"}}},
		},
		{
			name:    "empty header",
			headers: []string{""},
		},
		{
			name: "no headers",
		},
		{
			name:    "unterminated quoted string",
			headers: []string{`Bearer realm="https://a/t`},
			wantErr: "unterminated quoted string",
		},
		{
			name:    "dangling escape",
			headers: []string{`Bearer realm="abc\`},
			wantErr: "invalid escape",
		},
		{
			name:    "control character in a quoted string",
			headers: []string{"Bearer realm=\"a\x01b\""},
			wantErr: "invalid character",
		},
		{
			name:    "repeated parameter",
			headers: []string{`Bearer realm="a", REALM="b"`},
			wantErr: `parameter "realm" repeated`,
		},
		{
			name:    "parameter without value",
			headers: []string{`Bearer service="s", realm=`},
			wantErr: `parameter "realm" has no value`,
		},
		{
			// A lone "name=" is a token68 by the grammar, and what follows
			// it a new challenge.
			name:    "token68 that looks like an empty parameter",
			headers: []string{`Bearer realm=, service="s"`},
			want:    []Challenge{{Scheme: "Bearer", Token68: "realm="}},
			wantErr: `unexpected '=' after scheme "service"`,
		},
		{
			name:    "garbage after a value",
			headers: []string{`Bearer realm="a" service="b"`},
			wantErr: "expected a comma",
		},
		{
			name:    "no scheme",
			headers: []string{`="x"`},
			wantErr: "expected an authentication scheme",
		},
		{
			name:    "the challenges before an error are kept",
			headers: []string{`Basic realm="ok", Bearer realm="broken`},
			want:    []Challenge{{Scheme: "Basic", Params: p{"realm": "ok"}}},
			wantErr: "unterminated",
		},
		{
			name:    "a broken header does not hide the next one",
			headers: []string{`Bearer realm="broken`, `Basic realm="ok"`},
			want:    []Challenge{{Scheme: "Basic", Params: p{"realm": "ok"}}},
			wantErr: "header 1:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenges(tt.headers)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseChallenges(%q) error: %v", tt.headers, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ParseChallenges(%q) = %v, want an error containing %q", tt.headers, got, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("ParseChallenges(%q) error %q, want it to contain %q", tt.headers, err, tt.wantErr)
			case err != nil && !errors.Is(err, ErrMalformedChallenge):
				t.Fatalf("error %v does not wrap ErrMalformedChallenge", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseChallenges(%q)\n got %#v\nwant %#v", tt.headers, got, tt.want)
			}
		})
	}
}

func TestParseChallengesBounded(t *testing.T) {
	h := strings.Repeat("Basic, ", 1000)
	got, err := ParseChallenges([]string{h})
	if len(got) != maxChallenges || !errors.Is(err, ErrMalformedChallenge) {
		t.Fatalf("got %d challenges, error %v; want %d and ErrMalformedChallenge", len(got), err, maxChallenges)
	}
}

func TestChallengeStringRoundTrip(t *testing.T) {
	cs := []Challenge{
		{Scheme: "Bearer", Params: map[string]string{"realm": `a "quoted" \ realm`, "service": "", "scope": "repository:a:pull repository:b:push"}},
		{Scheme: "Negotiate", Token68: "abc+/=="},
		{Scheme: "Basic"},
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.String())
	}
	got, err := ParseChallenges([]string{strings.Join(parts, ", ")})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cs) {
		t.Errorf("round trip\n got %#v\nwant %#v", got, cs)
	}
}

func TestFind(t *testing.T) {
	cs, _ := ParseChallenges([]string{`Newauth realm="x", basic realm="b", Bearer realm="r"`})
	if c, ok := Find(cs, "BASIC"); !ok || c.Realm() != "b" {
		t.Errorf("Find(BASIC) = %v, %v", c, ok)
	}
	if c, ok := Find(cs, SchemeBearer); !ok || c.Realm() != "r" {
		t.Errorf("Find(Bearer) = %v, %v", c, ok)
	}
	if _, ok := Find(cs, "Digest"); ok {
		t.Error("Find(Digest) found a challenge")
	}
}
