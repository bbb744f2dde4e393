package entratest_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

func TestClaimShapes(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := entratest.NewServer(entratest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	tests := []struct {
		name       string
		token      string
		header     []string
		claims     []string
		want       map[string]any
		wantAbsent []string
	}{
		{
			name:   "v2 delegated",
			token:  srv.UserToken("Orders.Read", "Profile"),
			header: []string{"typ", "alg", "kid"},
			claims: []string{"aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "name", "oid", "preferred_username", "rh", "scp", "sub", "tid", "uti", "ver"},
			want: map[string]any{
				"aud": srv.ClientID, "iss": srv.URL + "/" + srv.TenantID + "/v2.0", "tid": srv.TenantID, "ver": "2.0",
				"azp": srv.CallerID, "azpacr": "0", "oid": srv.UserObjectID, "name": srv.UserName,
				"preferred_username": srv.UserPrincipalName, "scp": "Orders.Read Profile",
			},
		},
		{
			name:   "v2 app-only",
			token:  srv.AppToken("Orders.Read.All", "Admin"),
			header: []string{"typ", "alg", "kid"},
			claims: []string{"aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "idtyp", "oid", "rh", "roles", "sub", "tid", "uti", "ver"},
			want: map[string]any{
				"aud": srv.ClientID, "iss": srv.URL + "/" + srv.TenantID + "/v2.0", "azp": srv.CallerID, "azpacr": "1",
				"idtyp": "app", "oid": srv.CallerObjectID, "sub": srv.CallerObjectID, "roles": []any{"Orders.Read.All", "Admin"},
			},
		},
		{
			name:   "v1 delegated",
			token:  srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"user_impersonation"}}),
			header: []string{"typ", "alg", "x5t", "kid"},
			claims: []string{"aud", "iss", "iat", "nbf", "exp", "acr", "aio", "amr", "appid", "appidacr", "ipaddr", "name", "oid", "rh", "scp", "sub", "tid", "unique_name", "upn", "uti", "ver"},
			want: map[string]any{
				"aud": "api://" + srv.ClientID, "iss": "https://sts.windows.net/" + srv.TenantID + "/", "ver": "1.0",
				"appid": srv.CallerID, "appidacr": "0", "upn": srv.UserPrincipalName, "unique_name": srv.UserPrincipalName,
				"scp": "user_impersonation", "oid": srv.UserObjectID,
			},
		},
		{
			name:   "v1 app-only",
			token:  srv.Mint(entratest.Token{Version: "1.0", App: true, Roles: []string{"Admin"}}),
			header: []string{"typ", "alg", "x5t", "kid"},
			claims: []string{"aud", "iss", "iat", "nbf", "exp", "aio", "appid", "appidacr", "idp", "idtyp", "oid", "rh", "roles", "sub", "tid", "uti", "ver"},
			want: map[string]any{
				"iss": "https://sts.windows.net/" + srv.TenantID + "/", "idp": "https://sts.windows.net/" + srv.TenantID + "/",
				"appid": srv.CallerID, "appidacr": "1", "idtyp": "app", "sub": srv.CallerObjectID,
			},
		},
		{
			name:       "no scopes, no roles",
			token:      srv.Mint(entratest.Token{}),
			header:     []string{"typ", "alg", "kid"},
			claims:     []string{"aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "name", "oid", "preferred_username", "rh", "sub", "tid", "uti", "ver"},
			wantAbsent: []string{"scp", "roles", "groups"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, c := parse(t, tc.token)
			if got := orderedKeys(t, tc.token, 0); !slices.Equal(got, tc.header) {
				t.Errorf("header fields %v, want %v", got, tc.header)
			}
			if got := orderedKeys(t, tc.token, 1); !slices.Equal(got, tc.claims) {
				t.Errorf("claims %v, want %v", got, tc.claims)
			}
			if h["typ"] != "JWT" || h["alg"] != "RS256" || h["kid"] != srv.CurrentKeyID() {
				t.Errorf("header %v", h)
			}
			if x5t, ok := h["x5t"]; ok && x5t != h["kid"] {
				t.Errorf("x5t %v differs from kid %v", x5t, h["kid"])
			}
			for k, want := range tc.want {
				if got := c[k]; !jsonEqual(got, want) {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			for _, k := range tc.wantAbsent {
				if _, ok := c[k]; ok {
					t.Errorf("%s present: %v", k, c[k])
				}
			}
			// Times from the server's clock: iat = nbf = now-5m, exp = now+1h.
			if c["iat"] != float64(now.Add(-5*time.Minute).Unix()) || c["nbf"] != c["iat"] || c["exp"] != float64(now.Add(time.Hour).Unix()) {
				t.Errorf("iat %v nbf %v exp %v", c["iat"], c["nbf"], c["exp"])
			}
			if n := len(tc.token); n < 1000 || n > 1700 {
				t.Errorf("token of %d bytes; Entra's are 1.2 to 1.5 KB", n)
			}
		})
	}
}

func TestClaimDefaults(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	_, a := parse(t, srv.UserToken("a"))
	_, b := parse(t, srv.UserToken("a"))
	if a["sub"] != b["sub"] || len(a["sub"].(string)) != 43 {
		t.Errorf("user sub %v then %v: want a stable 43-character pairwise ID", a["sub"], b["sub"])
	}
	for _, k := range []string{"aio", "rh", "uti"} {
		if a[k] == b[k] {
			t.Errorf("%s repeats across tokens", k)
		}
	}
	_, other := parse(t, srv.Mint(entratest.Token{ObjectID: "0d8a6a41-2d85-4cde-a6b6-3c40f3d5a9c2"}))
	if other["sub"] == a["sub"] || other["oid"] != "0d8a6a41-2d85-4cde-a6b6-3c40f3d5a9c2" {
		t.Errorf("another user: oid %v sub %v", other["oid"], other["sub"])
	}
	// Times default from the real clock.
	if iat := int64(a["iat"].(float64)); time.Since(time.Unix(iat, 0)) > 6*time.Minute || time.Since(time.Unix(iat, 0)) < 4*time.Minute {
		t.Errorf("iat %v is not about five minutes ago", time.Unix(iat, 0))
	}
	// IssuedAt carries nbf and exp along.
	iat := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	_, c := parse(t, srv.Mint(entratest.Token{IssuedAt: iat}))
	if c["iat"] != float64(iat.Unix()) || c["nbf"] != float64(iat.Unix()) || c["exp"] != float64(iat.Add(65*time.Minute).Unix()) {
		t.Errorf("iat %v nbf %v exp %v", c["iat"], c["nbf"], c["exp"])
	}
}

func TestTokenFields(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	iat := time.Unix(1700000000, 0)
	tok := srv.Mint(entratest.Token{
		TenantID:          otherTenant,
		Audience:          "api://contoso-orders",
		ClientID:          "caller-app",
		Subject:           "subject-1",
		ObjectID:          "object-1",
		Name:              "Megan Bowen",
		PreferredUsername: "MeganB@fabrikam.example",
		Scopes:            []string{"a", "b"},
		Roles:             []string{"Reader"},
		Groups:            []string{"group-1", "group-2"},
		IssuedAt:          iat,
		NotBefore:         iat.Add(time.Minute),
		ExpiresAt:         iat.Add(2 * time.Hour),
	})
	_, c := parse(t, tok)
	want := map[string]any{
		"tid": otherTenant, "iss": srv.URL + "/" + otherTenant + "/v2.0", "aud": "api://contoso-orders", "azp": "caller-app",
		"sub": "subject-1", "oid": "object-1", "name": "Megan Bowen", "preferred_username": "MeganB@fabrikam.example",
		"scp": "a b", "roles": []any{"Reader"}, "groups": []any{"group-1", "group-2"},
		"iat": float64(iat.Unix()), "nbf": float64(iat.Unix() + 60), "exp": float64(iat.Unix() + 7200),
	}
	for k, w := range want {
		if !jsonEqual(c[k], w) {
			t.Errorf("%s = %v, want %v", k, c[k], w)
		}
	}
	if iss := srv.Issuer("2.0", otherTenant); iss != c["iss"] {
		t.Errorf("Issuer(2.0) = %s, token iss %v", iss, c["iss"])
	}
	_, c1 := parse(t, srv.Mint(entratest.Token{Version: "1.0", TenantID: otherTenant}))
	if iss := srv.Issuer("1.0", otherTenant); iss != c1["iss"] || iss != "https://sts.windows.net/"+otherTenant+"/" {
		t.Errorf("Issuer(1.0) = %s, token iss %v", iss, c1["iss"])
	}
	if srv.Issuer("", "") != srv.URL+"/"+srv.TenantID+"/v2.0" {
		t.Errorf("Issuer(\"\", \"\") = %s", srv.Issuer("", ""))
	}
	wantPanic(t, func() { srv.Issuer("3.0", "") })
	wantPanic(t, func() { srv.Mint(entratest.Token{Version: "2"}) })
}

func TestOverrides(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	keys := fetchKeys(t, srv, srv.URL+"/"+srv.TenantID+"/discovery/v2.0/keys")
	tok := srv.Mint(entratest.Token{
		Scopes: []string{"a"},
		Claims: map[string]any{
			"aud":    []string{"x", srv.ClientID}, // override
			"exp":    nil,                         // delete
			"xms_cc": []string{"cp1"},             // add
			"acct":   1,
			"raw":    json.RawMessage(`{"nested":[1,2]}`),
			"html":   "<a&b>",
		},
		Header: map[string]any{"kid": "made-up", "typ": nil, "nonce": "abc", "alg": "none"},
	})
	h, c := parse(t, tok)
	if _, ok := c["exp"]; ok {
		t.Error("exp not deleted")
	}
	if !jsonEqual(c["aud"], []any{"x", srv.ClientID}) || !jsonEqual(c["xms_cc"], []any{"cp1"}) || c["acct"] != float64(1) || c["scp"] != "a" {
		t.Errorf("claims %v", c)
	}
	if !jsonEqual(c["raw"], map[string]any{"nested": []any{1.0, 2.0}}) || c["html"] != "<a&b>" {
		t.Errorf("raw %v html %v", c["raw"], c["html"])
	}
	if !strings.Contains(string(segment(t, tok, 1)), `"html":"<a&b>"`) {
		t.Errorf("HTML characters escaped: %s", segment(t, tok, 1))
	}
	if _, ok := h["typ"]; ok || h["kid"] != "made-up" || h["nonce"] != "abc" || h["alg"] != "none" {
		t.Errorf("header %v", h)
	}
	// Whatever the header says, the current key signed it.
	if err := verifyWith(t, tok, keys[srv.CurrentKeyID()].pub); err != nil {
		t.Error(err)
	}
	wantPanic(t, func() { srv.Mint(entratest.Token{Claims: map[string]any{"bad": func() {}}}) })
}

func TestSign(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	other := srv.AddUnpublishedKey()

	tok := srv.Sign(map[string]any{"typ": "at+jwt"}, map[string]any{"sub": "x", "gone": nil})
	h, c := parse(t, tok)
	if !jsonEqual(h, map[string]any{"typ": "at+jwt", "alg": "RS256", "kid": srv.CurrentKeyID()}) || !jsonEqual(c, map[string]any{"sub": "x"}) {
		t.Errorf("Sign: header %v claims %v", h, c)
	}
	if err := verifyWith(t, tok, srv.PublicKey(srv.CurrentKeyID())); err != nil {
		t.Error(err)
	}

	tok = srv.SignWithKey(other, map[string]any{"alg": "RS512", "kid": nil}, nil)
	h, c = parse(t, tok)
	if !jsonEqual(h, map[string]any{"alg": "RS512"}) || len(c) != 0 {
		t.Errorf("SignWithKey: header %v claims %v", h, c)
	}
	if err := verifyWith(t, tok, srv.PublicKey(other)); err != nil {
		t.Error(err)
	}

	raw := []byte(`{"alg":"RS256","alg":"none"}`)
	tok = srv.SignBytes("", raw, []byte(`not json`))
	if string(segment(t, tok, 0)) != string(raw) || string(segment(t, tok, 1)) != "not json" {
		t.Errorf("SignBytes changed its input: %s", tok)
	}
	if err := verifyWith(t, tok, srv.PublicKey(srv.CurrentKeyID())); err != nil {
		t.Error(err)
	}
	wantPanic(t, func() { srv.SignWithKey("nope", nil, nil) })
	wantPanic(t, func() { srv.SignBytes("nope", nil, nil) })
}

// orderedKeys returns the member names of a token segment's JSON object,
// in order.
func orderedKeys(t *testing.T, tok string, part int) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(segment(t, tok, part))))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func segment(t *testing.T, tok string, part int) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[part])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonEqual compares a decoded JSON value with want, through JSON.
func jsonEqual(got, want any) bool {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	_ = json.Unmarshal(w, &wv)
	gj, _ := json.Marshal(gv)
	wj, _ := json.Marshal(wv)
	return string(gj) == string(wj)
}
