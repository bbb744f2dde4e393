// Package demo holds what the example programs share, so that each main.go
// shows only its own framework's code: the configuration read from the
// environment, demo mode (a local Entra ID emulator and sample requests to
// paste), the sample orders, and start-up logging.
//
// The programs read:
//
//	ENTRA_TENANT_ID        tenant GUID, or "organizations" / "common"; unset: demo mode
//	ENTRA_CLIENT_ID        the API's application (client) ID; required unless demo mode
//	ENTRA_AUDIENCES        more accepted audiences, comma-separated
//	ENTRA_ALLOWED_TENANTS  tenant allow-list of a multi-tenant API, comma-separated;
//	                       "*" accepts any tenant (a multi-tenant API needs one or the other)
//	ENTRA_AUTHORITY_HOST   authority host; default https://login.microsoftonline.com/
//	ENTRA_AUTHORITY_CA_FILE  a PEM certificate to trust for it: a local emulator's
//
// AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_AUTHORITY_HOST are read when
// the ENTRA_ names are unset, except in a pod with workload identity
// (AZURE_FEDERATED_TOKEN_FILE set), where they describe the pod's own
// identity and the program refuses to start (see entra.ConfigFromEnv).
//
//	ADDR                   listen address; default 127.0.0.1:8080
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	entra "github.com/entraguard/entraguard/core"
)

// DefaultAddr is the listen address when ADDR is unset.
const DefaultAddr = "127.0.0.1:8080"

// Env is an example program's set-up.
type Env struct {
	// Config configures the program's entra.Validator: entra.ConfigFromEnv(),
	// or in demo mode the local emulator's configuration.
	Config entra.Config

	// Addr is the listen address: ADDR, or DefaultAddr.
	Addr string

	// Log writes to stderr. The validator logs key refreshes to it too.
	Log *slog.Logger

	framework string
	demo      *demoMode // nil unless in demo mode
}

// Setup reads the environment. When ENTRA_TENANT_ID (and AZURE_TENANT_ID) is unset it starts demo
// mode: a local Entra ID emulator on a loopback port, which Config then
// trusts. framework names the program in logs ("gin", "echo"...).
// Call Close when the program ends.
func Setup(framework string) *Env {
	e := &Env{
		Config:    entra.ConfigFromEnv(),
		Addr:      strings.TrimSpace(os.Getenv("ADDR")),
		Log:       slog.New(slog.NewTextHandler(os.Stderr, nil)).With("example", framework),
		framework: framework,
	}
	if e.Addr == "" {
		e.Addr = DefaultAddr
	}
	if e.Config.TenantID == "" {
		if e.Config.ClientID != "" {
			e.Log.Warn("a client ID is set but ENTRA_TENANT_ID is not: starting in demo mode, with a local emulator instead of Entra ID")
		}
		d, err := startDemo()
		if err != nil {
			e.Log.Error(err.Error())
			os.Exit(1)
		}
		e.demo = d
		e.Config = e.demo.config()
	}
	e.Config.Logger = e.Log
	return e
}

// Demo reports whether the program runs in demo mode.
func (e *Env) Demo() bool { return e.demo != nil }

// Listen listens on Addr and announces the API: it logs its URL and, in
// demo mode, prints the demo's banner and sample requests to stdout, ready
// to paste, once they can be answered.
func (e *Env) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", e.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (set ADDR to change it): %w", e.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	if e.Demo() {
		e.Log.Warn("demo mode: tokens are checked against a LOCAL EMULATOR, not Microsoft Entra ID; set ENTRA_TENANT_ID and ENTRA_CLIENT_ID to use Entra ID", "emulator", e.demo.emulator.URL())
		e.demo.print(os.Stdout, e.framework, url)
	}
	e.Log.Info("listening", "url", url, "tenant", e.Config.TenantID, "client_id", e.Config.ClientID)
	return ln, nil
}

// Serve listens (see Listen), runs serve on the listener until ctx ends
// (SIGINT or SIGTERM), then calls shutdown with a 10-second deadline so that
// requests in flight finish. A server's "closed" error on shutdown is a
// clean stop.
func (e *Env) Serve(ctx context.Context, serve func(net.Listener) error, shutdown func(context.Context) error) error {
	ln, err := e.Listen()
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	e.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the demo's emulator, if any, and removes its files. Close
// the validator first.
func (e *Env) Close() {
	if e.demo != nil {
		e.demo.close()
	}
}

// Order is a sample order.
type Order struct {
	ID        string `json:"id"`
	Item      string `json:"item"`
	Quantity  int    `json:"quantity"`
	Status    string `json:"status"`
	CreatedBy string `json:"created_by,omitempty"` // the creator's object ID (oid)
}

var lastOrder atomic.Int64

func init() { lastOrder.Store(1002) }

// Orders returns the sample orders that GET /api/orders lists.
func Orders() []Order {
	return []Order{
		{ID: "ord-1001", Item: "Surface Laptop 7", Quantity: 1, Status: "shipped"},
		{ID: "ord-1002", Item: "USB-C dock", Quantity: 3, Status: "processing"},
	}
}

// NewOrder returns the order that POST /api/orders creates for the caller
// c. The sample ignores the request body.
func NewOrder(c *entra.Claims) Order {
	return Order{
		ID:        fmt.Sprintf("ord-%d", lastOrder.Add(1)),
		Item:      "Ergonomic keyboard",
		Quantity:  1,
		Status:    "created",
		CreatedBy: c.ObjectID(),
	}
}
