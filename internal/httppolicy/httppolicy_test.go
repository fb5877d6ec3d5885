package httppolicy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "10.0.0.1": false, "example.com": false, "localhost.example.com": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestDefaultCertsDirs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Linux roots")
	}
	env := map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg"}
	got := DefaultCertsDirs(func(k string) string { return env[k] })
	if want := []string{"/cfg/docker/certs.d", "/etc/docker/certs.d"}; !slices.Equal(got, want) {
		t.Errorf("DefaultCertsDirs = %q, want %q", got, want)
	}
	env["XDG_CONFIG_HOME"] = "relative"
	got = DefaultCertsDirs(func(k string) string { return env[k] })
	if want := []string{"/home/u/.config/docker/certs.d", "/etc/docker/certs.d"}; !slices.Equal(got, want) {
		t.Errorf("DefaultCertsDirs with a relative XDG_CONFIG_HOME = %q, want %q", got, want)
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		url    string
		ok     bool
	}{
		{"https", Policy{}, "https://reg.example.com/v2/", true},
		{"http to loopback", Policy{}, "http://127.0.0.1:5000/v2/", true},
		{"http to localhost", Policy{}, "http://localhost/token", true},
		{"http elsewhere", Policy{}, "http://reg.example.com/v2/", false},
		{"http to an insecure host", Policy{Insecure: []string{"reg.example.com"}}, "http://reg.example.com:8080/v2/", true},
		{"insecure entry with a port", Policy{Insecure: []string{"http://REG.example.com:8080/"}}, "http://reg.example.com:8080/v2/", true},
		{"insecure entry for another port", Policy{Insecure: []string{"reg.example.com:8080"}}, "http://reg.example.com:9090/v2/", false},
		{"AllowHTTP", Policy{AllowHTTP: true}, "http://idp.example.com/token", true},
		{"another scheme", Policy{AllowHTTP: true}, "ftp://idp.example.com/token", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.url)
			err := tc.policy.CheckURL(u, "URL")
			if (err == nil) != tc.ok {
				t.Fatalf("CheckURL(%s) = %v, want ok=%v", tc.url, err, tc.ok)
			}
			if err != nil && u.Scheme == "http" && !errors.Is(err, ErrInsecure) {
				t.Errorf("error %v does not wrap ErrInsecure", err)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	p := Policy{}
	for raw, want := range map[string]string{
		"https://idp.example.com/token":      "",
		"/token":                             "not an absolute URL",
		"https://user:pw@idp.example.com/t":  "user name or password",
		"https://idp.example.com/t#fragment": "fragment",
		"http://idp.example.com/token":       "refusing plain HTTP",
	} {
		_, err := p.ParseEndpoint("token URL", raw)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("ParseEndpoint(%q) = %v, want %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("ParseEndpoint(%q) shows the password: %v", raw, err)
		}
	}
}

// server answers /redirect with a 307 to target and everything else with
// the request's Authorization header.
func server(t *testing.T, target *string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, *target, http.StatusTemporaryRedirect)
			return
		}
		_, _ = io.WriteString(w, "auth="+r.Header.Get("Authorization"))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRedirects(t *testing.T) {
	var target string
	a := server(t, &target)
	// The same server under another name: another origin.
	other := strings.Replace(a.URL, "127.0.0.1", "localhost", 1)
	get := func(p Policy, body io.Reader) (string, error) {
		req, _ := http.NewRequest(http.MethodPost, a.URL+"/redirect", body)
		if body == nil {
			req.Method = http.MethodGet
		}
		req.Header.Set("Authorization", "Bearer secret-token-value")
		resp, err := p.Client().Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := ReadBody(resp)
		return string(b), err
	}

	target = a.URL + "/same"
	for _, r := range []Redirects{FollowSameOrigin, FollowDropCredentials} {
		if got, err := get(Policy{Redirects: r}, nil); err != nil || got != "auth=Bearer secret-token-value" {
			t.Errorf("redirect within the origin (rule %d): %q, %v; want followed with the header", r, got, err)
		}
	}
	target = other + "/elsewhere"
	if _, err := get(Policy{}, nil); err == nil || !strings.Contains(err.Error(), "credentials are never forwarded") {
		t.Errorf("FollowSameOrigin to another host: %v, want refused", err)
	}
	if got, err := get(Policy{Redirects: FollowDropCredentials}, nil); err != nil || got != "auth=" {
		t.Errorf("FollowDropCredentials to another host: %q, %v; want followed without the header", got, err)
	}
	if _, err := get(Policy{Redirects: FollowDropCredentials}, strings.NewReader("password=x")); err == nil || !strings.Contains(err.Error(), "carries credentials in its body") {
		t.Errorf("FollowDropCredentials of a request with a body: %v, want refused", err)
	}
}

func TestEveryRequestChecked(t *testing.T) {
	var target string
	a := server(t, &target)
	// A transport that would answer anything: the policy must refuse
	// before it is reached.
	reached := false
	p := Policy{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		reached = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	req, _ := http.NewRequest(http.MethodPost, "http://reg.example.com/token", strings.NewReader("refresh_token=x"))
	if _, err := p.Client().Do(req); !errors.Is(err, ErrInsecure) || reached {
		t.Errorf("plain HTTP POST elsewhere: %v (transport reached: %v), want ErrInsecure before any request", err, reached)
	}
	// An anonymous GET goes out when the policy says so.
	p.AnonymousHTTP = true
	p.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		reached = true
		r.URL.Host = strings.TrimPrefix(a.URL, "http://")
		return http.DefaultTransport.RoundTrip(r)
	})
	req, _ = http.NewRequest(http.MethodGet, "http://reg.example.com/v2/", nil)
	resp, err := p.Client().Do(req)
	if err != nil || !reached {
		t.Fatalf("anonymous GET with AnonymousHTTP: %v", err)
	}
	resp.Body.Close()
	reached = false
	req, _ = http.NewRequest(http.MethodGet, "http://reg.example.com/v2/", nil)
	req.SetBasicAuth("alice", "password")
	if _, err := p.Client().Do(req); !errors.Is(err, ErrInsecure) || reached {
		t.Errorf("GET with Basic over plain HTTP: %v, want ErrInsecure", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBodyBound(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{{1024, true}, {1025, false}, {1 << 20, false}} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("x", tc.size)))
		}))
		resp, err := Policy{MaxBody: 1024}.Client().Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ReadBody(resp)
		resp.Body.Close()
		s.Close()
		if tc.ok && (err != nil || len(b) != tc.size) {
			t.Errorf("body of %d bytes with a bound of 1024: %d bytes, %v", tc.size, len(b), err)
		}
		if !tc.ok && (!errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "larger than 1024 bytes")) {
			t.Errorf("body of %d bytes with a bound of 1024: %v, want ErrBodyTooLarge", tc.size, err)
		}
	}
}

func TestCertsDirOutsideRootNotRead(t *testing.T) {
	root := filepath.Join(t.TempDir(), "certs.d")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	// A broken CA in the root's parent: read, it would be an error.
	if err := os.WriteFile(filepath.Join(filepath.Dir(root), "ca.crt"), []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := Policy{CertsDirs: []string{root}}
	for _, host := range []string{"..", ".", "a/../..", `a\..`} {
		cfg, err := p.tlsConfig(host)
		if err != nil || cfg.RootCAs != nil {
			t.Errorf("tlsConfig(%q) = %v, %v; want the system roots and nothing read outside the root", host, cfg, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "reg.example.com"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "reg.example.com", "ca.crt"), []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.tlsConfig("reg.example.com"); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("tlsConfig of a host with a broken CA: %v, want it read and refused", err)
	}
}
