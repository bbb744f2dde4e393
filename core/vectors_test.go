package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
)

// The real Entra key sets and tokens live in the workplace's shared vectors
// (never copied into this repository). These tests skip when it is absent.
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ENTRAGUARD_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "vectors")
	}
	if _, err := os.Stat(filepath.Join(dir, "entra", "tokens", "manifest.json")); err != nil {
		t.Skipf("shared test vectors not found at %s (set ENTRAGUARD_VECTORS)", dir)
	}
	return dir
}

type vectorToken struct {
	File string `json:"file"`
	JWKS string `json:"jwks"`
	Iss  string `json:"iss"`
	Aud  any    `json:"aud"`
	Tid  string `json:"tid"`
	Ver  string `json:"ver"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
}

// commonAuthority serves Entra's real multi-tenant metadata shape (issuer
// templates for v2.0 and v1.0) and the given captured key set.
func commonAuthority(t *testing.T, jwks []byte) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/common/v2.0/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","jwks_uri":"` + srv.URL + `/common/discovery/v2.0/keys","authorization_endpoint":"` + srv.URL + `/common/oauth2/v2.0/authorize"}`))
		case "/common/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"https://sts.windows.net/{tenantid}/","jwks_uri":"` + srv.URL + `/common/discovery/keys"}`))
		case "/common/discovery/v2.0/keys":
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func loadManifest(t *testing.T, dir string) []vectorToken {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "entra", "tokens", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var toks []vectorToken
	if err := json.Unmarshal(b, &toks); err != nil {
		t.Fatal(err)
	}
	return toks
}

func audiences(aud any) []string {
	switch a := aud.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			out = append(out, v.(string))
		}
		return out
	}
	return nil
}

// TestRealEntraTokens validates real (expired) Entra-issued tokens against
// the key sets they were signed with, at a clock set just after issue.
// Token contents are never printed.
func TestRealEntraTokens(t *testing.T) {
	dir := vectorsDir(t)
	toks := loadManifest(t, dir)
	seen := 0
	for _, tok := range toks {
		name := filepath.Base(tok.File)
		valid := strings.Contains(tok.File, "/valid-signature/")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tok.File))
			if err != nil {
				t.Fatal(err)
			}
			jwks, err := os.ReadFile(filepath.Join(dir, tok.JWKS))
			if err != nil {
				t.Fatal(err)
			}
			srv := commonAuthority(t, jwks)
			at := time.Unix(tok.Iat+1, 0)
			v, err := entra.NewValidator(entra.Config{
				TenantID:      entra.TenantCommon,
				AnyTenant:     true,
				ClientID:      "11111111-2222-3333-4444-555555555555",
				Audiences:     audiences(tok.Aud),
				AuthorityHost: srv.URL,
				HTTPClient:    srv.Client(),
				Now:           func() time.Time { return at },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := v.Validate(ctx, strings.TrimSpace(string(raw)))
			if !valid {
				want := entra.ErrSignatureInvalid
				switch {
				case strings.Contains(name, "GRAPH_header-nonce"):
					want = entra.ErrFirstPartyToken
				case strings.Contains(name, "2016_v1_access_app_mgmt"):
					want = entra.ErrTokenMalformed // header x5t is invalid UTF-8
				case strings.HasPrefix(name, "2018_"):
					want = entra.ErrTokenMalformed // '=' padding is not base64url
				}
				if !errors.Is(err, want) {
					t.Fatalf("Validate: got %v, want %v", entra.CodeOf(err), want.Code)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate rejected a genuine Entra token: %v", err)
			}
			if c.Issuer() != tok.Iss || c.TenantID() != tok.Tid || c.Version() != tok.Ver {
				t.Errorf("claims do not match the manifest (iss/tid/ver)")
			}
			if c.ExpiresAt().Unix() != tok.Exp {
				t.Errorf("ExpiresAt = %d, want %d", c.ExpiresAt().Unix(), tok.Exp)
			}
			// One second past expiry plus the default skew, it is refused.
			late := time.Unix(tok.Exp, 0).Add(entra.DefaultClockSkew + time.Second)
			v2, err := entra.NewValidator(entra.Config{
				TenantID: entra.TenantCommon, AnyTenant: true, ClientID: "11111111-2222-3333-4444-555555555555",
				Audiences: audiences(tok.Aud), AuthorityHost: srv.URL, HTTPClient: srv.Client(),
				Now: func() time.Time { return late },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v2.Close()
			if _, err := v2.Validate(ctx, strings.TrimSpace(string(raw))); !errors.Is(err, entra.ErrTokenExpired) {
				t.Fatalf("expired token: got %v, want %v", entra.CodeOf(err), entra.CodeTokenExpired)
			}
		})
		seen++
	}
	if seen < 20 {
		t.Fatalf("manifest lists %d tokens, want at least 20", seen)
	}
}
