package entraredis_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// syncBuffer is a log sink safe for the mirror's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A client fails over to a promoted replica that lacked the latest write
// (same epoch, lower version; or, when the promoted replica took a write
// of its own meanwhile, the same version with another history): the mirror
// keeps the entry, writes it back to the new master, logs and counts it,
// and the revoked user stays refused throughout.
func TestFailoverToLaggingReplica(t *testing.T) {
	t.Run("behind", func(t *testing.T) { testFailover(t, false, 0) })
	t.Run("moved on", func(t *testing.T) { testFailover(t, true, 0) })
	// Every poll a full resync: that path must not lose it either.
	t.Run("moved on, full resyncs", func(t *testing.T) { testFailover(t, true, time.Nanosecond) })
}

func testFailover(t *testing.T, movedOn bool, resyncInterval time.Duration) {
	master := startRedis(t)
	standby := startRedis(t)
	admin := standby.client(t)
	host, port, _ := net.SplitHostPort(master.Addr)
	if err := admin.Do(ctxT(t), "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to sync", func() bool {
		info, err := admin.Info(ctxT(t), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})

	// The API's client follows the master: a failover is a new address.
	var addr atomic.Value
	addr.Store(master.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: "redis-master:6379", DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		Dialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr.Load().(string))
		}})
	t.Cleanup(func() { rdb.Close() })
	var logs syncBuffer
	o := fastOptions()
	o.ResyncInterval = resyncInterval
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	srv := entratest.NewServer()
	defer srv.Close()
	r := replicaOn(t, rdb, srv, o)
	m := r.mirror

	// The first revocation reaches the replica.
	store, err := entraredis.NewStore(master.client(t), entraredis.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		firstOID = "6b3c1a52-0000-4000-8000-0000000000c1"
		lostOID  = "6b3c1a52-0000-4000-8000-0000000000c2"
	)
	first, err := store.RevokeUser(ctxT(t), srv.TenantID, firstOID, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	entries := "{" + entraredis.DefaultPrefix + "}:entries"
	waitFor(t, "the replica to hold the first revocation", func() bool {
		return admin.HExists(ctxT(t), entries, first.Key()).Val()
	})
	// The replica stops following (it lags), and the master takes one more
	// write, which the mirror applies.
	if err := admin.Do(ctxT(t), "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	lost, err := store.RevokeUser(ctxT(t), srv.TenantID, lostOID, time.Time{}, "stolen laptop")
	if err != nil {
		t.Fatal(err)
	}
	lostTok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: lostOID})
	firstTok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: firstOID})
	masterVersion, err := master.client(t).Get(ctxT(t), "{"+entraredis.DefaultPrefix+"}:version").Int64()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mirror to refuse the last revocation", func() bool {
		return errors.Is(validate(r, lostTok), entra.ErrTokenRevoked) && m.Stats().Version == masterVersion
	})
	held := m.Stats()
	if admin.HExists(ctxT(t), entries, lost.Key()).Val() {
		t.Fatal("the replica got the last write: it does not lag")
	}
	epoch, _ := admin.Get(ctxT(t), "{"+entraredis.DefaultPrefix+"}:epoch").Result()
	version, _ := admin.Get(ctxT(t), "{"+entraredis.DefaultPrefix+"}:version").Int64()
	if epoch != held.Epoch || version != held.Version-1 {
		t.Fatalf("the promoted replica has epoch %q version %d; the mirror %q %d: not a lagging replica of the same list", epoch, version, held.Epoch, held.Version)
	}

	want := 2
	const ownOID = "6b3c1a52-0000-4000-8000-0000000000c4"
	if movedOn {
		// The promoted replica takes a write of its own before the client
		// reaches it: it reaches the mirror's version by another history.
		own, err := entraredis.NewStore(admin, entraredis.StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, v, err := own.RevokeVersion(ctxT(t), entra.Revocation{Kind: entra.RevocationUser, TenantID: srv.TenantID, ObjectID: ownOID}); err != nil || v != held.Version {
			t.Fatalf("write on the promoted replica: version %d (mirror's %d), %v", v, held.Version, err)
		}
		want = 3
	}

	// Failover: the master dies, the client reaches the promoted replica.
	addr.Store(standby.Addr)
	master.kill()
	waitFor(t, "the mirror to repair the promoted replica", func() bool {
		st := m.Stats()
		return st.Regressions > 0 && !st.Stale && st.LastError == nil && admin.HExists(ctxT(t), entries, lost.Key()).Val()
	})
	for _, tok := range []string{lostTok, firstTok} {
		if err := validate(r, tok); !errors.Is(err, entra.ErrTokenRevoked) {
			t.Fatalf("after the failover a revoked user: %v", err)
		}
	}
	list, err := entraredis.NewStore(admin, entraredis.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := list.List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]entra.Revocation{}
	for _, e := range got {
		keys[e.Key()] = e
	}
	if e, ok := keys[lost.Key()]; !ok || e.Reason != "stolen laptop" || !e.IssuedBefore.Equal(lost.IssuedBefore) {
		t.Fatalf("the new master holds %+v, want %+v", got, lost)
	}
	if _, ok := keys[first.Key()]; !ok || len(got) != want {
		t.Fatalf("the new master holds %+v", got)
	}
	if movedOn {
		own := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: ownOID})
		waitFor(t, "the mirror to learn the promoted replica's own write", func() bool { return errors.Is(validate(r, own), entra.ErrTokenRevoked) })
	}
	st := m.Stats()
	if st.Entries != want || st.Reseeded == 0 {
		t.Fatalf("stats after the repair %+v", st)
	}
	out := logs.String()
	if !strings.Contains(out, "went back") || !strings.Contains(out, "held_version="+strconv.FormatInt(held.Version, 10)) {
		t.Fatalf("the regression was not logged:\n%s", out)
	}
	for _, secret := range []string{lostOID, firstOID, srv.TenantID, "stolen laptop", lostTok} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log names %q:\n%s", secret, out)
		}
	}
	// The new master serves new revocations to the mirror as before.
	newStore, _ := entraredis.NewStore(admin, entraredis.StoreOptions{})
	later := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "6b3c1a52-0000-4000-8000-0000000000c3"})
	if _, err := newStore.RevokeUser(ctxT(t), srv.TenantID, "6b3c1a52-0000-4000-8000-0000000000c3", time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a revocation on the new master", func() bool { return errors.Is(validate(r, later), entra.ErrTokenRevoked) })
}
