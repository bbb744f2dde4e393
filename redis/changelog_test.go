package entraredis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// A mirror cut off while more changes are made than the change log keeps
// (10,000 keys) finds, on its return, that the log cannot say what it
// missed, and reads the whole list: it then holds every new entry and has
// dropped the lifted one.
func TestMirrorBehindTheChangeLog(t *testing.T) {
	rs := startRedis(t)
	admin := rs.client(t)
	if err := admin.Do(ctxT(t), "ACL", "SETUSER", "mirror", "on", ">mirror-pw", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	var cut atomic.Bool
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, Username: "mirror", Password: "mirror-pw",
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if cut.Load() {
				return nil, errors.New("cut off by the test")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	t.Cleanup(func() { rdb.Close() })
	srv := entratest.NewServer()
	defer srv.Close()
	r := replicaOn(t, rdb, srv, entraredis.Options{PollInterval: 50 * time.Millisecond, StaleAfter: 10 * time.Minute})
	m := r.mirror
	store, err := entraredis.NewStore(admin, entraredis.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok := srv.UserToken("Orders.Read")
	rev, err := store.RevokeUser(ctxT(t), srv.TenantID, srv.UserObjectID, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mirror to refuse", func() bool { return errors.Is(validate(r, tok), entra.ErrTokenRevoked) })
	before := m.Stats()

	cut.Store(true)
	if err := admin.Do(ctxT(t), "CLIENT", "KILL", "USER", "mirror").Err(); err != nil {
		t.Fatal(err)
	}
	const n = 10_050
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				if _, err := store.Revoke(ctx, entra.Revocation{Kind: entra.RevocationUser, TenantID: srv.TenantID,
					ObjectID: fmt.Sprintf("6b3c1a52-0000-4000-8000-%012x", i)}); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	if ok, err := store.Lift(ctxT(t), rev); !ok || err != nil {
		t.Fatalf("Lift: %v %v", ok, err)
	}
	if got := admin.ZCard(ctxT(t), "{"+entraredis.DefaultPrefix+"}:changes").Val(); got != 10_000 {
		t.Fatalf("the change log holds %d keys, want 10,000", got)
	}

	cut.Store(false)
	waitFor(t, "the mirror to read the whole list", func() bool {
		st := m.Stats()
		return st.Entries == n && st.Gaps > before.Gaps && st.Resyncs > before.Resyncs
	})
	if err := validate(r, tok); err != nil {
		t.Fatalf("the lift made while cut off: %v", err)
	}
	last := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: fmt.Sprintf("6b3c1a52-0000-4000-8000-%012x", n-1)})
	if err := validate(r, last); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("a revocation made while cut off: %v", err)
	}
}
