package registryauth

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The faults the real registry and token server cannot be made to show.

func TestTimeout(t *testing.T) {
	for _, where := range []string{"registry", "token server", "token body"} {
		t.Run(where, func(t *testing.T) {
			w := newWorld(t)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			stall := func(r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}
			var reg, ts recorder
			regH := fakeRegistry(&reg, tokenChallenge, bearer("tok"))
			if where == "registry" {
				regH = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stall(r) })
			}
			w.serveTLS("registry.test", regH, nil)
			w.serveTLS("auth.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ts.record(r)
				if where == "token body" {
					// Headers at once, then a body that never ends.
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusOK)
					_, _ = io.WriteString(w, `{"token":"`)
					w.(http.Flusher).Flush()
				}
				stall(r)
			}), nil)
			timeout := 300 * time.Millisecond
			c := w.client(Options{Timeout: timeout})
			start := time.Now()
			_, err := c.Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 300ms") {
				t.Fatalf("error %v, want a timeout that says how long it waited", err)
			}
			// Not a timing assertion: a hung request would block until the
			// test binary's own deadline.
			t.Logf("gave up after %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestOversizedTokenResponse(t *testing.T) {
	w := newWorld(t)
	var reg, ts recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
	w.serveTLS("auth.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":"tok","padding":"`)
		chunk := strings.Repeat("x", 16<<10)
		for i := 0; i < 64; i++ { // 1 MiB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}`)
	}, nil), nil)
	_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 128 KiB") {
		t.Fatalf("error %v, want the 128 KiB bound", err)
	}
}

func TestTokenResponseJustUnderTheBound(t *testing.T) {
	w := newWorld(t)
	var reg, ts recorder
	w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
	w.serveTLS("auth.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
		body := `{"token":"tok","padding":"` + strings.Repeat("x", maxTokenResponse-40) + `"}`
		writeJSON(w, http.StatusOK, body)
	}, nil), nil)
	if _, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil); err != nil {
		t.Fatal(err)
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name     string
		registry http.HandlerFunc
		post     func(http.ResponseWriter, seen)
		want     string
	}{
		{
			name: "registry 503",
			registry: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 503, `{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}`)
			},
			want: "the registry at https://registry.test/v2/ answered 503 Service Unavailable: UNAVAILABLE: maintenance",
		},
		{
			name:     "registry 404: not a registry",
			registry: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			want:     "answered 404 Not Found: 404 page not found",
		},
		{
			name: "token server 500",
			post: func(w http.ResponseWriter, _ seen) { writeJSON(w, 500, "<html>\n<b>oops</b>\n</html>") },
			want: "the token server at https://auth.test/token answered 500 Internal Server Error: <html> <b>oops</b> </html>",
		},
		{
			name: "token server 502 with a huge body",
			post: func(w http.ResponseWriter, _ seen) { writeJSON(w, 502, strings.Repeat("e", 1<<20)) },
			want: "answered 502 Bad Gateway: eeee",
		},
		{
			name: "malformed JSON",
			post: func(w http.ResponseWriter, _ seen) { writeJSON(w, 200, `{"token": "abc`) },
			want: "failed to read the token response from https://auth.test/token: invalid token response",
		},
		{
			name: "HTML instead of JSON",
			post: func(w http.ResponseWriter, _ seen) { writeJSON(w, 200, `<html>login</html>`) },
			want: "not JSON",
		},
		{
			name: "no token",
			post: func(w http.ResponseWriter, _ seen) { writeJSON(w, 200, `{"expires_in":60}`) },
			want: "holds no token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var reg, ts recorder
			var regH http.Handler = fakeRegistry(&reg, tokenChallenge, bearer("tok"))
			if tt.registry != nil {
				regH = tt.registry
			}
			w.serveTLS("registry.test", regH, nil)
			w.serveTLS("auth.test", tokenServer(&ts, tt.post, nil), nil)
			_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant one containing %q", err, tt.want)
			}
			if errors.Is(err, ErrRejected) {
				t.Errorf("a server failure reported as a rejected credential: %v", err)
			}
			if len(err.Error()) > 600 {
				t.Errorf("error of %d bytes: a server's message must be shortened", len(err.Error()))
			}
		})
	}
}

