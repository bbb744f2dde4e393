package entra

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/entraguard/entraguard/core/internal/jose"
)

// This file reads the confirmation claim, cnf (RFC 7800), of tokens bound
// to a key: Entra's mTLS proof-of-possession tokens (token_type mtls_pop,
// RFC 8705) carry {"cnf": {"x5t#S256": "<base64url SHA-256 of the client
// certificate's DER>"}}. Such a token is worth nothing without the key, so
// it must never be accepted as a bearer token: Validate refuses it, and the
// middleware accepts it only as "Authorization: MTLS_POP <token>" over a
// connection that proves the certificate (mtls.go).

// confirmation is a token's cnf claim.
type confirmation struct {
	// x5t is the certificate thumbprint of cnf["x5t#S256"], when hasX5t.
	x5t    [sha256.Size]byte
	hasX5t bool
}

// errCnfThumbprint is the error of an x5t#S256 that is not a base64url
// SHA-256 digest.
var errCnfThumbprint = errors.New(`x5t#S256 is not the base64url (unpadded) SHA-256 thumbprint of a certificate`)

// errCnfCase is the error of a cnf member that differs from x5t#S256 only
// in letter case, which other readers may take for it.
var errCnfCase = errors.New(`member differs from x5t#S256 only in letter case`)

// readConfirmation reads the value of a cnf claim at r: a JSON object
// whose x5t#S256, when present, must be a base64url SHA-256 digest. Other
// members (jkt, jwk, kid: bindings to a key this package does not verify)
// are skipped; the token stays bound all the same. Anything else refuses
// the token as malformed: a bound token read as unbound would be accepted
// as a bearer token.
func readConfirmation(r *jose.Reader) (*confirmation, error) {
	if r.Peek() != '{' {
		return nil, jose.ErrType
	}
	raw, err := r.RawValue(1)
	if err != nil {
		return nil, err
	}
	cnf := &confirmation{}
	sub := jose.NewReader(raw)
	err = sub.Object(func(name string) error {
		if name != "x5t#S256" {
			if strings.EqualFold(name, "x5t#S256") {
				return errCnfCase
			}
			return sub.Skip(2)
		}
		s, err := sub.Str()
		if err != nil {
			return err
		}
		if len(s) != 43 {
			return errCnfThumbprint
		}
		// jose.DecodeSegment accepts canonical base64url only: a digest has
		// one spelling.
		if n, ok := jose.DecodeSegment(cnf.x5t[:], s); !ok || n != sha256.Size {
			return errCnfThumbprint
		}
		cnf.hasX5t = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cnf, nil
}

// boundAsBearer refuses a bound token presented as a bearer token.
func boundAsBearer() *Error {
	return &Error{Code: CodeTokenBound, Description: boundAsBearerDesc}
}

const boundAsBearerDesc = "the token is bound to a client certificate or key (it has a cnf claim) and was presented as a bearer token, which would throw the binding away: " +
	"send it as Authorization: MTLS_POP <token> over a TLS connection that presents the certificate it is bound to, to an API that verifies the binding (entra.WithMTLSBinding); or request an unbound (Bearer) token"

// Bound reports whether the token is bound to a key or certificate: it
// carries a cnf (confirmation) claim, as Entra's mTLS proof-of-possession
// tokens do. [Validator.Validate] refuses such tokens with
// [CodeTokenBound]; the middleware accepts them only under
// [WithMTLSBinding], presented as "MTLS_POP <token>" with the certificate.
func (c *Claims) Bound() bool { return c != nil && c.cnf != nil }

// CertificateThumbprint returns the token's cnf["x5t#S256"]: the base64url
// SHA-256 thumbprint of the client certificate the token is bound to (RFC
// 8705 §3.1), or "" when the token is not bound to a certificate.
func (c *Claims) CertificateThumbprint() string {
	if c == nil || c.cnf == nil || !c.cnf.hasX5t {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.cnf.x5t[:])
}

// CertificateThumbprint returns the x5t#S256 thumbprint of cert (RFC 8705
// §3.1): the base64url (unpadded) SHA-256 digest of its DER encoding, as
// Entra writes it in the cnf claim of a token bound to cert.
func CertificateThumbprint(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	d := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(d[:])
}
