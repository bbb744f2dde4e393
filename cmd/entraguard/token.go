package main

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

func runToken(e *env, args []string) int {
	fs := flag.NewFlagSet("entraguard token", flag.ContinueOnError)
	emulator := fs.String("emulator", "", "mint with the emulator at this `URL` (entraguard emulator)")
	app := fs.Bool("app", false, "with -emulator: an app-only token (client credentials) instead of a user's")
	var scopes, roles listFlag
	fs.Var(&scopes, "scopes", "with -emulator: delegated `scopes` (scp), comma-separated or repeated")
	fs.Var(&roles, "roles", "with -emulator: app `roles` (roles)")
	caller := fs.String("caller", "", "with -emulator: the calling app's client `ID` (azp/appid)")
	audience := fs.String("audience", "", "with -emulator: the `aud` (default: the emulator's API)")
	version := fs.String("version", "", "with -emulator: token `version`, 1.0 or 2.0 (default: the API's)")
	lifetime := lifetimeFlag(time.Hour)
	fs.Var(&lifetime, "lifetime", "with -emulator: how long the token is valid, up to 24h; negative (-1h) mints a token that expired that long ago")

	authority := fs.String("authority", "https://login.microsoftonline.com", "fetch from this authority `URL` (an emulator's, or Entra ID's)")
	tenant := fs.String("tenant", "", "the `tenant` of the token (with -emulator: default the emulator's home tenant)")
	clientID := fs.String("client-id", "", "fetch: the client app's `ID`")
	secret := fs.String("secret", "", "fetch: the client `secret` (better: ENTRAGUARD_CLIENT_SECRET, kept out of shell history)")
	certFile := fs.String("certificate", "", "fetch: PEM `file` with the app's certificate and, unless -key, its private key (a client assertion is sent)")
	keyFile := fs.String("key", "", "fetch: PEM `file` with the certificate's private key")
	scope := fs.String("scope", "", "fetch: the `scope`, such as api://<API client ID>/.default")
	obo := fs.String("on-behalf-of", "", "fetch: exchange this user `token` (for the client app) for one for -scope (on-behalf-of)")
	caFile := fs.String("ca-file", "", "trust this PEM `certificate` (an emulator started with -tls)")
	asJSON := fs.Bool("json", false, "print the whole JSON answer, not only the access token")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage:
  entraguard token -emulator URL [-app] [-scopes S] [-roles R] ...     mint a token with a running emulator
  entraguard token -tenant T -client-id C (-secret S | -certificate F) -scope S [-authority URL]
                                                                      fetch one (client credentials, or -on-behalf-of)

Prints the access token on stdout.

`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return e.fail(exitUsage, "token takes no arguments, got %q", fs.Args())
	}
	if *emulator == "" {
		var mintOnly []string
		fs.Visit(func(f *flag.Flag) {
			if emulatorOnlyFlags[f.Name] {
				mintOnly = append(mintOnly, "-"+f.Name)
			}
		})
		if len(mintOnly) > 0 {
			return e.fail(exitUsage, "%s only apply to a token minted with -emulator URL; a fetched token is what the authority issues", strings.Join(mintOnly, ", "))
		}
	}
	client, err := httpClient(*caFile)
	if err != nil {
		return e.fail(exitUsage, "%v", err)
	}
	defer client.CloseIdleConnections()

	var req *http.Request
	if *emulator != "" {
		body, _ := json.Marshal(mintRequest{
			App: *app, Scopes: scopes, Roles: roles, ClientID: *caller, TenantID: *tenant,
			Audience: *audience, Version: *version, Lifetime: int(time.Duration(lifetime) / time.Second),
		})
		if d := time.Duration(lifetime); d < 0 && -d <= entra.DefaultClockSkew {
			fmt.Fprintf(e.stderr, "entraguard: note: the token expired %v ago, within the %v of clock skew validators allow by default (Config.ClockSkew): it is accepted until then; -lifetime -10m gives one refused at once\n", -d, entra.DefaultClockSkew)
		}
		req, err = http.NewRequestWithContext(e.ctx, http.MethodPost, strings.TrimSuffix(*emulator, "/")+mintPath, bytes.NewReader(body))
		if err != nil {
			return e.fail(exitUsage, "-emulator %q: %v", *emulator, err)
		}
		req.Header.Set("Content-Type", "application/json")
	} else {
		if *tenant == "" || *clientID == "" || *scope == "" {
			return e.fail(exitUsage, "to fetch a token give -tenant, -client-id and -scope (or -emulator URL to mint one)")
		}
		sec := *secret
		if sec == "" {
			sec = e.getenv("ENTRAGUARD_CLIENT_SECRET")
		}
		tokenURL := strings.TrimSuffix(*authority, "/") + "/" + url.PathEscape(*tenant) + "/oauth2/v2.0/token"
		form := url.Values{"client_id": {*clientID}, "scope": {*scope}, "grant_type": {entratest.GrantClientCredentials}}
		if *obo != "" {
			form.Set("grant_type", entratest.GrantJWTBearer)
			form.Set("requested_token_use", "on_behalf_of")
			form.Set("assertion", strings.TrimSpace(*obo))
		}
		switch {
		case *certFile != "":
			cert, key, err := readCertAndKey(*certFile, *keyFile)
			if err != nil {
				return e.fail(exitUsage, "%v", err)
			}
			form.Set("client_assertion_type", entratest.ClientAssertionType)
			form.Set("client_assertion", entratest.ClientAssertion(tokenURL, *clientID, cert, key))
		case sec != "":
			form.Set("client_secret", sec)
		default:
			return e.fail(exitUsage, "give a credential: -secret (or ENTRAGUARD_CLIENT_SECRET) or -certificate")
		}
		req, err = http.NewRequestWithContext(e.ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return e.fail(exitUsage, "-authority %q: %v", *authority, err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}

	resp, err := client.Do(req)
	if err != nil {
		return e.fail(exitFailure, "%v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return e.fail(exitFailure, "reading the answer: %v", err)
	}
	var answer struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return e.fail(exitFailure, "%s answered %s, not JSON", req.URL.Redacted(), resp.Status)
	}
	if resp.StatusCode != http.StatusOK || answer.AccessToken == "" {
		desc, _, _ := strings.Cut(answer.Description, "\r\n")
		return e.fail(exitFailure, "%s: %s: %s", resp.Status, answer.Error, desc)
	}
	if *asJSON {
		fmt.Fprintf(e.stdout, "%s\n", bytes.TrimSpace(raw))
	} else {
		fmt.Fprintln(e.stdout, answer.AccessToken)
	}
	return exitOK
}

// emulatorOnlyFlags are the flags of token that shape a minted token.
var emulatorOnlyFlags = map[string]bool{
	"app": true, "scopes": true, "roles": true, "caller": true, "audience": true, "version": true, "lifetime": true,
}

// maxLifetime bounds -lifetime either way, as the emulator's mint endpoint does.
const maxLifetime = 24 * time.Hour

// lifetimeFlag is -lifetime: a non-zero duration in whole seconds, at most
// a day either way. A negative one mints a token that expired that long ago.
type lifetimeFlag time.Duration

func (l *lifetimeFlag) String() string { return time.Duration(*l).String() }

func (l *lifetimeFlag) Set(s string) error {
	const what = "write a duration such as 10m or 2h, or a negative one such as -1h for a token that expired an hour ago"
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return errors.New("not a duration: " + what)
	case d == 0:
		return errors.New("a token valid for no time: " + what)
	case d%time.Second != 0:
		return errors.New("tokens count time in whole seconds: " + what)
	case d > maxLifetime || d < -maxLifetime:
		return fmt.Errorf("at most %v either way: %s", maxLifetime, what)
	}
	*l = lifetimeFlag(d)
	return nil
}

// httpClient returns a client that trusts caFile, if given, besides the
// system's roots.
func httpClient(caFile string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		b, err := readPEMFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("-ca-file: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("-ca-file %s: no PEM certificate in it", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

// readCertAndKey reads a PEM certificate and its RSA private key, from one
// file or two.
func readCertAndKey(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := readCertificate(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("-certificate %s: %v", certFile, err)
	}
	kf := cmp.Or(keyFile, certFile)
	b, err := readPEMFile(kf)
	if err != nil {
		return nil, nil, fmt.Errorf("-key: %v", err)
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, nil, fmt.Errorf("%s: no PEM private key (PRIVATE KEY or RSA PRIVATE KEY)", kf)
		}
		var key any
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", kf, err)
		}
		signer, ok := key.(crypto.Signer)
		if _, rsaKey := key.(*rsa.PrivateKey); !ok || !rsaKey {
			return nil, nil, errors.New(kf + ": not an RSA private key (Entra ID takes RSA certificates)")
		}
		return cert, signer, nil
	}
}
