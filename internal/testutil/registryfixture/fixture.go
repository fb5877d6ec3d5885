// Package registryfixture runs real registries on 127.0.0.1 for tests,
// with a throwaway test CA: distribution's registry v3 with htpasswd Basic
// auth over TLS, and registry v3 with token auth against distribution's
// contrib token server, behind a TLS front that serves the realm on the
// registry's own host and port (clients refuse a loopback realm
// elsewhere). tests/e2e and tests/registry start it once per test binary
// with [Start]; the servers are the pinned peers of
// scripts/install-peers.sh. Only tests import this package.
package registryfixture

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Options says what to start. Dir, Registry and TokenServer are required.
type Options struct {
	// Dir holds the CA, the configurations, the storage and the logs.
	Dir string
	// Registry and TokenServer are the paths of distribution's registry v3
	// and of its contrib token server.
	Registry, TokenServer string
	// Name prefixes the realms and names the CA, e.g. "e2e". Empty means
	// "registryfixture".
	Name string
	// User is the user of both registries; the token server grants
	// scopes only on repositories under "<User>/". Empty means "alice".
	User string
	// SecondUser, when not empty, is a second user of both registries with
	// a password of its own: on the token registry it holds the namespace
	// "<SecondUser>/" and no other, so a test can give one registry a
	// different credential per namespace.
	SecondUser string
	// Service is the token registry's service, Issuer the token server's
	// issuer. Empty means Name+"-registry" and Name+"-token-server".
	Service, Issuer string
	// BasicRealm is the Basic registry's realm. Empty means Name+"-basic".
	BasicRealm string
	// ClientID is the client_id RefreshToken sends. Empty means Name.
	ClientID string
}

// Servers is the running registries.
type Servers struct {
	Dir string
	// CAFile is the test CA (PEM, also in CAPEM and Roots); CertFile and
	// KeyFile are the servers' certificate for 127.0.0.1 and its key.
	CAFile, CertFile, KeyFile string
	CAPEM                     []byte
	Roots                     *x509.CertPool
	// User's password on both registries, random.
	User, Password string
	// SecondUser's password, random; both empty without Options.SecondUser.
	SecondUser, SecondPassword string
	// Service is the token registry's service.
	Service string
	// BasicHost serves the registry with htpasswd; TokenHost is the TLS
	// front of the token registry (/v2/) and the token server (/token/).
	// Both are 127.0.0.1:<port>.
	BasicHost, TokenHost string

	clientID string
	procs    []*Process
	// restarts rebuild the token server's and the token registry's
	// commands, for RotateTokenKey.
	restarts map[string]func() *exec.Cmd
	keyFile  string
	jwksFile string
	front    *http.Server
	// extra are the fronts of workload registries.
	extra []*http.Server
}

