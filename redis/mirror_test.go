package entraredis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// replica is one API process: its own Redis client, mirror and Validator.
type replica struct {
	rdb    *redis.Client
	mirror *entraredis.Mirror
	v      *entra.Validator
}

func newReplica(t testing.TB, rs *redisServer, srv *entratest.Server, o entraredis.Options) *replica {
	t.Helper()
	return replicaOn(t, rs.client(t), srv, o)
}

// replicaOn is newReplica on a client of the test's own (one that can be
// cut off, or follow a failover): it returns once the Validator and the
// mirror are ready.
func replicaOn(t testing.TB, rdb *redis.Client, srv *entratest.Server, o entraredis.Options) *replica {
	t.Helper()
	m, err := entraredis.New(rdb, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cfg := srv.Config()
	cfg.Revocations = m
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return &replica{rdb: rdb, mirror: m, v: v}
}

func fastOptions() entraredis.Options {
	return entraredis.Options{PollInterval: 50 * time.Millisecond, StaleAfter: time.Second}
}

func validate(r *replica, tok string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.v.Validate(ctx, tok)
	return err
}

// readyNow is m.Ready as a readiness probe calls it: it does not wait.
func readyNow(m *entraredis.Mirror) error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return m.Ready(ctx)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A revocation made through one replica is refused by three others, and
// lifting it lets the token through everywhere again.
func TestRevocationReachesEveryReplica(t *testing.T) {
	rs := startRedis(t)
	srv := entratest.NewServer()
	defer srv.Close()
	var reps []*replica
	for range 4 {
		reps = append(reps, newReplica(t, rs, srv, fastOptions()))
	}
	tok := srv.UserToken("Orders.Read")
	for i, r := range reps {
		if err := validate(r, tok); err != nil {
			t.Fatalf("replica %d before: %v", i, err)
		}
	}
	rev, err := reps[0].mirror.RevokeUser(ctxT(t), srv.TenantID, srv.UserObjectID, time.Time{}, "account compromised")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(reps[0], tok); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("revoking replica: %v", err)
	}
	for i, r := range reps[1:] {
		waitFor(t, fmt.Sprintf("replica %d to refuse", i+1), func() bool { return errors.Is(validate(r, tok), entra.ErrTokenRevoked) })
	}
	// Other users pass; the list in Redis says what was revoked.
	other := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "6b3c1a52-0000-4000-8000-000000000001"})
	if err := validate(reps[3], other); err != nil {
		t.Fatalf("another user: %v", err)
	}
	list, err := reps[2].mirror.List(ctxT(t))
	if err != nil || len(list) != 1 || list[0].Key() != rev.Key() || list[0].Reason != "account compromised" {
		t.Fatalf("List: %+v, %v", list, err)
	}
	if ok, err := reps[3].mirror.Lift(ctxT(t), rev); !ok || err != nil {
		t.Fatalf("Lift: %v %v", ok, err)
	}
	for i, r := range reps {
		waitFor(t, fmt.Sprintf("replica %d to accept after the lift", i), func() bool { return validate(r, tok) == nil })
	}
	for i, r := range reps {
		if st := r.mirror.Stats(); st.Stale || st.Resyncs == 0 || st.LastError != nil {
			t.Fatalf("replica %d stats %+v", i, st)
		}
	}
}

