package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/emulator"
)

func TestDeviceCodeFlow(t *testing.T) {
	m := start(t, baseConfig())
	dc := m.URL() + "/" + tenantID + "/oauth2/v2.0/devicecode"
	scope := "openid offline_access api://" + apiID + "/Orders.Read"
	a := post(t, nil, dc, url.Values{"client_id": {cliID}, "scope": {scope}}, nil)
	if a.Status != 200 || len(a.UserCode) != 9 || a.DeviceCode == "" || a.Interval != 1 || a.VerifyURI != m.URL()+"/devicelogin" {
		t.Fatalf("devicecode: %d %s", a.Status, a.Raw)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {cliID}, "device_code": {a.DeviceCode}}
	if p := post(t, nil, m.TokenURL(), poll, nil); p.Status != 400 || p.Error != "authorization_pending" || p.code() != 70016 {
		t.Fatalf("first poll: %d %s", p.Status, p.Raw)
	}
	if p := post(t, nil, m.TokenURL(), poll, nil); p.Error != "slow_down" {
		t.Errorf("a poll at once: %s, want slow_down", p.Raw)
	}
	m.clock.Add(time.Second)
	if p := post(t, nil, m.TokenURL(), poll, nil); p.Error != "authorization_pending" {
		t.Errorf("a poll after the interval: %s", p.Raw)
	}

	// The user enters the code on the page and signs in.
	b := m.browser(t)
	_, page := get(t, b, a.VerifyURI)
	if !strings.Contains(page, `<label for="user_code">Code</label>`) {
		t.Fatalf("device page: %s", page)
	}
	f := formOf(t, page)
	f.Set("user_code", strings.ToLower(a.UserCode[:4]+" "+a.UserCode[4:]))
	r := post(t, b, a.VerifyURI, f, nil)
	if r.Status != 200 || !strings.Contains(r.Raw, "Sign in to Orders CLI") || !strings.Contains(r.Raw, "api://"+apiID+"/Orders.Read") {
		t.Fatalf("after the code: %d %s", r.Status, r.Raw)
	}
	f = formOf(t, r.Raw)
	f.Set("emulator_action", "accept")
	f.Set("emulator_user", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")
	if r := post(t, b, a.VerifyURI, f, nil); r.Status != 200 || !strings.Contains(r.Raw, "You signed in") {
		t.Fatalf("approve: %d %s", r.Status, r.Raw)
	}
	m.clock.Add(time.Second)
	tok := post(t, nil, m.TokenURL(), poll, nil)
	if tok.Status != 200 || tok.RefreshToken == "" || tok.IDToken == "" {
		t.Fatalf("tokens: %d %s", tok.Status, tok.Raw)
	}
	if c := m.validate(t, apiID, tok.AccessToken); c.ObjectID() != "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" {
		t.Errorf("oid %q", c.ObjectID())
	}
	if p := post(t, nil, m.TokenURL(), poll, nil); p.Status != 400 || p.Error != "invalid_grant" {
		t.Errorf("redeemed twice: %s", p.Raw)
	}

	// Declined, and expired.
	d2 := post(t, nil, dc, url.Values{"client_id": {cliID}, "scope": {scope}}, nil)
	_, page = get(t, b, a.VerifyURI)
	f = formOf(t, page)
	f.Set("user_code", d2.UserCode)
	r = post(t, b, a.VerifyURI, f, nil)
	f = formOf(t, r.Raw)
	f.Set("emulator_action", "decline")
	post(t, b, a.VerifyURI, f, nil)
	poll.Set("device_code", d2.DeviceCode)
	if p := post(t, nil, m.TokenURL(), poll, nil); p.Error != "authorization_declined" {
		t.Errorf("declined: %s", p.Raw)
	}
	d3 := post(t, nil, dc, url.Values{"client_id": {cliID}, "scope": {scope}}, nil)
	m.clock.Add(16 * time.Minute)
	poll.Set("device_code", d3.DeviceCode)
	if p := post(t, nil, m.TokenURL(), poll, nil); p.Error != "expired_token" || p.code() != 70019 {
		t.Errorf("expired: %s", p.Raw)
	}
	// A confidential app is refused the device code flow.
	if p := post(t, nil, dc, url.Values{"client_id": {webID}, "scope": {scope}}, nil); p.Status != 401 || p.Error != "invalid_client" {
		t.Errorf("confidential: %s", p.Raw)
	}
}

func miConfig() emulator.Config {
	c := baseConfig()
	c.IdentityHeader = "header-secret"
	c.ManagedIdentities = []emulator.ManagedIdentity{
		{ClientID: "44444444-4444-4444-8444-444444444444", ObjectID: "55555555-5555-4555-8555-555555555555", SystemAssigned: true, Roles: []string{"Orders.Read.All"}},
		{ClientID: "66666666-6666-4666-8666-666666666666", ObjectID: "77777777-7777-4777-8777-777777777777",
			ResourceID: "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders", Roles: []string{"Admin"}},
	}
	return c
}

func getJSON(t *testing.T, u string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestManagedIdentityEndpoints(t *testing.T) {
	m := start(t, miConfig())
	res := url.QueryEscape("api://" + apiID)
	hdr := map[string]string{"X-IDENTITY-HEADER": "header-secret"}
	for _, tc := range []struct{ query, oid, role string }{
		{"", "55555555-5555-4555-8555-555555555555", "Orders.Read.All"},
		{"&client_id=66666666-6666-4666-8666-666666666666", "77777777-7777-4777-8777-777777777777", "Admin"},
		{"&object_id=77777777-7777-4777-8777-777777777777", "77777777-7777-4777-8777-777777777777", "Admin"},
		{"&mi_res_id=" + url.QueryEscape("/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders"), "77777777-7777-4777-8777-777777777777", "Admin"},
	} {
		st, body := getJSON(t, m.IdentityEndpoint()+"?api-version=2019-08-01&resource="+res+tc.query, hdr)
		tok, _ := body["access_token"].(string)
		if st != 200 || tok == "" || body["token_type"] != "Bearer" {
			t.Fatalf("%q: %d %v", tc.query, st, body)
		}
		exp, _ := body["expires_on"].(string)
		if exp == "" {
			t.Errorf("expires_on %v: App Service writes a string of seconds", body["expires_on"])
		}
		c := m.validate(t, apiID, tok)
		p := payload(t, tok)
		if !c.IsApp() || c.ObjectID() != tc.oid || !c.HasRole(tc.role) || p["idtyp"] != "app" || p["xms_mirid"] == nil {
			t.Errorf("%q: app %v oid %q roles %v claims %v", tc.query, c.IsApp(), c.ObjectID(), c.Roles(), p)
		}
		if life := time.Until(c.ExpiresAt()); life < 23*time.Hour || life > 25*time.Hour {
			t.Errorf("lifetime %v, want 24 h", life)
		}
	}
	if st, _ := getJSON(t, m.IdentityEndpoint()+"?api-version=2019-08-01&resource="+res, map[string]string{"X-IDENTITY-HEADER": "wrong"}); st != 401 {
		t.Errorf("wrong identity header: %d", st)
	}
	if st, _ := getJSON(t, m.IdentityEndpoint()+"?api-version=2017-09-01&resource="+res, hdr); st != 400 {
		t.Errorf("old api-version: %d", st)
	}
	if st, _ := getJSON(t, m.IdentityEndpoint()+"?api-version=2019-08-01&resource="+res+"&client_id=nope", hdr); st != 400 {
		t.Errorf("unknown identity: %d", st)
	}

	// IMDS: Metadata: true.
	st, body := getJSON(t, m.IMDSEndpoint()+"?api-version=2018-02-01&resource="+res+"&client_id=66666666-6666-4666-8666-666666666666", map[string]string{"Metadata": "true"})
	if st != 200 || body["expires_in"] == nil || body["client_id"] != "66666666-6666-4666-8666-666666666666" {
		t.Fatalf("IMDS: %d %v", st, body)
	}
	m.validate(t, apiID, body["access_token"].(string))
	if st, body := getJSON(t, m.IMDSEndpoint()+"?api-version=2018-02-01&resource="+res, nil); st != 400 || body["error"] != "invalid_request" {
		t.Errorf("IMDS without Metadata: %d %v", st, body)
	}
}

func TestWorkloadIdentityFederation(t *testing.T) {
	// An external issuer (AKS's OIDC issuer): another fake authority,
	// whose discovery document and keys the emulator reads.
	ext := entratest.NewServer()
	t.Cleanup(ext.Close)
	extIss := ext.Issuer("2.0", "")
	cfg := baseConfig()
	cfg.Apps = append(cfg.Apps, emulator.App{ClientID: "88888888-8888-4888-8888-888888888888", Roles: []string{"Orders.Read.All"},
		FederatedCredentials: []emulator.FederatedCredential{
			{Issuer: extIss, Subject: "system:serviceaccount:default:orders"},
			{Subject: "system:serviceaccount:ci:job"}, // the emulator's own workload issuer
		}})
	m := start(t, cfg)
	form := func(assertion string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {"88888888-8888-4888-8888-888888888888"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
			"scope": {"api://" + apiID + "/.default"}}
	}
	now := time.Now()
	sa := func(iss, sub, aud string) string {
		return ext.Sign(nil, map[string]any{"iss": iss, "sub": sub, "aud": []string{aud}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	a := post(t, nil, m.TokenURL(), form(sa(extIss, "system:serviceaccount:default:orders", "api://AzureADTokenExchange")), nil)
	if a.Status != 200 {
		t.Fatalf("external issuer: %d %s", a.Status, a.Raw)
	}
	if c := m.validate(t, apiID, a.AccessToken); !c.IsApp() || !c.HasRole("Orders.Read.All") || payload(t, a.AccessToken)["azpacr"] != "2" {
		t.Errorf("claims %v", payload(t, a.AccessToken))
	}
	// The emulator's own issuer: a token written to a file.
	file := filepath.Join(t.TempDir(), "token")
	if err := m.WriteWorkloadToken(file, "system:serviceaccount:ci:job"); err != nil {
		t.Fatal(err)
	}
	own, _ := os.ReadFile(file)
	if a := post(t, nil, m.TokenURL(), form(string(own)), nil); a.Status != 200 {
		t.Errorf("own issuer: %d %s", a.Status, a.Raw)
	}
	for _, tc := range []struct {
		name      string
		assertion string
		code      int
	}{
		{"another subject", sa(extIss, "system:serviceaccount:default:other", "api://AzureADTokenExchange"), 70021},
		{"another audience", sa(extIss, "system:serviceaccount:default:orders", "api://other"), 700212},
		{"signed by someone else", m.Authority().Sign(nil, map[string]any{"iss": extIss, "sub": "system:serviceaccount:default:orders", "aud": "api://AzureADTokenExchange", "exp": now.Add(time.Hour).Unix()}), 700211},
		{"expired", ext.Sign(nil, map[string]any{"iss": extIss, "sub": "system:serviceaccount:default:orders", "aud": "api://AzureADTokenExchange", "exp": now.Add(-time.Hour).Unix()}), 700024},
	} {
		if a := post(t, nil, m.TokenURL(), form(tc.assertion), nil); a.Status < 400 || a.code() != tc.code || a.AccessToken != "" {
			t.Errorf("%s: %d %s, want AADSTS%d", tc.name, a.Status, a.Raw, tc.code)
		}
	}
}

func TestAgentFlows(t *testing.T) {
	cfg := baseConfig()
	cfg.Agents = []emulator.Agent{{BlueprintClientID: "99999999-9999-4999-8999-999999999999", BlueprintSecret: "bp-secret",
		AgentID: "abababab-abab-4bab-8bab-abababababab", Roles: []string{"Orders.Read.All"}}}
	m := start(t, cfg)
	agent := "abababab-abab-4bab-8bab-abababababab"
	t1 := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {"99999999-9999-4999-8999-999999999999"},
		"client_secret": {"bp-secret"}, "scope": {"api://AzureADTokenExchange/.default"}, "fmi_path": {agent}}, nil)
	if t1.Status != 200 || payload(t, t1.AccessToken)["aud"] != "api://AzureADTokenExchange" {
		t.Fatalf("T1: %d %s", t1.Status, t1.Raw)
	}
	withT1 := func(v url.Values) url.Values {
		v.Set("client_id", agent)
		v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		v.Set("client_assertion", t1.AccessToken)
		return v
	}
	app := post(t, nil, m.TokenURL(), withT1(url.Values{"grant_type": {"client_credentials"}, "scope": {"api://" + apiID + "/.default"}}), nil)
	if app.Status != 200 {
		t.Fatalf("agent app token: %d %s", app.Status, app.Raw)
	}
	if c := m.validate(t, apiID, app.AccessToken); c.AgentKind() != entra.AgentAutonomous || !c.HasRole("Orders.Read.All") || payload(t, app.AccessToken)["xms_par_app_azp"] != "99999999-9999-4999-8999-999999999999" {
		t.Errorf("agent app token: kind %q %v", c.AgentKind(), payload(t, app.AccessToken))
	}
	t2 := post(t, nil, m.TokenURL(), withT1(url.Values{"grant_type": {"client_credentials"}, "scope": {"api://AzureADTokenExchange/.default"}}), nil)
	au := m.Config().Agents[0]
	user := post(t, nil, m.TokenURL(), withT1(url.Values{"grant_type": {"user_fic"}, "scope": {"api://" + apiID + "/Orders.Read"},
		"user_id": {au.UserObjectID}, "user_federated_identity_credential": {t2.AccessToken}}), nil)
	if user.Status != 200 {
		t.Fatalf("agent user: %d %s", user.Status, user.Raw)
	}
	if c := m.validate(t, apiID, user.AccessToken); c.AgentKind() != entra.AgentUserAccount || c.ObjectID() != au.UserObjectID || !c.HasScope("Orders.Read") {
		t.Errorf("agent user token: kind %q oid %q", c.AgentKind(), c.ObjectID())
	}
	// On behalf of a human: the user's token for the agent.
	human := m.Authority().Mint(entratest.Token{Audience: agent, ObjectID: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", Scopes: []string{"Agent.Use"}})
	obo := post(t, nil, m.TokenURL(), withT1(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"assertion": {human}, "scope": {"api://" + apiID + "/Orders.Read"}}), nil)
	if obo.Status != 200 {
		t.Fatalf("agent OBO: %d %s", obo.Status, obo.Raw)
	}
	if c := m.validate(t, apiID, obo.AccessToken); c.AgentKind() != entra.AgentOnBehalfOfUser || c.ObjectID() != "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" {
		t.Errorf("agent OBO token: kind %q oid %q", c.AgentKind(), c.ObjectID())
	}
	// Refusals: a blueprint's wrong secret, an agent without T1, T1 for another agent.
	if a := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {"99999999-9999-4999-8999-999999999999"},
		"client_secret": {"wrong"}, "scope": {"api://AzureADTokenExchange/.default"}, "fmi_path": {agent}}, nil); a.Status != 401 {
		t.Errorf("blueprint wrong secret: %s", a.Raw)
	}
	if a := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {agent}, "scope": {"api://" + apiID + "/.default"}}, nil); a.Status != 401 {
		t.Errorf("agent without T1: %s", a.Raw)
	}
	v := withT1(url.Values{"grant_type": {"client_credentials"}, "scope": {"api://" + apiID + "/.default"}})
	v.Set("client_assertion", app.AccessToken) // the agent's own token is not T1
	if a := post(t, nil, m.TokenURL(), v, nil); a.Status != 401 {
		t.Errorf("agent with another token as assertion: %s", a.Raw)
	}
}

