package entra

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"

	"github.com/entraguard/entraguard/core/internal/jose"
)

// minRSABits is the smallest RSA modulus accepted in a key set. Entra signs
// with 2048-bit keys.
const minRSABits = 2048

// Key is a signing key published by the authority.
type Key struct {
	// ID is the key's kid.
	ID string
	// Algorithm is the key's alg, or "" when the key set gives none (as
	// Entra's do; the algorithm then follows from the key type).
	Algorithm string
	// Issuer is the key's issuer property (v2 key sets), possibly a
	// "{tenantid}" template, or "".
	Issuer string
	// PublicKey is an *rsa.PublicKey or *ecdsa.PublicKey.
	PublicKey crypto.PublicKey
	// Certificate is the key's x5c[0] certificate, or nil when the key set
	// has no x5c (Azure AD B2C). Its validity dates are not checked: Entra
	// keeps signing with self-signed certificates past their dates.
	Certificate *x509.Certificate
}

// PEM returns the public key as a PEM "PUBLIC KEY" block.
func (k Key) PEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.PublicKey)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// verifyKey is a Key prepared for the request path.
type verifyKey struct {
	pub       crypto.PublicKey
	alg       jose.Alg // jose.AlgUnknown: any allowed alg of the key's type
	isRSA     bool
	issuerPre string // issuer property split at "{tenantid}"
	issuerSuf string
	templated bool
	hasIssuer bool
	// issuerTenant is the tenant GUID of a concrete issuer property, or "".
	issuerTenant string
	cloud        string   // cloud_instance_name, lowercase, or ""
	fp           [32]byte // fingerprint of the key material, to detect changes
	// rsaV verifies RS256/384/512 with a modulus prepared once;
	// nil for EC keys and RSA keys left to crypto/rsa.
	rsaV *jose.RSAVerifier
}

// allows reports whether a token signed with a may use this key.
func (k *verifyKey) allows(a jose.Alg) bool {
	if k.alg != jose.AlgUnknown {
		return k.alg == a
	}
	if k.isRSA {
		return a.IsRSA()
	}
	ec, _ := k.pub.(*ecdsa.PublicKey)
	return ec != nil && a.Curve() == ec.Curve
}

// verify checks sig over digest for algorithm a with k: RS256, RS384 and
// RS512 with the prepared modulus when k has one, everything else with
// crypto/rsa or crypto/ecdsa.
func (k *verifyKey) verify(a jose.Alg, digest, sig []byte) bool {
	return jose.Verify(a, k.pub, k.rsaV, digest, sig)
}

// jwk is one member of a JWKS document.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer"`
	Cloud  string   `json:"cloud_instance_name"`
}

const tenantTemplate = "{tenantid}"

// parseJWKS reads a key set. Keys that cannot be used are skipped with a
// log line; a kid that appears twice with different material is dropped
// altogether (fail closed). It fails only when the document is not a key
// set or no key is usable.
func parseJWKS(body []byte, log *slog.Logger) (map[string]*verifyKey, []Key, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("key set is not JSON: %w", err)
	}
	keys := make(map[string]*verifyKey, len(doc.Keys))
	var list []Key
	dropped := map[string]bool{}
	for i, raw := range doc.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			log.Warn("entra: skipped a malformed key", "index", i)
			continue
		}
		k, pub, err := j.parse()
		if err != nil {
			log.Warn("entra: skipped a key", "kid", j.Kid, "reason", err.Error())
			continue
		}
		if dropped[j.Kid] {
			continue
		}
		if prev, dup := keys[j.Kid]; dup {
			if prev.fp != k.fp || prev.hasIssuer != k.hasIssuer || prev.issuerPre+prev.issuerSuf != k.issuerPre+k.issuerSuf {
				log.Warn("entra: dropped a kid published twice with different keys", "kid", j.Kid)
				delete(keys, j.Kid)
				dropped[j.Kid] = true
			}
			continue
		}
		keys[j.Kid] = k
		list = append(list, pub)
	}
	if len(dropped) > 0 {
		kept := list[:0]
		for _, k := range list {
			if !dropped[k.ID] {
				kept = append(kept, k)
			}
		}
		list = kept
	}
	if len(keys) == 0 {
		return nil, nil, errors.New("key set has no usable signing key")
	}
	return keys, list, nil
}

