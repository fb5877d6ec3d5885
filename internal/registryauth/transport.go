package registryauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// ErrInsecure is wrapped by the error for a request that would send a
// credential over plain HTTP to a host that is neither on loopback nor
// marked insecure.
var ErrInsecure = errors.New("refusing to send credentials over plain HTTP")

// maxCertFile bounds each file read from a certs.d directory: a CA bundle
// is a few hundred kilobytes at most.
const maxCertFile = 4 << 20

// DefaultCertsDirs returns the certs.d roots that docker reads, in the
// order they are consulted: the rootless (per-user) one, then the
// system-wide one. Each holds a directory per registry host.
//
//   - Linux and other Unix: $XDG_CONFIG_HOME/docker/certs.d (default
//     ~/.config/docker/certs.d), then /etc/docker/certs.d.
//   - macOS: ~/.docker/certs.d (Docker Desktop), ~/.config/docker/certs.d,
//     then /etc/docker/certs.d.
//   - Windows: %ProgramData%\docker\certs.d.
func DefaultCertsDirs(getenv func(string) string) []string {
	var dirs []string
	home := getenv("HOME")
	switch runtime.GOOS {
	case "windows":
		if pd := getenv("ProgramData"); pd != "" {
			dirs = append(dirs, filepath.Join(pd, "docker", "certs.d"))
		}
		return dirs
	case "darwin":
		if home != "" {
			dirs = append(dirs, filepath.Join(home, ".docker", "certs.d"))
		}
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		dirs = append(dirs, filepath.Join(x, "docker", "certs.d"))
	} else if home != "" {
		dirs = append(dirs, filepath.Join(home, ".config", "docker", "certs.d"))
	}
	return append(dirs, "/etc/docker/certs.d")
}

// IsLoopback reports whether host (a host name or IP literal, without a
// port; brackets allowed) is "localhost" or a loopback address
// (127.0.0.0/8, ::1).
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// hostKey is the name of a host's certs.d directory, and what an insecure
// entry is compared with: host[:port], lower case, without the scheme's
// default port.
func hostKey(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return host
	}
	return host + ":" + port
}

// plainHTTPAllowed reports whether u may be reached over plain HTTP: its
// host is on loopback, or it matches an insecure entry (host[:port]; an
// entry without a port matches every port of the host).
func (c *Client) plainHTTPAllowed(u *url.URL) bool {
	if IsLoopback(u.Hostname()) {
		return true
	}
	k := hostKey(u)
	name := strings.ToLower(u.Hostname())
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, e := range c.insecure {
		if e == k || e == name || e == name+":"+port {
			return true
		}
	}
	return false
}

// checkTransport refuses a URL that would carry credentials insecurely.
func (c *Client) checkTransport(u *url.URL, what string) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if c.plainHTTPAllowed(u) {
			return nil
		}
		return fmt.Errorf("%w: %s %s is neither on loopback nor marked insecure", ErrInsecure, what, redactURL(u))
	}
	return fmt.Errorf("%s %s: unsupported scheme %q (want https)", what, redactURL(u), u.Scheme)
}

// redactURL is u without user information, for messages.
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = nil
	return v.String()
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && hostKey(a) == hostKey(b)
}

// checkRedirect is the http.Client's redirect policy: at most 10
// redirects; never to plain HTTP unless allowed; no Authorization header
// to another host (scheme, host or port), and no request body (a form
// holding a password or refresh token, resent on 307 and 308) to another
// host at all.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if err := c.checkTransport(req.URL, "redirect to"); err != nil {
		return err
	}
	orig := via[0]
	if !sameOrigin(req.URL, orig.URL) {
		req.Header.Del("Authorization")
		if req.GetBody != nil || (req.Body != nil && req.Body != http.NoBody) {
			return fmt.Errorf("refusing to follow a redirect from %s to %s: the request carries credentials in its body", hostKey(orig.URL), hostKey(req.URL))
		}
		c.logf("redirect to another host %s: Authorization dropped", hostKey(req.URL))
	}
	return nil
}

// hostTransports is an http.RoundTripper with one http.Transport per host,
// each with that host's certs.d CAs and client certificates.
type hostTransports struct {
	c  *Client
	mu sync.Mutex
	m  map[string]*http.Transport
}

