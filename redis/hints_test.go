package entraredis_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// channel is the default list's pub/sub channel.
const channel = "{" + entraredis.DefaultPrefix + "}:events"

// publisher returns a client of a Redis user that may only PUBLISH and
// SUBSCRIBE on the list's channel: no key rights at all. It checks that
// the ACL holds: the user cannot read or write the list's keys.
func publisher(t *testing.T, rs *redisServer) *redis.Client {
	t.Helper()
	admin := rs.client(t)
	if err := admin.Do(ctxT(t), "ACL", "SETUSER", "announcer", "reset", "on", ">announcer-pw",
		"resetchannels", "&"+channel, "+publish", "+subscribe").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	pub := redis.NewClient(&redis.Options{Addr: rs.Addr, Username: "announcer", Password: "announcer-pw",
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, DisableIdentity: true})
	t.Cleanup(func() { pub.Close() })
	if err := pub.Publish(ctxT(t), channel, "hello").Err(); err != nil {
		t.Fatalf("the publisher cannot publish: %v", err)
	}
	tag := "{" + entraredis.DefaultPrefix + "}"
	if err := pub.HDel(ctxT(t), tag+":entries", "x").Err(); err == nil {
		t.Fatal("the publisher may write the list's keys: the ACL is wrong")
	}
	if err := pub.Get(ctxT(t), tag+":version").Err(); err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("the publisher may read the list's keys (%v): the ACL is wrong", err)
	}
	return pub
}

// hintOptions make a mirror that reads Redis only when a message asks
// (the poll is too slow to matter within a test), so that what messages do
// is all that is seen.
func hintOptions() entraredis.Options {
	return entraredis.Options{PollInterval: 10 * time.Minute, StaleAfter: 20 * time.Minute}
}

