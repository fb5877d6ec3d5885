package registry

import (
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
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The one user of both registries. The token server grants scopes only on
// repositories under "<user>/".
const testUser = "alice"

// The token registry's service and the token server's issuer.
const (
	tokenService = "dcn-registry-test"
	tokenIssuer  = "dcn-token-server"
	basicRealm   = "dcn-basic"
)

// fixture is the servers, started once for the package.
type fixture struct {
	dir      string
	caFile   string
	roots    *x509.CertPool
	certFile string
	keyFile  string
	password string

	// basicHost serves registry v3 with htpasswd over TLS.
	basicHost string
	// tokenHost is a TLS front on 127.0.0.1 routing /token/ to the token
	// server and the rest to registry v3 with token auth, so the realm is
	// on the registry's own host and port.
	tokenHost string

	procs []*process
	front *http.Server
}

func startFixture(ctx context.Context, dir string, paths map[string]string) (_ *fixture, err error) {
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
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	f.password = hex.EncodeToString(pw)
	// htpasswd's bcrypt format, which both servers read. The lowest cost
	// keeps each login fast.
	hash, err := bcrypt.GenerateFromPassword([]byte(f.password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(testUser+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}

	// Registry with Basic auth, serving TLS itself.
	basicAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	f.basicHost = basicAddr
	basicCfg := registryConfig(filepath.Join(dir, "basic-storage"), basicAddr,
		fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", f.certFile, f.keyFile),
		fmt.Sprintf("  htpasswd:\n    realm: %s\n    path: %s\n", basicRealm, htpasswd))
	if err := f.startRegistry(paths["registry"], "registry-basic", basicCfg); err != nil {
		return nil, err
	}

	// Token server, plain HTTP behind the front, signing with a key whose
	// libtrust key id the token registry finds in a JWKS.
	keyFile := filepath.Join(dir, "token-key.pem")
	jwksFile := filepath.Join(dir, "token-jwks.json")
	if err := writeTokenKey(keyFile, jwksFile); err != nil {
		return nil, fmt.Errorf("failed to create the token signing key: %v", err)
	}
	tsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(dir, "token-server", paths["token-server"],
		"-addr", tsAddr, "-issuer", tokenIssuer, "-key", keyFile, "-passwd", htpasswd, "-realm", "dcn-token")
	if err != nil {
		return nil, err
	}
	f.procs = append(f.procs, p)

	// The front listens first, so that the registry's realm can name it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.tokenHost = ln.Addr().String()
	regAddr, err := freeAddr()
	if err != nil {
		ln.Close()
		return nil, err
	}
	tokenCfg := registryConfig(filepath.Join(dir, "token-storage"), regAddr, "",
		fmt.Sprintf("  token:\n    realm: https://%s/token/\n    service: %s\n    issuer: %s\n    jwks: %s\n",
			f.tokenHost, tokenService, tokenIssuer, jwksFile))
	if err := f.startRegistry(paths["registry"], "registry-token", tokenCfg); err != nil {
		ln.Close()
		return nil, err
	}
	if err := f.serveFront(ln, "http://"+regAddr, "http://"+tsAddr); err != nil {
		ln.Close()
		return nil, err
	}

	for _, host := range []string{f.basicHost, f.tokenHost} {
		if err := f.waitChallenge(ctx, host); err != nil {
			return nil, err
		}
	}
	if err := f.waitTokenServer(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// registryConfig is a distribution v3 configuration; tls and auth are YAML
// fragments indented under http: and auth:.
func registryConfig(storage, addr, tls, auth string) string {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	return fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  secret: %s
%sauth:
%s`, storage, addr, hex.EncodeToString(secret), tls, auth)
}

func (f *fixture) startRegistry(path, name, config string) error {
	cfg := filepath.Join(f.dir, name+".yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return err
	}
	p, err := startProcess(f.dir, name, path, "serve", cfg)
	if err != nil {
		return err
	}
	f.procs = append(f.procs, p)
	return nil
}

// serveFront serves TLS on ln: /token/ to the token server (one request
// at a time: it keeps its refresh tokens in a map without a lock), the
// rest to the registry.
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
	logger := log.New(lf, "", log.LstdFlags)
	proxy := func(target *url.URL) *httputil.ReverseProxy {
		return &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Host = r.In.Host
				r.SetXForwarded()
			},
			ErrorLog: logger,
		}
	}
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
		ErrorLog:          logger,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = f.front.ServeTLS(ln, "", "") }()
	return nil
}

// httpClient trusts the test CA.
func (f *fixture) httpClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots, MinVersion: tls.VersionTLS12}},
	}
}

// waitChallenge polls GET /v2/ until the registry challenges.
func (f *fixture) waitChallenge(ctx context.Context, host string) error {
	client := f.httpClient()
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
		if err := f.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry on %s not ready: %v%s", host, last, f.logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitTokenServer polls the token server through the front until it
// grants a token.
func (f *fixture) waitTokenServer(ctx context.Context) error {
	var last error
	for {
		_, err := f.refreshToken(ctx)
		if err == nil {
			return nil
		}
		last = err
		if err := f.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("token server not ready: %v%s", last, f.logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// refreshToken gets a refresh token for testUser from the token server the
// way docker's daemon does at login: the token GET with offline_token=true.
func (f *fixture) refreshToken(ctx context.Context) (string, error) {
	q := url.Values{
		"service":       {tokenService},
		"offline_token": {"true"},
		"client_id":     {"dcn-registry-test"},
		"scope":         {"repository:" + testUser + "/seed:pull"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+f.tokenHost+"/token/?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(testUser, f.password)
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	// A token response is a few kilobytes.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token server: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", err
	}
	if tr.RefreshToken == "" {
		return "", errors.New("token server returned no refresh token")
	}
	return tr.RefreshToken, nil
}

func (f *fixture) exited() error {
	for _, p := range f.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v%s", p.name, p.err, f.logs())
		default:
		}
	}
	return nil
}

// logs is the tail of every server's log.
func (f *fixture) logs() string {
	var b strings.Builder
	for _, p := range f.procs {
		fmt.Fprintf(&b, "\n--- %s (%s), last lines:\n%s", p.name, p.logFile, tail(p.logFile, 15))
	}
	return b.String()
}

func (f *fixture) close() {
	if f.front != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.front.Shutdown(ctx)
		cancel()
	}
	for _, p := range f.procs {
		select {
		case <-p.done:
		default:
			stopProcess(p)
		}
	}
	f.procs = nil
}

// writeCA creates the CA and a server certificate for 127.0.0.1.
func (f *fixture) writeCA() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "docker-credential-notation registry test CA"},
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
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	f.caFile = filepath.Join(f.dir, "ca.pem")
	f.certFile = filepath.Join(f.dir, "server.pem")
	f.keyFile = filepath.Join(f.dir, "server-key.pem")
	if err := os.WriteFile(f.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
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
// which libtrust loads) and a JWKS with its public half under its libtrust
// key id: the token server puts that id in each token's "kid", and
// distribution v3 cannot derive it from a rootcertbundle.
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
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		return err
	}
	point := pub.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
		"x": b64(point[1:33]), "y": b64(point[33:65]),
	}}}
	b, err := json.Marshal(jwks)
	if err != nil {
		return err
	}
	return os.WriteFile(jwksFile, b, 0o644)
}

// libtrustKeyID is github.com/docker/libtrust's key id: the first 240 bits
// of the SHA-256 of the DER public key, base32, in groups of 4 joined by
// colons.
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

// freeAddr asks the kernel for a free port on 127.0.0.1. Another process
// could take it before the server binds it; readiness would then fail
// loudly.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// process is a running server.
type process struct {
	name    string
	logFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func startProcess(dir, name, path string, args ...string) (*process, error) {
	logFile := filepath.Join(dir, name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = withoutProxies(os.Environ())
	setProcAttr(cmd)
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

func withoutProxies(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		out = append(out, kv)
	}
	return out
}

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