func (h *hostTransports) RoundTrip(req *http.Request) (*http.Response, error) {
	t, err := h.transport(req.URL)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.RoundTrip(req)
}

func (h *hostTransports) transport(u *url.URL) (*http.Transport, error) {
	key := hostKey(u)
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.m[key]; ok {
		return t, nil
	}
	tlsConfig, err := h.c.tlsConfig(key)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: h.c.timeout, KeepAlive: h.c.timeout}
	dial := d.DialContext
	if h.c.opts.dialContext != nil {
		dial = h.c.opts.dialContext
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   h.c.timeout,
		ResponseHeaderTimeout: h.c.timeout,
		ExpectContinueTimeout: h.c.timeout,
		IdleConnTimeout:       h.c.timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
	}
	if h.m == nil {
		h.m = map[string]*http.Transport{}
	}
	h.m[key] = t
	return t, nil
}

// close closes the idle connections of every transport.
func (h *hostTransports) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.m {
		t.CloseIdleConnections()
	}
}

// tlsConfig is the TLS configuration for one host: TLS 1.2 or later, the
// system roots (which honour SSL_CERT_FILE and SSL_CERT_DIR on Unix) plus
// the *.crt files of the host's certs.d directories, and the *.cert/*.key
// client pairs found there, as docker reads them.
//
// Reference: https://docs.docker.com/engine/security/certificates/
func (c *Client) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool
	for _, root := range c.certsDirs {
		dir := filepath.Join(root, host)
		if runtime.GOOS == "windows" {
			// ':' cannot appear in a Windows file name.
			dir = filepath.Join(root, strings.ReplaceAll(host, ":", ""))
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if errors.Is(err, os.ErrPermission) {
			// A system directory only root may read (docker's daemon
			// reads it as root): a CA missing from it shows as a
			// certificate error naming the host.
			c.logf("cannot read %s: %v", dir, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read certificates for %s: %v", host, err)
		}
		names := map[string]bool{}
		for _, e := range entries {
			names[e.Name()] = true
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, name := range sorted {
			path := filepath.Join(dir, name)
			switch {
			case strings.HasSuffix(name, ".crt"):
				if pool == nil {
					if pool, err = x509.SystemCertPool(); err != nil || pool == nil {
						pool = x509.NewCertPool()
					}
				}
				b, err := readBounded(path)
				if err != nil {
					return nil, fmt.Errorf("failed to read CA certificate %s: %v", path, err)
				}
				if !pool.AppendCertsFromPEM(b) {
					return nil, fmt.Errorf("failed to read CA certificate %s: no PEM certificate in it", path)
				}
				c.logf("trusting the CA certificates in %s for %s", path, host)
			case strings.HasSuffix(name, ".cert"):
				keyName := strings.TrimSuffix(name, ".cert") + ".key"
				if !names[keyName] {
					return nil, fmt.Errorf("failed to load client certificate %s: missing key %s (CA certificates must use the extension .crt)", path, keyName)
				}
				certPEM, err := readBounded(path)
				if err != nil {
					return nil, fmt.Errorf("failed to load client certificate %s: %v", path, err)
				}
				keyPEM, err := readBounded(filepath.Join(dir, keyName))
				if err != nil {
					return nil, fmt.Errorf("failed to load client key %s: %v", filepath.Join(dir, keyName), err)
				}
				pair, err := tls.X509KeyPair(certPEM, keyPEM)
				if err != nil {
					return nil, fmt.Errorf("failed to load client certificate %s: %v", path, err)
				}
				cfg.Certificates = append(cfg.Certificates, pair)
				c.logf("client certificate %s for %s", path, host)
			case strings.HasSuffix(name, ".key"):
				certName := strings.TrimSuffix(name, ".key") + ".cert"
				if !names[certName] {
					return nil, fmt.Errorf("failed to load client key %s: missing certificate %s", path, certName)
				}
			}
		}
	}
	cfg.RootCAs = pool // nil: the system roots
	return cfg, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCertFile {
		return nil, fmt.Errorf("larger than %d bytes", maxCertFile)
	}
	return b, nil
}

// isTimeout reports whether err is a request that ran out of time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
