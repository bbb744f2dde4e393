package entratest_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

// get fetches url with the server's client and returns status, headers and body.
func get(t *testing.T, srv *entratest.Server, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := srv.Client().Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// getJSON fetches url, wants 200 and JSON, and decodes it.
func getJSON(t *testing.T, srv *entratest.Server, url string) map[string]any {
	t.Helper()
	code, h, body := get(t, srv, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, code, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: not JSON: %v\n%s", url, err, body)
	}
	return m
}

// publishedKey is a key of a fetched JWKS, checked and parsed.
type publishedKey struct {
	pub  *rsa.PublicKey
	cert *x509.Certificate // nil without x5c
	raw  map[string]any
}

// fetchKeys fetches a JWKS and checks every key's shape: kty RSA, use sig,
// no alg, n/e that parse, and, when x5c is there, a certificate holding the
// same key whose SHA-1 thumbprint is both kid and x5t.
func fetchKeys(t *testing.T, srv *entratest.Server, url string) map[string]publishedKey {
	t.Helper()
	doc := getJSON(t, srv, url)
	list, ok := doc["keys"].([]any)
	if !ok {
		t.Fatalf("%s: no keys array: %v", url, doc)
	}
	keys := map[string]publishedKey{}
	for _, item := range list {
		raw := item.(map[string]any)
		kid, _ := raw["kid"].(string)
		if raw["kty"] != "RSA" || raw["use"] != "sig" || kid == "" {
			t.Errorf("key %v: want kty RSA, use sig and a kid", raw)
		}
		if _, ok := raw["alg"]; ok {
			t.Errorf("key %s carries alg; Entra's keys carry none", kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(b64url(t, raw["n"])), E: int(new(big.Int).SetBytes(b64url(t, raw["e"])).Int64())}
		k := publishedKey{pub: pub, raw: raw}
		if x5c, ok := raw["x5c"].([]any); ok {
			if len(x5c) != 1 {
				t.Fatalf("key %s: x5c has %d certificates, want 1", kid, len(x5c))
			}
			der, err := base64.StdEncoding.DecodeString(x5c[0].(string))
			if err != nil {
				t.Fatalf("key %s: x5c is not standard base64: %v", kid, err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("key %s: x5c: %v", kid, err)
			}
			if !pub.Equal(cert.PublicKey) {
				t.Errorf("key %s: n/e and x5c disagree", kid)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("key %s: certificate is not self-signed: %v", kid, err)
			}
			sum := sha1.Sum(der)
			thumb := base64.RawURLEncoding.EncodeToString(sum[:])
			if kid != thumb || raw["x5t"] != thumb {
				t.Errorf("key %s: kid %q, x5t %v, want both the SHA-1 thumbprint %q", kid, kid, raw["x5t"], thumb)
			}
			k.cert = cert
		}
		if _, dup := keys[kid]; dup {
			t.Errorf("kid %s published twice", kid)
		}
		keys[kid] = k
	}
	return keys
}

func b64url(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || s == "" {
		t.Fatalf("%q is not base64url: %v", s, err)
	}
	return b
}

// parse splits a compact JWS and decodes its header and claims.
func parse(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	if err := json.Unmarshal(b64url(t, parts[0]), &header); err != nil {
		t.Fatalf("header: %v", err)
	}
	if err := json.Unmarshal(b64url(t, parts[1]), &claims); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return header, claims
}

// verify checks tok's RS256 signature with the key of its kid among keys.
func verify(t *testing.T, tok string, keys map[string]publishedKey) error {
	t.Helper()
	header, _ := parse(t, tok)
	kid, _ := header["kid"].(string)
	k, ok := keys[kid]
	if !ok {
		t.Fatalf("kid %q is not published", kid)
	}
	return verifyWith(t, tok, k.pub)
}

func verifyWith(t *testing.T, tok string, pub *rsa.PublicKey) error {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	digest := sha256.Sum256([]byte(tok[:i]))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], b64url(t, tok[i+1:]))
}

func keyIDs(keys map[string]publishedKey) []string {
	var ids []string
	for kid := range keys {
		ids = append(ids, kid)
	}
	return ids
}

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