func (j *jwk) parse() (*verifyKey, Key, error) {
	var none Key
	if j.Kid == "" {
		return nil, none, errors.New("no kid")
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, none, fmt.Errorf("use %q is not sig", j.Use)
	}
	if len(j.KeyOps) > 0 && !slices.Contains(j.KeyOps, "verify") {
		return nil, none, errors.New("key_ops does not include verify")
	}
	k := &verifyKey{}
	if j.Alg != "" {
		if k.alg = jose.AlgByName(j.Alg); k.alg == jose.AlgUnknown {
			return nil, none, fmt.Errorf("alg %q is not a supported signature algorithm", j.Alg)
		}
	}

	var cert *x509.Certificate
	if len(j.X5c) > 0 {
		der, err := base64.StdEncoding.DecodeString(j.X5c[0])
		if err != nil {
			return nil, none, errors.New("x5c[0] is not base64")
		}
		if cert, err = x509.ParseCertificate(der); err != nil {
			return nil, none, errors.New("x5c[0] is not an X.509 certificate")
		}
		if j.X5t != "" {
			sum := sha1.Sum(der)
			if j.X5t != base64.RawURLEncoding.EncodeToString(sum[:]) {
				return nil, none, errors.New("x5t is not the thumbprint of x5c[0]")
			}
		}
	}

	var pub crypto.PublicKey
	switch j.Kty {
	case "RSA":
		k.isRSA = true
		if k.alg != jose.AlgUnknown && !k.alg.IsRSA() {
			return nil, none, fmt.Errorf("alg %s does not fit kty RSA", j.Alg)
		}
		var fromNE *rsa.PublicKey
		if j.N != "" || j.E != "" {
			var err error
			if fromNE, err = rsaFromNE(j.N, j.E); err != nil {
				return nil, none, err
			}
		}
		var fromCert *rsa.PublicKey
		if cert != nil {
			var ok bool
			if fromCert, ok = cert.PublicKey.(*rsa.PublicKey); !ok {
				return nil, none, errors.New("x5c[0] does not hold an RSA key")
			}
		}
		switch {
		case fromNE != nil && fromCert != nil:
			if !fromNE.Equal(fromCert) {
				return nil, none, errors.New("x5c[0] and n/e are different keys")
			}
			pub = fromCert
		case fromCert != nil:
			pub = fromCert
		case fromNE != nil:
			pub = fromNE
		default:
			return nil, none, errors.New("RSA key has neither n/e nor x5c")
		}
		rk := pub.(*rsa.PublicKey)
		if rk.N.BitLen() < minRSABits {
			return nil, none, fmt.Errorf("RSA key of %d bits is too small", rk.N.BitLen())
		}
		if rk.E < 3 || rk.E%2 == 0 {
			return nil, none, errors.New("RSA exponent is not valid")
		}
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, none, fmt.Errorf("curve %q is not supported", j.Crv)
		}
		if k.alg != jose.AlgUnknown && k.alg.Curve() != curve {
			return nil, none, fmt.Errorf("alg %s does not fit curve %s", j.Alg, j.Crv)
		}
		x, errX := base64.RawURLEncoding.DecodeString(j.X)
		y, errY := base64.RawURLEncoding.DecodeString(j.Y)
		size := (curve.Params().BitSize + 7) / 8
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, none, errors.New("EC coordinates are not valid")
		}
		raw := append([]byte{4}, append(x, y...)...)
		ek, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
		if err != nil {
			return nil, none, errors.New("EC point is not on the curve")
		}
		if cert != nil {
			ck, ok := cert.PublicKey.(*ecdsa.PublicKey)
			if !ok || !ck.Equal(ek) {
				return nil, none, errors.New("x5c[0] and x/y are different keys")
			}
		}
		pub = ek
	default:
		return nil, none, fmt.Errorf("kty %q is not supported", j.Kty)
	}
	k.pub = pub
	if rk, ok := pub.(*rsa.PublicKey); ok {
		k.rsaV = jose.NewRSAVerifier(rk)
	}

	// A blank issuer property is no issuer (as Microsoft.IdentityModel
	// reads it), never one that no token can match.
	if j.Issuer = strings.TrimSpace(j.Issuer); j.Issuer != "" {
		k.hasIssuer = true
		if pre, suf, ok := strings.Cut(j.Issuer, tenantTemplate); ok {
			k.templated = true
			k.issuerPre, k.issuerSuf = pre, suf
		} else {
			k.issuerPre = j.Issuer
			k.issuerTenant = newIssuer(j.Issuer, false).tenant
		}
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, none, errors.New("key cannot be encoded")
	}
	k.fp = sha256.Sum256(der)
	k.cloud = strings.ToLower(strings.TrimSpace(j.Cloud))
	return k, Key{ID: j.Kid, Algorithm: j.Alg, Issuer: j.Issuer, PublicKey: pub, Certificate: cert}, nil
}

func rsaFromNE(n, e string) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n, "="))
	if err != nil || len(nb) == 0 {
		return nil, errors.New("RSA modulus n is not base64url")
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(e, "="))
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("RSA exponent e is not valid")
	}
	eb = bytes.TrimLeft(eb, "\x00")
	var ev int
	for _, b := range eb {
		ev = ev<<8 | int(b)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: ev}, nil
}
