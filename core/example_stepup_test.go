package entra_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Step-up to a Conditional Access authentication context on one route:
// a token that satisfied it passes, a client that handles claims
// challenges is asked for it, any other caller gets a 403.
func ExampleRequireAuthContext() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	if err := v.Ready(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	approve := entra.Middleware(v)(entra.RequireAuthContext("c1").Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "approved")
	})))
	call := func(t entratest.Token) {
		t.Scopes = []string{"Payments.Approve"}
		req := httptest.NewRequest("POST", "/payments/approve", nil)
		req.Header.Set("Authorization", "Bearer "+authority.Mint(t))
		rec := httptest.NewRecorder()
		approve.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(rec.Code, rec.Body.String())
			return
		}
		ch := rec.Header().Get("WWW-Authenticate")
		fmt.Println(rec.Code, ch[strings.Index(ch, "error="):strings.Index(ch, ", error_description")])
		if i := strings.Index(ch, `claims="`); i >= 0 {
			claims, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(ch[i+len(`claims="`):], `"`))
			fmt.Println("claims:", string(claims))
		}
	}
	call(entratest.Token{AuthContexts: []string{"c1"}})
	call(entratest.Token{ClientCapabilities: []string{"cp1"}})
	call(entratest.Token{})
	// Output:
	// 200 approved
	// 401 error="insufficient_claims"
	// claims: {"access_token":{"acrs":{"essential":true,"value":"c1"}}}
	// 403 error="insufficient_scope"
}
