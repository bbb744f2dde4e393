package entra

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// This file verifies the binding of Entra's mTLS proof-of-possession
// tokens (RFC 8705 §3): a token whose cnf["x5t#S256"] is the SHA-256
// thumbprint of a client certificate is accepted only when presented as
// "Authorization: MTLS_POP <token>" (the scheme Microsoft.Identity.Web and
// MSAL send) on a request whose client certificate has that thumbprint:
// the certificate of the TLS connection, or, from a trusted proxy that
// terminates TLS, the certificate the proxy forwards in a header.

// CertHeaderFormat says how a trusted proxy forwards the client
// certificate; see [MTLSBinding].
type CertHeaderFormat int

// The formats of forwarded client certificates.
const (
	// CertHeaderNone: no proxy forwards certificates (the zero value).
	CertHeaderNone CertHeaderFormat = iota
	// CertHeaderEscapedPEM: the certificate as URL-escaped PEM, as nginx's
	// $ssl_client_escaped_cert (proxy_set_header ssl-client-cert
	// $ssl_client_escaped_cert) and ingress-nginx's ssl-client-cert header.
	// Default header: Ssl-Client-Cert.
	CertHeaderEscapedPEM
	// CertHeaderXFCC: Envoy's X-Forwarded-Client-Cert, whose one element
	// must carry Hash= (hex SHA-256 of the DER) or Cert= (URL-escaped PEM),
	// or both (then they must agree). Configure the Envoy in front of the
	// API with forward_client_cert_details SANITIZE_SET so that the header
	// holds the client's certificate only. Default header:
	// X-Forwarded-Client-Cert.
	CertHeaderXFCC
	// CertHeaderBase64DER: the certificate's DER in standard base64,
	// optionally URL-escaped, without PEM lines: Caddy's
	// {http.request.tls.client.certificate_der_base64} (header_up
	// Ssl-Client-Cert …) and Traefik's X-Forwarded-Tls-Client-Cert
	// (passTLSClientCert with pem: true). Default header: Ssl-Client-Cert.
	CertHeaderBase64DER
)

// MTLSBinding configures [WithMTLSBinding].
type MTLSBinding struct {
	// TrustedProxies are the addresses (IPs such as "10.0.0.7", or CIDR
	// prefixes such as "10.0.0.0/8" or "fd00::/8") of the proxies that
	// terminate TLS in front of the API and forward the client
	// certificate in CertHeader. A request whose direct peer (the TCP
	// connection's remote address, never X-Forwarded-For) is one of them
	// is judged by that header only; any other request by the certificate
	// of its own TLS connection, and its CertHeader is ignored. Empty: no
	// proxy is trusted.
	TrustedProxies []string
	// CertHeaderFormat is how the trusted proxies forward the certificate.
	// Required when TrustedProxies is set.
	CertHeaderFormat CertHeaderFormat
	// CertHeader names the header the trusted proxies set. Default: the
	// format's (X-Forwarded-Client-Cert for CertHeaderXFCC, otherwise
	// Ssl-Client-Cert). The proxies
	// must overwrite it on every request, never pass a client's on.
	CertHeader string
}

// mtlsBinding is an MTLSBinding checked at set-up.
type mtlsBinding struct {
	prefixes []netip.Prefix
	format   CertHeaderFormat
	header   string
}

