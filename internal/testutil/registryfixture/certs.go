package registryfixture

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/testca"
)

// writeCA creates the CA (internal/testutil/testca) and a certificate
// for 127.0.0.1 and localhost signed by it, in s.Dir.
func (s *Servers) writeCA(commonName string) error {
	ca, err := testca.New(commonName)
	if err != nil {
		return err
	}
	leaf, err := ca.Issue(x509.ExtKeyUsageServerAuth, "127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	s.CAPEM, s.Roots = ca.PEM, ca.Pool
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	s.CertFile = filepath.Join(s.Dir, "server.pem")
	s.KeyFile = filepath.Join(s.Dir, "server-key.pem")
	if err := os.WriteFile(s.CAFile, s.CAPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(s.CertFile, leaf.CertPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(s.KeyFile, leaf.KeyPEM, 0o600)
}

// writeTokenKey writes an EC P-256 key for the token server (SEC 1 PEM,
// which libtrust loads) and a JWKS holding its public half under its
// libtrust key id: the token server puts that id in each token's "kid",
// and distribution v3 cannot derive it from a rootcertbundle.
func writeTokenKey(keyFile, jwksFile string) error {
	_, _, err := newTokenKey(keyFile, jwksFile)
	return err
}

// newTokenKey is writeTokenKey that also returns the key and its key id,
// for a token service in this process.
func newTokenKey(keyFile, jwksFile string) (_ *ecdsa.PrivateKey, kid string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	if err := writeKeyFiles(key, keyFile, jwksFile); err != nil {
		return nil, "", err
	}
	kid, err = libtrustKeyID(&key.PublicKey)
	return key, kid, err
}

func writeKeyFiles(key *ecdsa.PrivateKey, keyFile, jwksFile string) error {
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
		"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
		"x": b64(point[1:33]), "y": b64(point[33:65]),
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
