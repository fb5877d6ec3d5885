package testca

import (
	"crypto/x509"
	"testing"
)

func TestIssue(t *testing.T) {
	ca, err := New("testca test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Issue(x509.ExtKeyUsageServerAuth, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue(x509.ExtKeyUsageClientAuth, "client")
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(l *Leaf) *x509.Certificate {
		c, err := x509.ParseCertificate(l.TLS.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, name := range []string{"127.0.0.1", "localhost"} {
		if _, err := leaf(server).Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool}); err != nil {
			t.Errorf("the server certificate for %s does not verify: %v", name, err)
		}
	}
	if _, err := leaf(server).Verify(x509.VerifyOptions{DNSName: "example.com", Roots: ca.Pool}); err == nil {
		t.Error("the server certificate verifies for a name it was not issued for")
	}
	if _, err := leaf(server).Verify(x509.VerifyOptions{DNSName: "localhost", Roots: other.Pool}); err == nil {
		t.Error("the server certificate verifies against another CA")
	}
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if _, err := leaf(client).Verify(x509.VerifyOptions{Roots: ca.Pool, KeyUsages: usage}); err != nil {
		t.Errorf("the client certificate does not verify for client auth: %v", err)
	}
	if _, err := leaf(server).Verify(x509.VerifyOptions{Roots: ca.Pool, KeyUsages: usage}); err == nil {
		t.Error("the server certificate verifies for client auth")
	}
	if leaf(server).SerialNumber.Cmp(leaf(client).SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}
