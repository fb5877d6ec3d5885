// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The one user of both registries. The token server grants scopes only on
// repositories under "<user>/", so every repository is alice/….
const testUser = "alice"

// The token registry's service and the token server's issuer; they must
// agree between the two.
const (
	tokenService = "e2e-registry"
	tokenIssuer  = "e2e-token-server"
)

// endpoint is one registry as clients see it.
type endpoint struct {
	// Scheme is "basic" or "token".
	Scheme string
	// Host is 127.0.0.1:<port>, what clients log in to.
	Host string
}

// fixture is the servers every row shares, started once per test binary run.
type fixture struct {
	dir      string
	caFile   string // the test CA, PEM
	caPEM    []byte
	certFile string // the servers' certificate, for 127.0.0.1
	keyFile  string
	password string // testUser's password on both registries

	basic endpoint // registry with htpasswd, TLS
	token endpoint // TLS front: /v2/ to the registry, /token/ to the token server

	roots    *x509.CertPool
	frontLog *log.Logger // the TLS front's proxy errors, in front.log
	procs    []*process
	front    *http.Server
}

// startFixture writes a throwaway CA and the servers' configuration into dir
// and starts registry (Basic), token-server, registry (token) and the TLS
// front of the latter two. On error the servers already started are
// stopped.
func startFixture(ctx context.Context, dir string, peers *peerSet) (_ *fixture, err error) {
	f := &fixture{dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	if err := f.writeCA(); err != nil {
		return nil, fmt.Errorf("failed to create the test CA: %v", err)
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	f.password = hex.EncodeToString(pw)

	htpasswdFile := filepath.Join(dir, "htpasswd")
	cmd := exec.CommandContext(ctx, peers.path("htpasswd"), "-iBc", htpasswdFile, testUser)
	cmd.Stdin = strings.NewReader(f.password) // -i: from stdin, never argv
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("htpasswd: %v: %s", err, out)
	}

	// Registry with Basic auth, serving TLS itself.
	basicPort, err := freePort()
	if err != nil {
		return nil, err
	}
	f.basic = endpoint{Scheme: "basic", Host: fmt.Sprintf("127.0.0.1:%d", basicPort)}
	basicCfg := registryConfig(filepath.Join(dir, "basic-storage"), f.basic.Host, fmt.Sprintf(`  tls:
    certificate: %s
    key: %s
`, f.certFile, f.keyFile), fmt.Sprintf(`  htpasswd:
    realm: e2e-basic
    path: %s
`, htpasswdFile))
	if err := f.startRegistry(ctx, peers, "registry-basic", basicCfg); err != nil {
		return nil, err
	}

	// Token server (plain HTTP behind the front), signing with a key whose
	// libtrust key id the token registry trusts through a JWKS.
	keyFile := filepath.Join(dir, "token-key.pem")
	jwksFile := filepath.Join(dir, "token-jwks.json")
	if err := writeTokenKey(keyFile, jwksFile); err != nil {
		return nil, fmt.Errorf("failed to create the token signing key: %v", err)
	}
	tsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tsAddr := fmt.Sprintf("127.0.0.1:%d", tsPort)
	p, err := startProcess(dir, "token-server", peers.path("token-server"),
		"-addr", tsAddr, "-issuer", tokenIssuer, "-key", keyFile,
		"-passwd", htpasswdFile, "-realm", "e2e-token")
	if err != nil {
		return nil, err
	}
	f.procs = append(f.procs, p)

	// The front listens first, so the registry's realm can name its port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.token = endpoint{Scheme: "token", Host: ln.Addr().String()}
	regPort, err := freePort()
	if err != nil {
		ln.Close()
		return nil, err
	}
	regAddr := fmt.Sprintf("127.0.0.1:%d", regPort)
	tokenCfg := registryConfig(filepath.Join(dir, "token-storage"), regAddr, "", fmt.Sprintf(`  token:
    realm: https://%s/token/
    service: %s
    issuer: %s
    jwks: %s
`, f.token.Host, tokenService, tokenIssuer, jwksFile))
	if err := f.startRegistry(ctx, peers, "registry-token", tokenCfg); err != nil {
		ln.Close()
		return nil, err
	}
	if err := f.serveFront(ln, "http://"+regAddr, "http://"+tsAddr); err != nil {
		return nil, err
	}

	for _, e := range []endpoint{f.basic, f.token} {
		if err := f.waitReady(ctx, e); err != nil {
			return nil, err
		}
	}
	// The token server answers once it has a client to authenticate.
	if _, err := f.refreshToken(ctx); err != nil {
		return nil, fmt.Errorf("token server not ready: %v%s", err, f.logs())
	}
	return f, nil
}

// registryConfig is a distribution v3 configuration. tls and auth are YAML
// fragments indented under http: and auth:.
func registryConfig(storage, addr, tls, auth string) string {
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

func (f *fixture) startRegistry(ctx context.Context, peers *peerSet, name, config string) error {
	cfg := filepath.Join(f.dir, name+".yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return err
	}
	p, err := startProcess(f.dir, name, peers.path("registry"), "serve", cfg)
	if err != nil {
		return err
	}
	f.procs = append(f.procs, p)
	return nil
}

// serveFront serves TLS on ln and routes /token/ to the token server and
// everything else to the registry, so that the realm is on the registry's
// own host and port (clients refuse a loopback realm elsewhere).
func (f *fixture) serveFront(ln net.Listener, registry, tokenServer string) error {
	regURL, err := url.Parse(registry)
	if err != nil {
		return err
	}
	tsURL, err := url.Parse(tokenServer)
	if err != nil {
		return err
	}
	lf, err := os.Create(filepath.Join(f.dir, "front.log"))
	if err != nil {
		return err
	}
	f.frontLog = log.New(lf, "", log.LstdFlags)
	proxy := func(target *url.URL) *httputil.ReverseProxy {
		return &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				// The registry builds upload locations from Host and
				// X-Forwarded-Proto: the client's view, not the backend's.
				r.Out.Host = r.In.Host
				r.SetXForwarded()
			},
			ErrorLog: f.frontLog,
		}
	}
	// The token server keeps its refresh tokens in a map without a lock:
	// rows running in parallel must not reach it concurrently.
	var tokenMu sync.Mutex
	tokenProxy := proxy(tsURL)
	mux := http.NewServeMux()
	mux.Handle("/token/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenMu.Lock()
		defer tokenMu.Unlock()
		tokenProxy.ServeHTTP(w, r)
	}))
	mux.Handle("/", proxy(regURL))
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return err
	}
	f.front = &http.Server{
		Handler:           mux,
		ErrorLog:          f.frontLog,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = f.front.ServeTLS(ln, "", "") }()
	return nil
}

