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
func keyIssuerOK(key *verifyKey, iss, tid string, snap *snapshot) bool {
	if !key.hasIssuer {
		return true
	}
	effective := key.issuerPre
	if key.templated {
		if tid == "" {
			return false // a template needs the token's tenant
		}
		effective = key.issuerPre + tid + key.issuerSuf
	}
	if effective == iss {
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
			return tid != "" && effective == v2.pre+tid+v2.suf
		}
		return effective == v2.pre && (tid == "" || v2.tenant == "" || strings.EqualFold(v2.tenant, tid))
	}
	return false
}
