package entratest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// claimsOf decodes a token's payload, without verifying it.
func claimsOf(token string) map[string]any {
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	return claims
}

func Example() {
	authority := entratest.NewServer(
		entratest.WithTenantID("72f988bf-86f1-41af-91ab-2d7cd011db47"),
		entratest.WithClientID("6e74172b-be56-4843-9ff4-e66a39bb12e3"),
	)
	defer authority.Close()

	// The configuration of a validator for the API under test.
	cfg := authority.Config()
	fmt.Println("tenant:", cfg.TenantID)
	fmt.Println("client:", cfg.ClientID)
	fmt.Println("authority is the fake:", cfg.AuthorityHost == authority.URL+"/")

	// What the validator discovers there.
	resp, err := authority.Client().Get(authority.URL + "/" + cfg.TenantID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	fmt.Println("issuer: URL +", strings.TrimPrefix(meta.Issuer, authority.URL))
	fmt.Println("jwks_uri: URL +", strings.TrimPrefix(meta.JWKSURI, authority.URL))

	// A delegated token of the server's user, for the API.
	claims := claimsOf(authority.UserToken("Orders.Read"))
	fmt.Println("aud is the API:", claims["aud"] == cfg.ClientID)
	fmt.Println("iss is the issuer:", claims["iss"] == meta.Issuer)
	fmt.Println("scp:", claims["scp"], "ver:", claims["ver"])
	// Output:
	// tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47
	// client: 6e74172b-be56-4843-9ff4-e66a39bb12e3
	// authority is the fake: true
	// issuer: URL + /72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0
	// jwks_uri: URL + /72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys
	// aud is the API: true
	// iss is the issuer: true
	// scp: Orders.Read ver: 2.0
}

func ExampleServer_Mint() {
	authority := entratest.NewServer()
	defer authority.Close()

	// A v1.0 app-only token from another tenant, with an extra claim.
	token := authority.Mint(entratest.Token{
		Version:  "1.0",
		App:      true,
		TenantID: "6babcaad-604b-40ac-a9d7-9fd97c0b779f",
		Roles:    []string{"Orders.Read.All"},
		Claims:   map[string]any{"xms_cc": []string{"cp1"}},
	})
	claims := claimsOf(token)
	fmt.Println(claims["iss"])
	fmt.Println(claims["aud"] == "api://"+authority.ClientID, claims["appid"] == authority.CallerID)
	fmt.Println(claims["idtyp"], claims["roles"], claims["xms_cc"], claims["scp"])
	// Output:
	// https://sts.windows.net/6babcaad-604b-40ac-a9d7-9fd97c0b779f/
	// true true
	// app [Orders.Read.All] [cp1] <nil>
}

func ExampleServer_RotateKeys() {
	authority := entratest.NewServer()
	defer authority.Close()

	old := authority.CurrentKeyID()
	current := authority.RotateKeys()
	fmt.Println("published:", len(authority.KeyIDs()))

	authority.RemoveKey(old)
	fmt.Println("published:", len(authority.KeyIDs()), authority.KeyIDs()[0] == current)
	// Output:
	// published: 2
	// published: 1 true
}

func ExampleServer_SetFault() {
	authority := entratest.NewServer()
	defer authority.Close()

	// The key endpoint fails twice with 503 and a retry hint, then recovers.
	authority.SetFault(entratest.EndpointJWKS, entratest.Times(2, entratest.RetryAfter(http.StatusServiceUnavailable, 30*time.Second)))
	for range 3 {
		resp, err := authority.Client().Get(authority.URL + "/organizations/discovery/v2.0/keys")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println("fetches:", authority.Fetches(entratest.EndpointJWKS))
	// Output:
	// 503 Retry-After="30"
	// 503 Retry-After="30"
	// 200 Retry-After=""
	// fetches: 3
}
