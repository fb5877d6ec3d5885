package registryauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/testca"
)

// testPKI is a throwaway CA (internal/testutil/testca) that signs server
// and client certificates, failing the test when it cannot.
type testPKI struct {
	*testca.CA
}

func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	ca, err := testca.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca}
}

// issue returns a certificate for names (DNS names or IP addresses),
// for a server or, with client set, for a client; and its PEM forms.
func (p *testPKI) issue(t *testing.T, client bool, names ...string) (tls.Certificate, []byte, []byte) {
	t.Helper()
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	l, err := p.Issue(usage, names...)
	if err != nil {
		t.Fatal(err)
	}
	return l.TLS, l.CertPEM, l.KeyPEM
}

// world serves made-up host names from local listeners: the client's
// dialer maps "host:port" to a listener, so tests can use hosts that are
// not on loopback. The test CA is trusted through a certs.d directory, the
// way a user would configure it.
type world struct {
	t        *testing.T
	pki      *testPKI
	certsDir string
	mu       sync.Mutex
	addrs    map[string]string // "host:port" as dialled -> listener address
}

func newWorld(t *testing.T) *world {
	return &world{t: t, pki: newTestPKI(t, "registryauth test CA"), certsDir: t.TempDir(), addrs: map[string]string{}}
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// serveTLS serves h over TLS as host (port 443, or host:port), trusted
// through certs.d/<host>/ca.crt. tweak, if set, adjusts the server's TLS
// config.
func (w *world) serveTLS(host string, h http.Handler, tweak func(*tls.Config)) *httptest.Server {
	w.t.Helper()
	hostport := host + ":443"
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		hostport, name = host, n
	}
	pair, _, _ := w.pki.issue(w.t, false, name)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = quietLog()
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if tweak != nil {
		tweak(srv.TLS)
	}
	srv.StartTLS()
	w.t.Cleanup(srv.Close)
	w.trust(host)
	w.route(hostport, srv.Listener.Addr().String())
	return srv
}

// serveHTTP serves h over plain HTTP as host (port 80).
func (w *world) serveHTTP(host string, h http.Handler) *httptest.Server {
	w.t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = quietLog()
	srv.Start()
	w.t.Cleanup(srv.Close)
	w.route(host+":80", srv.Listener.Addr().String())
	return srv
}

func (w *world) route(hostport, addr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addrs[hostport] = addr
}

// trust writes the test CA into host's certs.d directory.
func (w *world) trust(host string) {
	w.t.Helper()
	w.writeCertsFile(host, "ca.crt", w.pki.PEM)
}

func (w *world) writeCertsFile(host, name string, b []byte) {
	w.t.Helper()
	dir := filepath.Join(w.certsDir, host)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	target, ok := w.addrs[addr]
	w.mu.Unlock()
	if !ok {
		host, _, _ := net.SplitHostPort(addr)
		if !httppolicy.IsLoopback(host) {
			return nil, fmt.Errorf("test world: no server for %s", addr)
		}
		target = addr
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target)
}

// client returns a Client in this world; opts.CertsDirs and the dialer are
// set, and the timeout defaults to 5 s.
func (w *world) client(opts Options) *Client {
	opts.CertsDirs = []string{w.certsDir}
	opts.dialContext = w.dial
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	opts.Logf = func(format string, args ...any) { w.t.Logf("registryauth: "+format, args...) }
	c := New(opts, func(string) string { return "" })
	w.t.Cleanup(c.Close)
	return c
}

// seen is one request a test server received.
type seen struct {
	Method, Path  string
	Query         url.Values
	Form          url.Values
	Authorization string
}

// recorder records requests.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) record(req *http.Request) seen {
	s := seen{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Authorization: req.Header.Get("Authorization")}
	if req.Method == http.MethodPost {
		_ = req.ParseForm()
		s.Form = req.PostForm
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, s)
	r.mu.Unlock()
	return s
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

// fakeRegistry answers /v2/ with 200 when accept says so and 401 with
// challenge otherwise.
func fakeRegistry(rec *recorder, challenge string, accept func(authz string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := rec.record(r)
		if r.URL.Path != "/v2/" {
			http.NotFound(w, r)
			return
		}
		if accept != nil && accept(s.Authorization) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{}")
			return
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`)
	})
}

func bearer(tok string) func(string) bool {
	return func(authz string) bool { return authz == "Bearer "+tok }
}

func basicAuth(user, pass string) func(string) bool {
	return func(authz string) bool {
		r := &http.Request{Header: http.Header{"Authorization": {authz}}}
		u, p, ok := r.BasicAuth()
		return ok && u == user && p == pass
	}
}

// writeJSON answers with status and body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func mustEndpoint(t *testing.T, s string) Endpoint {
	t.Helper()
	e, err := ParseRegistry(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func hasAuthorization(reqs []seen) bool {
	for _, r := range reqs {
		if r.Authorization != "" {
			return true
		}
	}
	return false
}
