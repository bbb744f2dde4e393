package entra

import (
	"net/url"
	"strings"
)

// Authority hosts of Microsoft Entra ID's clouds, for [Config.AuthorityHost]
// (or ENTRA_AUTHORITY_HOST). Each cloud is a separate Entra instance with its
// own tenants, metadata and signing keys; the issuers come from its metadata.
const (
	// AuthorityPublic is the global cloud, the default ([DefaultAuthorityHost]).
	AuthorityPublic = "https://login.microsoftonline.com/"
	// AuthorityUSGovernment is Azure Government (US).
	AuthorityUSGovernment = "https://login.microsoftonline.us/"
	// AuthorityChina is Microsoft Azure operated by 21Vianet; its v1.0
	// tokens are issued by https://sts.chinacloudapi.cn/{tid}/.
	AuthorityChina = "https://login.chinacloudapi.cn/"
	// AuthorityChinaPartner is the other authority host of the same China
	// cloud, the one its portal and MSAL prefer.
	AuthorityChinaPartner = "https://login.partner.microsoftonline.cn/"
	// AuthorityBleu is Bleu, the French sovereign cloud.
	AuthorityBleu = "https://login.sovcloud-identity.fr/"
	// AuthorityDelos is Delos, the German sovereign cloud.
	AuthorityDelos = "https://login.sovcloud-identity.de/"
	// AuthorityGovSG is GovSG, the Singapore government sovereign cloud.
	AuthorityGovSG = "https://login.sovcloud-identity.sg/"
)

// cloud is one Entra instance: the hosts that name it in authorities and
// issuers. A key whose issuer names a host of another cloud never signs a
// token of this one.
type cloud struct {
	name         string   // as in docs and logs
	hosts        []string // authority aliases (login hosts), lowercase
	v1IssuerHost string   // host of v1.0 issuers, "https://{host}/{tid}/", where known
}

// clouds are the known Entra instances, from MSAL's instance metadata.
var clouds = []cloud{
	{name: "public", hosts: []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com"}, v1IssuerHost: "sts.windows.net"},
	{name: "US Government", hosts: []string{"login.microsoftonline.us", "login.usgovcloudapi.net"}},
	{name: "China", hosts: []string{"login.chinacloudapi.cn", "login.partner.microsoftonline.cn"}, v1IssuerHost: "sts.chinacloudapi.cn"},
	{name: "Bleu (France)", hosts: []string{"login.sovcloud-identity.fr"}},
	{name: "Delos (Germany)", hosts: []string{"login.sovcloud-identity.de"}},
	{name: "GovSG (Singapore)", hosts: []string{"login.sovcloud-identity.sg"}},
}

// cloudOfHost returns the known cloud whose authority (login) host this
// is, or nil. v1.0 issuer hosts are not looked up: key issuers never name
// them, and Entra's v1.0 issuers come from the metadata.
func cloudOfHost(host string) *cloud {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for i := range clouds {
		c := &clouds[i]
		for _, h := range c.hosts {
			if host == h {
				return c
			}
		}
	}
	return nil
}

// cloudOfURL returns the known cloud of a URL's host, or nil.
func cloudOfURL(raw string) *cloud {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return cloudOfHost(u.Hostname())
}

// authorityCloud is the cloud a validator serves: that of its authority
// host (or MetadataURL), else that of its v2.0 metadata issuer, or nil when
// neither is a known cloud (an emulator, External ID, B2C).
func authorityCloud(s *settings, v2Issuer string) *cloud {
	if c := cloudOfURL(s.metadataURLs[0]); c != nil {
		return c
	}
	return cloudOfURL(v2Issuer)
}

// filterCloudKeys drops the keys this authority must not use: those whose
// cloud_instance_name differs from the metadata's (unless
// Config.AnyCloudInstanceKeys), and those whose issuer property names a host
// of another known cloud. It returns the keys to keep; none kept is an
// error of the key set, as a set without usable keys is.
func filterCloudKeys(s *settings, keys map[string]*verifyKey, list []Key, metaCloud, v2Issuer string) (map[string]*verifyKey, []Key) {
	metaCloud = strings.ToLower(strings.TrimSpace(metaCloud))
	own := authorityCloud(s, v2Issuer)
	drop := func(kid string, k *verifyKey) string {
		if !s.anyCloudKeys && metaCloud != "" && k.cloud != "" && k.cloud != metaCloud {
			return "its cloud_instance_name " + quote(k.cloud) + " is not the authority's " + quote(metaCloud)
		}
		if k.hasIssuer && own != nil {
			if c := cloudOfURL(k.issuerPre); c != nil && c != own {
				return "its issuer names the " + c.name + " cloud, not the " + own.name + " cloud of this authority"
			}
		}
		return ""
	}
	var kept []Key
	for _, pub := range list {
		k := keys[pub.ID]
		if why := drop(pub.ID, k); why != "" {
			s.logger.Warn("entra: skipped a key", "kid", pub.ID, "reason", why)
			delete(keys, pub.ID)
			continue
		}
		kept = append(kept, pub)
	}
	return keys, kept
}

// cloudOfIssuer returns the known cloud of a token issuer: its host is an
// authority host or the cloud's v1.0 issuer host. Or nil.
func cloudOfIssuer(iss string) *cloud {
	u, err := url.Parse(iss)
	if err != nil {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	for i := range clouds {
		if clouds[i].v1IssuerHost != "" && host == clouds[i].v1IssuerHost {
			return &clouds[i]
		}
	}
	return cloudOfHost(host)
}

// otherCloudError explains an issuer of another known cloud than this
// authority's, or returns nil.
func otherCloudError(s *settings, snap *snapshot, iss string) error {
	if len(snap.issuers) == 0 {
		return nil
	}
	tok, own := cloudOfIssuer(iss), authorityCloud(s, snap.issuers[0].display)
	if tok == nil || own == nil || tok == own {
		return nil
	}
	return newError(CodeIssuerInvalid, "token was issued by the "+tok.name+" cloud, but this API's authority is in the "+own.name+" cloud: register the API in the cloud its callers use, and set Config.AuthorityHost to that cloud's authority (https://"+tok.hosts[0]+"/)")
}