// TestRedirects: a redirect to another host never carries the
// Authorization header, and a form holding a secret is never resent there.
func TestRedirects(t *testing.T) {
	t.Run("GET to another host drops Authorization", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts, other recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
		w.serveTLS("auth.test", tokenServer(&ts, nil, func(w http.ResponseWriter, s seen) {
			w.Header().Set("Location", "https://other.test/token?"+s.Query.Encode())
			w.WriteHeader(http.StatusFound)
		}), nil)
		w.serveTLS("other.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			other.record(r)
			writeJSON(w, http.StatusOK, `{"token":"tok"}`)
		}), nil)
		if _, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil); err != nil {
			t.Fatal(err)
		}
		got := other.all()
		if len(got) != 1 {
			t.Fatalf("other.test saw %d requests, want the redirected GET", len(got))
		}
		if got[0].Authorization != "" {
			t.Errorf("other.test received Authorization %q", got[0].Authorization)
		}
		if !basicAuth("alice", "s3cr3t-password")(ts.all()[1].Authorization) {
			t.Errorf("auth.test did not receive the credential: the test proves nothing")
		}
	})
	t.Run("GET to another port of the same host drops Authorization", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts, other recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
		w.serveTLS("auth.test", tokenServer(&ts, nil, func(w http.ResponseWriter, s seen) {
			w.Header().Set("Location", "https://auth.test:8443/token")
			w.WriteHeader(http.StatusTemporaryRedirect)
		}), nil)
		w.serveTLS("auth.test:8443", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			other.record(r)
			writeJSON(w, http.StatusOK, `{"token":"tok"}`)
		}), nil)
		if _, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil); err != nil {
			t.Fatal(err)
		}
		if got := other.all(); len(got) != 1 || got[0].Authorization != "" {
			t.Errorf("port 8443 saw %+v, want one request without Authorization", got)
		}
	})
	t.Run("GET within the same host keeps Authorization", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
		w.serveTLS("auth.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := ts.record(r)
			switch {
			case r.Method == http.MethodPost:
				http.NotFound(w, r)
			case r.URL.Path == "/token":
				http.Redirect(w, r, "/v2/token?"+r.URL.RawQuery, http.StatusFound)
			case basicAuth("alice", "s3cr3t-password")(s.Authorization):
				writeJSON(w, http.StatusOK, `{"token":"tok"}`)
			default:
				writeJSON(w, http.StatusUnauthorized, `{}`)
			}
		}), nil)
		if _, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("POST with a secret in the form is not resent to another host", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts, other recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
		w.serveTLS("auth.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
			w.Header().Set("Location", "https://other.test/token")
			w.WriteHeader(http.StatusTemporaryRedirect)
		}, nil), nil)
		w.serveTLS("other.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			other.record(r)
			writeJSON(w, http.StatusOK, `{"access_token":"tok"}`)
		}), nil)
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), identity, nil)
		if err == nil || !strings.Contains(err.Error(), "carries credentials in its body") {
			t.Fatalf("error %v, want the redirect refused", err)
		}
		if got := other.all(); len(got) != 0 {
			t.Errorf("other.test received %+v", got)
		}
	})
	t.Run("redirect to plain HTTP on another host is refused", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts, other recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, tokenChallenge, bearer("tok")), nil)
		w.serveTLS("auth.test", tokenServer(&ts, nil, func(w http.ResponseWriter, s seen) {
			w.Header().Set("Location", "http://other.test/token")
			w.WriteHeader(http.StatusFound)
		}), nil)
		w.serveHTTP("other.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			other.record(r)
			writeJSON(w, http.StatusOK, `{"token":"tok"}`)
		}))
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if !errors.Is(err, ErrInsecure) {
			t.Fatalf("error %v, want ErrInsecure", err)
		}
		if len(other.all()) != 0 {
			t.Errorf("other.test was contacted over plain HTTP")
		}
	})
}