func TestMetadataAdvertisesWhatIsServed(t *testing.T) {
	m := start(t, baseConfig())
	st, doc := getJSON(t, m.URL()+"/"+tenantID+"/v2.0/.well-known/openid-configuration", nil)
	if rt, _ := doc["response_types_supported"].([]any); len(rt) != 1 || rt[0] != "code" {
		t.Errorf("response_types_supported %v: only code is served", doc["response_types_supported"])
	}
	if st != 200 || doc["userinfo_endpoint"] != m.URL()+"/oidc/userinfo" || doc["kerberos_endpoint"] != nil {
		t.Fatalf("metadata: %d %v", st, doc)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "end_session_endpoint", "userinfo_endpoint", "jwks_uri"} {
		u, _ := doc[k].(string)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s %s answers 404", k, u)
		}
	}
	_, v1 := getJSON(t, m.URL()+"/"+tenantID+"/.well-known/openid-configuration", nil)
	root := m.URL() + "/" + tenantID
	if v1["authorization_endpoint"] != root+"/oauth2/authorize" || v1["token_endpoint"] != root+"/oauth2/token" {
		t.Errorf("v1.0 metadata: authorization_endpoint %v token_endpoint %v: want the v1.0 endpoints", v1["authorization_endpoint"], v1["token_endpoint"])
	}
	for _, k := range []string{"device_authorization_endpoint", "end_session_endpoint", "check_session_iframe", "userinfo_endpoint", "kerberos_endpoint"} {
		if v1[k] != nil {
			t.Errorf("v1.0 metadata advertises %s %v, which is not served", k, v1[k])
		}
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri"} {
		u, _ := v1[k].(string)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("v1.0 %s %s answers 404", k, u)
		}
	}
}

