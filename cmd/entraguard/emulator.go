package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// emulatorConfig is the JSON config file of the emulator (-config).
type emulatorConfig struct {
	// TenantID is the home tenant (a GUID). Default: a random GUID.
	TenantID string `json:"tenant_id"`
	// ClientID is the application (client) ID of the API. Default: random.
	ClientID string `json:"client_id"`
	// TokenVersion is the API's accessTokenAcceptedVersion, "2.0" or "1.0".
	TokenVersion string `json:"token_version"`
	// User is the signed-in user of delegated tokens.
	User *userConfig `json:"user"`
	// Apps are the client applications registered with the emulator.
	Apps []appConfig `json:"apps"`
}

type userConfig struct {
	ObjectID string `json:"object_id"`
	Name     string `json:"name"`
	UPN      string `json:"upn"`
}

type appConfig struct {
	ClientID string   `json:"client_id"`
	Secret   string   `json:"secret"`
	Roles    []string `json:"roles"`  // app roles of its client-credentials tokens
	Scopes   []string `json:"scopes"` // delegated scopes of the API it may use on behalf of users
	// CertificateFile is a PEM certificate whose key signs the app's client
	// assertions; relative to the config file.
	CertificateFile string `json:"certificate_file"`
	// TokenVersion is the app's own accessTokenAcceptedVersion, for an app
	// that is itself an API (a middle tier): the version of minted tokens
	// whose audience it is.
	TokenVersion string `json:"token_version"`
}

// settings is what the emulator prints: what an API and a client need.
type settings struct {
	Authority     string        `json:"authority"`
	TenantID      string        `json:"tenant_id"`
	ClientID      string        `json:"client_id"`
	TokenVersion  string        `json:"token_version"`
	TokenEndpoint string        `json:"token_endpoint"`
	MintEndpoint  string        `json:"mint_endpoint"`
	Scope         string        `json:"scope"`
	CAFile        string        `json:"ca_file,omitempty"`
	Apps          []appSettings `json:"apps"`
}