// forged is an announcement as the store's scripts publish them.
func forged(t *testing.T, v int64, op, key, value, epoch string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"v": v, "op": op, "key": key, "value": value, "epoch": epoch})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A client that may only publish on the channel cannot lift a revocation,
// cannot add one Redis never recorded, and cannot make the mirror skip the
// next real revocation by announcing a version ahead of time: a message
// only makes the mirror read Redis.
func TestForgedMessagesAreOnlyHints(t *testing.T) {
	rs := startRedis(t)
	srv := entratest.NewServer()
	defer srv.Close()
	r := newReplica(t, rs, srv, hintOptions())
	store, err := entraredis.NewStore(rs.client(t), entraredis.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := publisher(t, rs)

	victim := srv.UserToken("Orders.Read")
	rev, err := store.RevokeUser(ctxT(t), srv.TenantID, srv.UserObjectID, time.Time{}, "compromised")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mirror to refuse the revoked user", func() bool {
		return errors.Is(validate(r, victim), entra.ErrTokenRevoked) && r.mirror.Stats().Version == 1
	})
	bystander := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "6b3c1a52-0000-4000-8000-0000000000b1"})
	if err := validate(r, bystander); err != nil {
		t.Fatalf("another user of the tenant before the forgery: %v", err)
	}
	before := r.mirror.Stats()

	// What the old mirror applied as facts: a lift of the entry, a tenant
	// revocation, a resync request, and a no-op announced at version+1 so
	// that the real change with that version would be taken as seen.
	tenantEntry := fmt.Sprintf(`{"kind":"tenant","tid":%q,"before":%d,"expires":%d}`,
		srv.TenantID, time.Now().Add(time.Hour).Unix(), time.Now().Add(2*time.Hour).Unix())
	msgs := []string{
		forged(t, before.Version+1, "set", rev.Key(), `{"kind":"user","tid":"`+srv.TenantID+`","oid":"`+srv.UserObjectID+`","before":1,"expires":2}`, before.Epoch),
		forged(t, before.Version+1, "del", rev.Key(), "", before.Epoch),
		forged(t, before.Version+2, "set", "tenant:"+srv.TenantID, tenantEntry, before.Epoch),
		forged(t, before.Version+3, "sync", "", "", before.Epoch),
		forged(t, before.Version+4, "del", rev.Key(), "", "another-epoch"),
		"not even JSON",
	}
	for _, msg := range msgs {
		if err := pub.Publish(ctxT(t), channel, msg).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the mirror to receive the forged messages", func() bool {
		return r.mirror.Stats().Events >= before.Events+uint64(len(msgs))
	})

	// The next real revocation takes the version the forger announced; it
	// must arrive all the same (the poll is minutes away: only its message
	// can bring it).
	next := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "6b3c1a52-0000-4000-8000-0000000000b2"})
	if err := validate(r, next); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Revoke(ctxT(t), entra.Revocation{Kind: entra.RevocationUser, TenantID: srv.TenantID,
		ObjectID: "6b3c1a52-0000-4000-8000-0000000000b2"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the real revocation after the forged version", func() bool { return errors.Is(validate(r, next), entra.ErrTokenRevoked) })

	if err := validate(r, victim); !errors.Is(err, entra.ErrTokenRevoked) {
		t.Fatalf("a forged lift let the revoked user through: %v", err)
	}
	if err := validate(r, bystander); err != nil {
		t.Fatalf("a forged tenant revocation refused another user: %v", err)
	}
	list, err := store.List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	after := r.mirror.Stats()
	if len(list) != 2 || after.Entries != 2 || after.Version != before.Version+1 || after.Epoch != before.Epoch {
		t.Fatalf("Redis holds %d entries; the mirror %d, version %d (Redis' is %d), epoch %q (was %q)",
			len(list), after.Entries, after.Version, before.Version+1, after.Epoch, before.Epoch)
	}
	if after.Resyncs != before.Resyncs || after.Gaps != before.Gaps {
		t.Fatalf("forged messages caused full reads: resyncs %d→%d, gaps %d→%d", before.Resyncs, after.Resyncs, before.Gaps, after.Gaps)
	}
	if after.Stale || readyNow(r.mirror) != nil {
		t.Fatalf("mirror not ready: %v", readyNow(r.mirror))
	}
}

// A flood of junk and forged messages costs a bounded number of small
// reads and no full resync, and real revocations still arrive.
func TestMessageFloodIsBounded(t *testing.T) {
	rs := startRedis(t)
	srv := entratest.NewServer()
	defer srv.Close()
	r := newReplica(t, rs, srv, hintOptions())
	pub := publisher(t, rs)
	before := r.mirror.Stats()
	const n = 3000
	start := time.Now()
	ctx := ctxT(t)
	for i := 0; i < n; i += 500 {
		if _, err := pub.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < i+500; j++ {
				switch j % 3 {
				case 0:
					p.Publish(ctx, channel, "junk")
				case 1:
					p.Publish(ctx, channel, forged(t, before.Version+int64(j)+5, "sync", "", "", before.Epoch))
				default:
					p.Publish(ctx, channel, forged(t, int64(j), "del", "user:x:y", "", "forged-epoch"))
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	tok := srv.UserToken("Orders.Read")
	store, err := entraredis.NewStore(rs.client(t), entraredis.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.RevokeUser(ctx, srv.TenantID, srv.UserObjectID, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message and the real revocation", func() bool {
		return r.mirror.Stats().Events >= before.Events+n+1 && errors.Is(validate(r, tok), entra.ErrTokenRevoked)
	})
	elapsed := time.Since(start)
	after := r.mirror.Stats()
	if after.Resyncs != before.Resyncs || after.Gaps != before.Gaps {
		t.Fatalf("the flood caused full reads: resyncs %d→%d, gaps %d→%d", before.Resyncs, after.Resyncs, before.Gaps, after.Gaps)
	}
	// Reads that find nothing: a burst of 20, then one per 5ms at most (the
	// mirror's documented bound), over the whole run; plus the one read
	// that found the real revocation.
	reads := after.Polls - before.Polls
	bound := uint64(20 + elapsed/(5*time.Millisecond) + 2)
	if reads > bound || reads == 0 {
		t.Fatalf("%d messages over %v caused %d reads; the bound is %d", n, elapsed, reads, bound)
	}
	t.Logf("%d messages over %v: %d reads (bound %d)", n+1, elapsed, reads, bound)
	if st := r.mirror.Stats(); st.Entries != 1 || st.Stale {
		t.Fatalf("after the flood: %+v", st)
	}
}
