package entraredis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraredis "github.com/entraguard/entraguard/redis"
)

// BenchmarkPropagation measures, per revocation, the time from the Revoke
// call on one replica to the refusal on all three others (each polled by
// Validate every 100µs), over loopback. Run it with -benchtime=1000x for the
// p50 and p99 over 1,000 revocations.
func BenchmarkPropagation(b *testing.B) {
	rs := startRedis(b)
	srv := entratest.NewServer()
	defer srv.Close()
	o := entraredis.Options{PollInterval: time.Second, StaleAfter: 30 * time.Second}
	var reps []*replica
	for range 4 {
		reps = append(reps, newReplica(b, rs, srv, o))
	}
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		oid := fmt.Sprintf("6b3c1a52-0000-4000-8000-%012x", i)
		tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: oid})
		for _, r := range reps[1:] {
			if err := validate(r, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		if _, err := reps[0].mirror.RevokeUser(ctx, srv.TenantID, oid, time.Time{}, ""); err != nil {
			b.Fatal(err)
		}
		for _, r := range reps[1:] {
			for !errors.Is(validate(r, tok), entra.ErrTokenRevoked) {
				if time.Since(start) > 30*time.Second {
					b.Fatal("a revocation did not arrive within 30s")
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}

// BenchmarkSync100k is a mirror's full sync of 100,000 entries (start, or
// resync): read them from Redis in batches and build the local list.
func BenchmarkSync100k(b *testing.B) {
	rs := startRedis(b)
	rdb := rs.client(b)
	fill(b, rdb, 100_000)
	for b.Loop() {
		m, err := entraredis.New(rdb, entraredis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Ready(ctxT(b)); err != nil {
			b.Fatal(err)
		}
		if m.Stats().Entries != 100_000 {
			b.Fatalf("%d entries", m.Stats().Entries)
		}
		m.Close()
	}
}

// BenchmarkRestart100k is Redis killed (SIGKILL) and restarted empty under
// a mirror of 100,000 entries: the time from the restart until the mirror
// has written its entries back, resynced and is fresh again (polling every
// 50ms, so detection is part of it).
func BenchmarkRestart100k(b *testing.B) {
	rs := startRedis(b)
	rdb := rs.client(b)
	fill(b, rdb, 100_000)
	m, err := entraredis.New(rdb, entraredis.Options{PollInterval: 50 * time.Millisecond, StaleAfter: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(ctxT(b)); err != nil {
		b.Fatal(err)
	}
	if n := m.Stats().Entries; n != 100_000 {
		b.Fatalf("mirror holds %d entries", n)
	}
	for b.Loop() {
		b.StopTimer()
		epoch := m.Stats().Epoch
		rs.kill()
		b.StartTimer()
		rs.restart()
		deadline := time.Now().Add(60 * time.Second)
		for {
			st := m.Stats()
			if st.Epoch != epoch && st.Epoch != "" && st.Entries == 100_000 && !st.Stale && st.LastError == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("no resync after the restart: %+v", st)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		if n, _ := rdb.HLen(context.Background(), "{"+entraredis.DefaultPrefix+"}:entries").Result(); n != 100_000 {
			b.Fatalf("Redis holds %d entries after the write-back", n)
		}
		b.StartTimer()
	}
}

// BenchmarkMirrorRevoked is the per-request check through a mirror holding
// 100,000 entries, for a token none matches.
func BenchmarkMirrorRevoked(b *testing.B) {
	rs := startRedis(b)
	rdb := rs.client(b)
	fill(b, rdb, 100_000)
	srv := entratest.NewServer()
	defer srv.Close()
	r := newReplica(b, rs, srv, entraredis.Options{})
	c, err := r.v.Validate(ctxT(b), srv.UserToken("Orders.Read"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.mirror.Revoked(c, now); err != nil {
			b.Fatal(err)
		}
	}
}