// WithMTLSBinding makes the middleware accept tokens bound to a client
// certificate (Entra's mTLS proof-of-possession tokens, whose cnf claim
// holds the certificate's x5t#S256 thumbprint) when they are presented as
// "Authorization: MTLS_POP <token>" and the request's client certificate
// has that thumbprint. The certificate is the TLS connection's (the
// server must ask for client certificates: tls.Config.ClientAuth), or,
// for a request from one of b.TrustedProxies, the one the proxy forwards.
//
// Refused with [CodeTokenBindingInvalid]: MTLS_POP without a client
// certificate, with another certificate, or with a token that is not
// bound to a certificate. A bound token presented as a bearer token stays
// refused with [CodeTokenBound]. Unbound bearer tokens are accepted as
// before.
//
// The adapters give the middleware the connection: net/http, Gin and Echo
// from the *http.Request, Fiber from fasthttp's connection, gRPC from the
// call's peer; Connect needs [PeerMiddleware] around its handler (see
// docs/bound-tokens.md). Without a connection to read (a [Request] that is
// not a [PeerRequest], and no [ContextWithPeer]), MTLS_POP is refused.
//
// WithMTLSBinding panics at set-up on an address that is not an IP or a
// CIDR prefix, on TrustedProxies without a CertHeaderFormat, on a format
// without TrustedProxies, and on an unknown format.
func WithMTLSBinding(b MTLSBinding) Option {
	mb := &mtlsBinding{format: b.CertHeaderFormat}
	for _, s := range b.TrustedProxies {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				// Peers are compared unmapped: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			mb.prefixes = append(mb.prefixes, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			a = a.Unmap()
			mb.prefixes = append(mb.prefixes, netip.PrefixFrom(a, a.BitLen()))
		} else {
			panic("entra: MTLSBinding.TrustedProxies: " + strconv.Quote(s) + " is not an IP address or a CIDR prefix (such as 10.0.0.7 or 10.0.0.0/8)")
		}
	}
	switch b.CertHeaderFormat {
	case CertHeaderNone:
		if len(mb.prefixes) > 0 {
			panic("entra: MTLSBinding.TrustedProxies is set without CertHeaderFormat: say how the proxies forward the client certificate (CertHeaderEscapedPEM for nginx, CertHeaderXFCC for Envoy, CertHeaderBase64DER for Caddy and Traefik)")
		}
		if b.CertHeader != "" {
			panic("entra: MTLSBinding.CertHeader is set without TrustedProxies and CertHeaderFormat: a certificate header is read only from trusted proxies")
		}
	case CertHeaderEscapedPEM, CertHeaderXFCC, CertHeaderBase64DER:
		if len(mb.prefixes) == 0 {
			panic("entra: MTLSBinding.CertHeaderFormat is set without TrustedProxies: list the addresses of the proxies that set the header, or the header of any client would be believed")
		}
		mb.header = b.CertHeader
		if mb.header == "" {
			mb.header = "Ssl-Client-Cert"
			if b.CertHeaderFormat == CertHeaderXFCC {
				mb.header = "X-Forwarded-Client-Cert"
			}
		}
		mb.header = http.CanonicalHeaderKey(strings.TrimSpace(mb.header))
	default:
		panic("entra: MTLSBinding.CertHeaderFormat " + strconv.Itoa(int(b.CertHeaderFormat)) + " is not a known format")
	}
	return optionFunc(func(o *options) { o.mtls = mb })
}

// VerifiesCertificateBinding reports whether a was made with
// [WithMTLSBinding]. Adapters that must do work to tell the middleware the
// connection's peer ([ContextWithPeer]) do it only then.
func (a *Authenticator) VerifiesCertificateBinding() bool { return a.o.mtls != nil }

// For adapter authors: Peer is the direct peer of a request: the other end of its connection.
type Peer struct {
	// Addr is the peer's network address: "ip:port" (net/http's
	// RemoteAddr, net.Addr.String()) or a bare IP.
	Addr string
	// TLS is the connection's TLS state, nil when it is not TLS. Its
	// PeerCertificates[0] is the client certificate.
	TLS *tls.ConnectionState
}

// For adapter authors: PeerRequest is an optional interface of a [Request] that knows its
// connection: [WithMTLSBinding] reads the client certificate from it.
// [HTTPRequest] implements it, and so do the adapters' requests where the
// framework exposes the connection.
type PeerRequest interface {
	Request
	Peer() Peer
}

// Peer implements [PeerRequest]: r.RemoteAddr and r.TLS.
func (h HTTPRequest) Peer() Peer { return Peer{Addr: h.R.RemoteAddr, TLS: h.R.TLS} }

type peerKey struct{}

// For adapter authors: ContextWithPeer returns a copy of ctx carrying p, the peer of the
// request ctx belongs to, for a [Request] that cannot tell it (the gRPC
// adapter puts the call's peer there; [PeerMiddleware] does so for
// Connect).
func ContextWithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, &p)
}

