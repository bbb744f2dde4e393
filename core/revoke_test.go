package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// revClock is a controllable clock for the list and the validator.
type revClock struct{ ns atomic.Int64 }

func newRevClock() *revClock {
	c := &revClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *revClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *revClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// revSetup returns an authority, a revocation list and a Validator that
// consults it, sharing one controllable clock.
func revSetup(t *testing.T, cacheSize int) (*entratest.Server, *entra.RevocationList, *entra.Validator, *revClock) {
	t.Helper()
	clk := newRevClock()
	srv := entratest.NewServer(entratest.WithClock(clk.Now))
	t.Cleanup(srv.Close)
	list := entra.NewRevocationList(entra.RevocationListOptions{Now: clk.Now})
	cfg := srv.Config()
	cfg.Now = clk.Now
	cfg.CacheSize = cacheSize
	cfg.Revocations = list
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return srv, list, v, clk
}

func wantRevoked(t *testing.T, v *entra.Validator, tok, why string) {
	t.Helper()
	_, err := v.Validate(ctxT(t), tok)
	if !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("%s: got %v, want token_revoked", why, err)
	}
}

func wantAccepted(t *testing.T, v *entra.Validator, tok, why string) *entra.Claims {
	t.Helper()
	c, err := v.Validate(ctxT(t), tok)
	if err != nil {
		t.Fatalf("%s: refused: %v", why, err)
	}
	return c
}

// Every kind refuses what it names, on a first validation and from the
// cache, and nothing else; lifting it lets the tokens through again.
func TestRevocationKinds(t *testing.T) {
	for _, cacheSize := range []int{-1, 100} {
		t.Run(fmt.Sprintf("cache=%d", cacheSize), func(t *testing.T) {
			srv, list, v, clk := revSetup(t, cacheSize)
			now := clk.Now()
			user := srv.UserToken("Orders.Read")
			otherUser := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "6b3c1a52-0000-4000-8000-000000000001"})
			app := srv.AppToken("Admin")
			otherApp := srv.Mint(entratest.Token{App: true, Roles: []string{"Admin"}, ClientID: "0f5c0b4e-0000-4000-8000-000000000002", ObjectID: "0f5c0b4e-0000-4000-8000-000000000003"})
			otherTenant := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, TenantID: "7d2e9f10-0000-4000-8000-000000000004"})
			cfg := srv.Config()
			cfg.AllowedTenants = nil
			uc := wantAccepted(t, v, user, "user before revocation")
			ac := wantAccepted(t, v, app, "app before revocation")

			cases := []struct {
				name    string
				r       entra.Revocation
				refused []string
				passed  []string
			}{
				{"token", entra.Revocation{Kind: entra.RevocationToken, TokenID: uc.TokenID()}, []string{user}, []string{otherUser, app}},
				{"user", entra.Revocation{Kind: entra.RevocationUser, TenantID: uc.TenantID(), ObjectID: strings.ToUpper(uc.ObjectID())}, []string{user}, []string{otherUser, app}},
				{"app-principal", entra.Revocation{Kind: entra.RevocationUser, TenantID: ac.TenantID(), ObjectID: ac.ObjectID()}, []string{app}, []string{user, otherApp}},
				{"app", entra.Revocation{Kind: entra.RevocationApp, AppID: ac.AppID()}, []string{app, user}, []string{otherApp}},
				{"tenant", entra.Revocation{Kind: entra.RevocationTenant, TenantID: uc.TenantID()}, []string{user, app, otherUser, otherApp}, nil},
			}
			for _, tc := range cases {
				if tc.r.Kind != entra.RevocationToken {
					tc.r.IssuedBefore = now
				}
				tc.r.Reason = "test " + tc.name
				if _, err := list.Revoke(tc.r); err != nil {
					t.Fatalf("%s: Add: %v", tc.name, err)
				}
				for _, tok := range tc.refused {
					wantRevoked(t, v, tok, tc.name)
					wantRevoked(t, v, tok, tc.name+" (again, cached)")
				}
				for _, tok := range tc.passed {
					wantAccepted(t, v, tok, tc.name+": unrelated token")
				}
				if !list.Lift(tc.r) {
					t.Fatalf("%s: Lift found nothing", tc.name)
				}
				for _, tok := range tc.refused {
					wantAccepted(t, v, tok, tc.name+": after Lift")
				}
			}
			_ = otherTenant
		})
	}
}

