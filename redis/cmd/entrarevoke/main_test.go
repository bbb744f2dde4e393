package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startRedis runs a real redis-server on a free loopback port, persistence
// off; it fails in CI without one and skips elsewhere.
func startRedis(t *testing.T) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed: apt-get install -y redis-server")
		}
		t.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--save", "", "--appendonly", "no", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(30 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "redis://" + addr
}

func TestCommand(t *testing.T) {
	url := startRedis(t)
	cmd := func(want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if got := run(append([]string{"-url", url}, args...), &out, &errb); got != want {
			t.Fatalf("%v: exit %d, want %d; %s%s", args, got, want, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	tid := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	cmd(0, "-reason", "ticket 1", "user", tid, "6b3c1a52-0000-4000-8000-000000000001")
	cmd(0, "-before", "2h", "tenant", tid)
	cmd(0, "token", "AbCdEf0123")
	cmd(1, "user", "not-a-tenant", "6b3c1a52-0000-4000-8000-000000000001")
	cmd(2, "user", tid)
	cmd(2, "bogus")
	cmd(1, "-before", "yesterday", "app", "0f5c0b4e-0000-4000-8000-000000000002")
	// Entries no token can match are refused, naming the field and the fix,
	// and nothing is written.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", tid, "{6b3c1a52-0000-4000-8000-000000000009}"}, "ObjectID"},
		{[]string{"app", "api://orders-api"}, "client ID"},
		{[]string{"tenant", "contoso.onmicrosoft.com"}, "domain name"},
		{[]string{"tenant", "common"}, "not a tenant"},
		{[]string{"user", "{" + tid + "}", "6b3c1a52-0000-4000-8000-000000000009"}, "braces"},
	} {
		if out := cmd(1, tc.args...); !strings.Contains(out, tc.want) || strings.Contains(out, "revoked ") {
			t.Fatalf("%v: %s", tc.args, out)
		}
	}
	// A malformed URL is refused without echoing its password.
	for _, u := range []string{"redis://ops:s3cret-pw@redis.internal:port/0", "http://ops:s3cret-pw@redis.internal:6379"} {
		var out, errb bytes.Buffer
		if got := run([]string{"-url", u, "list"}, &out, &errb); got != 1 || !strings.Contains(errb.String(), "-url") || strings.Contains(out.String()+errb.String(), "s3cret-pw") {
			t.Fatalf("-url %s: exit %d; %s%s", u, got, out.String(), errb.String())
		}
	}
	out := cmd(0, "list")
	for _, want := range []string{"user:" + tid + ":6b3c1a52-0000-4000-8000-000000000001", "tenant:" + tid, "token:AbCdEf0123", "ticket 1", "3 entries"} {
		if !strings.Contains(out, want) {
			t.Fatalf("list lacks %q:\n%s", want, out)
		}
	}
	cmd(0, "lift", "token:AbCdEf0123")
	cmd(1, "lift", "token:AbCdEf0123")
	if out := cmd(0, "list"); !strings.Contains(out, "2 entries") {
		t.Fatalf("after lift:\n%s", out)
	}
	cmd(0, "purge")
}