// PeerMiddleware puts each request's peer (r.RemoteAddr and r.TLS) in its
// context ([ContextWithPeer]), for handlers whose authentication cannot
// see the *http.Request: wrap a Connect handler in it so that
// [WithMTLSBinding] can read the client certificate.
func PeerMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(ContextWithPeer(r.Context(), Peer{Addr: r.RemoteAddr, TLS: r.TLS})))
	})
}

// peerOf returns the peer of req: its own, or the one in ctx.
func peerOf(ctx context.Context, req Request) (Peer, bool) {
	if pr, ok := req.(PeerRequest); ok {
		return pr.Peer(), true
	}
	if p, ok := ctx.Value(peerKey{}).(*Peer); ok && p != nil {
		return *p, true
	}
	return Peer{}, false
}

// mtlsPoP returns the credentials of an "MTLS_POP" Authorization value
// (scheme case-insensitive, spaces around tolerated), and whether it is one.
func mtlsPoP(v string) (string, bool) {
	v = strings.TrimLeft(v, " \t")
	const scheme = "mtls_pop"
	if len(v) < len(scheme)+1 || !strings.EqualFold(v[:len(scheme)], scheme) || (v[len(scheme)] != ' ' && v[len(scheme)] != '\t') {
		return "", false
	}
	return strings.Trim(v[len(scheme)+1:], " \t"), true
}

// authenticatePoP handles a request whose Authorization header is
// "MTLS_POP <token>". It reports false, and does nothing, for any other
// request. Authenticate calls it only when it found no bearer token.
func (a *Authenticator) authenticatePoP(ctx context.Context, req Request) (context.Context, *Response, bool) {
	vals := req.HeaderValues("Authorization")
	if len(vals) != 1 {
		return ctx, nil, false
	}
	token, ok := mtlsPoP(vals[0])
	if !ok {
		return ctx, nil, false
	}
	if a.o.mtls == nil {
		return ctx, a.reject(ctx, &Error{Code: CodeTokenBound, Description: "this API does not verify certificate-bound tokens, so it refuses the MTLS_POP scheme: its owner enables the check with entra.WithMTLSBinding; or the client requests an unbound (Bearer) token"}), true
	}
	if token == "" {
		return ctx, a.reject(ctx, errNoToken), true
	}
	thumb, berr := a.o.mtls.clientThumbprint(ctx, req)
	if berr != nil {
		return ctx, a.reject(ctx, berr), true
	}
	c, err := a.v.validateToken(ctx, token, true)
	if err != nil {
		return ctx, a.reject(ctx, err), true
	}
	if c.cnf == nil || !c.cnf.hasX5t {
		return ctx, a.rejectClaims(ctx, c, &Error{Code: CodeTokenBindingInvalid, Description: "the token presented with MTLS_POP is not bound to a certificate (it has no cnf x5t#S256 claim): send an unbound token as Bearer, or request an mTLS proof-of-possession token"}), true
	}
	if subtle.ConstantTimeCompare(c.cnf.x5t[:], thumb[:]) != 1 {
		return ctx, a.rejectClaims(ctx, c, &Error{Code: CodeTokenBindingInvalid, Description: "the client certificate is not the one the token is bound to (its SHA-256 thumbprint differs from the token's cnf x5t#S256): present the certificate the token was issued for"}), true
	}
	out, resp := a.accept(ctx, c)
	return out, resp, true
}

// Bounds on forwarded certificates: a leaf certificate is a few KiB.
const (
	maxCertHeader = 32 << 10
	maxCertDER    = 16 << 10
)

func bindingError(desc string) *Error {
	return &Error{Code: CodeTokenBindingInvalid, Description: desc}
}