// TestPlainHTTP: credentials go over plain HTTP only to loopback hosts and
// hosts marked insecure.
func TestPlainHTTP(t *testing.T) {
	t.Run("plain-HTTP realm for a non-loopback host is refused", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, `Bearer realm="http://auth.test/token",service="registry.test"`, bearer("tok")), nil)
		w.serveHTTP("auth.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
			writeJSON(w, http.StatusOK, `{"access_token":"tok"}`)
		}, nil))
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "token realm http://auth.test/token") {
			t.Fatalf("error %v, want ErrInsecure naming the realm", err)
		}
		if len(ts.all()) != 0 {
			t.Errorf("the plain-HTTP realm was contacted: %+v", ts.all())
		}
		// Marked insecure, the realm is still refused: the registry was
		// reached over HTTPS, and a plain-HTTP realm would be a downgrade.
		_, err = w.client(Options{Insecure: []string{"auth.test"}}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "reached over HTTPS") {
			t.Fatalf("with auth.test insecure: %v, want the downgrade refused", err)
		}
		if len(ts.all()) != 0 {
			t.Errorf("the plain-HTTP realm was contacted: %+v", ts.all())
		}
	})
	t.Run("loopback realm for a remote registry is refused", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts recorder
		local := w.serveHTTP("unused.test", tokenServer(&ts, func(w http.ResponseWriter, s seen) {
			writeJSON(w, http.StatusOK, `{"access_token":"tok"}`)
		}, nil))
		w.serveTLS("registry.test", fakeRegistry(&reg, `Bearer realm="`+local.URL+`/token",service="registry.test"`, bearer("tok")), nil)
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "is on loopback") {
			t.Fatalf("error %v, want the loopback realm refused", err)
		}
		if len(ts.all()) != 0 {
			t.Errorf("the loopback realm was contacted")
		}
	})
	t.Run("plain-HTTP registry not on loopback", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		w.serveHTTP("registry.test", fakeRegistry(&reg, `Basic realm="r"`, basicAuth("alice", "s3cr3t-password")))
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "http://registry.test"), alice, nil)
		if !errors.Is(err, ErrInsecure) {
			t.Fatalf("error %v, want ErrInsecure", err)
		}
		if got := reg.all(); len(got) != 0 {
			t.Errorf("the registry was contacted over plain HTTP: %+v", got)
		}
		// Without a credential, the ping is allowed (check reports what
		// the registry asks for).
		if r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "http://registry.test"), nil, nil); err != nil || r.Scheme != SchemeBasic {
			t.Errorf("ping only: %+v, %v", r, err)
		}
		for _, entry := range []string{"registry.test", "REGISTRY.test:80", "http://registry.test/"} {
			r, err := w.client(Options{Insecure: []string{entry}}).Authenticate(context.Background(), mustEndpoint(t, "http://registry.test"), alice, nil)
			if err != nil || !r.Authenticated {
				t.Errorf("insecure %q: %+v, %v", entry, r, err)
			}
		}
		if _, err := w.client(Options{Insecure: []string{"registry.test:5000"}}).Authenticate(context.Background(), mustEndpoint(t, "http://registry.test"), alice, nil); !errors.Is(err, ErrInsecure) {
			t.Errorf("an entry for another port allowed port 80: %v", err)
		}
	})
	t.Run("loopback registry over plain HTTP, found by falling back from HTTPS", func(t *testing.T) {
		w := newWorld(t)
		var reg, ts recorder
		tsSrv := w.serveHTTP("unused.test", tokenServer(&ts, nil, func(w http.ResponseWriter, s seen) {
			writeJSON(w, http.StatusOK, `{"token":"tok"}`)
		}))
		tsURL, _ := url.Parse(tsSrv.URL)
		// The realm is on 127.0.0.1, as the registry is.
		srv := w.serveHTTP("unused2.test", fakeRegistry(&reg, `Bearer realm="http://`+tsURL.Host+`/token",service="local"`, bearer("tok")))
		host := strings.TrimPrefix(srv.URL, "http://")
		r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, host), alice, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.PingURL != "http://"+host+"/v2/" || !r.Authenticated {
			t.Errorf("result %+v", r)
		}
	})
	t.Run("no fallback to plain HTTP from a loopback TLS server that fails verification", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		srv := httptest.NewTLSServer(fakeRegistry(&reg, `Basic realm="r"`, nil))
		srv.Config.ErrorLog = quietLog()
		t.Cleanup(srv.Close)
		host := strings.TrimPrefix(srv.URL, "https://")
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, host), alice, nil)
		if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "http://") {
			t.Fatalf("error %v, want the certificate failure alone", err)
		}
	})
	t.Run("no fallback to plain HTTP for a remote registry", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		w.serveHTTP("registry.test", fakeRegistry(&reg, `Basic realm="r"`, nil))
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if err == nil || len(reg.all()) != 0 {
			t.Fatalf("error %v, requests %+v: want HTTPS only", err, reg.all())
		}
	})
}

