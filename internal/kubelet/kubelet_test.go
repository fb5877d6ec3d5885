package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"v1", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"reg.example.com/team/app"}`, ""},
		{"v1beta1", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"reg.example.com/app"}`, ""},
		{"with a token", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r.example/a","serviceAccountToken":"jwt","serviceAccountAnnotations":{"a":"b"},"future":1}`, ""},
		{"malformed", `{"kind":`, "not a CredentialProviderRequest in JSON"},
		{"empty", ``, "not a CredentialProviderRequest in JSON"},
		{"another kind", `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r/a"}`, `kind "CredentialProviderResponse"`},
		{"unknown version", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v2","image":"r/a"}`, `apiVersion "credentialprovider.kubelet.k8s.io/v2" is not supported`},
		{"no image", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":" "}`, "no image"},
		{"two objects", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"r/a"} {}`, "unexpected data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest(strings.NewReader(tc.in))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("ParseRequest: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	for image, want := range map[string][]string{
		"reg.example.com/team-a/app":             {"reg.example.com/team-a/app", "reg.example.com/team-a", "reg.example.com"},
		"reg.example.com:5000/a/b/c":             {"reg.example.com:5000/a/b/c", "reg.example.com:5000/a/b", "reg.example.com:5000/a", "reg.example.com:5000"},
		"reg.example.com/app:1.0":                {"reg.example.com/app", "reg.example.com"},
		"reg.example.com/app@sha256:0123":        {"reg.example.com/app", "reg.example.com"},
		"localhost/app":                          {"localhost/app", "localhost"},
		"nginx":                                  {"docker.io/library/nginx", "docker.io/library", "docker.io"},
		"team/app":                               {"docker.io/team/app", "docker.io/team", "docker.io"},
		"docker.io/library/nginx":                {"docker.io/library/nginx", "docker.io/library", "docker.io"},
		"123.dkr.ecr.eu-west-3.amazonaws.com/ci": {"123.dkr.ecr.eu-west-3.amazonaws.com/ci", "123.dkr.ecr.eu-west-3.amazonaws.com"},
	} {
		if got := Candidates(image); !slices.Equal(got, want) {
			t.Errorf("Candidates(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestServe(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	req := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"reg.example.com/team/app"}`
	for _, tc := range []struct {
		name string
		cred *Credential
		want string
	}{
		{"host", &Credential{Key: "reg.example.com", Username: "u", Password: "p"},
			`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","auth":{"reg.example.com":{"username":"u","password":"p"}}}`},
		{"path", &Credential{Key: "reg.example.com/team", Username: "u", Password: "p"},
			`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image","auth":{"reg.example.com/team":{"username":"u","password":"p"}}}`},
		{"exchanged", &Credential{Key: "reg.example.com", Username: "oauth2accesstoken", Password: "tok", FreshUntil: now.Add(4*time.Minute + 500*time.Millisecond)},
			`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"4m0s","auth":{"reg.example.com":{"username":"oauth2accesstoken","password":"tok"}}}`},
		{"none", nil,
			`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"0s","auth":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Serve(context.Background(), strings.NewReader(req), &out, func(context.Context, *Request) (*Credential, error) { return tc.cred, nil }, func() time.Time { return now })
			if err != nil || strings.TrimSpace(out.String()) != tc.want {
				t.Errorf("Serve: %v\n got %s\nwant %s", err, out.String(), tc.want)
			}
		})
	}
	var out bytes.Buffer
	boom := errors.New("the keychain is locked")
	if err := Serve(context.Background(), strings.NewReader(req), &out, func(context.Context, *Request) (*Credential, error) { return nil, boom }, time.Now); !errors.Is(err, boom) || out.Len() != 0 {
		t.Errorf("Serve with a failing lookup: %v, stdout %q; want the error and nothing on stdout", err, out.String())
	}
}

// FuzzParseRequest: the request comes from kubelet; parsing never panics,
// and an accepted request has a kind, a supported version and an image
// whose candidates end with a host and start with the longest key.
func FuzzParseRequest(f *testing.F) {
	f.Add(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"reg.example.com/team/app"}`)
	f.Add(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"nginx:1@sha256:00","serviceAccountToken":"a.b.c"}`)
	f.Add(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"/"}`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ParseRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		if req.Kind != "CredentialProviderRequest" || !supported(req.APIVersion) || strings.TrimSpace(req.Image) == "" {
			t.Fatalf("accepted %+v", req)
		}
		c := Candidates(req.Image)
		if len(c) == 0 || strings.Contains(c[len(c)-1], "/") {
			t.Fatalf("Candidates(%q) = %q: no host last", req.Image, c)
		}
		b, _ := json.Marshal(req)
		if _, err := ParseRequest(bytes.NewReader(b)); err != nil {
			t.Fatalf("a request re-encoded is refused: %v", err)
		}
	})
}
