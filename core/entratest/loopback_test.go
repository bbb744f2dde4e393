package entratest_test

import (
	"crypto/x509"
	"regexp"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

func TestNewGUID(t *testing.T) {
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		g := entratest.NewGUID()
		if !guid.MatchString(g) {
			t.Fatalf("NewGUID() = %q, want a lower-case version 4 GUID", g)
		}
		if seen[g] {
			t.Fatalf("NewGUID() returned %q twice", g)
		}
		seen[g] = true
	}
}

// A client that trusts the certificate's Leaf verifies it for the loopback
// names and for the hosts given, and for no other name.
func TestLoopbackCertificate(t *testing.T) {
	cert, err := entratest.LoopbackCertificate("api.contoso.test", "10.1.2.3", "")
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf == nil || len(cert.Certificate) != 1 || cert.PrivateKey == nil {
		t.Fatalf("certificate without its leaf, chain or key: %+v", cert)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	for _, name := range []string{"127.0.0.1", "::1", "localhost", "api.contoso.test", "10.1.2.3"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "login.microsoftonline.com", Roots: roots}); err == nil {
		t.Error("the certificate is valid for a name it was not made for")
	}
}
