// Command obo is a web tier that calls the example API on behalf of its
// signed-in users: it accepts a user's access token for itself (checked by
// entraguard), exchanges it with MSAL Go's on-behalf-of flow for a token
// for the API with the same user's identity, and calls the API with it.
//
//	GET /orders   the user's orders, from GET /api/orders of the API
//
// The exchanged tokens are cached per user (tenant and object ID), in
// tokenCache, until five minutes before they expire: a user's next request
// reuses the API token even with a new incoming token, one user's token is
// never served to another, and the cache is bounded. (MSAL Go also caches
// on-behalf-of tokens in memory, keyed by the exact incoming token; v1.10.1
// cannot export that cache to a store of your own.) The answer's
// X-Token-Source header says whether the API's token came from a cache or
// from Entra ID.
//
// Start an example API in demo mode (make run) and paste the line it
// prints under "examples/obo". docs/calling-the-api.md explains the set-up
// and the pitfalls of on-behalf-of.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/examples/internal/msalenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "obo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("example", "obo")

	s, err := msalenv.FromEnv()
	if err != nil {
		return err
	}
	cred, ok, err := s.SecretCredential()
	if !ok && err == nil {
		cred, ok, err = s.CertificateCredential()
	}
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("set AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
	}
	// One confidential client for the web tier, created once.
	app, err := confidential.New(s.Authority(), s.ClientID, cred, s.Options()...)
	if err != nil {
		return err
	}
	tokens := newTokenCache(10000)

	// The web tier's own validator: users' tokens are for the web tier
	// (audience AZURE_CLIENT_ID), not for the API.
	v, err := entra.NewValidator(entra.Config{
		TenantID:      s.TenantID,
		ClientID:      s.ClientID,
		AuthorityHost: s.AuthorityHost,
		HTTPClient:    s.HTTPClient,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := entra.ClaimsFromContext(r.Context())
		// The incoming token, exactly as received, is the user assertion.
		_, userToken, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		userToken = strings.TrimSpace(userToken)
		key := claims.TenantID() + "/" + claims.ObjectID() + "/" + s.APIScope
		apiToken, source := tokens.get(key, time.Now())
		if apiToken == "" {
			res, err := app.AcquireTokenOnBehalfOf(r.Context(), userToken, []string{s.APIScope})
			if err != nil {
				// Entra's refusal (consent missing, conditional access...)
				// is the web tier's problem, not the user's: log it, 502.
				log.Error("on-behalf-of failed", "user", claims.ObjectID(), "error", err)
				writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the API could not be called on your behalf"})
				return
			}
			apiToken, source = res.AccessToken, "identity_provider"
			if res.Metadata.TokenSource == confidential.TokenSourceCache {
				source = "msal_cache"
			}
			tokens.put(key, res.AccessToken, res.ExpiresOn)
		}
		status, body, err := callAPI(r.Context(), s.HTTPClient, s.APIURL+"/api/orders", apiToken)
		if err != nil {
			log.Error("calling the API", "error", err)
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the API is unreachable"})
			return
		}
		w.Header().Set("X-Token-Source", source)
		writeJSON(w, status, map[string]any{"user": claims.ObjectID(), "api_status": status, "api": json.RawMessage(body)})
	})
	mux.Handle("GET /orders", entra.Middleware(v)(entra.RequireScope("access_as_user").Middleware(orders)))

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8081"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (set ADDR to change it): %w", addr, err)
	}
	log.Info("listening", "url", "http://"+ln.Addr().String(), "api", s.APIURL)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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

// callAPI calls the API with the on-behalf-of token.
func callAPI(ctx context.Context, client *http.Client, u, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && !json.Valid(b) {
		b, _ = json.Marshal(string(b))
	}
	return resp.StatusCode, b, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// tokenCache holds the API tokens of the users, by tenant, object ID and
// scope, until five minutes before they expire. It holds at most max
// tokens; at the bound, expired ones go first, then the oldest.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cachedToken
}

type cachedToken struct {
	token          string
	expires, added time.Time
}

// refreshBefore is how long before its expiry a token is renewed.
const refreshBefore = 5 * time.Minute

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: map[string]cachedToken{}}
}

// get returns the user's token and "cache", or "" if there is none fresh.
func (c *tokenCache) get(key string, now time.Time) (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.After(e.expires.Add(-refreshBefore)) {
		return "", ""
	}
	return e.token, "cache"
}

func (c *tokenCache) put(key, token string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		oldest := ""
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			} else if oldest == "" || e.added.Before(c.entries[oldest].added) {
				oldest = k
			}
		}
		if len(c.entries) >= c.max {
			delete(c.entries, oldest)
		}
	}
	c.entries[key] = cachedToken{token: token, expires: expires, added: now}
}
