// Package entraredis shares an entraguard revocation list between every
// replica of an API through Redis, so that one command revokes a token, a
// user, a calling app or a tenant and every replica refuses within a
// fraction of a second, at no per-request cost.
//
// Each replica runs a [Mirror]: a local copy (core's [entra.RevocationList])
// that the Validator consults per request, kept in sync by reading what
// changed from Redis (a change log) whenever a pub/sub message arrives and
// every PollInterval, and by full resyncs. Messages are only hints: nothing
// a publisher sends is applied. Operators use a [Store] (or the entrarevoke
// command) to revoke, list and lift entries.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	defer rdb.Close()
//	mirror, err := entraredis.New(rdb, entraredis.Options{})
//	if err != nil { ... }
//	defer mirror.Close()
//	cfg := entra.ConfigFromEnv()
//	cfg.Revocations = mirror
//	v, err := entra.NewValidator(cfg)
//	// start-up: mirror.Ready(ctx) waits for the first sync; a readiness
//	// probe also checks mirror.Ready(ctx), with a short or expired ctx
//
// See docs/revocation.md for the kinds, the Redis set-up (single node,
// Sentinel, Cluster, Azure Cache for Redis) and the staleness choice.
package entraredis
