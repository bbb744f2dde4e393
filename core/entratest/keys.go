package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// keyPool holds RSA keys of DefaultKeyBits that no open Server uses. A
// Server leases its keys from it and gives them back on Close, so a test
// suite that starts many servers one after another generates few keys, while
// servers open at the same time never share a key.
var keyPool struct {
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

// maxPooledKeys bounds the keys kept for reuse.
const maxPooledKeys = 32

// leaseKey returns a key of the given size that no open Server uses.
func leaseKey(bits int) *rsa.PrivateKey {
	if bits == DefaultKeyBits {
		keyPool.mu.Lock()
		if n := len(keyPool.free); n > 0 {
			k := keyPool.free[n-1]
			keyPool.free[n-1] = nil
			keyPool.free = keyPool.free[:n-1]
			keyPool.mu.Unlock()
			return k
		}
		keyPool.mu.Unlock()
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(fmt.Sprintf("entratest: generating a %d-bit RSA key: %v", bits, err))
	}
	return k
}

// releaseKeys gives keys back to the pool.
func releaseKeys(bits int, keys []*rsa.PrivateKey) {
	if bits != DefaultKeyBits {
		return
	}
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	for _, k := range keys {
		if len(keyPool.free) >= maxPooledKeys {
			return
		}
		keyPool.free = append(keyPool.free, k)
	}
}

// keyState says where a key is published.
type keyState int

const (
	keyPublished   keyState = iota // in the tenant key set
	keyUnpublished                 // held for signing only
	keyApp                         // only in the key set fetched with ?appid=app
	keyTenant                      // only in the key sets of one tenant
)

// signingKey is one key pair held by a Server, with its certificate.
type signingKey struct {
	kid    string // base64url(SHA-1(certificate DER)), as Entra's kid and x5t
	priv   *rsa.PrivateKey
	cert   *x509.Certificate
	n, e   string // base64url big-endian modulus and exponent
	x5c    string // base64 (standard) certificate DER
	state  keyState
	app    string // the application of a keyApp key
	tenant string // the tenant of a keyTenant key
	props  keyProps
}

// certSubject is the subject and issuer of Entra ID's signing certificates.
const certSubject = "accounts.accesscontrol.windows.net"

// newSigningKey wraps priv in a self-signed certificate shaped like Entra
// ID's: CN=accounts.accesscontrol.windows.net, valid five years, SHA-256
// with RSA, a subject key identifier and no other extension.
func newSigningKey(priv *rsa.PrivateKey, now time.Time) *signingKey {
	serial := new(big.Int).SetUint64(randUint64() | 1<<63)
	pubDER := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	ski := sha1.Sum(pubDER)
	notBefore := now.Add(-24 * time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: certSubject},
		Issuer:             pkix.Name{CommonName: certSubject},
		NotBefore:          notBefore,
		NotAfter:           notBefore.AddDate(5, 0, 0),
		SubjectKeyId:       ski[:],
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		panic("entratest: creating a key certificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("entratest: parsing a key certificate: " + err.Error())
	}
	thumb := sha1.Sum(der)
	return &signingKey{
		kid:  base64.RawURLEncoding.EncodeToString(thumb[:]),
		priv: priv,
		cert: cert,
		n:    base64.RawURLEncoding.EncodeToString(priv.N.Bytes()),
		e:    base64.RawURLEncoding.EncodeToString(big.NewInt(int64(priv.E)).Bytes()),
		x5c:  base64.StdEncoding.EncodeToString(der),
	}
}

// addKey creates a key in the given state and, if current, signs with it
// from now on.
func (s *Server) addKey(state keyState, app string, current bool) string {
	k := newSigningKey(leaseKey(s.opts.keyBits), s.opts.now())
	k.state, k.app = state, app
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	if current {
		s.current = k
	}
	return k.kid
}

// key returns the key with that kid, or nil.
func (s *Server) key(kid string) *signingKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// mustKey returns the key with that kid, or the current key for "", and
// panics naming the caller if there is none.
func (s *Server) mustKey(caller, kid string) *signingKey {
	if kid == "" {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.current
	}
	k := s.key(kid)
	if k == nil {
		panic(fmt.Sprintf("entratest: %s: the server holds no key %q", caller, kid))
	}
	return k
}

// CurrentKeyID returns the kid of the key that [Server.Mint] and the other
// token methods sign with.
func (s *Server) CurrentKeyID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current.kid
}

// KeyIDs returns the kids of the keys the tenant key set (JWKS) publishes,
// in the order it lists them. Keys added by [Server.AddUnpublishedKey] or
// [Server.AddAppKey], or removed by [Server.RemoveKey], are not listed.
func (s *Server) KeyIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for _, k := range s.keys {
		if k.state == keyPublished {
			ids = append(ids, k.kid)
		}
	}
	return ids
}