// A second revocation never weakens the first, in Redis as locally;
// expired entries are purged.
func TestStoreMerges(t *testing.T) {
	rs := startRedis(t)
	rdb := rs.client(t)
	now := time.Now()
	st, err := entraredis.NewStore(rdb, entraredis.StoreOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tid := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	first, err := st.RevokeApp(ctxT(t), "0F5C0B4E-0000-4000-8000-000000000002", now.Add(time.Hour), "leaked secret")
	if err != nil {
		t.Fatal(err)
	}
	second, err := st.RevokeApp(ctxT(t), "0f5c0b4e-0000-4000-8000-000000000002", now, "")
	if err != nil {
		t.Fatal(err)
	}
	if !second.IssuedBefore.Equal(first.IssuedBefore) || !second.Expires.Equal(first.Expires) || second.Reason != "leaked secret" {
		t.Fatalf("merged %+v, want %+v", second, first)
	}
	if _, err := st.Revoke(ctxT(t), entra.Revocation{Kind: entra.RevocationTenant, TenantID: tid, Expires: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctxT(t), entra.Revocation{Kind: entra.RevocationUser, TenantID: "not-a-guid", ObjectID: "6b3c1a52-0000-4000-8000-000000000001"}); !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("invalid entry: %v", err)
	}
	now = now.Add(2 * time.Second)
	if n, err := st.Purge(ctxT(t)); n != 1 || err != nil {
		t.Fatalf("Purge: %d %v", n, err)
	}
	if l, err := st.List(ctxT(t)); len(l) != 1 || err != nil {
		t.Fatalf("List after purge: %+v %v", l, err)
	}
	// Lift finds the entry whatever the case of the identifiers it is given.
	if ok, err := st.Lift(ctxT(t), entra.Revocation{Kind: entra.RevocationApp, AppID: "0F5C0B4E-0000-4000-8000-000000000002"}); !ok || err != nil {
		t.Fatalf("Lift with an upper-case AppID: %v %v", ok, err)
	}
	if l, err := st.List(ctxT(t)); len(l) != 0 || err != nil {
		t.Fatalf("List after lift: %+v %v", l, err)
	}
	// So does LiftKey, as the local list's does; a token ID keeps its case.
	if _, err := st.RevokeTenant(ctxT(t), tid, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeToken(ctxT(t), "AbCdEf0123", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.LiftKey(ctxT(t), "token:abcdef0123"); ok || err != nil {
		t.Fatalf("LiftKey of a token ID in another case: %v %v", ok, err)
	}
	if ok, err := st.LiftKey(ctxT(t), "tenant:"+strings.ToUpper(tid)); !ok || err != nil {
		t.Fatalf("LiftKey with an upper-case tenant ID: %v %v", ok, err)
	}
	if l, err := st.List(ctxT(t)); len(l) != 1 || l[0].TokenID != "AbCdEf0123" || err != nil {
		t.Fatalf("List after LiftKey: %+v %v", l, err)
	}
}

// Redis killed with SIGKILL and restarted empty (no persistence): the
// mirrors write back what they hold, nothing revoked is forgotten, and new
// revocations reach everyone again.
func TestRedisKilledAndRestarted(t *testing.T) {
	rs := startRedis(t)
	srv := entratest.NewServer()
	defer srv.Close()
	a := newReplica(t, rs, srv, fastOptions())
	b := newReplica(t, rs, srv, fastOptions())
	tok := srv.UserToken("Orders.Read")
	app := srv.AppToken("Admin")
	c, err := a.v.Validate(ctxT(t), tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.mirror.RevokeToken(ctxT(t), c.TokenID(), "stolen", time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to refuse", func() bool { return errors.Is(validate(b, tok), entra.ErrTokenRevoked) })
	epoch := b.mirror.Stats().Epoch

	rs.kill()
	waitFor(t, "b to go stale", func() bool { return b.mirror.Stats().Stale })
	if !errors.Is(readyNow(b.mirror), entraredis.ErrStale) {
		t.Fatal("Ready while Redis is down")
	}
	// Stale with ServeStale: the last list still refuses.
	if err := validate(b, tok); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("during the outage: %v", err)
	}
	rs.restart()
	for _, r := range []*replica{a, b} {
		waitFor(t, "resync after the restart", func() bool {
			st := r.mirror.Stats()
			return !st.Stale && st.Epoch != "" && st.Epoch != epoch
		})
	}
	list, err := a.mirror.List(ctxT(t))
	if err != nil || len(list) != 1 || list[0].TokenID != c.TokenID() {
		t.Fatalf("Redis after the restart: %+v %v", list, err)
	}
	if a.mirror.Stats().Reseeded+b.mirror.Stats().Reseeded == 0 {
		t.Fatal("no mirror wrote its entries back")
	}
	for _, r := range []*replica{a, b} {
		if err := validate(r, tok); !errors.Is(err, entra.ErrTokenRevoked) {
			t.Fatalf("after the restart: %v", err)
		}
	}
	// A fresh replica started now learns it from Redis.
	fresh := newReplica(t, rs, srv, fastOptions())
	if err := validate(fresh, tok); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("new replica after the restart: %v", err)
	}
	ac, err := a.v.Validate(ctxT(t), app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.mirror.RevokeApp(ctxT(t), ac.AppID(), time.Time{}, "kill switch"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to refuse a revocation made after the restart", func() bool { return errors.Is(validate(a, app), entra.ErrTokenRevoked) })
}

// Redis paused with SIGSTOP longer than the staleness bound: a ServeStale
// mirror keeps refusing what it knew and reports not ready; a RefuseStale
// one answers 503. After SIGCONT both heal without a restart.
func TestRedisPaused(t *testing.T) {
	rs := startRedis(t)
	srv := entratest.NewServer()
	defer srv.Close()
	serveO := fastOptions()
	refuseO := fastOptions()
	refuseO.WhenStale = entraredis.RefuseStale
	serve := newReplica(t, rs, srv, serveO)
	refuse := newReplica(t, rs, srv, refuseO)
	tok := srv.UserToken("Orders.Read")
	app := srv.AppToken("Admin")
	if _, err := serve.mirror.RevokeTenant(ctxT(t), srv.TenantID, time.Now().Add(-time.Hour), "old sessions"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both in sync", func() bool {
		return serve.mirror.Stats().Version == refuse.mirror.Stats().Version && readyNow(refuse.mirror) == nil && readyNow(serve.mirror) == nil
	})
	old := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(time.Hour)})
	if err := validate(serve, old); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("before the pause: %v", err)
	}

	rs.signal(syscall.SIGSTOP)
	defer rs.signal(syscall.SIGCONT)
	waitFor(t, "serve to go stale", func() bool { return serve.mirror.Stats().Stale })
	waitFor(t, "refuse to go stale", func() bool { return refuse.mirror.Stats().Stale })
	if err := readyNow(serve.mirror); !errors.Is(err, entraredis.ErrStale) {
		t.Fatalf("Ready while paused: %v", err)
	}
	if err := validate(serve, tok); err != nil {
		t.Fatalf("ServeStale while paused, a valid token: %v", err)
	}
	if err := validate(serve, old); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("ServeStale while paused, a revoked token: %v", err)
	}
	err := validate(refuse, app)
	if !errors.Is(err, entra.ErrRevocationsUnavailable) {
		t.Fatalf("RefuseStale while paused: %v", err)
	}
	if resp := entra.ResponseFor(context.Background(), err); resp.Status != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("RefuseStale answer %d %v", resp.Status, resp.Header)
	}
	if st := refuse.mirror.Stats(); st.StaleTransitions == 0 || !st.Stale {
		t.Fatalf("stats while paused %+v", st)
	}

	rs.signal(syscall.SIGCONT)
	waitFor(t, "serve to heal", func() bool { return readyNow(serve.mirror) == nil })
	waitFor(t, "refuse to heal", func() bool { return readyNow(refuse.mirror) == nil })
	if err := validate(refuse, app); err != nil {
		t.Fatalf("RefuseStale after SIGCONT: %v", err)
	}
	if err := validate(refuse, old); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("RefuseStale after SIGCONT, a revoked token: %v", err)
	}
	// And the channel works again.
	if _, err := refuse.mirror.RevokeUser(ctxT(t), srv.TenantID, srv.UserObjectID, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "serve to see a revocation made after the pause", func() bool { return errors.Is(validate(serve, tok), entra.ErrTokenRevoked) })
}