// Start writes a throwaway CA and the servers' configuration into
// opts.Dir, starts registry (Basic), token-server, registry (token) and the
// front, and waits until each answers (until ctx ends). On error nothing
// is left running.
func Start(ctx context.Context, opts Options) (_ *Servers, err error) {
	if opts.Dir == "" || opts.Registry == "" || opts.TokenServer == "" {
		return nil, errors.New("registryfixture: Dir, Registry and TokenServer are required")
	}
	name := opts.Name
	if name == "" {
		name = "registryfixture"
	}
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	s := &Servers{
		Dir:      opts.Dir,
		User:     def(opts.User, "alice"),
		Service:  def(opts.Service, name+"-registry"),
		clientID: def(opts.ClientID, name),
	}
	issuer := def(opts.Issuer, name+"-token-server")
	dir := opts.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.writeCA(name + " test CA"); err != nil {
		return nil, fmt.Errorf("failed to create the test CA: %v", err)
	}
	users := map[string]string{s.User: randomPassword()}
	s.Password = users[s.User]
	if opts.SecondUser != "" {
		s.SecondUser, s.SecondPassword = opts.SecondUser, randomPassword()
		users[s.SecondUser] = s.SecondPassword
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := WriteHtpasswd(htpasswd, users); err != nil {
		return nil, err
	}

	// Registry with Basic auth, serving TLS itself.
	if s.BasicHost, err = FreeAddr(); err != nil {
		return nil, err
	}
	basicCfg := RegistryConfig(filepath.Join(dir, "basic-storage"), s.BasicHost,
		s.TLSConfigYAML(),
		fmt.Sprintf("  htpasswd:\n    realm: %s\n    path: %s\n", def(opts.BasicRealm, name+"-basic"), htpasswd))
	if err := s.startRegistry(opts.Registry, "registry-basic", basicCfg); err != nil {
		return nil, err
	}

	// Token server, plain HTTP behind the front, signing with a key whose
	// libtrust key id the token registry finds in a JWKS.
	keyFile := filepath.Join(dir, "token-key.pem")
	jwksFile := filepath.Join(dir, "token-jwks.json")
	if err := writeTokenKey(keyFile, jwksFile); err != nil {
		return nil, fmt.Errorf("failed to create the token signing key: %v", err)
	}
	tsAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s.keyFile, s.jwksFile = keyFile, jwksFile
	tokenServer := func() *exec.Cmd {
		return exec.Command(opts.TokenServer,
			"-addr", tsAddr, "-issuer", issuer, "-key", keyFile, "-passwd", htpasswd, "-realm", name+"-token")
	}
	p, err := StartProcess(dir, "token-server", tokenServer())
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)

	// The front listens first, so that the registry's realm can name it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.TokenHost = ln.Addr().String()
	regAddr, err := FreeAddr()
	if err != nil {
		ln.Close()
		return nil, err
	}
	tokenCfg := RegistryConfig(filepath.Join(dir, "token-storage"), regAddr, "",
		fmt.Sprintf("  token:\n    realm: https://%s/token/\n    service: %s\n    issuer: %s\n    jwks: %s\n",
			s.TokenHost, s.Service, issuer, jwksFile))
	if err := s.startRegistry(opts.Registry, "registry-token", tokenCfg); err != nil {
		ln.Close()
		return nil, err
	}
	s.restarts = map[string]func() *exec.Cmd{
		"token-server": tokenServer,
		"registry-token": func() *exec.Cmd {
			return exec.Command(opts.Registry, "serve", filepath.Join(dir, "registry-token.yml"))
		},
	}
	if err := s.serveFront(ln, "http://"+regAddr, "http://"+tsAddr); err != nil {
		ln.Close()
		return nil, err
	}

	for _, host := range []string{s.BasicHost, s.TokenHost} {
		if err := s.WaitChallenge(ctx, host); err != nil {
			return nil, err
		}
	}
	if err := s.waitTokenServer(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// RotateTokenKey gives the token server a new signing key and makes the
// token registry trust only that one, as a key rotation does once the old
// key is retired: both are restarted on their addresses, and tokens issued
// before are refused from then on. It returns once both answer again.
func (s *Servers) RotateTokenKey(ctx context.Context) error {
	for _, name := range []string{"token-server", "registry-token"} {
		for _, p := range s.procs {
			if p.Name == name {
				p.Stop()
			}
		}
	}
	if err := writeTokenKey(s.keyFile, s.jwksFile); err != nil {
		return err
	}
	for i, p := range s.procs {
		mk, ok := s.restarts[p.Name]
		if !ok {
			continue
		}
		np, err := StartProcess(s.Dir, p.Name, mk())
		if err != nil {
			return err
		}
		s.procs[i] = np
	}
	if err := s.WaitChallenge(ctx, s.TokenHost); err != nil {
		return err
	}
	return s.waitTokenServer(ctx)
}

// randomPassword is 16 random bytes in hex.
func randomPassword() string {
	pw := make([]byte, 16)
	_, _ = rand.Read(pw) // never fails (crypto/rand)
	return hex.EncodeToString(pw)
}

// WriteHtpasswd writes an htpasswd file with users (name to password), in
// the bcrypt format both servers read; the lowest cost keeps each login
// fast.
func WriteHtpasswd(path string, users map[string]string) error {
	var b strings.Builder
	for _, user := range slices.Sorted(maps.Keys(users)) {
		hash, err := bcrypt.GenerateFromPassword([]byte(users[user]), bcrypt.MinCost)
		if err != nil {
			return err
		}
		b.WriteString(user + ":" + string(hash) + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// TLSConfigYAML is the http.tls fragment of a registry configuration
// (for RegistryConfig) that serves the test CA's certificate.
func (s *Servers) TLSConfigYAML() string {
	return fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", s.CertFile, s.KeyFile)
}

// RegistryConfig is a distribution v3 configuration; tls and auth are YAML
// fragments indented under http: and auth:.
func RegistryConfig(storage, addr, tls, auth string) string {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	return fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: %s
%sauth:
%s`, storage, addr, hex.EncodeToString(secret), tls, auth)
}

func (s *Servers) startRegistry(path, name, config string) error {
	cfg := filepath.Join(s.Dir, name+".yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return err
	}
	p, err := StartProcess(s.Dir, name, exec.Command(path, "serve", cfg))
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	return nil
}

// serveFront serves TLS on ln: /token/ to the token server, the rest to
// the registry.
func (s *Servers) serveFront(ln net.Listener, registry, tokenServer string) error {
	regURL, err := url.Parse(registry)
	if err != nil {
		return err
	}
	tsURL, err := url.Parse(tokenServer)
	if err != nil {
		return err
	}
	lf, err := os.Create(filepath.Join(s.Dir, "front.log"))
	if err != nil {
		return err
	}
	logger := log.New(lf, "", log.LstdFlags)
	proxy := func(target *url.URL) *httputil.ReverseProxy {
		return &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				// The registry builds upload locations from Host and
				// X-Forwarded-Proto: the client's view, not the backend's.
				r.Out.Host = r.In.Host
				r.SetXForwarded()
			},
			ErrorLog: logger,
		}
	}
	// The token server keeps its refresh tokens in a map without a lock:
	// tests running in parallel must not reach it concurrently.
	var tokenMu sync.Mutex
	tokenProxy := proxy(tsURL)
	mux := http.NewServeMux()
	mux.Handle("/token/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenMu.Lock()
		defer tokenMu.Unlock()
		tokenProxy.ServeHTTP(w, r)
	}))
	mux.Handle("/", proxy(regURL))
	s.front = s.newFront(mux, lf)
	if s.front == nil {
		return errors.New("failed to load the servers' certificate")
	}
	go func() { _ = s.front.ServeTLS(ln, "", "") }()
	return nil
}

// newFront is a TLS server with the servers' certificate that logs to lf;
// nil when the certificate cannot be loaded.
func (s *Servers) newFront(h http.Handler, lf *os.File) *http.Server {
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil
	}
	return &http.Server{
		Handler:           h,
		ErrorLog:          log.New(lf, "", log.LstdFlags),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
}

// HTTPClient trusts the test CA and no proxy.
func (s *Servers) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.Roots, MinVersion: tls.VersionTLS12},
			Proxy:           nil,
		},
	}
}

// WaitChallenge polls GET https://host/v2/ until the registry challenges
// (401), a server exits, or ctx ends.
func (s *Servers) WaitChallenge(ctx context.Context, host string) error {
	client := s.HTTPClient()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		last = err
		if err := s.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry on %s not ready: %v%s", host, last, s.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitTokenServer polls the token server through the front until it
// grants a refresh token.
func (s *Servers) waitTokenServer(ctx context.Context) error {
	var last error
	for {
		_, err := s.RefreshToken(ctx)
		if err == nil {
			return nil
		}
		last = err
		if err := s.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("token server not ready: %v%s", last, s.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RefreshToken gets a refresh token for User from the token server, the
// way docker's daemon does at login: the token GET with
// offline_token=true.
func (s *Servers) RefreshToken(ctx context.Context) (string, error) {
	q := url.Values{
		"service":       {s.Service},
		"offline_token": {"true"},
		"client_id":     {s.clientID},
		"scope":         {"repository:" + s.User + "/seed:pull"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.TokenHost+"/token/?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(s.User, s.Password)
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	// A token response is a few kilobytes; 1 MiB is far more than enough.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token server: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("token server: %v", err)
	}
	if tr.RefreshToken == "" {
		return "", errors.New("token server returned no refresh token")
	}
	return tr.RefreshToken, nil
}

// Exited returns an error naming the first server that has exited, with
// the servers' logs; nil while all run.
func (s *Servers) Exited() error {
	for _, p := range s.procs {
		if p.Exited() {
			return fmt.Errorf("%s exited: %v%s", p.Name, p.Err(), s.Logs())
		}
	}
	return nil
}

// Logs is the tail of every server's log, for an error message.
func (s *Servers) Logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		fmt.Fprintf(&b, "\n--- %s (%s), last lines:\n%s", p.Name, p.LogFile, Tail(p.LogFile, 20))
	}
	return b.String()
}

// Close stops every server.
func (s *Servers) Close() {
	for _, f := range append([]*http.Server{s.front}, s.extra...) {
		if f == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.Shutdown(ctx)
		cancel()
	}
	for _, p := range s.procs {
		p.Stop()
	}
	s.procs = nil
}