type appSettings struct {
	ClientID string   `json:"client_id"`
	Secret   string   `json:"secret,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
}

// mintPath is the emulator's own endpoint that mints tokens, for
// "entraguard token -emulator". It is not an Entra ID endpoint.
const mintPath = "/_entraguard/token"

func runEmulator(e *env, args []string) int {
	fs := flag.NewFlagSet("entraguard emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address`; port 0 picks a free port")
	useTLS := fs.Bool("tls", false, "serve HTTPS, with a certificate made at start (MSAL and azidentity need it)")
	caFile := fs.String("ca-file", "", "with -tls, write the certificate (PEM) to this `file`, to trust it in clients (default: a temporary file, removed at exit)")
	configFile := fs.String("config", "", "JSON config `file`: tenant_id, client_id, token_version, user, apps")
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

	var cfg emulatorConfig
	if *configFile != "" {
		c, err := readEmulatorConfig(*configFile)
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
	if *appID != "" || *appSecret != "" || len(appRoles) > 0 || len(appScopes) > 0 || len(cfg.Apps) == 0 {
		cfg.Apps = append(cfg.Apps, appConfig{ClientID: *appID, Secret: *appSecret, Roles: appRoles, Scopes: appScopes})
	}
	if *userName != "" || *userUPN != "" || *userOID != "" {
		if cfg.User == nil {
			cfg.User = &userConfig{}
		}
		override(&cfg.User.Name, *userName)
		override(&cfg.User.UPN, *userUPN)
		override(&cfg.User.ObjectID, *userOID)
	}

	srv, st, err := newEmulator(cfg, filepath.Dir(*configFile))
	if err != nil {
		return e.fail(exitUsage, "%v", err)
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return e.fail(exitFailure, "listening on %s: %v (use -addr to change it)", *addr, err)
	}
	hs := &http.Server{Handler: emulatorHandler(srv), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	scheme := "http"
	if *useTLS {
		cert, der, err := newServingCertificate()
		if err != nil {
			ln.Close()
			return e.fail(exitFailure, "making the TLS certificate: %v", err)
		}
		path, created, err := writeCA(*caFile, der)
		if err != nil {
			ln.Close()
			return e.fail(exitFailure, "writing the TLS certificate: %v", err)
		}
		if created {
			defer os.Remove(path)
		}
		st.CAFile = path
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	srv.URL = scheme + "://" + hostPort(ln.Addr())
	st.Authority = srv.URL
	st.TokenEndpoint = srv.TokenURL()
	st.MintEndpoint = srv.URL + mintPath

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

func readEmulatorConfig(path string) (emulatorConfig, error) {
	var c emulatorConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("reading the config file: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config file %s: %v (fields: tenant_id, client_id, token_version, user {object_id, name, upn}, apps [{client_id, secret, roles, scopes, certificate_file, token_version}])", path, err)
	}
	return c, nil
}

// newEmulator builds the fake authority of cfg, without serving it.
func newEmulator(cfg emulatorConfig, dir string) (srv *entratest.Server, st settings, err error) {
	// entratest panics on a bad option or app; here that is a user's error.
	defer func() {
		if r := recover(); r != nil {
			if srv != nil {
				srv.Close()
			}
			srv, err = nil, fmt.Errorf("%v", r)
		}
	}()
	var opts []entratest.Option
	if cfg.TenantID != "" {
		opts = append(opts, entratest.WithTenantID(cfg.TenantID))
	}
	if cfg.ClientID != "" {
		opts = append(opts, entratest.WithClientID(cfg.ClientID))
	}
	if cfg.TokenVersion != "" {
		opts = append(opts, entratest.WithAccessTokenVersion(cfg.TokenVersion))
	}
	srv = entratest.NewUnstartedServer(opts...)
	if u := cfg.User; u != nil {
		if u.ObjectID != "" {
			srv.UserObjectID = u.ObjectID
		}
		if u.Name != "" {
			srv.UserName = u.Name
		}
		if u.UPN != "" {
			srv.UserPrincipalName = u.UPN
		}
	}
	st = settings{
		TenantID:     srv.TenantID,
		ClientID:     srv.ClientID,
		TokenVersion: cmpOr(cfg.TokenVersion, "2.0"),
		Scope:        "api://" + srv.ClientID + "/.default",
	}
	for i, a := range cfg.Apps {
		app := entratest.App{ClientID: a.ClientID, Secret: a.Secret, Roles: a.Roles, Scopes: a.Scopes, AccessTokenVersion: a.TokenVersion}
		if app.ClientID == "" {
			app.ClientID = newGUID()
		}
		if a.CertificateFile != "" {
			path := a.CertificateFile
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			cert, err := readCertificate(path)
			if err != nil {
				srv.Close()
				return nil, st, fmt.Errorf("apps[%d].certificate_file: %v", i, err)
			}
			app.Certificate = cert
		}
		if app.Secret == "" && app.Certificate == nil {
			app.Secret = newSecret()
		}
		srv.RegisterApp(app)
		st.Apps = append(st.Apps, appSettings{ClientID: app.ClientID, Secret: app.Secret, Roles: app.Roles, Scopes: app.Scopes})
	}
	return srv, st, nil
}

// emulatorHandler serves the fake authority and the mint endpoint.
func emulatorHandler(srv *entratest.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.HandleFunc(mintPath, func(w http.ResponseWriter, r *http.Request) { serveMint(srv, w, r) })
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
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		refuse(http.StatusForbidden, "the mint endpoint answers requests from this machine only")
		return
	}
	if r.Method != http.MethodPost {
		refuse(http.StatusMethodNotAllowed, "POST a JSON body: {\"app\", \"scopes\", \"roles\", \"client_id\", \"tenant_id\", \"audience\", \"version\", \"lifetime_seconds\"}")
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
		p("  SSL_CERT_FILE=%s   (Go on Linux/macOS: trust the emulator's certificate)", st.CAFile)
	}
	p("")
	p("Clients (client credentials, scope %s):", st.Scope)
	p("  token endpoint  %s", st.TokenEndpoint)
	for _, a := range st.Apps {
		line := "  app " + a.ClientID
		if a.Secret != "" {
			line += "  secret " + a.Secret
		}
		if len(a.Roles) > 0 {
			line += "  roles " + strings.Join(a.Roles, ",")
		}
		if len(a.Scopes) > 0 {
			line += "  on-behalf-of scopes " + strings.Join(a.Scopes, ",")
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
	p("Tokens without a client:")
	p("  entraguard token -emulator %s%s -scopes Orders.Read        (a user's)", st.Authority, caFlag)
	p("  entraguard token -emulator %s%s -app -roles Orders.Read.All (an app's)", st.Authority, caFlag)
	p("")
	p("Serving until interrupted (Ctrl+C).")
	_, _ = io.WriteString(w, b.String())
}

// newServingCertificate makes a self-signed TLS certificate for this
// machine's loopback addresses.
func newServingCertificate() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "entraguard emulator", Organization: []string{"entraguard"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(0, 0, 30),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, nil
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
	b, err := os.ReadFile(path)
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

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newSecret returns a random client secret that needs no quoting.
func newSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "emu." + base64.RawURLEncoding.EncodeToString(b[:])
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
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
