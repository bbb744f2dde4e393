package entratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"
)

// NewTLSServer starts and returns a new fake authority serving HTTPS on
// 127.0.0.1, as [httptest.NewTLSServer] does: its URL is
// "https://127.0.0.1:port" and [Server.Client] trusts its certificate.
// Microsoft's client libraries (MSAL, azidentity) accept https authorities
// only; give them [Server.Client] as their HTTP client (see the package
// documentation). The caller should call Close when finished.
//
// NewTLSServer panics as [NewServer] does.
func NewTLSServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.StartTLS()
	return s
}

// StartTLS starts a server from [NewUnstartedServer] on HTTPS, with a
// certificate made for this server (ECDSA P-256, self-signed, for
// 127.0.0.1, ::1 and localhost, valid a year from an hour ago): see
// [Server.TLSCertificate]. [Server.Client] then trusts that certificate and
// no other. StartTLS panics if the server is already started or closed.
func (s *Server) StartTLS() {
	s.checkStart()
	cert, err := LoopbackCertificate()
	if err != nil {
		panic(err.Error())
	}
	s.ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.ts.StartTLS()
	s.URL = "https://" + loopbackAddr(s.ts.Listener.Addr())
	pool := x509.NewCertPool()
	pool.AddCert(s.ts.Certificate())
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// TLSCertificate returns the certificate a server started with
// [Server.StartTLS] or [NewTLSServer] serves, to trust it in a client that
// is not [Server.Client] (write it as PEM with pem.Encode and a "CERTIFICATE"
// block). It is nil for a plain-HTTP server.
func (s *Server) TLSCertificate() *x509.Certificate {
	if s.ts.TLS == nil || !s.started.Load() {
		return nil
	}
	return s.ts.Certificate()
}

// LoopbackCertificate makes a TLS certificate for a server on this
// machine: ECDSA P-256, self-signed and its own authority (trust it by
// adding its Leaf to a client's roots, or by writing it as PEM), for
// 127.0.0.1, ::1 and localhost, and for each of hosts (an IP address or a
// DNS name), valid a year from an hour ago. Its Leaf is set.
// [Server.StartTLS] serves one; so does the entraguard CLI's emulator.
func LoopbackCertificate(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("entratest: generating a TLS key: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetUint64(randUint64() | 1<<63),
		Subject:               pkix.Name{CommonName: "entratest loopback server", Organization: []string{"entratest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	for _, h := range hosts {
		switch ip := net.ParseIP(h); {
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case h != "" && h != "localhost":
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("entratest: creating a TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("entratest: parsing a TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// loopbackAddr is addr as a URL host, with an unspecified IP (a listener
// on ":port" or "0.0.0.0:port") written as 127.0.0.1, which clients on this
// machine can reach and the TLS certificate names.
func loopbackAddr(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
	}
	return addr.String()
}
