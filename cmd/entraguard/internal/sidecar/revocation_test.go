package sidecar

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// startRedis runs a real redis-server on a free loopback port for the test.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed (apt-get install -y redis-server; .ci/run does it)")
		}
		t.Skip("redis-server is not installed; set CI=1 to make this a failure")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--save", "", "--appendonly", "no", "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitUntil(t, "redis-server answers", func() bool {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	})
	return addr
}

// waitUntil polls cond; the deadline only bounds a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRevocationsThroughRedis: with -redis-url the sidecar refuses a user
// revoked through entraredis (by another process: here a Store), lets
// other users through, and is ready only while its mirror is in sync.
func TestRevocationsThroughRedis(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	raddr := startRedis(t)
	cfg := srv.Config()
	base := "http://" + startSidecarOptions(t, Options{Entra: cfg, RedisURL: "redis://" + raddr + "/0"})

	revoked := entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "5f0e6a4c-1b2d-4c3e-9f8a-7b6c5d4e3f21"}
	other := entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
	revokedTok, otherTok := srv.Mint(revoked), srv.Mint(other)
	ask := func(tok string) answer {
		return do(t, "GET", base+"/", map[string][]string{"Authorization": {"Bearer " + tok}, "X-Forwarded-Uri": {"/api"}}, nil)
	}
	waitUntil(t, "the sidecar is ready", func() bool { return do(t, "GET", base+"/readyz", nil, nil).status == 200 })
	if a := ask(revokedTok); a.status != 200 {
		t.Fatalf("before the revocation: %d %s", a.status, a.body)
	}

	rdb := redis.NewClient(&redis.Options{Addr: raddr})
	t.Cleanup(func() { rdb.Close() })
	store, err := entraredis.NewStore(rdb, entraredis.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.RevokeUser(context.Background(), cfg.TenantID, revoked.ObjectID, time.Now().Add(time.Minute), "test"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the sidecar refuses the revoked user", func() bool { return ask(revokedTok).status == 401 })
	a := ask(revokedTok)
	if !strings.Contains(a.header.Get("Www-Authenticate"), "invalid_token") || !strings.Contains(a.body, "token_revoked") {
		t.Errorf("revoked user: %q %s", a.header.Get("Www-Authenticate"), a.body)
	}
	if a := ask(otherTok); a.status != 200 {
		t.Errorf("another user after the revocation: %d %s", a.status, a.body)
	}
	if r := do(t, "GET", base+"/readyz", nil, nil); r.status != 200 {
		t.Errorf("/readyz with the mirror in sync: %d %s", r.status, r.body)
	}
}

// TestRedisURLMistake: a URL go-redis cannot read stops the sidecar with an
// error that names the setting and not the URL (it may hold a password).
func TestRedisURLMistake(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	err := Run(context.Background(), Options{Entra: srv.Config(), Addr: "127.0.0.1:0", RedisURL: "http://user:s3cret@host/0"})
	if err == nil || !strings.Contains(err.Error(), "ENTRA_REVOCATION_REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Run with a bad Redis URL: %v", err)
	}
}
