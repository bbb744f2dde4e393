package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/emulator"
)

// settings is what the emulator prints: what an API and a client need.
type settings struct {
	Authority        string        `json:"authority"`
	TenantID         string        `json:"tenant_id"`
	ClientID         string        `json:"client_id"`
	TokenVersion     string        `json:"token_version"`
	TokenEndpoint    string        `json:"token_endpoint"`
	MintEndpoint     string        `json:"mint_endpoint"`
	Scope            string        `json:"scope"`
	CAFile           string        `json:"ca_file,omitempty"`
	Apps             []appSettings `json:"apps"`
	Users            []string      `json:"users"`
	NonInteractive   bool          `json:"non_interactive"`
	DeviceLogin      string        `json:"device_login"`
	IdentityEndpoint string        `json:"identity_endpoint"`
	IdentityHeader   string        `json:"identity_header"`
	IMDSEndpoint     string        `json:"imds_endpoint"`
	WorkloadIssuer   string        `json:"workload_issuer"`
	WorkloadToken    string        `json:"workload_token_file,omitempty"`
}

type appSettings struct {
	ClientID     string   `json:"client_id"`
	Type         string   `json:"type"`
	Secret       string   `json:"secret,omitempty"`
	Roles        []string `json:"roles,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
}

// mintPath is the emulator's own endpoint that mints tokens, for
// "entraguard token -emulator". It is not an Entra ID endpoint.
const mintPath = "/_entraguard/token"

func runEmulator(e *env, args []string) int {
	fs := flag.NewFlagSet("entraguard emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address`; port 0 picks a free port")
	useTLS := fs.Bool("tls", false, "serve HTTPS, with a certificate made at start (MSAL and azidentity need it)")
	caFile := fs.String("ca-file", "", "with -tls, write the certificate (PEM) to this `file`, to trust it in clients (default: a temporary file, removed at exit)")
	configFile := fs.String("config", "", "JSON config `file`: tenant, API, users, apps, managed identities, agents (see docs/cli.md)")
	publicURL := fs.String("url", "", "the base `URL` clients reach the emulator at, the issuer of its tokens, such as http://emulator:8400 in a compose network (default: from -addr, with 127.0.0.1 for an unspecified address)")
	nonInteractive := fs.Bool("non-interactive", false, "sign in at once, without the sign-in page, the login_hint's user or the default user (headless tests)")
	workloadFile := fs.String("workload-token-file", "", "write a workload identity token of the emulator's own issuer to this `file` (AZURE_FEDERATED_TOKEN_FILE), renewed every 30 minutes")
	workloadSubject := fs.String("workload-subject", "system:serviceaccount:default:workload", "the `subject` (sub) of the -workload-token-file token")
	tenant := fs.String("tenant", "", "home tenant `GUID` (default: random, or the config file's)")
	clientID := fs.String("client-id", "", "the API's application (client) `ID` (default: random, or the config file's)")
	version := fs.String("token-version", "", "the API's access token `version`, 2.0 or 1.0 (default 2.0)")
	appID := fs.String("app-id", "", "register a client app with this client `ID` (default: a random one, unless the config file has apps)")
	appSecret := fs.String("app-secret", "", "the app's client `secret` (default: random)")
	var appRoles, appScopes listFlag
	fs.Var(&appRoles, "app-roles", "the app's app `roles`, comma-separated or repeated")
	fs.Var(&appScopes, "app-scopes", "delegated `scopes` the app may use on behalf of users (on-behalf-of)")
	userName := fs.String("user-name", "", "display `name` of the signed-in user of delegated tokens")
	userUPN := fs.String("user-upn", "", "sign-in `name` (UPN) of the user")
	userOID := fs.String("user-oid", "", "object `ID` of the user")
	asJSON := fs.Bool("json", false, "print the settings as one JSON object")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: entraguard emulator [flags]\n\nRuns a local Entra ID emulator until interrupted, and prints the settings an API and a client need.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return e.fail(exitUsage, "emulator takes no arguments, got %q", fs.Args())
	}

	var cfg emulator.Config
	if *configFile != "" {
		c, err := emulator.LoadConfig(*configFile)
		if err != nil {
			return e.fail(exitUsage, "%v", err)
		}
		cfg = c
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&cfg.TenantID, *tenant)
	override(&cfg.ClientID, *clientID)
	override(&cfg.TokenVersion, *version)
	if *nonInteractive {
		cfg.NonInteractive = true
	}
	if *appID != "" || *appSecret != "" || len(appRoles) > 0 || len(appScopes) > 0 || len(cfg.Apps) == 0 {
		cfg.Apps = append(cfg.Apps, emulator.App{ClientID: *appID, Secret: *appSecret, Roles: appRoles, Scopes: appScopes})
	}
	if *userName != "" || *userUPN != "" || *userOID != "" {
		if cfg.User == nil {
			cfg.User = &emulator.User{}
		}
		override(&cfg.User.Name, *userName)
		override(&cfg.User.UPN, *userUPN)
		override(&cfg.User.ObjectID, *userOID)
	}

	emu, err := emulator.New(cfg)
	if err != nil {
		return e.fail(exitUsage, "%v", err)
	}
	defer emu.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return e.fail(exitFailure, "listening on %s: %v (use -addr to change it)", *addr, err)
	}
	hs := &http.Server{Handler: emulatorHandler(emu), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	scheme, caPath := "http", ""
	if *useTLS {
		cert, err := entratest.LoopbackCertificate(urlHost(*publicURL))
		if err != nil {
			ln.Close()
			return e.fail(exitFailure, "making the TLS certificate: %v", err)
		}
		path, created, err := writeCA(*caFile, cert.Certificate[0])
		if err != nil {
			ln.Close()
			return e.fail(exitFailure, "writing the TLS certificate: %v", err)
		}
		if created {
			defer os.Remove(path)
		}
		caPath = path
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	base := scheme + "://" + hostPort(ln.Addr())
	if *publicURL != "" {
		u, err := url.Parse(*publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			ln.Close()
			return e.fail(exitUsage, "-url %q: give a base URL such as http://emulator:8400 (scheme and host, no path)", *publicURL)
		}
		base = strings.TrimSuffix(*publicURL, "/")
	}
	emu.SetURL(base)
	st := emulatorSettings(emu)
	st.CAFile = caPath
	if *workloadFile != "" {
		if err := emu.WriteWorkloadToken(*workloadFile, *workloadSubject); err != nil {
			ln.Close()
			return e.fail(exitFailure, "writing the workload identity token: %v", err)
		}
		st.WorkloadToken = *workloadFile
		renewCtx, stopRenewing := context.WithCancel(e.ctx)
		renewed := make(chan struct{})
		go func() { renewWorkloadToken(renewCtx, emu, *workloadFile, *workloadSubject, e.stderr); close(renewed) }()
		defer func() { stopRenewing(); <-renewed }()
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if *asJSON {
		b, _ := json.Marshal(st)
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		printSettings(e.stdout, st)
	}

	select {
	case err := <-served:
		return e.fail(exitFailure, "serving: %v", err)
	case <-e.ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	<-served
	fmt.Fprintln(e.stderr, "entraguard emulator: stopped")
	return exitOK
}

// emulatorSettings are the settings of a served emulator.
func emulatorSettings(emu *emulator.Emulator) settings {
	c := emu.Config()
	st := settings{
		Authority:        emu.URL(),
		TenantID:         c.TenantID,
		ClientID:         c.ClientID,
		TokenVersion:     c.TokenVersion,
		TokenEndpoint:    emu.TokenURL(),
		MintEndpoint:     emu.URL() + mintPath,
		Scope:            "api://" + c.ClientID + "/.default",
		NonInteractive:   c.NonInteractive,
		DeviceLogin:      emu.URL() + "/devicelogin",
		IdentityEndpoint: emu.IdentityEndpoint(),
		IdentityHeader:   c.IdentityHeader,
		IMDSEndpoint:     emu.IMDSEndpoint(),
		WorkloadIssuer:   emu.WorkloadIssuer(),
	}
	for _, a := range c.Apps {
		st.Apps = append(st.Apps, appSettings{ClientID: a.ClientID, Type: a.Type, Secret: a.Secret, Roles: a.Roles, Scopes: a.Scopes, RedirectURIs: a.RedirectURIs})
	}
	for _, u := range c.Users {
		st.Users = append(st.Users, u.UPN)
	}
	return st
}

// renewWorkloadToken rewrites the workload identity token file every 30
// minutes, as the kubelet renews a projected service account token. A
// failed renewal is reported on stderr: the token in the file then expires.
func renewWorkloadToken(ctx context.Context, emu *emulator.Emulator, path, subject string, stderr io.Writer) {
	t := time.NewTicker(30 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := emu.WriteWorkloadToken(path, subject); err != nil {
				fmt.Fprintf(stderr, "entraguard emulator: renewing the workload identity token in %s: %v (the token there expires)\n", path, err)
			}
		}
	}
}

// emulatorHandler serves the emulator and the mint endpoint.
func emulatorHandler(emu *emulator.Emulator) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", emu)
	mux.HandleFunc(mintPath, func(w http.ResponseWriter, r *http.Request) { serveMint(emu.Authority(), w, r) })
	return mux
}

// mintRequest is the body of a request to the mint endpoint.
type mintRequest struct {
	App      bool     `json:"app"`       // an app-only token; else a user's
	Scopes   []string `json:"scopes"`    // scp
	Roles    []string `json:"roles"`     // roles
	ClientID string   `json:"client_id"` // azp/appid: the calling app
	TenantID string   `json:"tenant_id"`
	Audience string   `json:"audience"`
	Version  string   `json:"version"`
	Lifetime int      `json:"lifetime_seconds"` // default 3600; negative: expired that long ago
}

// serveMint mints a token for a caller on this machine.
func serveMint(srv *entratest.Server, w http.ResponseWriter, r *http.Request) {
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	refuse := func(status int, msg string) {
		answer(status, map[string]string{"error": "invalid_request", "error_description": msg})
	}
	if msg := checkMintOrigin(r); msg != "" {
		refuse(http.StatusForbidden, msg)
		return
	}
	if r.Method != http.MethodPost {
		refuse(http.StatusMethodNotAllowed, "POST a JSON body: {\"app\", \"scopes\", \"roles\", \"client_id\", \"tenant_id\", \"audience\", \"version\", \"lifetime_seconds\"}")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		refuse(http.StatusUnsupportedMediaType, "send the mint request as Content-Type: application/json")
		return
	}
	var req mintRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		refuse(http.StatusBadRequest, "the body is not a mint request: "+err.Error())
		return
	}
	if req.Lifetime == 0 {
		req.Lifetime = 3600
	}
	if req.Lifetime > 24*3600 || req.Lifetime < -24*3600 {
		refuse(http.StatusBadRequest, "lifetime_seconds is at most 86400, or at least -86400 for a token that expired a day ago")
		return
	}
	if req.Version != "" && req.Version != "1.0" && req.Version != "2.0" {
		refuse(http.StatusBadRequest, "version is 1.0 or 2.0")
		return
	}
	now := time.Now()
	iat, exp := now.Add(-5*time.Minute), now.Add(time.Duration(req.Lifetime)*time.Second)
	if req.Lifetime < 0 {
		// Expired that long ago: issued, as Entra does, an hour and five
		// minutes before it expired.
		iat = exp.Add(-65 * time.Minute)
	}
	token := srv.Mint(entratest.Token{
		Version:   req.Version,
		App:       req.App,
		TenantID:  strings.ToLower(req.TenantID),
		Audience:  req.Audience,
		ClientID:  req.ClientID,
		Scopes:    req.Scopes,
		Roles:     req.Roles,
		IssuedAt:  iat,
		ExpiresAt: exp,
	})
	answer(http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": req.Lifetime, "access_token": token})
}

// checkMintOrigin refuses a mint request that may not come from a program
// of this machine's user: one from another machine, one whose Host is not a
// loopback name or address with the port the emulator serves (a page of a
// DNS-rebinding domain, or a shared dev tunnel, that forwards to the
// emulator), and one a browser sent for a page of another origin (Origin or
// Sec-Fetch-Site). It returns why, or "" to go on. A browser cannot send
// the application/json body the endpoint also requires without a CORS
// preflight, which the endpoint never allows.
func checkMintOrigin(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		return "the mint endpoint answers requests from this machine only"
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	ta, ok := local.(*net.TCPAddr)
	if !ok {
		return "the mint endpoint answers requests over TCP on this machine only"
	}
	port := strconv.Itoa(ta.Port)
	host, hport, err := net.SplitHostPort(r.Host)
	if err != nil || hport != port || !isLoopbackName(host) {
		return "the mint endpoint answers requests addressed to this machine only: Host must be localhost, 127.0.0.1 or [::1] with the emulator's port " + port
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host || (u.Scheme != "http" && u.Scheme != "https") {
			return "the mint endpoint does not answer requests made by a web page of another origin"
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return "the mint endpoint does not answer requests made by a web page of another origin"
	}
	return ""
}

// isLoopbackName reports whether host (without port) names this machine's
// loopback interface: localhost or a loopback IP.
func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func printSettings(w io.Writer, st settings) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("entraguard emulator: a LOCAL Entra ID emulator, for development only.")
	p("It is NOT Microsoft Entra ID; its tokens are worth nothing anywhere else.")
	p("")
	p("authority       %s", st.Authority)
	p("tenant          %s", st.TenantID)
	p("API client ID   %s (access tokens v%s)", st.ClientID, st.TokenVersion)
	if st.CAFile != "" {
		p("TLS certificate %s", st.CAFile)
	}
	p("")
	p("The API (entra.ConfigFromEnv):")
	p("  AZURE_TENANT_ID=%s", st.TenantID)
	p("  AZURE_CLIENT_ID=%s", st.ClientID)
	p("  AZURE_AUTHORITY_HOST=%s/", st.Authority)
	if st.CAFile != "" {
		p("  ENTRA_AUTHORITY_CA_FILE=%s   (trust the emulator's certificate)", st.CAFile)
	}
	p("")
	p("Clients (client credentials, scope %s):", st.Scope)
	p("  token endpoint  %s", st.TokenEndpoint)
	for _, a := range st.Apps {
		line := "  app " + a.ClientID
		if a.Type != "" && a.Type != "confidential" {
			line += " (" + a.Type + ")"
		}
		if a.Secret != "" {
			line += "  secret " + a.Secret
		}
		if len(a.Roles) > 0 {
			line += "  roles " + strings.Join(a.Roles, ",")
		}
		if len(a.Scopes) > 0 {
			line += "  on-behalf-of scopes " + strings.Join(a.Scopes, ",")
		}
		if len(a.RedirectURIs) > 0 {
			line += "  redirect " + strings.Join(a.RedirectURIs, ",")
		}
		p("%s", line)
	}
	curlCA := ""
	if st.CAFile != "" {
		curlCA = " --cacert " + st.CAFile
	}
	if len(st.Apps) > 0 && st.Apps[0].Secret != "" {
		a := st.Apps[0]
		p("  curl -s%s %s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s -d scope=%s", curlCA, st.TokenEndpoint, a.ClientID, a.Secret, st.Scope)
	}
	p("  MSAL Go: confidential.New(%q, clientID, cred,", st.Authority+"/"+st.TenantID)
	p("      confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(<a client trusting the certificate>))")
	p("  azidentity: ClientOptions.Cloud.ActiveDirectoryAuthorityHost %q, DisableInstanceDiscovery: true", st.Authority+"/")
	p("")
	caFlag := ""
	if st.CAFile != "" {
		caFlag = " -ca-file " + st.CAFile
	}
	p("Sign-in (authorization code + PKCE, device code):")
	p("  authorize       %s/%s/oauth2/v2.0/authorize%s", st.Authority, st.TenantID, map[bool]string{true: "   (non-interactive: no sign-in page)", false: ""}[st.NonInteractive])
	p("  device login    %s", st.DeviceLogin)
	p("  users           %s", strings.Join(st.Users, ", "))
	p("Managed identity (App Service style):")
	p("  IDENTITY_ENDPOINT=%s", st.IdentityEndpoint)
	p("  IDENTITY_HEADER=%s", st.IdentityHeader)
	p("  IMDS-shaped     %s  (header Metadata: true)", st.IMDSEndpoint)
	p("Workload identity: issuer %s", st.WorkloadIssuer)
	if st.WorkloadToken != "" {
		p("  AZURE_FEDERATED_TOKEN_FILE=%s", st.WorkloadToken)
	}
	p("")
	p("Tokens without a client:")
	p("  entraguard token -emulator %s%s -scopes Orders.Read        (a user's)", st.Authority, caFlag)
	p("  entraguard token -emulator %s%s -app -roles Orders.Read.All (an app's)", st.Authority, caFlag)
	p("")
	p("Serving until interrupted (Ctrl+C).")
	_, _ = io.WriteString(w, b.String())
}

// urlHost is the host name of a -url value, or "".
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// writeCA writes the certificate as PEM to path, or to a new temporary
// file if path is empty (created reports that).
func writeCA(path string, der []byte) (string, bool, error) {
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if path != "" {
		return path, false, os.WriteFile(path, block, 0o644)
	}
	f, err := os.CreateTemp("", "entraguard-emulator-*.pem")
	if err != nil {
		return "", false, err
	}
	if _, err := f.Write(block); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", false, err
	}
	return f.Name(), true, f.Close()
}

// readCertificate reads the first PEM certificate of a file.
func readCertificate(path string) (*x509.Certificate, error) {
	b, err := readPEMFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// hostPort is a listener's address as a URL host; an unspecified IP is
// written 127.0.0.1.
func hostPort(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
	}
	return a.String()
}

// maxPEMFile bounds the PEM files the commands read (-certificate, -key,
// -ca-file): a file larger than that is not a certificate or key.
const maxPEMFile = 1 << 20

// readPEMFile reads a PEM file of at most maxPEMFile bytes.
func readPEMFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPEMFile {
		return nil, fmt.Errorf("larger than %d KiB: not a PEM certificate or key", maxPEMFile>>10)
	}
	return b, nil
}

func splitComma(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
