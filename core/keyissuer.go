package entra

import "strings"

// keyIssuerOK applies the signing key's issuer property, as
// Microsoft.IdentityModel's signing-key issuer validation does: the key's
// issuer, with "{tenantid}" replaced by the token's tid, must be the token's
// issuer, or the v2.0 form of it (the v2.0 metadata's issuer for that tid).
// The second form is how v1.0 tokens (https://sts.windows.net/{tid}/) are
// held to keys that carry v2.0 issuers. Entra's personal-account keys must
// never sign a work tenant's token, and a tenant's own key never another
// tenant's. A key without an issuer property (or a blank one) limits nothing.
// It allocates nothing.
func keyIssuerOK(key *verifyKey, iss, tid string, snap *snapshot) bool {
	if !key.hasIssuer {
		return true
	}
	// The effective key issuer is kPre+kTid+kSuf.
	kPre, kTid, kSuf := key.issuerPre, "", ""
	if key.templated {
		if tid == "" {
			return false // a template needs the token's tenant
		}
		kTid, kSuf = tid, key.issuerSuf
	}
	if concatEqual(kPre, kTid, kSuf, iss, "", "") {
		return true
	}
	// The v2.0 form of the token's issuer: the first issuer learned (from the
	// v2.0 metadata, or MetadataURL's document) filled with the token's tid.
	for i := range snap.issuers {
		v2 := &snap.issuers[i]
		if v2.v1 {
			continue
		}
		if v2.templated {
			return tid != "" && concatEqual(kPre, kTid, kSuf, v2.pre, tid, v2.suf)
		}
		return concatEqual(kPre, kTid, kSuf, v2.pre, "", "") && (tid == "" || v2.tenant == "" || strings.EqualFold(v2.tenant, tid))
	}
	return false
}

// concatEqual reports whether a1+a2+a3 == b1+b2+b3, without building them.
func concatEqual(a1, a2, a3, b1, b2, b3 string) bool {
	if len(a1)+len(a2)+len(a3) != len(b1)+len(b2)+len(b3) {
		return false
	}
	a, b := [3]string{a1, a2, a3}, [3]string{b1, b2, b3}
	i, j := 0, 0 // current pieces
	for {
		for i < 3 && a[i] == "" {
			i++
		}
		for j < 3 && b[j] == "" {
			j++
		}
		if i == 3 || j == 3 {
			return i == 3 && j == 3
		}
		n := min(len(a[i]), len(b[j]))
		if a[i][:n] != b[j][:n] {
			return false
		}
		a[i], b[j] = a[i][n:], b[j][n:]
	}
}
