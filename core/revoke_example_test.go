package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// A revoked caller, tested end to end: "sign out everywhere" for the
// signed-in user of a fake authority, then the same request again.
func ExampleRevocationList() {
	authority := entratest.NewServer()
	defer authority.Close()

	revoked := entra.NewRevocationList(entra.RevocationListOptions{})
	cfg := authority.Config()
	cfg.Revocations = revoked
	v, err := entra.NewValidator(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	api := entra.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "orders")
	}))
	call := func(token string) {
		req := httptest.NewRequest("GET", "/api/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	token := authority.UserToken("Orders.Read")
	call(token)

	// Every token of this user in this tenant issued before now.
	if _, err := revoked.RevokeUser(authority.TenantID, authority.UserObjectID, time.Time{}, "account compromised"); err != nil {
		fmt.Println(err)
		return
	}
	call(token)

	// A token issued after the cut-off passes: the user signed in again.
	call(authority.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: time.Now().Add(2 * time.Second)}))

	_, err = v.Validate(context.Background(), token)
	fmt.Println(entra.CodeOf(err))
	// Output:
	// 200 orders
	// 401 {"error":"invalid_token","error_description":"the tokens of this user or app issued before a revocation are refused: a token Entra issues 5 minutes or more after the revocation passes (Entra dates tokens 5 minutes back); sign in again then, bypassing the client's token cache","code":"token_revoked"}
	// 200 orders
	// token_revoked
}