// Close closes every connection the mirror opened; the caller's client is
// left open.
func TestCloseClosesConnections(t *testing.T) {
	rs := startRedis(t)
	admin := rs.client(t)
	clients := func() int {
		s, err := admin.ClientList(ctxT(t)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(s, "\n")
	}
	base := clients()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	m, err := entraredis.New(rdb, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := clients(); n <= base {
		t.Fatalf("%d connections while running, %d before", n, base)
	}
	m.Close()
	m.Close()
	if err := rdb.Ping(ctxT(t)).Err(); err != nil {
		t.Fatalf("Close closed the caller's client: %v", err)
	}
	rdb.Close()
	waitFor(t, "every connection closed", func() bool { return clients() == base })
}

// Options are checked.
func TestOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, o := range []entraredis.Options{
		{PollInterval: time.Second, StaleAfter: time.Second},
		{StaleAfter: -time.Second},
		{WhenStale: 7},
		{Prefix: "{x}"},
	} {
		if m, err := entraredis.New(rdb, o); err == nil {
			m.Close()
			t.Fatalf("New(%+v) accepted", o)
		}
	}
	if _, err := entraredis.New(nil, entraredis.Options{}); err == nil {
		t.Fatal("New(nil) accepted")
	}
}

// A million entries: memory of the mirror and time of a resync. Slow; run
// with ENTRAREDIS_MILLION=1.
func TestMillionEntries(t *testing.T) {
	if os.Getenv("ENTRAREDIS_MILLION") == "" {
		t.Skip("set ENTRAREDIS_MILLION=1 to measure a million entries")
	}
	rs := startRedis(t)
	rdb := rs.client(t)
	fill(t, rdb, 1_000_000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m, err := entraredis.New(rdb, entraredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := m.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := m.Stats()
	if st.Entries != 1_000_000 {
		t.Fatalf("mirror holds %d entries", st.Entries)
	}
	info, _ := rdb.Info(ctx, "memory").Result()
	var used string
	for line := range strings.SplitSeq(info, "\n") {
		if strings.HasPrefix(line, "used_memory_human:") {
			used = strings.TrimSpace(strings.TrimPrefix(line, "used_memory_human:"))
		}
	}
	t.Logf("1,000,000 entries: first sync %v (resync %v); mirror heap %.0f MiB; Redis used_memory %s",
		took, st.LastResyncDuration, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), used)
}

// fill writes n user entries straight into the list's hash (as the store
// would), in pipelined batches, and bumps the version once.
func fill(t testing.TB, rdb *redis.Client, n int) {
	t.Helper()
	ctx := context.Background()
	exp := time.Now().Add(24 * time.Hour).Unix()
	before := time.Now().Unix()
	tag := "{" + entraredis.DefaultPrefix + "}"
	for i := 0; i < n; i += 5000 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			args := make([]any, 0, 10000)
			zs := make([]redis.Z, 0, 5000)
			for j := i; j < min(n, i+5000); j++ {
				key := fmt.Sprintf("user:72f988bf-86f1-41af-91ab-2d7cd011db47:%08x-0000-4000-8000-%012x", j, j)
				val := fmt.Sprintf(`{"kind":"user","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","oid":"%08x-0000-4000-8000-%012x","before":%d,"expires":%d,"reason":"bulk"}`, j, j, before, exp)
				args = append(args, key, val)
				zs = append(zs, redis.Z{Score: float64(exp), Member: key})
			}
			p.HSet(ctx, tag+":entries", args...)
			p.ZAdd(ctx, tag+":expiry", zs...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rdb.SetNX(ctx, tag+":epoch", "bulk", 0)
	rdb.Incr(ctx, tag+":version")
}

// The module's go.sum holds core's dependencies and go-redis's, no framework.
func TestNoFrameworkDependency(t *testing.T) {
	b, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for _, fw := range []string{"gin-gonic", "labstack/echo", "gofiber", "google.golang.org/grpc", "connectrpc", "opentelemetry"} {
		if strings.Contains(string(b), fw) {
			t.Fatalf("go.sum names %s", fw)
		}
	}
	if out, err := exec.Command("go", "list", "-deps", ".").Output(); err == nil && strings.Contains(string(out), "entraguard/gin") {
		t.Fatal("the module depends on an adapter")
	}
}

// The Store and the Mirror refuse an entry no token can match, naming the
// field and the fix, and write nothing to Redis.
func TestUnmatchableEntriesRefused(t *testing.T) {
	rs := startRedis(t)
	m, err := entraredis.New(rs.client(t), fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	tid := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for _, tc := range []struct {
		r    entra.Revocation
		want string
	}{
		{entra.Revocation{Kind: entra.RevocationUser, TenantID: tid, ObjectID: "{6b3c1a52-0000-4000-8000-000000000001}"}, "ObjectID"},
		{entra.Revocation{Kind: entra.RevocationApp, AppID: "api://orders-api"}, "client ID"},
		{entra.Revocation{Kind: entra.RevocationTenant, TenantID: "contoso.com"}, "domain name"},
		{entra.Revocation{Kind: entra.RevocationTenant, TenantID: "72f988bf86f141af91ab2d7cd011db47"}, "no dashes"},
	} {
		if _, err := m.Store.Revoke(ctxT(t), tc.r); !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("Store.Revoke(%+v): %v", tc.r, err)
		}
		if _, err := m.Revoke(ctxT(t), tc.r); !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("Mirror.Revoke(%+v): %v", tc.r, err)
		}
	}
	if _, err := m.RevokeApp(ctxT(t), "api://orders-api", time.Time{}, ""); !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("Mirror.RevokeApp with a URI: %v", err)
	}
	if list, err := m.List(ctxT(t)); err != nil || len(list) != 0 || m.Stats().Entries != 0 {
		t.Fatalf("written: %+v %v", list, err)
	}
}
