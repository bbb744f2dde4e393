package entraredis_test

import (
	"context"
	"log"
	"net/http"
	"time"

	entra "github.com/entraguard/entraguard/core"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// Every replica runs a mirror and hands it to its Validator; any replica
// (or the entrarevoke command) revokes, and all of them refuse. It needs a
// Redis, so it is compiled, not run; mirror_test.go runs the same against
// a real redis-server.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()

	mirror, err := entraredis.New(rdb, entraredis.Options{
		StaleAfter: 30 * time.Second,
		WhenStale:  entraredis.ServeStale, // the default: keep serving, report not ready
	})
	if err != nil {
		log.Fatal(err)
	}
	defer mirror.Close()

	cfg := entra.ConfigFromEnv()
	cfg.Revocations = mirror
	v, err := entra.NewValidator(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	http.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		// A probe does not wait: a short context.
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		defer cancel()
		if v.Ready(ctx) != nil || mirror.Ready(ctx) != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})

	// "Sign out everywhere" for one user: every replica refuses their
	// tokens issued until now, within milliseconds.
	ctx := context.Background()
	if _, err := mirror.RevokeUser(ctx, "72f988bf-86f1-41af-91ab-2d7cd011db47", "6b3c1a52-0000-4000-8000-000000000001", time.Time{}, "account compromised"); err != nil {
		log.Print(err)
	}
}
