// Package msalenv holds what the MSAL examples (client, obo) share: their
// settings from the environment, and the HTTP client that trusts the demo
// emulator's certificate.
//
// They read:
//
//	AZURE_TENANT_ID                the tenant (GUID)
//	AZURE_CLIENT_ID                the calling app's own client ID
//	AZURE_CLIENT_SECRET            its client secret, or
//	AZURE_CLIENT_CERTIFICATE_PATH  a PEM file with its certificate and private key
//	AZURE_AUTHORITY_HOST           default https://login.microsoftonline.com/
//	API_URL                        the API's base URL, e.g. http://127.0.0.1:8080
//	API_SCOPE                      e.g. api://<API client ID>/.default
//	EMULATOR_CA_FILE               a PEM certificate to trust: the local emulator's (demo mode)
package msalenv

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Settings are an MSAL example's settings.
type Settings struct {
	TenantID, ClientID, Secret, CertificatePath string
	AuthorityHost, APIURL, APIScope             string
	// HTTPClient is the client for the authority and the API: it trusts
	// EMULATOR_CA_FILE, if set, besides the system's roots.
	HTTPClient *http.Client
}

// FromEnv reads the settings; it names what is missing.
func FromEnv() (*Settings, error) {
	s := &Settings{
		TenantID:        os.Getenv("AZURE_TENANT_ID"),
		ClientID:        os.Getenv("AZURE_CLIENT_ID"),
		Secret:          os.Getenv("AZURE_CLIENT_SECRET"),
		CertificatePath: os.Getenv("AZURE_CLIENT_CERTIFICATE_PATH"),
		AuthorityHost:   os.Getenv("AZURE_AUTHORITY_HOST"),
		APIURL:          strings.TrimSuffix(os.Getenv("API_URL"), "/"),
		APIScope:        os.Getenv("API_SCOPE"),
	}
	if s.AuthorityHost == "" {
		s.AuthorityHost = "https://login.microsoftonline.com/"
	}
	var missing []string
	for name, v := range map[string]string{"AZURE_TENANT_ID": s.TenantID, "AZURE_CLIENT_ID": s.ClientID, "API_URL": s.APIURL, "API_SCOPE": s.APIScope} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("set %s (start an example API in demo mode, `make run`, and copy the line it prints)", strings.Join(missing, ", "))
	}
	c, err := HTTPClient()
	if err != nil {
		return nil, err
	}
	s.HTTPClient = c
	return s, nil
}

// HTTPClient returns a client for the authority that trusts the PEM
// certificates in EMULATOR_CA_FILE, if it is set, besides the system's
// roots. Unlike SSL_CERT_FILE, which Go reads only on Linux and the BSDs,
// it works on every OS (macOS and Windows verify with the system's store).
func HTTPClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca := os.Getenv("EMULATOR_CA_FILE"); ca != "" {
		pemBytes, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("EMULATOR_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("EMULATOR_CA_FILE %s holds no PEM certificate", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// Authority is the tenant's authority URL, for confidential.New.
func (s *Settings) Authority() string {
	return strings.TrimSuffix(s.AuthorityHost, "/") + "/" + s.TenantID
}

// Options are MSAL's options for this authority: the HTTP client, and no
// instance discovery for a local emulator (MSAL would otherwise ask
// login.microsoftonline.com about an authority it does not know).
func (s *Settings) Options() []confidential.Option {
	opts := []confidential.Option{confidential.WithHTTPClient(s.HTTPClient)}
	if u, err := url.Parse(s.AuthorityHost); err == nil {
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			opts = append(opts, confidential.WithInstanceDiscovery(false))
		}
	}
	return opts
}

// SecretCredential is the client secret credential, or false without one.
func (s *Settings) SecretCredential() (confidential.Credential, bool, error) {
	if s.Secret == "" {
		return confidential.Credential{}, false, nil
	}
	cred, err := confidential.NewCredFromSecret(s.Secret)
	return cred, err == nil, err
}

// CertificateCredential is the certificate credential, from a PEM file
// with the certificate and its private key, or false without one.
func (s *Settings) CertificateCredential() (confidential.Credential, bool, error) {
	if s.CertificatePath == "" {
		return confidential.Credential{}, false, nil
	}
	pemBytes, err := os.ReadFile(s.CertificatePath)
	if err != nil {
		return confidential.Credential{}, false, fmt.Errorf("AZURE_CLIENT_CERTIFICATE_PATH: %w", err)
	}
	certs, key, err := confidential.CertFromPEM(pemBytes, "")
	if err != nil {
		return confidential.Credential{}, false, fmt.Errorf("AZURE_CLIENT_CERTIFICATE_PATH %s: %w", s.CertificatePath, err)
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	return cred, err == nil, err
}
