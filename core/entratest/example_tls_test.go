package entratest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// A fake authority on HTTPS, as Microsoft's client libraries need it, and
// the on-behalf-of grant: a web tier exchanges its user's token for one for
// the API under test, which the API's validator accepts.
func ExampleNewTLSServer() {
	authority := entratest.NewTLSServer()
	defer authority.Close()
	const webTier = "9b1c3f7e-7d4a-4c7e-a0a8-5b6f1e2d3c4b"
	authority.RegisterApp(entratest.App{ClientID: webTier, Secret: "s3cret", Scopes: []string{"Orders.Read"}})
	fmt.Println("https:", strings.HasPrefix(authority.URL, "https://127.0.0.1:"))

	// The user's token for the web tier, as its front end got it.
	userToken := authority.Mint(entratest.Token{Audience: webTier, Scopes: []string{"access_as_user"}})
	resp, err := authority.Client().PostForm(authority.TokenURL(), url.Values{
		"grant_type":          {entratest.GrantJWTBearer},
		"requested_token_use": {"on_behalf_of"},
		"client_id":           {webTier},
		"client_secret":       {"s3cret"},
		"assertion":           {userToken},
		"scope":               {"api://" + authority.ClientID + "/Orders.Read"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	fmt.Println("status:", resp.StatusCode, "scope is the API's:", answer.Scope == "api://"+authority.ClientID+"/Orders.Read")

	v, err := entra.NewValidator(authority.Config()) // HTTPClient trusts the certificate
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	c, err := v.Validate(context.Background(), answer.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user:", c.ObjectID() == authority.UserObjectID, "azp is the web tier:", c.AppID() == webTier, "scp:", c.Scopes())

	// Without the server's client, the certificate is not trusted.
	_, err = http.Get(authority.URL)
	fmt.Println("default client trusts it:", err == nil)
	// Output:
	// https: true
	// status: 200 scope is the API's: true
	// user: true azp is the web tier: true scp: [Orders.Read]
	// default client trusts it: false
}