// clientThumbprint returns the SHA-256 thumbprint of the request's client
// certificate: from the trusted proxy's header when the direct peer is a
// trusted proxy, otherwise from the TLS connection.
func (b *mtlsBinding) clientThumbprint(ctx context.Context, req Request) ([sha256.Size]byte, *Error) {
	var none [sha256.Size]byte
	p, ok := peerOf(ctx, req)
	if !ok {
		return none, bindingError("the server cannot see this request's connection, so it cannot verify the certificate an MTLS_POP token is bound to (for Connect, wrap the handler in entra.PeerMiddleware)")
	}
	if len(b.prefixes) > 0 && b.trusted(p.Addr) {
		return b.forwarded(req)
	}
	if p.TLS == nil || len(p.TLS.PeerCertificates) == 0 {
		return none, bindingError("no client certificate was presented: an MTLS_POP token must be sent over a TLS connection that presents the certificate it is bound to")
	}
	return sha256.Sum256(p.TLS.PeerCertificates[0].Raw), nil
}

// trusted reports whether addr ("ip:port" or "ip") is a trusted proxy.
func (b *mtlsBinding) trusted(addr string) bool {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		ip = ap.Addr()
	} else if a, err := netip.ParseAddr(addr); err == nil {
		ip = a
	} else {
		return false
	}
	if ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap()
	for _, p := range b.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwarded reads the certificate a trusted proxy forwards.
func (b *mtlsBinding) forwarded(req Request) ([sha256.Size]byte, *Error) {
	var none [sha256.Size]byte
	vals := req.HeaderValues(b.header)
	switch {
	case len(vals) == 0 || strings.TrimSpace(vals[0]) == "":
		return none, bindingError("the trusted proxy forwarded no client certificate (header " + b.header + "): the client must present its certificate to the proxy, and the proxy must forward it")
	case len(vals) > 1:
		return none, bindingError("the request carries more than one " + b.header + " header, so the client certificate is ambiguous")
	case len(vals[0]) > maxCertHeader:
		return none, bindingError("the " + b.header + " header is larger than " + strconv.Itoa(maxCertHeader) + " bytes")
	}
	v := strings.TrimSpace(vals[0])
	if b.format == CertHeaderXFCC {
		return xfccThumbprint(v, b.header)
	}
	if b.format == CertHeaderBase64DER {
		der, err := base64DERCert(v)
		if err != "" {
			return none, bindingError("the " + b.header + " header is not a base64 DER certificate: " + err)
		}
		return sha256.Sum256(der), nil
	}
	der, err := escapedPEMCert(v)
	if err != "" {
		return none, bindingError("the " + b.header + " header is not a URL-escaped PEM certificate: " + err)
	}
	return sha256.Sum256(der), nil
}

// escapedPEMCert decodes a URL-escaped PEM certificate (nginx's
// $ssl_client_escaped_cert) to its DER, which must parse as one X.509
// certificate. It returns a reason on failure.
func escapedPEMCert(v string) ([]byte, string) {
	s, err := url.PathUnescape(v)
	if err != nil {
		return nil, "its URL escapes are invalid"
	}
	if !strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "-----BEGIN ") {
		// pem.Decode would skip whatever comes first.
		return nil, "it does not start with a PEM block"
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, "it holds no PEM block"
	}
	if block.Type != "CERTIFICATE" {
		return nil, "its PEM block is not a CERTIFICATE"
	}
	if len(block.Headers) > 0 {
		return nil, "its PEM block has headers"
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, "it holds more than one PEM block"
	}
	if len(block.Bytes) > maxCertDER {
		return nil, "the certificate is larger than " + strconv.Itoa(maxCertDER) + " bytes"
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, "it is not an X.509 certificate"
	}
	return block.Bytes, ""
}

// base64DERCert decodes a certificate's DER in standard base64 (padded),
// URL-escaped or not, which must parse as one X.509 certificate.
func base64DERCert(v string) ([]byte, string) {
	s, err := url.PathUnescape(v)
	if err != nil {
		return nil, "its URL escapes are invalid"
	}
	der, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, "it is not standard base64"
	}
	if len(der) > maxCertDER {
		return nil, "the certificate is larger than " + strconv.Itoa(maxCertDER) + " bytes"
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, "it is not an X.509 certificate"
	}
	return der, ""
}

