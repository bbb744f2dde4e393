package entrafiber

import entra "github.com/entraguard/entraguard/core"

// Peer implements entra.PeerRequest, so that entra.WithMTLSBinding can
// verify tokens bound to a client certificate: the connection's remote
// address and TLS state, as fasthttp knows them (a TLS listener given to
// app.Listener, or app.ListenTLS / ListenMutualTLS). Fiber's proxy
// settings (ProxyHeader, EnableTrustedProxyCheck) play no part: the address
// is the socket's own, which MTLSBinding.TrustedProxies is checked against.
func (r request) Peer() entra.Peer {
	fc := r.c.Context()
	p := entra.Peer{TLS: fc.TLSConnectionState()}
	if a := fc.RemoteAddr(); a != nil {
		p.Addr = a.String()
	}
	return p
}