// RotateKeys publishes a new key and signs with it from now on. The
// previous keys stay published until [Server.RemoveKey] removes them, as
// Entra ID keeps publishing a key for a while after it stops signing with it.
// It returns the new key's kid.
func (s *Server) RotateKeys() string {
	return s.addKey(keyPublished, "", true)
}

// AddKey publishes a new key without signing with it, as Entra ID publishes
// a key some time before it starts using it. Sign with it through
// [Token.KeyID] or [Server.SignWithKey]; make a key current with
// [Server.RotateKeys] instead. It returns the new key's kid.
func (s *Server) AddKey() string {
	return s.addKey(keyPublished, "", false)
}

// AddUnpublishedKey creates a key that no key set publishes, for negative
// tests: a token signed with it (through [Token.KeyID] or
// [Server.SignWithKey]) carries a kid the validator cannot find. It returns
// the new key's kid.
func (s *Server) AddUnpublishedKey() string {
	return s.addKey(keyUnpublished, "", false)
}

// AddAppKey creates an application-specific signing key, as Entra ID uses
// for applications with claims mapping: it is published only in the key set
// fetched with "?appid=" + appID on the key URL (entra.Config.AppSpecificKeys),
// next to the tenant keys, and never in the plain key set. Sign with it
// through [Token.KeyID] or [Server.SignWithKey]. It returns the new key's kid.
// AddAppKey panics if appID is empty.
func (s *Server) AddAppKey(appID string) string {
	if appID == "" {
		panic("entratest: AddAppKey needs an application ID")
	}
	return s.addKey(keyApp, appID, false)
}

// RemoveKey stops publishing the key with that kid. The server keeps the
// private key, so tokens can still be signed with it (through [Token.KeyID],
// [Server.SignWithKey], or as the current key if it is the current one),
// which a validator must then refuse once it refreshes its keys.
// RemoveKey panics if the server holds no such key.
func (s *Server) RemoveKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.kid == kid {
			k.state = keyUnpublished
			return
		}
	}
	panic(fmt.Sprintf("entratest: RemoveKey: the server holds no key %q", kid))
}

// PublicKey returns the public key with that kid, published or not, or nil
// if the server holds no such key.
func (s *Server) PublicKey(kid string) *rsa.PublicKey {
	if k := s.key(kid); k != nil {
		return &k.priv.PublicKey
	}
	return nil
}

// PrivateKey returns the private key with that kid, or nil if the server
// holds no such key, to sign tokens in ways [Server.Mint] does not (other
// algorithms, for instance).
//
// Keys are for tests only: to keep start-up fast, servers reuse the keys of
// closed servers within the process (two open servers never share one).
func (s *Server) PrivateKey(kid string) *rsa.PrivateKey {
	if k := s.key(kid); k != nil {
		return k.priv
	}
	return nil
}

// Certificate returns the self-signed certificate of the key with that kid,
// as published in its x5c, or nil if the server holds no such key.
func (s *Server) Certificate(kid string) *x509.Certificate {
	if k := s.key(kid); k != nil {
		return k.cert
	}
	return nil
}

// jwk is one key of a key set, with Entra ID's fields in Entra ID's order.
// Entra ID's keys carry no "alg".
type jwk struct {
	Kty               string   `json:"kty"`
	Use               string   `json:"use"`
	Kid               string   `json:"kid"`
	X5t               string   `json:"x5t,omitempty"`
	N                 string   `json:"n"`
	E                 string   `json:"e"`
	X5c               []string `json:"x5c,omitempty"`
	CloudInstanceName string   `json:"cloud_instance_name,omitempty"`
	Issuer            string   `json:"issuer,omitempty"`
}

type jwks struct {
	Keys []jwk `json:"keys"`
}

// keySet returns the keys published for tenant t: the tenant keys, plus
// the keys of app if app is not empty, plus t's own keys. issuer, if not
// empty, is set on every key (v2.0), unless the key's props say otherwise.
func (s *Server) keySet(t tenant, app, issuer string) jwks {
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := jwks{Keys: []jwk{}}
	for _, k := range s.keys {
		if !k.publishedFor(t, app) {
			continue
		}
		j := jwk{Kty: "RSA", Use: "sig", Kid: k.kid, N: k.n, E: k.e, Issuer: issuer}
		if !s.opts.noX5C {
			j.X5t = k.kid
			j.X5c = []string{k.x5c}
		}
		if issuer != "" {
			j.CloudInstanceName = cloudInstanceName
			k.props.apply(&j)
		}
		set.Keys = append(set.Keys, j)
	}
	return set
}

// releaseAllKeys gives the server's keys back to the pool.
func (s *Server) releaseAllKeys() {
	s.mu.RLock()
	privs := make([]*rsa.PrivateKey, 0, len(s.keys))
	for _, k := range s.keys {
		privs = append(privs, k.priv)
	}
	s.mu.RUnlock()
	releaseKeys(s.opts.keyBits, privs)
}
