package entragrpc

import (
	"context"

	entra "github.com/entraguard/entraguard/core"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// withPeer tells the core the call's peer (its address and, over TLS
// transport credentials, the TLS state with the client certificate), so
// that entra.WithMTLSBinding can verify tokens bound to a certificate.
// The Guard calls it only when that option is on.
func withPeer(ctx context.Context) context.Context {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ctx
	}
	var ep entra.Peer
	if p.Addr != nil {
		ep.Addr = p.Addr.String()
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		st := ti.State
		ep.TLS = &st
	}
	return entra.ContextWithPeer(ctx, ep)
}
