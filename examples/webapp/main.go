// Command webapp is an example web app that signs users in with Microsoft
// Entra ID and calls the example API on their behalf, with MSAL Go's
// confidential client: the authorization code flow with PKCE (S256), the
// answer posted back (response_mode=form_post), and a token cache per
// user, so that each user's access and refresh tokens stay apart.
//
//	GET  /              home: sign-in link, or the signed-in user
//	GET  /login         starts a sign-in at Entra ID
//	POST /auth/callback the authorization response (WEB_REDIRECT_URL)
//	GET  /auth/complete redeems the code for this browser's sign-in
//	GET  /me            calls API_URL + "/api/me" with the user's token
//	POST /logout        signs out here and at Entra ID
//	GET  /healthz       200 {"status":"ok"}
//
// It reads:
//
//	ENTRA_TENANT_ID       the tenant (GUID)
//	ENTRA_AUTHORITY_HOST  default https://login.microsoftonline.com/ (the emulator's URL locally)
//	WEB_CLIENT_ID         this web app's client ID
//	WEB_CLIENT_SECRET     its client secret
//	WEB_REDIRECT_URL      its redirect URI, default http://{ADDR}/auth/callback
//	API_URL               the API's base URL, e.g. http://127.0.0.1:8080
//	API_SCOPE             the delegated scope to call it with, e.g. api://{API client ID}/Orders.Read
//	ADDR                  listen address, default 127.0.0.1:8081
//	EMULATOR_CA_FILE      a PEM certificate to trust: the local emulator's
//
// The authority's certificate is checked against the system's roots and,
// for the local emulator, the PEM certificate in EMULATOR_CA_FILE (on every
// OS; SSL_CERT_FILE works too, on Linux). Sessions and
// tokens live in memory: a real deployment keeps them in a shared store.
//
// "make run" (the Gin example in demo mode) starts an emulator with this
// web app and two users registered, and prints the exact environment
// that runs it against the emulator and the API.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/entraguard/entraguard/examples/internal/msalenv"
)

func main() {
	if err := run(); err != nil {
		slog.Error("webapp example stopped", "error", err)
		os.Exit(1)
	}
}

// settings are the web app's settings from the environment.
type settings struct {
	tenantID, authorityHost, clientID, secret, redirectURL, apiURL, apiScope, addr string
}

func settingsFromEnv() (*settings, error) {
	s := &settings{
		tenantID:      os.Getenv("ENTRA_TENANT_ID"),
		authorityHost: os.Getenv("ENTRA_AUTHORITY_HOST"),
		clientID:      os.Getenv("WEB_CLIENT_ID"),
		secret:        os.Getenv("WEB_CLIENT_SECRET"),
		redirectURL:   os.Getenv("WEB_REDIRECT_URL"),
		apiURL:        strings.TrimSuffix(os.Getenv("API_URL"), "/"),
		apiScope:      os.Getenv("API_SCOPE"),
		addr:          os.Getenv("ADDR"),
	}
	if s.authorityHost == "" {
		s.authorityHost = "https://login.microsoftonline.com/"
	}
	if s.addr == "" {
		s.addr = "127.0.0.1:8081"
	}
	var missing []string
	for name, v := range map[string]string{"ENTRA_TENANT_ID": s.tenantID, "WEB_CLIENT_ID": s.clientID,
		"WEB_CLIENT_SECRET": s.secret, "API_URL": s.apiURL, "API_SCOPE": s.apiScope} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("set %s (see the comment at the top of examples/webapp/main.go)", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(s.authorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("ENTRA_AUTHORITY_HOST %q: an https:// URL, such as https://login.microsoftonline.com/", s.authorityHost)
	}
	if s.redirectURL != "" {
		if u, err := url.Parse(s.redirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("WEB_REDIRECT_URL %q: an absolute http(s) URL, such as http://localhost:8081/auth/callback", s.redirectURL)
		}
	}
	return s, nil
}

func run() error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)).With("example", "webapp"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s, err := settingsFromEnv()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if s.redirectURL == "" {
		s.redirectURL = base + "/auth/callback"
	}
	authorityClient, err := msalenv.HTTPClient()
	if err != nil {
		_ = ln.Close()
		return err
	}
	app, err := newWebApp(s, authorityClient)
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{Handler: app.routes(), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("listening", "url", base, "redirect_uri", s.redirectURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
