// Command connect is the entraguard Connect example: Connect procedures
// whose calls need Microsoft Entra ID access tokens, checked by
// entraconnect's interceptor with per-procedure rules (fail closed). It
// serves Connect, gRPC and gRPC-Web on one port (HTTP/1.1 and cleartext
// HTTP/2), and builds its handlers without code generation:
//
//	GET  /healthz                      no token, 200 {"status":"ok"}
//	/orders.v1.Orders/Me               any valid token; answers the caller's username
//	/orders.v1.Orders/Count            scope Orders.Write; client streaming, counts the messages
//	/orders.v1.Orders/Delete           no rule: refused with permission_denied
//
// Messages are google.protobuf.StringValue and Int32Value. Run it with
// ENTRA_TENANT_ID and ENTRA_CLIENT_ID set to your tenant and API, or
// without them (`go run ./examples/connect`) for demo mode: a local Entra
// ID emulator starts and sample curl commands are printed. ADDR is the
// listen address (default 127.0.0.1:8080).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("connect example stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("example", "connect")
	cfg := entra.ConfigFromEnv()
	var emulator *entratest.Server
	if cfg.TenantID == "" {
		emulator = entratest.NewServer()
		defer emulator.Close()
		cfg = emulator.Config()
		log.Warn("demo mode: tokens are checked against a LOCAL EMULATOR, not Microsoft Entra ID; set ENTRA_TENANT_ID and ENTRA_CLIENT_ID to use Entra ID", "emulator", emulator.URL)
	}
	cfg.Logger = log
	v, err := entra.NewValidator(cfg)
	if err != nil {
		return err
	}
	defer v.Close()

	addr := strings.TrimSpace(os.Getenv("ADDR"))
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (set ADDR to change it): %w", addr, err)
	}
	if emulator != nil {
		printDemo(os.Stdout, emulator, "http://"+ln.Addr().String())
	}
	log.Info("listening", "url", "http://"+ln.Addr().String(), "tenant", cfg.TenantID, "client_id", cfg.ClientID)
	return serve(ctx, v, ln)
}

const (
	procMe     = "/orders.v1.Orders/Me"
	procCount  = "/orders.v1.Orders/Count"
	procDelete = "/orders.v1.Orders/Delete"
)

// rules: one per procedure; /orders.v1.Orders/Delete has none, so it is refused.
var rules = entra.NewMethodRules().
	Method(procMe).
	Method(procCount, entra.RequireScope("Orders.Write"))

// handler is the API: the procedures behind the interceptor, and /healthz.
func handler(v *entra.Validator) http.Handler {
	guard := connect.WithInterceptors(entraconnect.New(v, rules))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.Handle(procMe, connect.NewUnaryHandler(procMe, func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		c, _ := entra.ClaimsFromContext(ctx) // always there: the rule needs a token
		return connect.NewResponse(wrapperspb.String(c.PreferredUsername())), nil
	}, guard))
	mux.Handle(procCount, connect.NewClientStreamHandler(procCount, func(ctx context.Context, s *connect.ClientStream[wrapperspb.StringValue]) (*connect.Response[wrapperspb.Int32Value], error) {
		n := int32(0)
		for s.Receive() {
			n++
		}
		if err := s.Err(); err != nil {
			return nil, err
		}
		return connect.NewResponse(wrapperspb.Int32(n)), nil
	}, guard))
	mux.Handle(procDelete, connect.NewUnaryHandler(procDelete, func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		return connect.NewResponse(wrapperspb.String("deleted")), nil
	}, guard))
	return mux
}

// serve serves the API on ln (HTTP/1.1 and cleartext HTTP/2, which gRPC
// clients need without TLS) until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, v *entra.Validator, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: handler(v), Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func printDemo(w io.Writer, emulator *entratest.Server, url string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("entraguard Connect example: DEMO MODE, tokens of a LOCAL EMULATOR (not Entra ID), valid 1 hour")
	p("")
	p("# Any valid token: 200 and the caller's username")
	p(`curl -i -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '""' %s%s`, emulator.UserToken("Profile"), url, procMe)
	p("# No token: 401 with the Connect error unauthenticated and its reason")
	p(`curl -i -H "Content-Type: application/json" -d '""' %s%s`, url, procMe)
	p("# A procedure without a rule: 403 permission_denied")
	p(`curl -i -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '""' %s%s`, emulator.UserToken("Orders.Write"), url, procDelete)
}
