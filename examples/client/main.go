// Command client is an app that calls the example API with a token from
// Microsoft Entra ID, got with MSAL Go's confidential client (the client
// credentials flow): once with a client secret, once with a certificate
// (a signed client assertion). It is a daemon: no user is involved, and
// the API sees the app's roles.
//
// Start an example API in demo mode (make run) and paste the line it
// prints under "examples/client"; against Entra ID, set the variables of
// examples/internal/msalenv for your own registrations. docs/calling-the-api.md
// explains the set-up.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entraguard/entraguard/examples/internal/msalenv"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	s, err := msalenv.FromEnv()
	if err != nil {
		return err
	}
	secret, hasSecret, err := s.SecretCredential()
	if err != nil {
		return err
	}
	cert, hasCert, err := s.CertificateCredential()
	if err != nil {
		return err
	}
	if !hasSecret && !hasCert {
		return fmt.Errorf("set AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
	}
	creds := []struct {
		name string
		cred confidential.Credential
		ok   bool
	}{{"client secret", secret, hasSecret}, {"certificate", cert, hasCert}}
	for _, c := range creds {
		if !c.ok {
			continue
		}
		// One client per app and credential, created once: its token
		// cache is what keeps the app from asking Entra ID on every call.
		app, err := confidential.New(s.Authority(), s.ClientID, c.cred, s.Options()...)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		res, err := app.AcquireTokenByCredential(ctx, []string{s.APIScope})
		if err != nil {
			return fmt.Errorf("%s: getting a token: %w", c.name, err)
		}
		status, body, err := get(ctx, s.HTTPClient, s.APIURL+"/api/orders", res.AccessToken)
		if err != nil {
			return fmt.Errorf("%s: calling the API: %w", c.name, err)
		}
		fmt.Printf("%s: token expires %s; GET /api/orders: %d %s\n", c.name, res.ExpiresOn.Format("15:04:05"), status, strings.TrimSpace(body))
		if status != http.StatusOK {
			return fmt.Errorf("%s: the API answered %d", c.name, status)
		}
	}
	return nil
}

// get calls the API with the token. The token itself is never printed.
func get(ctx context.Context, client *http.Client, u, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}
