// Package testca is a throwaway certificate authority for tests: an EC
// P-256 CA that issues server and client certificates for DNS names and IP
// addresses, each valid from an hour ago for a day. The registries of
// internal/testutil/registryfixture serve its certificates, and
// internal/registryauth's tests trust it through certs.d. Only tests
// import this package.
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"time"
)

// validity is how long a certificate lasts from its issue; each starts an
// hour in the past, so that a clock a little behind still accepts it.
const validity = 24 * time.Hour

// CA is a certificate authority. Its methods are safe from many
// goroutines.
type CA struct {
	// Cert is the CA's certificate, PEM its PEM form and Pool a pool that
	// holds it alone.
	Cert *x509.Certificate
	PEM  []byte
	Pool *x509.CertPool

	key    *ecdsa.PrivateKey
	mu     sync.Mutex
	serial int64
}

// New creates a CA whose subject is commonName.
func New(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{
		Cert:   cert,
		PEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Pool:   pool,
		key:    key,
		serial: 1,
	}, nil
}

// Leaf is a certificate the CA issued and its private key.
type Leaf struct {
	// TLS is the pair for a tls.Config's Certificates.
	TLS tls.Certificate
	// CertPEM is the certificate ("CERTIFICATE"), KeyPEM the key
	// ("PRIVATE KEY", PKCS #8).
	CertPEM, KeyPEM []byte
}

// Issue issues a certificate for usage (x509.ExtKeyUsageServerAuth or
// x509.ExtKeyUsageClientAuth) whose subject is names[0] and whose
// subject alternative names are every name: an IP address where one
// parses, a DNS name otherwise.
func (ca *CA) Issue(usage x509.ExtKeyUsage, names ...string) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca.mu.Lock()
	ca.serial++
	serial := ca.serial
	ca.mu.Unlock()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if len(names) > 0 {
		tmpl.Subject = pkix.Name{CommonName: names[0]}
	}
	for _, name := range names {
		if ip := net.ParseIP(name); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	l := &Leaf{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if l.TLS, err = tls.X509KeyPair(l.CertPEM, l.KeyPEM); err != nil {
		return nil, err
	}
	return l, nil
}
