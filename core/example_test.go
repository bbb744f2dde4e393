package entra_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

func ExampleNewValidator() {
	// A fake Entra authority for the example; in production use
	// entra.Config{TenantID: "<tenant GUID>", ClientID: "<API client ID>"}
	// or entra.ConfigFromEnv().
	authority := entratest.NewServer()
	defer authority.Close()

	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	ctx := context.Background()
	claims, err := v.Validate(ctx, authority.UserToken("Orders.Read"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(claims.IdentityType(), claims.Scopes(), claims.HasScope("Orders.Write"))

	expired := authority.Mint(entratest.Token{
		IssuedAt:  time.Now().Add(-2 * time.Hour),
		NotBefore: time.Now().Add(-2 * time.Hour),
		ExpiresAt: time.Now().Add(-time.Hour),
	})
	_, err = v.Validate(ctx, expired)
	switch {
	case errors.Is(err, entra.ErrTokenExpired):
		fmt.Println("expired:", entra.CodeOf(err))
	case err != nil:
		fmt.Println("other failure:", entra.CodeOf(err))
	}
	// Output:
	// user [Orders.Read] false
	// expired: token_expired
}

func ExampleNewValidator_configErrors() {
	_, err := entra.NewValidator(entra.Config{TenantID: "organizations"})
	fmt.Println(err)
	// Output:
	// entra: Config.ClientID is empty: set it to the API's application (client) ID (ENTRA_CLIENT_ID)
}

func Example_multiTenant() {
	authority := entratest.NewServer()
	defer authority.Close()

	cfg := authority.MultiTenantConfig(entra.TenantOrganizations)
	cfg.AllowedTenants = []string{"6babcaad-604b-40ac-a9d7-9fd97c0b779f"}
	v, err := entra.NewValidator(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	ctx := context.Background()
	for _, tenant := range []string{"6babcaad-604b-40ac-a9d7-9fd97c0b779f", "9e3a1f50-1c8b-4b5f-9f3c-2a7d4c1e8b90"} {
		_, err := v.Validate(ctx, authority.Mint(entratest.Token{TenantID: tenant, Scopes: []string{"Orders.Read"}}))
		if err != nil {
			fmt.Println(tenant[:8], "refused:", entra.CodeOf(err))
		} else {
			fmt.Println(tenant[:8], "accepted")
		}
	}
	// Output:
	// 6babcaad accepted
	// 9e3a1f50 refused: tenant_not_allowed
}

func ExampleMiddleware() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", entra.RequireScope("Orders.Read").Middleware(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := entra.ClaimsFromContext(r.Context())
			fmt.Fprintf(w, "orders of %s", claims.Name())
		})))
	api := entra.Middleware(v)(mux)

	for _, token := range []string{"", authority.UserToken("Profile"), authority.UserToken("Orders.Read")} {
		req := httptest.NewRequest("GET", "/orders", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate") != "")
	}
	// Output:
	// 401 true
	// 403 true
	// 200 false
}

func ExampleRequireFunc() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	// A custom rule: only tokens from a CAE-capable client, with a role.
	capable := entra.RequireFunc("a CAE-capable client", func(c *entra.Claims) error {
		if !c.HasClientCapability("cp1") {
			return errors.New("this API needs a client that supports claims challenges")
		}
		return nil
	})
	rule := entra.AllOf(entra.RequireRole("Orders.Admin"), capable)

	ctx := context.Background()
	for _, tok := range []entratest.Token{
		{Scopes: []string{"Orders.Read"}, Roles: []string{"Orders.Admin"}, Claims: map[string]any{"xms_cc": []string{"cp1"}}},
		{Scopes: []string{"Orders.Read"}, Roles: []string{"Orders.Admin"}},
		{Scopes: []string{"Orders.Read"}},
	} {
		claims, err := v.Validate(ctx, authority.Mint(tok))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(rule.Check(claims))
	}
	// Output:
	// <nil>
	// entra: this API needs a client that supports claims challenges
	// entra: the token does not meet the requirement: role "Orders.Admin"
}
