// Command entrarevoke revokes, lists and lifts entries of the revocation
// list that entraguard APIs share through Redis (module entraredis).
//
//	entrarevoke [flags] user <tenant-id> <object-id>   sign a user out everywhere (tokens issued before -before)
//	entrarevoke [flags] app <client-id>                refuse an application's tokens (leaked credential), and its agents' if it is an agent identity blueprint
//	entrarevoke [flags] tenant <tenant-id>             refuse a tenant's tokens
//	entrarevoke [flags] token <uti-or-jti>             refuse one token
//	entrarevoke [flags] list                           print the entries
//	entrarevoke [flags] lift <key>                     remove an entry (its key as list prints it)
//	entrarevoke [flags] purge                          drop expired entries from Redis
//
// Flags (before the command): -url (default $REDIS_URL, else
// redis://localhost:6379; rediss:// for TLS), -cluster host:port,... for
// Redis Cluster, -prefix, -reason, -before (RFC 3339, "now", or an offset
// such as -15m or 2h: a future cut-off blocks until then) and -expires.
//
// Identifiers are GUIDs, as the token claims they match (tid, oid, azp or
// appid): an entry no token can match (braces, an api:// URI as client ID,
// a domain name as tenant) is refused with an error naming the fix.
//
// Run it with: go run github.com/entraguard/entraguard/redis/cmd/entrarevoke@latest
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	entra "github.com/entraguard/entraguard/core"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("entrarevoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", os.Getenv("REDIS_URL"), "Redis URL (redis:// or rediss://); default $REDIS_URL, else redis://localhost:6379")
	cluster := fs.String("cluster", "", "comma-separated host:port of a Redis Cluster (instead of -url)")
	prefix := fs.String("prefix", "", "key prefix (default "+entraredis.DefaultPrefix+")")
	reason := fs.String("reason", "", "why (kept for operators, never shown to callers)")
	before := fs.String("before", "now", "cut-off of user, app, tenant: RFC 3339, now, or an offset from now (-15m, 2h)")
	expires := fs.String("expires", "", "when the entry is dropped (default: cut-off + the maximum token lifetime)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit of the command")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: entrarevoke [flags] user <tid> <oid> | app <client-id> | tenant <tid> | token <uti> | list | lift <key> | purge")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "entrarevoke:", err)
		return 1
	}
	now := time.Now()
	cut, err := parseTime(*before, now)
	if err != nil {
		return fail(fmt.Errorf("-before: %w", err))
	}
	var exp time.Time
	if *expires != "" {
		if exp, err = parseTime(*expires, now); err != nil {
			return fail(fmt.Errorf("-expires: %w", err))
		}
	}

	var rdb redis.UniversalClient
	switch {
	case *cluster != "":
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(*cluster, ",")})
	default:
		u := *url
		if u == "" {
			u = "redis://localhost:6379"
		}
		opt, err := redis.ParseURL(u)
		if err != nil {
			// net/url's errors quote the whole URL, password included.
			var ue *neturl.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fail(fmt.Errorf("-url (or $REDIS_URL) is not a valid Redis URL (redis://[user:password@]host:port[/db], or rediss:// for TLS): %w", err))
		}
		rdb = redis.NewClient(opt)
	}
	defer rdb.Close()
	st, err := entraredis.NewStore(rdb, entraredis.StoreOptions{Prefix: *prefix})
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	want := func(n int) bool {
		if len(rest) != n+1 {
			fmt.Fprintf(stderr, "entrarevoke: %s takes %d argument(s)\n", rest[0], n)
			return false
		}
		return true
	}
	var r entra.Revocation
	switch rest[0] {
	case "user":
		if !want(2) {
			return 2
		}
		r = entra.Revocation{Kind: entra.RevocationUser, TenantID: rest[1], ObjectID: rest[2], IssuedBefore: cut}
	case "app":
		if !want(1) {
			return 2
		}
		r = entra.Revocation{Kind: entra.RevocationApp, AppID: rest[1], IssuedBefore: cut}
	case "tenant":
		if !want(1) {
			return 2
		}
		r = entra.Revocation{Kind: entra.RevocationTenant, TenantID: rest[1], IssuedBefore: cut}
	case "token":
		if !want(1) {
			return 2
		}
		r = entra.Revocation{Kind: entra.RevocationToken, TokenID: rest[1]}
	case "list":
		if !want(0) {
			return 2
		}
		list, err := st.List(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tISSUED BEFORE\tEXPIRES\tREASON")
		for _, e := range list {
			b := "-"
			if !e.IssuedBefore.IsZero() {
				b = e.IssuedBefore.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Key(), b, e.Expires.Format(time.RFC3339), e.Reason)
		}
		_ = tw.Flush()
		fmt.Fprintf(stderr, "%d entries\n", len(list))
		return 0
	case "lift":
		if !want(1) {
			return 2
		}
		ok, err := st.LiftKey(ctx, rest[1])
		if err != nil {
			return fail(err)
		}
		if !ok {
			return fail(fmt.Errorf("no entry %q (see: entrarevoke list)", rest[1]))
		}
		fmt.Fprintln(stdout, "lifted", rest[1])
		return 0
	case "purge":
		if !want(0) {
			return 2
		}
		n, err := st.Purge(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "purged %d expired entries\n", n)
		return 0
	default:
		fs.Usage()
		return 2
	}
	r.Reason, r.Expires = *reason, exp
	out, err := st.Revoke(ctx, r)
	if err != nil {
		return fail(err)
	}
	if out.Kind == entra.RevocationToken {
		fmt.Fprintf(stdout, "revoked %s until %s\n", out.Key(), out.Expires.Format(time.RFC3339))
	} else {
		fmt.Fprintf(stdout, "revoked %s: tokens issued before %s, entry kept until %s\n",
			out.Key(), out.IssuedBefore.Format(time.RFC3339), out.Expires.Format(time.RFC3339))
	}
	return 0
}

// parseTime reads RFC 3339, "now", or a signed offset from now.
func parseTime(s string, now time.Time) (time.Time, error) {
	switch s {
	case "", "now":
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not RFC 3339, now, or an offset such as -15m", s)
	}
	return now.Add(d), nil
}
