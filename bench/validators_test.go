// Package bench compares entraguard with other Go JWT validators and
// measures its middleware's overhead per framework. It is a module of its
// own so that the libraries compared never enter a user's go.sum.
//
//	go test -run '^$' -bench . -benchmem -count 10 .
package bench

import (
	"context"
	"slices"
	"testing"
)

// entraClaims are the claims of an Entra v2 delegated access token, as
// entratest's UserToken mints them (and Entra issues them).
var entraClaims = []string{"aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "name", "oid", "preferred_username", "rh", "scp", "sub", "tid", "uti", "ver"}

// BenchmarkValidate validates the same Entra-shaped RS256 access token
// (key already cached) with each validator. Each one validates it once,
// checked, before the loop, and every iteration's error is checked.
func BenchmarkValidate(b *testing.B) {
	f := newFixture(b)
	b.Logf("token: %d bytes, claims %v", len(f.token), f.claimNames(b))
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			validate := ready(b, f, p)
			ctx := context.Background()
			tok := f.token
			b.ReportAllocs()
			for b.Loop() {
				if _, err := validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tok)), "token-bytes")
		})
	}
}

// TestPeersAgree checks that the benchmark is fair: the token is the
// Entra-shaped one, and every validator accepts it, returns its sub, and
// refuses it when its signature, audience, issuer or expiry is wrong.
func TestPeersAgree(t *testing.T) {
	f := newFixture(t)
	if names := f.claimNames(t); !sameSet(names, entraClaims) {
		t.Errorf("token claims = %v, want %v", names, entraClaims)
	}
	if n := len(f.token); n < 1100 || n > 1600 {
		t.Errorf("token is %d bytes, want about 1.3 KB", n)
	}
	bad := badTokens(t, f)
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			validate := ready(t, f, p)
			if p.name == "raw-rsa" {
				return // the floor checks its one fixed signature only
			}
			for _, bt := range bad {
				if sub, err := validate(context.Background(), bt.token); err == nil {
					t.Errorf("accepted a token with %s (sub %q)", bt.what, sub)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
