package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
)

// payload decodes a token's claims, without checking anything.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// between asserts that got is within [from, to] plus offset, give or take
// the second NumericDate truncates: the bounds are the times around the
// call that minted the token, so a slow machine cannot make it fail.
func between(t *testing.T, what string, got, from, to time.Time, offset time.Duration) {
	t.Helper()
	if got.Before(from.Add(offset).Add(-time.Second)) || got.After(to.Add(offset).Add(time.Second)) {
		t.Errorf("%s is %v, want between %v and %v", what, got, from.Add(offset), to.Add(offset))
	}
}

// unixClaim is a NumericDate claim as a time.
func unixClaim(t *testing.T, m map[string]any, name string) time.Time {
	t.Helper()
	f, ok := m[name].(float64)
	if !ok {
		t.Fatalf("%s is %v", name, m[name])
	}
	return time.Unix(int64(f), 0)
}

// A negative -lifetime mints a token that expired that long ago: refused as
// expired by a validator, accepted by one whose clock is set back (so it is
// a real token, only old).
func TestTokenNegativeLifetime(t *testing.T) {
	st := startEmulator(t)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	validator := func(now func() time.Time) *entra.Validator {
		v, err := entra.NewValidator(entra.Config{TenantID: st.TenantID, ClientID: st.ClientID, AuthorityHost: st.Authority + "/", HTTPClient: client, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v
	}

	before := time.Now()
	code, tok, stderr := runCmd(t, "", "token", "-emulator", st.Authority, "-scopes", "Orders.Read", "-lifetime", "-1h")
	after := time.Now()
	if code != exitOK {
		t.Fatalf("token -lifetime -1h: %d %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("an hour-old token needs no note: %q", stderr)
	}
	m := payload(t, tok)
	exp, iat, nbf := unixClaim(t, m, "exp"), unixClaim(t, m, "iat"), unixClaim(t, m, "nbf")
	between(t, "exp of -lifetime -1h", exp, before, after, -time.Hour)
	if !iat.Before(exp) || nbf.After(exp) || nbf.Before(iat) {
		t.Errorf("iat %v nbf %v exp %v: not issued before it expired", iat, nbf, exp)
	}

	_, err := validator(nil).Validate(context.Background(), strings.TrimSpace(tok))
	if entra.CodeOf(err) != entra.CodeTokenExpired {
		t.Fatalf("the expired token: %v, want %s", err, entra.CodeTokenExpired)
	}
	back := func() time.Time { return exp.Add(-10 * time.Minute) }
	if c, err := validator(back).Validate(context.Background(), strings.TrimSpace(tok)); err != nil || !c.HasScope("Orders.Read") {
		t.Fatalf("at a time it was valid the token is refused: %v", err)
	}

	// Within the clock skew the token is still accepted: the command says so.
	before = time.Now()
	code, tok, stderr = runCmd(t, "", "token", "-emulator", st.Authority, "-app", "-roles", "Orders.Read.All", "-lifetime", "-1m")
	after = time.Now()
	if code != exitOK {
		t.Fatalf("token -lifetime -1m: %d %s", code, stderr)
	}
	if !strings.Contains(stderr, "clock skew") || !strings.Contains(stderr, "-lifetime -10m") {
		t.Errorf("no note on the clock skew: %q", stderr)
	}
	between(t, "exp of -lifetime -1m", unixClaim(t, payload(t, tok), "exp"), before, after, -time.Minute)
	if _, err := validator(nil).Validate(context.Background(), strings.TrimSpace(tok)); err != nil {
		t.Errorf("a token a minute past exp is within the skew: %v", err)
	}
}

func TestTokenLifetimeErrors(t *testing.T) {
	for _, bad := range []string{"0", "0s", "soon", "1", "", "500ms", "1.5s", "25h", "-48h"} {
		code, stdout, stderr := runCmd(t, "", "token", "-emulator", "http://127.0.0.1:1", "-lifetime", bad)
		if code != exitUsage || stdout != "" {
			t.Errorf("-lifetime %q: exit %d, stdout %q", bad, code, stdout)
		}
		if !strings.Contains(stderr, "-lifetime") || !strings.Contains(stderr, "such as 10m") || !strings.Contains(stderr, "-1h") {
			t.Errorf("-lifetime %q: the error does not say what to write:\n%s", bad, stderr)
		}
	}
	// Flags that shape a minted token are refused when fetching one.
	code, _, stderr := runCmd(t, "", "token", "-tenant", "t", "-client-id", "c", "-secret", "s", "-scope", "x", "-lifetime", "10m", "-roles", "A")
	if code != exitUsage || !strings.Contains(stderr, "-lifetime, -roles") || !strings.Contains(stderr, "-emulator") {
		t.Errorf("-lifetime without -emulator: %d %q", code, stderr)
	}
}

// The mint endpoint takes a negative lifetime_seconds, and still bounds it.
func TestMintEndpointLifetime(t *testing.T) {
	st := startEmulator(t)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := client.Post(st.MintEndpoint, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(errors.Join(errors.New("the answer is not JSON"), err))
		}
		return resp.StatusCode, m
	}
	for _, bad := range []string{`{"lifetime_seconds": -86401}`, `{"lifetime_seconds": 86401}`} {
		if code, m := post(bad); code != http.StatusBadRequest || !strings.Contains(m["error_description"].(string), "-86400") {
			t.Errorf("%s: %d %v", bad, code, m)
		}
	}
	before := time.Now()
	code, m := post(`{"scopes": ["x"], "lifetime_seconds": -600}`)
	after := time.Now()
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, m)
	}
	between(t, "exp of lifetime_seconds -600", unixClaim(t, payload(t, m["access_token"].(string)), "exp"), before, after, -10*time.Minute)
	// Omitted, the lifetime is an hour.
	before = time.Now()
	_, m = post(`{"scopes": ["x"]}`)
	after = time.Now()
	between(t, "exp of the default lifetime", unixClaim(t, payload(t, m["access_token"].(string)), "exp"), before, after, time.Hour)
}
