package httppolicy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

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

// certsDirName is host's directory name in a certs.d root, or "" for a host
// that cannot name one (".", "..", a path separator): such a host reads no
// certificate rather than a directory outside the root.
func certsDirName(host string) string {
	if runtime.GOOS == "windows" {
		// ':' cannot appear in a Windows file name.
		host = strings.ReplaceAll(host, ":", "")
	}
	if host == "" || host == "." || host == ".." || strings.ContainsAny(host, `/\`) {
		return ""
	}
	return host
}

// tlsConfig is the TLS configuration for one host: TLS 1.2 or later, the
// system roots (which honour SSL_CERT_FILE and SSL_CERT_DIR on Unix) plus
// the *.crt files of the host's certs.d directories, and the *.cert/*.key
// client pairs found there, as docker reads them.
func (p *Policy) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	name := certsDirName(host)
	if name == "" {
		return cfg, nil
	}
	var pool *x509.CertPool
	for _, root := range p.CertsDirs {
		dir := filepath.Join(root, name)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if errors.Is(err, os.ErrPermission) {
			// A system directory only root may read (docker's daemon
			// reads it as root): a CA missing from it shows as a
			// certificate error naming the host.
			p.logf("cannot read %s: %v", dir, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read certificates for %s: %v", host, err)
		}
		names := map[string]bool{}
		sorted := make([]string, 0, len(entries))
		for _, e := range entries {
			names[e.Name()] = true
			sorted = append(sorted, e.Name())
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
				p.logf("trusting the CA certificates in %s for %s", path, host)
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
				p.logf("client certificate %s for %s", path, host)
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

// readBounded reads a regular file of at most maxCertFile bytes (a FIFO in
// a certs.d directory must not hang the helper).
func readBounded(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
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