// A cut-off refuses tokens issued before it and lets newer ones through:
// "sign out everywhere" ends old sessions, not the next sign-in. A token
// without iat cannot prove it is newer and is refused.
func TestRevocationCutOff(t *testing.T) {
	srv, list, v, clk := revSetup(t, 100)
	now := clk.Now()
	old := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: now.Add(-20 * time.Minute)})
	noIat := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"iat": nil}})
	if _, err := list.RevokeUser(srv.TenantID, srv.UserObjectID, now.Add(-10*time.Minute), "signed out everywhere"); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, v, old, "token issued before the cut-off")
	wantRevoked(t, v, noIat, "token without iat")
	wantAccepted(t, v, srv.UserToken("Orders.Read"), "token issued after the cut-off (iat now-5m)")

	// A second revocation with an earlier cut-off does not weaken the first.
	r, err := list.RevokeUser(srv.TenantID, srv.UserObjectID, now.Add(-time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if !r.IssuedBefore.Equal(now.Add(-10*time.Minute).Truncate(time.Second).Add(time.Second)) && !r.IssuedBefore.Equal(now.Add(-10*time.Minute).Truncate(time.Second)) {
		t.Fatalf("merged cut-off %v, want the later one", r.IssuedBefore)
	}
	if r.Reason != "signed out everywhere" {
		t.Fatalf("merged reason %q", r.Reason)
	}
	wantRevoked(t, v, old, "after a weaker second revocation")

	// A future cut-off blocks new sign-ins too, until then.
	if _, err := list.RevokeUser(srv.TenantID, srv.UserObjectID, now.Add(time.Hour), "blocked for an hour"); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, v, srv.UserToken("Orders.Read"), "fresh token during a block")
}