func TestUserinfo(t *testing.T) {
	m := start(t, nonInteractive())
	c := m.browser(t)
	resp, _ := get(t, c, m.authorizeURL(webID, webCB, url.Values{"scope": {"openid profile email"}}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	a := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {webCB}, "code_verifier": {verifier}}, nil)
	if a.Status != 200 || payload(t, a.AccessToken)["aud"] != "00000003-0000-0000-c000-000000000000" {
		t.Fatalf("a Graph token: %d %s", a.Status, a.Raw)
	}
	st, info := getJSON(t, m.URL()+"/oidc/userinfo", map[string]string{"Authorization": "Bearer " + a.AccessToken})
	if st != 200 || info["name"] != "Adele Vance" || info["email"] != "adele@contoso.example" || info["sub"] == nil {
		t.Errorf("userinfo: %d %v", st, info)
	}
	api := m.Authority().UserToken("Orders.Read")
	if st, _ := getJSON(t, m.URL()+"/oidc/userinfo", map[string]string{"Authorization": "Bearer " + api}); st != 401 {
		t.Errorf("userinfo with the API's token: %d", st)
	}
	if st, _ := getJSON(t, m.URL()+"/oidc/userinfo", nil); st != 401 {
		t.Errorf("userinfo without token: %d", st)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"tenant": "x"}`, `unknown field "tenant"`},
		{`{"apps": [{"client_id": "a", "redirect_uri": "x"}]}`, `unknown field "redirect_uri"`},
		{`{"users": [{"upn": "a@b", "groups": "g1"}]}`, `"users.groups"`},
		{`{"apps": [{"type": "daemon"}]}`, `apps[0].type "daemon"`},
		{`{"apps": [{"type": "public", "secret": "s"}]}`, `apps[0]: a public app has no secret`},
		{`{"apps": [{"type": "spa", "redirect_uris": ["http://app.example/"]}]}`, `apps[0].redirect_uris[0]`},
		{`{"users": [{"name": "x"}]}`, `users[0].upn`},
		{`{"managed_identities": [{"system_assigned": true}, {"system_assigned": true}]}`, `at most one is system_assigned`},
		{`{"agents": [{"blueprint_client_id": "b"}]}`, `agents[0]: blueprint_client_id and blueprint_secret`},
		{`{"default_user": "eve@x"}`, `default_user "eve@x"`},
		{`{} {}`, `more than one JSON value`},
		{`{"users": [{"upn": "a@b"}, {"upn": "A@b"}]}`, `users[1]: upn "A@b"`},
		{`{"apps": [{"federated_credentials": [{"issuer": "oidc.example", "subject": "s"}]}]}`, `apps[0].federated_credentials[0].issuer`},
	} {
		_, err := emulator.ParseConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
	if _, err := emulator.ParseConfig([]byte(`{"apps": [{"client_id": "a", "type": "public", "redirect_uris": ["http://localhost"]}]}`)); err != nil {
		t.Errorf("a good config: %v", err)
	}
}