// TestTLS: certs.d CAs and client certificates, TLS 1.2 at least.
func TestTLS(t *testing.T) {
	requireClientCert := func(w *world) func(*tls.Config) {
		return func(c *tls.Config) {
			c.ClientAuth = tls.RequireAndVerifyClientCert
			c.ClientCAs = w.pki.Pool
		}
	}
	t.Run("mTLS with a certs.d client certificate", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="r"`, basicAuth("alice", "s3cr3t-password")), requireClientCert(w))
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("without a client certificate: error %v, want a TLS failure", err)
		}
		_, certPEM, keyPEM := w.pki.issue(t, true, "client")
		w.writeCertsFile("registry.test", "client.cert", certPEM)
		w.writeCertsFile("registry.test", "client.key", keyPEM)
		r, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if err != nil || !r.Authenticated {
			t.Fatalf("with a client certificate: %+v, %v", r, err)
		}
	})
	t.Run("certificates of another host are not used", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="r"`, basicAuth("alice", "s3cr3t-password")), requireClientCert(w))
		_, certPEM, keyPEM := w.pki.issue(t, true, "client")
		w.writeCertsFile("other.test", "client.cert", certPEM)
		w.writeCertsFile("other.test", "client.key", keyPEM)
		if _, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil); err == nil {
			t.Fatal("other.test's client certificate was presented to registry.test")
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="r"`, nil), nil)
		c := New(Options{CertsDirs: []string{}, dialContext: w.dial}, func(string) string { return "" })
		defer c.Close()
		_, err := c.Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v, want a certificate error", err)
		}
		if len(reg.all()) != 0 {
			t.Error("a request reached a server whose certificate is not trusted")
		}
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		w := newWorld(t)
		var reg recorder
		w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="r"`, nil), func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS10
			c.MaxVersion = tls.VersionTLS11
		})
		_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("error %v, want a protocol version failure", err)
		}
	})
	t.Run("broken certs.d directories", func(t *testing.T) {
		tests := []struct {
			name  string
			files map[string]string
			want  string
		}{
			{"client certificate without key", map[string]string{"client.cert": "x"}, "missing key client.key"},
			{"key without client certificate", map[string]string{"client.key": "x"}, "missing certificate client.cert"},
			{"CA file without a certificate", map[string]string{"ca.crt": "not PEM"}, "no PEM certificate"},
			{"unparsable client pair", map[string]string{"client.cert": "x", "client.key": "y"}, "failed to load client certificate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := newWorld(t)
				var reg recorder
				w.serveTLS("registry.test", fakeRegistry(&reg, `Basic realm="r"`, nil), nil)
				for name, content := range tt.files {
					w.writeCertsFile("registry.test", name, []byte(content))
				}
				_, err := w.client(Options{}).Authenticate(context.Background(), mustEndpoint(t, "registry.test"), alice, nil)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				}
			})
		}
	})
}

func TestParseRegistry(t *testing.T) {
	tests := []struct {
		in, key, host, scheme, err string
	}{
		{in: "registry.example.com", key: "registry.example.com", host: "registry.example.com"},
		{in: "https://Registry.Example.com:5000/", key: "registry.example.com:5000", host: "registry.example.com:5000", scheme: "https"},
		{in: "http://localhost:5000", key: "localhost:5000", host: "localhost:5000", scheme: "http"},
		{in: "https://index.docker.io/v1/", key: "docker.io", host: "registry-1.docker.io", scheme: "https"},
		{in: "docker.io", key: "docker.io", host: "registry-1.docker.io"},
		{in: "[::1]:5000", key: "[::1]:5000", host: "[::1]:5000"},
		{in: "registry.example.com/ns/repo", err: "without a repository path"},
		{in: "ftp://x", err: "unsupported scheme"},
		{in: "", err: "no credentials server URL"},
	}
	for _, tt := range tests {
		e, err := ParseRegistry(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRegistry(%q) = %+v, %v; want error %q", tt.in, e, err, tt.err)
			}
			continue
		}
		if err != nil || e.Key.String() != tt.key || e.Host != tt.host || e.Scheme != tt.scheme {
			t.Errorf("ParseRegistry(%q) = {%s %s %s}, %v; want {%s %s %s}", tt.in, e.Key, e.Host, e.Scheme, err, tt.key, tt.host, tt.scheme)
		}
	}
}