// httpClient trusts the test CA.
func (f *fixture) httpClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: f.roots, MinVersion: tls.VersionTLS12},
			Proxy:           nil,
		},
	}
}

// waitReady polls GET /v2/ until the registry challenges (401).
func (f *fixture) waitReady(ctx context.Context, e endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := f.httpClient()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+e.Host+"/v2/", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET /v2/: %s", resp.Status)
		}
		last = err
		for _, p := range f.procs {
			if p.exited() {
				return fmt.Errorf("%s exited: %v%s", p.name, p.err, f.logs())
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s registry on %s not ready: %v%s", e.Scheme, e.Host, last, f.logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// refreshToken asks the token server, through the front, for a refresh
// token for testUser (GET with offline_token=true, as the docker daemon
// does at login).
func (f *fixture) refreshToken(ctx context.Context) (string, error) {
	q := url.Values{
		"service":       {tokenService},
		"offline_token": {"true"},
		"client_id":     {"e2e"},
		"scope":         {"repository:" + testUser + "/seed:pull"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+f.token.Host+"/token/?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(testUser, f.password)
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	// A token response is small; 1 MiB is far more than enough.
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

// logs is the tail of every server's log, for an error message.
func (f *fixture) logs() string {
	var b strings.Builder
	for _, p := range f.procs {
		fmt.Fprintf(&b, "\n--- %s (%s), last lines:\n%s", p.name, p.logFile, tail(p.logFile, 20))
	}
	return b.String()
}

// close stops every server.
func (f *fixture) close() {
	if f.front != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.front.Shutdown(ctx)
		cancel()
	}
	for _, p := range f.procs {
		p.stop()
	}
	f.procs = nil
}

// writeCA creates the CA and a certificate for 127.0.0.1 signed by it.
func (f *fixture) writeCA() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "docker-credential-notation e2e test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	f.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	f.caFile = filepath.Join(f.dir, "ca.pem")
	f.certFile = filepath.Join(f.dir, "server.pem")
	f.keyFile = filepath.Join(f.dir, "server-key.pem")
	if err := os.WriteFile(f.caFile, f.caPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(f.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(f.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	f.roots = x509.NewCertPool()
	f.roots.AddCert(caCert)
	return nil
}

// writeTokenKey writes an EC P-256 key for the token server (SEC 1 PEM,
// which libtrust loads) and a JWKS holding its public half under its
// libtrust key id: the token server puts that id in each token's "kid",
// and distribution v3 cannot derive it from a rootcertbundle.
func writeTokenKey(keyFile, jwksFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	kid, err := libtrustKeyID(&key.PublicKey)
	if err != nil {
		return err
	}
	pub, err := key.PublicKey.ECDH() // for the uncompressed point
	if err != nil {
		return err
	}
	point := pub.Bytes() // 0x04 || X || Y, 32 bytes each
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "EC",
		"crv": "P-256",
		"kid": kid,
		"use": "sig",
		"alg": "ES256",
		"x":   b64(point[1:33]),
		"y":   b64(point[33:65]),
	}}}
	b, err := json.MarshalIndent(jwks, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(jwksFile, b, 0o644)
}

// libtrustKeyID is github.com/docker/libtrust's key id: the first 240 bits
// of the SHA-256 of the DER public key, base32, in 12 groups of 4 joined
// by colons.
func libtrustKeyID(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	s := strings.TrimRight(base32.StdEncoding.EncodeToString(sum[:30]), "=")
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:min(i+4, len(s))])
	}
	return strings.Join(groups, ":"), nil
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before the server binds it; the readiness check would then
// fail loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// process is a server started in its own process group, which stop kills
// as a whole; Pdeathsig kills it too if the test binary dies first.
type process struct {
	name    string
	logFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func startProcess(dir, name, path string, args ...string) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = serverEnv()
	return startCmd(dir, name, cmd)
}

// startCmd starts cmd as startProcess does, in dir, its output in
// dir/name.log; cmd's own Env, Stdin and ExtraFiles are kept.
func startCmd(dir, name string, cmd *exec.Cmd) (*process, error) {
	logFile := filepath.Join(dir, name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("failed to start %s: %v", name, err)
	}
	p := &process{name: name, logFile: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// serverEnv is the environment of the servers: the test's, without proxies.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 5 seconds.
func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
