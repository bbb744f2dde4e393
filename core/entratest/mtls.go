package entratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"time"
)

// CertAuthority is a certificate authority for tests of APIs that verify
// mTLS-bound tokens (entra.WithMTLSBinding): it issues a server
// certificate and client certificates, all ECDSA P-256, valid from an hour
// ago for a day. Mint a token bound to a client certificate with
// Token.BoundCertificate.
type CertAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

// NewCertAuthority makes a new authority with a fresh key. It panics if
// the system cannot make keys.
func NewCertAuthority() *CertAuthority {
	key := newECKey()
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "entratest mTLS root", Organization: []string{"entratest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("entratest: creating a CA certificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("entratest: parsing a CA certificate: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CertAuthority{cert: cert, key: key, pool: pool}
}

// Certificate returns the authority's own certificate.
func (ca *CertAuthority) Certificate() *x509.Certificate { return ca.cert }

// Pool returns a pool holding the authority's certificate only.
func (ca *CertAuthority) Pool() *x509.CertPool { return ca.pool }

// ServerCertificate issues a server certificate for 127.0.0.1, ::1 and
// localhost.
func (ca *CertAuthority) ServerCertificate() tls.Certificate {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	})
}

// ClientCertificate issues a client certificate with this common name.
// Its Leaf is set: bind a token to it with Token{BoundCertificate: c.Leaf}.
func (ca *CertAuthority) ClientCertificate(commonName string) tls.Certificate {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// ServerTLSConfig is a server configuration with a certificate of this
// authority that asks every client for a certificate and verifies it
// against the authority when one is given (tls.VerifyClientCertIfGiven),
// so that a request without a certificate reaches the API, which must
// refuse a bound token on it.
func (ca *CertAuthority) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.ServerCertificate()},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.pool,
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLSConfig is a client configuration that trusts the authority's
// server certificates and presents client (none when nil).
func (ca *CertAuthority) ClientTLSConfig(client *tls.Certificate) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	return cfg
}

func (ca *CertAuthority) issue(tmpl *x509.Certificate) tls.Certificate {
	key := newECKey()
	now := time.Now().UTC().Truncate(time.Second)
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		panic("entratest: issuing a certificate: " + err.Error())
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic("entratest: parsing an issued certificate: " + err.Error())
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func newECKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("entratest: generating a key: " + err.Error())
	}
	return key
}

func serial() *big.Int { return new(big.Int).SetUint64(randUint64() | 1<<63) }
