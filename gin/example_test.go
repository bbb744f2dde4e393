package entragin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

func Example() {
	authority := entratest.NewServer() // a local fake Entra ID; in production use entra.ConfigFromEnv()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	router := gin.New()
	router.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") }) // public: outside the group
	api := router.Group("/api", entragin.Authenticate(v))                          // protect
	api.GET("/admin", entragin.RequireRole("Admin"), func(c *gin.Context) {        // guard
		claims, _ := entragin.Claims(c) // the caller
		c.String(http.StatusOK, "hello %s %v", claims.IdentityType(), claims.Roles())
	})

	for _, token := range []string{"", authority.AppToken("Reader"), authority.AppToken("Admin")} {
		req := httptest.NewRequest("GET", "/api/admin", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		var refusal struct{ Code string }
		if json.Unmarshal(rec.Body.Bytes(), &refusal) == nil {
			fmt.Println(rec.Code, refusal.Code)
		} else {
			fmt.Println(rec.Code, rec.Body.String())
		}
	}
	// Output:
	// 401 token_missing
	// 403 forbidden
	// 200 hello app [Admin]
}