// Entries are dropped once no token they match can still be valid: the list
// never grows without bound, and an expired entry never refuses.
func TestRevocationExpiry(t *testing.T) {
	srv, list, v, clk := revSetup(t, -1)
	tok := srv.UserToken("Orders.Read")
	c := wantAccepted(t, v, tok, "before")
	r, err := list.RevokeToken(c.TokenID(), "stolen", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(entra.DefaultMaxTokenLifetime); r.Expires.Before(want.Truncate(time.Second)) {
		t.Fatalf("default Expires %v, want at least %v", r.Expires, want)
	}
	u, err := list.RevokeUser(srv.TenantID, srv.UserObjectID, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Expires.Equal(u.IssuedBefore.Add(entra.DefaultMaxTokenLifetime)) {
		t.Fatalf("user Expires %v, want cut-off %v + %v", u.Expires, u.IssuedBefore, entra.DefaultMaxTokenLifetime)
	}
	short, err := list.Revoke(entra.Revocation{Kind: entra.RevocationApp, AppID: srv.CallerID, Expires: clk.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if list.Len() != 3 || len(list.List()) != 3 {
		t.Fatalf("Len %d, List %d; want 3", list.Len(), len(list.List()))
	}
	wantRevoked(t, v, tok, "listed")

	clk.Advance(2 * time.Minute) // the app entry has expired; the token's exp (65m) not yet
	if got := list.List(); len(got) != 2 {
		t.Fatalf("List after the app entry expired: %d entries", len(got))
	}
	if n := list.Purge(); n != 1 || list.Len() != 2 {
		t.Fatalf("Purge dropped %d, Len %d; want 1, 2", n, list.Len())
	}
	_ = short
	// Past every entry's expiry the list empties itself as it is written.
	clk.Advance(entra.DefaultMaxTokenLifetime + time.Hour)
	if _, err := list.RevokeTenant("7d2e9f10-0000-4000-8000-000000000004", time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	if list.Len() != 1 {
		t.Fatalf("Len %d after every old entry expired and a write; want 1", list.Len())
	}
}

func TestRevocationComplete(t *testing.T) {
	now := time.Unix(1_764_600_000, 500_000_000)
	tid := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	cases := []struct {
		name string
		r    entra.Revocation
	}{
		{"no kind", entra.Revocation{TokenID: "x"}},
		{"unknown kind", entra.Revocation{Kind: "session", TokenID: "x"}},
		{"token without id", entra.Revocation{Kind: entra.RevocationToken}},
		{"token with space", entra.Revocation{Kind: entra.RevocationToken, TokenID: "a b"}},
		{"token with cut-off", entra.Revocation{Kind: entra.RevocationToken, TokenID: "x", IssuedBefore: now}},
		{"token with tenant", entra.Revocation{Kind: entra.RevocationToken, TokenID: "x", TenantID: tid}},
		{"user without tenant", entra.Revocation{Kind: entra.RevocationUser, ObjectID: "6b3c1a52-0000-4000-8000-000000000001"}},
		{"user without oid", entra.Revocation{Kind: entra.RevocationUser, TenantID: tid}},
		{"user tenant not a GUID", entra.Revocation{Kind: entra.RevocationUser, TenantID: "contoso.com", ObjectID: "6b3c1a52-0000-4000-8000-000000000001"}},
		{"app without id", entra.Revocation{Kind: entra.RevocationApp}},
		{"tenant not a GUID", entra.Revocation{Kind: entra.RevocationTenant, TenantID: "common"}},
		{"cut-off too far ahead", entra.Revocation{Kind: entra.RevocationTenant, TenantID: tid, IssuedBefore: now.Add(2 * entra.MaxRevocationAhead)}},
		{"id too long", entra.Revocation{Kind: entra.RevocationApp, AppID: strings.Repeat("a", 300)}},
		{"reason too long", entra.Revocation{Kind: entra.RevocationApp, AppID: tid, Reason: strings.Repeat("a", 2000)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.r.Complete(now, 0); !errors.Is(err, entra.ErrConfigInvalid) {
				t.Fatalf("got %v, want config_invalid", err)
			}
		})
	}
	r, err := entra.Revocation{Kind: entra.RevocationUser, TenantID: strings.ToUpper(tid), ObjectID: "6B3C1A52-0000-4000-8000-00000000ABCD"}.Complete(now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.TenantID != tid || r.ObjectID != "6b3c1a52-0000-4000-8000-00000000abcd" || r.IssuedBefore.Unix() != now.Unix()+1 || !r.Expires.Equal(r.IssuedBefore.Add(time.Hour)) {
		t.Fatalf("completed %+v", r)
	}
	if r.Key() != "user:"+tid+":6b3c1a52-0000-4000-8000-00000000abcd" {
		t.Fatalf("Key %q", r.Key())
	}
}

// A refusal is 401 invalid_token with code token_revoked, and its
// description names nothing of the caller; the reason stays in the cause.
func TestRevokedResponse(t *testing.T) {
	srv, list, v, _ := revSetup(t, 100)
	tok := srv.UserToken("Orders.Read")
	c := wantAccepted(t, v, tok, "before")
	if _, err := list.RevokeUser(c.TenantID(), c.ObjectID(), time.Time{}, "ticket 4711"); err != nil {
		t.Fatal(err)
	}
	_, err := v.Validate(ctxT(t), tok)
	if rev, ok := entra.RevocationOf(err); !ok || !errors.Is(err, entra.ErrTokenRevoked) || rev.Kind != entra.RevocationUser || rev.Reason != "ticket 4711" ||
		rev.Key() != "user:"+strings.ToLower(c.TenantID())+":"+strings.ToLower(c.ObjectID()) {
		t.Fatalf("cause %v", err)
	}
	h := entra.Middleware(v)(http.HandlerFunc(okHandler))
	rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
	if rec.Code != 401 {
		t.Fatalf("status %d", rec.Code)
	}
	var body struct{ Error, Description, Code string }
	var raw map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	body.Error, body.Description, body.Code = raw["error"], raw["error_description"], raw["code"]
	if body.Error != "invalid_token" || body.Code != string(entra.CodeTokenRevoked) {
		t.Fatalf("body %s", rec.Body)
	}
	// The challenge's authorization_uri names the API's own tenant, as it
	// always does; the description must name nothing of the caller.
	_, desc, _ := strings.Cut(rec.Header().Get("WWW-Authenticate"), "error_description=")
	all := rec.Body.String() + desc
	for _, secret := range []string{c.ObjectID(), c.TenantID(), c.TokenID(), c.Username(), "4711"} {
		if secret != "" && strings.Contains(all, secret) {
			t.Fatalf("refusal names %q: %s", secret, all)
		}
	}
	if !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("challenge %q", rec.Header().Get("WWW-Authenticate"))
	}
}

// A framework that lends header bytes (Fiber) gets cache hits without a
// copy; a revoked token is refused on that path too.
func TestRevokedLentBytes(t *testing.T) {
	srv, list, v, _ := revSetup(t, 100)
	a := entra.NewAuthenticator(v)
	tok := srv.UserToken("Orders.Read")
	reads := 0
	req := lendingRequest{buf: []byte("Bearer " + tok), reads: &reads}
	if _, resp := a.Authenticate(ctxT(t), req); resp != nil {
		t.Fatalf("refused: %s", resp.Body)
	}
	if _, err := list.RevokeTenant(srv.TenantID, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	_, resp := a.Authenticate(ctxT(t), req)
	if resp == nil || resp.Status != 401 || resp.Err.Code != entra.CodeTokenRevoked {
		t.Fatalf("cached token lent as bytes after revocation: %+v", resp)
	}
}

// staleList is a Revocations that cannot vouch for itself.
type staleList struct{}

func (staleList) Revoked(*entra.Claims, time.Time) error {
	return &entra.Error{Code: entra.CodeRevocationsUnavailable, Description: "the revocation list is stale", RetryAfter: 7 * time.Second}
}

// A list that refuses as unavailable answers 503 with Retry-After.
func TestRevocationsUnavailable(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.Revocations = staleList{}
	v := newValidator(t, cfg)
	h := entra.Middleware(v)(http.HandlerFunc(okHandler))
	rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}})
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "7" || !strings.Contains(rec.Body.String(), `"code":"revocations_unavailable"`) {
		t.Fatalf("got %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}

// Replace swaps the whole list at once, merges repeated keys and leaves out
// expired and invalid entries, reporting the invalid ones.
func TestRevocationReplace(t *testing.T) {
	srv, list, v, clk := revSetup(t, 100)
	tok := srv.UserToken("Orders.Read")
	c := wantAccepted(t, v, tok, "before")
	if _, err := list.RevokeApp("5e0f1e5e-0000-4000-8000-00000000e15e", time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	err := list.Replace([]entra.Revocation{
		{Kind: entra.RevocationToken, TokenID: c.TokenID()},
		{Kind: entra.RevocationUser, TenantID: c.TenantID(), ObjectID: c.ObjectID(), IssuedBefore: now.Add(-time.Hour)},
		{Kind: entra.RevocationUser, TenantID: c.TenantID(), ObjectID: c.ObjectID(), IssuedBefore: now},
		{Kind: entra.RevocationApp, AppID: "01d01d01-0000-4000-8000-000000000001", IssuedBefore: now.Add(-48 * time.Hour)},
		{Kind: entra.RevocationTenant, TenantID: "not-a-guid"},
	})
	if !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("Replace with an invalid entry: %v", err)
	}
	got := list.List()
	if len(got) != 2 || got[0].Kind != entra.RevocationToken || got[1].Kind != entra.RevocationUser {
		t.Fatalf("List %+v", got)
	}
	if got[1].IssuedBefore.Before(now) {
		t.Fatalf("repeated key not merged to the later cut-off: %v", got[1].IssuedBefore)
	}
	wantRevoked(t, v, tok, "after Replace")
	if list.LiftKey("app:5e0f1e5e-0000-4000-8000-00000000e15e") {
		t.Fatal("Replace kept an old entry")
	}
	if !list.LiftKey(got[0].Key()) || !list.LiftKey(got[1].Key()) || list.Len() != 0 {
		t.Fatal("LiftKey")
	}
	wantAccepted(t, v, tok, "after lifting all")
}

// Readers never see a torn list while writers add and lift (run with -race).
func TestRevocationConcurrent(t *testing.T) {
	srv, list, v, _ := revSetup(t, 100)
	tok := srv.UserToken("Orders.Read")
	c := wantAccepted(t, v, tok, "before")
	if _, err := list.RevokeToken(c.TokenID(), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				r, err := list.RevokeUser(srv.TenantID, fmt.Sprintf("%08x-0000-4000-8000-%012x", w, i%500), time.Time{}, "")
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					list.Lift(r)
				}
			}
		})
	}
	for range 2000 {
		if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrTokenRevoked) {
			t.Fatalf("while writers run: %v", err)
		}
	}
	cancel()
	wg.Wait()
}

// An empty list and a list of 100,000 entries (a quarter of each kind) both
// check a token that none of them matches, the common case; the 100,000
// case does every lookup. cpu-ns/op is the process's CPU time per check.
func BenchmarkRevoked(b *testing.B) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(b, srv.Config())
	c, err := v.Validate(ctxT(b), srv.UserToken("Orders.Read"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for _, n := range []int{0, 100_000} {
		list := entra.NewRevocationList(entra.RevocationListOptions{})
		rs := make([]entra.Revocation, 0, n)
		for i := range n {
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			switch i % 4 {
			case 0:
				rs = append(rs, entra.Revocation{Kind: entra.RevocationToken, TokenID: fmt.Sprintf("tok%019d", i)})
			case 1:
				rs = append(rs, entra.Revocation{Kind: entra.RevocationUser, TenantID: c.TenantID(), ObjectID: id})
			case 2:
				rs = append(rs, entra.Revocation{Kind: entra.RevocationApp, AppID: id})
			case 3:
				rs = append(rs, entra.Revocation{Kind: entra.RevocationTenant, TenantID: id})
			}
		}
		if err := list.Replace(rs); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu, ok := processCPU()
			for b.Loop() {
				if err := list.Revoked(c, now); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time per check: on a machine shared with other jobs,
			// wall time (ns/op) counts the time this process waited.
			if end, ok2 := processCPU(); ok && ok2 && end > cpu {
				cpu = end - cpu
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// An entry no token can ever match is refused with an error that names the
// field and the fix, by Complete, Add, Put and the RevokeX helpers alike,
// instead of being listed as if it protected anything.
func TestRevocationThatCannotMatchIsRefused(t *testing.T) {
	tid := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	oid := "6b3c1a52-0000-4000-8000-000000000001"
	tok := entratest.NewServer()
	defer tok.Close()
	pasted := tok.UserToken("Orders.Read")
	cases := []struct {
		name string
		r    entra.Revocation
		want []string // in the error: the field and the fix
	}{
		{"oid in braces", entra.Revocation{Kind: entra.RevocationUser, TenantID: tid, ObjectID: "{" + oid + "}"}, []string{"ObjectID", "braces", "GUID alone"}},
		{"tenant in braces", entra.Revocation{Kind: entra.RevocationTenant, TenantID: "{" + tid + "}"}, []string{"TenantID", "braces"}},
		{"oid not a GUID", entra.Revocation{Kind: entra.RevocationUser, TenantID: tid, ObjectID: "alice@contoso.com"}, []string{"ObjectID", "not a GUID", "oid"}},
		{"oid without dashes", entra.Revocation{Kind: entra.RevocationUser, TenantID: tid, ObjectID: strings.ReplaceAll(oid, "-", "")}, []string{"ObjectID", "no dashes", "8-4-4-4-12"}},
		{"app ID URI", entra.Revocation{Kind: entra.RevocationApp, AppID: "api://orders-api"}, []string{"AppID", "URI", "client ID", "azp"}},
		{"app not a GUID", entra.Revocation{Kind: entra.RevocationApp, AppID: "orders-client"}, []string{"AppID", "not a GUID"}},
		{"app GUID one short", entra.Revocation{Kind: entra.RevocationApp, AppID: oid[:35]}, []string{"AppID", "not a GUID"}},
		{"tenant domain", entra.Revocation{Kind: entra.RevocationTenant, TenantID: "contoso.onmicrosoft.com"}, []string{"TenantID", "domain name", "tid"}},
		{"tenant common", entra.Revocation{Kind: entra.RevocationTenant, TenantID: "organizations"}, []string{"TenantID", "not a tenant"}},
		{"user tenant a word", entra.Revocation{Kind: entra.RevocationUser, TenantID: "contoso", ObjectID: oid}, []string{"TenantID", "not a GUID"}},
		{"whole token as token ID", entra.Revocation{Kind: entra.RevocationToken, TokenID: pasted}, []string{"TokenID", "whole token", "uti"}},
	}
	list := entra.NewRevocationList(entra.RevocationListOptions{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, try := range []func() error{
				func() error { _, err := tc.r.Complete(time.Now(), 0); return err },
				func() error { _, err := list.Revoke(tc.r); return err },
				func() error { _, err := list.Put(tc.r); return err },
			} {
				err := try()
				if !errors.Is(err, entra.ErrConfigInvalid) {
					t.Fatalf("got %v, want config_invalid", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), pasted) || strings.Contains(err.Error(), pasted[:40]) {
					t.Fatal("the error echoes a token")
				}
			}
		})
	}
	if _, err := list.RevokeUser(tid, "{"+oid+"}", time.Time{}, ""); !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("RevokeUser with braces: %v", err)
	}
	if _, err := list.RevokeApp("api://orders-api", time.Time{}, ""); !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("RevokeApp with a URI: %v", err)
	}
	if _, err := list.RevokeTenant("contoso.com", time.Time{}, ""); !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("RevokeTenant with a domain: %v", err)
	}
	if list.Len() != 0 {
		t.Fatalf("%d entries listed", list.Len())
	}
	// The same identifiers written right are accepted, in either case.
	for _, r := range []entra.Revocation{
		{Kind: entra.RevocationUser, TenantID: strings.ToUpper(tid), ObjectID: strings.ToUpper(oid)},
		{Kind: entra.RevocationApp, AppID: oid},
		{Kind: entra.RevocationTenant, TenantID: tid},
		{Kind: entra.RevocationToken, TokenID: "AbC-_0123456789abcdefgh"},
	} {
		if _, err := list.Revoke(r); err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
	}
}

// Put replaces an entry as given, where Add would merge: a list that
// copies an authoritative one can follow a shortened entry.
func TestRevocationPut(t *testing.T) {
	now := time.Now()
	list := entra.NewRevocationList(entra.RevocationListOptions{})
	app := "0f5c0b4e-0000-4000-8000-000000000002"
	if _, err := list.Revoke(entra.Revocation{Kind: entra.RevocationApp, AppID: app, IssuedBefore: now.Add(time.Hour), Reason: "a"}); err != nil {
		t.Fatal(err)
	}
	merged, err := list.Revoke(entra.Revocation{Kind: entra.RevocationApp, AppID: app, IssuedBefore: now})
	if err != nil || merged.IssuedBefore.Before(now.Add(time.Hour)) {
		t.Fatalf("Add weakened the entry: %+v %v", merged, err)
	}
	put, err := list.Put(entra.Revocation{Kind: entra.RevocationApp, AppID: app, IssuedBefore: now, Reason: "b"})
	if err != nil {
		t.Fatal(err)
	}
	got := list.List()
	if len(got) != 1 || !got[0].IssuedBefore.Equal(put.IssuedBefore) || got[0].IssuedBefore.After(now.Add(time.Second)) || got[0].Reason != "b" {
		t.Fatalf("after Put: %+v", got)
	}
}

// An app revocation of an agent identity blueprint refuses the Agent ID
// tokens of every kind whose blueprint (xms_par_app_azp) it is, issued
// before the cut-off, on first validation and from the cache: a leaked
// blueprint credential mints them all. Other apps' tokens, and agent
// tokens issued after the cut-off, pass.
func TestRevokeAppCoversAgentBlueprint(t *testing.T) {
	for _, cacheSize := range []int{-1, 100} {
		t.Run(fmt.Sprintf("cache=%d", cacheSize), func(t *testing.T) {
			srv, list, v, clk := revSetup(t, cacheSize)
			agents := map[string]func() string{
				"autonomous v2": func() string { return srv.AgentAppToken("Orders.Read.All") },
				"autonomous v1": func() string {
					return srv.Mint(entratest.Token{Version: "1.0", Agent: entra.AgentAutonomous, Roles: []string{"Orders.Read.All"}})
				},
				"agent user":          func() string { return srv.AgentUserToken("Orders.Read") },
				"on behalf of a user": func() string { return srv.AgentOnBehalfOfToken("Orders.Read") },
			}
			before := map[string]string{}
			for name, mint := range agents {
				before[name] = mint()
				c := wantAccepted(t, v, before[name], name+" before")
				if c.AgentBlueprintAppID() != srv.AgentBlueprintID() || c.AppID() == srv.AgentBlueprintID() {
					t.Fatalf("%s: blueprint %q, app %q", name, c.AgentBlueprintAppID(), c.AppID())
				}
			}
			user, app := srv.UserToken("Orders.Read"), srv.AppToken("Orders.Read.All")
			wantAccepted(t, v, user, "a user")
			wantAccepted(t, v, app, "an app")

			// Another app's revocation touches no agent.
			if _, err := list.RevokeApp("0f5c0b4e-0000-4000-8000-000000000002", time.Time{}, ""); err != nil {
				t.Fatal(err)
			}
			for name, tok := range before {
				wantAccepted(t, v, tok, name+" after another app's revocation")
			}
			rev, err := list.RevokeApp(strings.ToUpper(srv.AgentBlueprintID()), time.Time{}, "blueprint secret leaked")
			if err != nil {
				t.Fatal(err)
			}
			for name, tok := range before {
				_, err := v.Validate(ctxT(t), tok)
				if re, ok := entra.RevocationOf(err); !errors.Is(err, entra.ErrTokenRevoked) || !ok || re.Key() != rev.Key() {
					t.Fatalf("%s after the blueprint's revocation: %v", name, err)
				}
			}
			wantAccepted(t, v, user, "a user after the blueprint's revocation")
			wantAccepted(t, v, app, "an app after the blueprint's revocation")
			// The blueprint calling as itself is its app too.
			wantRevoked(t, v, srv.Mint(entratest.Token{App: true, ClientID: srv.AgentBlueprintID()}), "the blueprint's own token")

			// Tokens minted after the cut-off (the credential replaced) pass.
			clk.Advance(10 * time.Minute)
			for name, mint := range agents {
				wantAccepted(t, v, mint(), name+" issued after the cut-off")
			}
			// Revoking one agent identity (its azp) leaves its siblings alone.
			list.Lift(rev)
			if _, err := list.RevokeApp(srv.AgentID(), time.Time{}, ""); err != nil {
				t.Fatal(err)
			}
			wantRevoked(t, v, before["agent user"], "the agent identity's own revocation")
			sibling := srv.Mint(entratest.Token{Agent: entra.AgentAutonomous, ClientID: "5151b11b-0000-4000-8000-000000000005", IssuedAt: clk.Now().Add(-20 * time.Minute)})
			wantAccepted(t, v, sibling, "another agent of the blueprint")
		})
	}
}