// xfccThumbprint reads the thumbprint from Envoy's X-Forwarded-Client-Cert:
// exactly one element, with Hash= (64 hex digits) and/or Cert= (URL-escaped
// PEM), which must agree when both are there.
func xfccThumbprint(v, header string) ([sha256.Size]byte, *Error) {
	var none [sha256.Size]byte
	pairs, reason := parseXFCC(v)
	if reason != "" {
		return none, bindingError("the " + header + " header cannot be read: " + reason)
	}
	var hash, cert string
	var hasHash, hasCert bool
	for _, kv := range pairs {
		switch {
		case strings.EqualFold(kv[0], "Hash"):
			if hasHash {
				return none, bindingError("the " + header + " header has more than one Hash")
			}
			hash, hasHash = kv[1], true
		case strings.EqualFold(kv[0], "Cert"):
			if hasCert {
				return none, bindingError("the " + header + " header has more than one Cert")
			}
			cert, hasCert = kv[1], true
		}
	}
	var thumb [sha256.Size]byte
	switch {
	case hasCert:
		der, err := escapedPEMCert(cert)
		if err != "" {
			return none, bindingError("the Cert of the " + header + " header is not a URL-escaped PEM certificate: " + err)
		}
		thumb = sha256.Sum256(der)
		if hasHash {
			h, ok := hexDigest(hash)
			if !ok || h != thumb {
				return none, bindingError("the Hash and the Cert of the " + header + " header disagree")
			}
		}
	case hasHash:
		h, ok := hexDigest(hash)
		if !ok {
			return none, bindingError("the Hash of the " + header + " header is not a hex SHA-256 digest")
		}
		thumb = h
	default:
		return none, bindingError("the " + header + " header has neither Hash nor Cert: configure the proxy to forward the client certificate's hash or certificate")
	}
	return thumb, nil
}

func hexDigest(s string) ([sha256.Size]byte, bool) {
	var d [sha256.Size]byte
	if len(s) != 2*sha256.Size {
		return d, false
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, false
	}
	return d, true
}

// parseXFCC splits an X-Forwarded-Client-Cert value that must hold exactly
// one element: key=value pairs separated by ';', values optionally in
// double quotes (inside which ',', ';' and '=' are literal and a backslash
// escapes the next character). It returns a reason when the value is not
// of that shape, or holds more than one element (a chain of proxies,
// whose first certificate this API cannot attribute).
func parseXFCC(v string) ([][2]string, string) {
	var pairs [][2]string
	i := 0
	for {
		// key
		j := i
		for j < len(v) && v[j] != '=' && v[j] != ';' && v[j] != ',' && v[j] != '"' {
			j++
		}
		if j >= len(v) || v[j] != '=' {
			return nil, "a field is not key=value"
		}
		key := strings.TrimSpace(v[i:j])
		if key == "" {
			return nil, "a field has no key"
		}
		j++
		var val string
		if j < len(v) && v[j] == '"' {
			var sb strings.Builder
			j++
			closed := false
			for j < len(v) {
				c := v[j]
				if c == '\\' {
					if j+1 >= len(v) {
						return nil, "a quoted value ends in a backslash"
					}
					sb.WriteByte(v[j+1])
					j += 2
					continue
				}
				if c == '"' {
					closed = true
					j++
					break
				}
				sb.WriteByte(c)
				j++
			}
			if !closed {
				return nil, "a quoted value is not closed"
			}
			for j < len(v) && v[j] == ' ' {
				j++
			}
			val = sb.String()
		} else {
			k := j
			for k < len(v) && v[k] != ';' && v[k] != ',' {
				if v[k] == '"' {
					return nil, "a value has a stray quote"
				}
				k++
			}
			val = strings.TrimSpace(v[j:k])
			j = k
		}
		if len(pairs) >= 32 {
			return nil, "it has too many fields"
		}
		pairs = append(pairs, [2]string{key, val})
		if j >= len(v) {
			return pairs, ""
		}
		switch v[j] {
		case ';':
			i = j + 1
		case ',':
			return nil, "it lists more than one certificate (more than one element): let the proxy in front of the API replace the header (Envoy: forward_client_cert_details SANITIZE_SET)"
		default:
			return nil, "a quoted value is followed by other characters"
		}
	}
}
