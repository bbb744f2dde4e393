// Command bench measures entraguard sidecar's forward-auth from outside,
// over loopback HTTP, against the in-process middleware of
// examples/nethttp and, when its binary is given, oauth2-proxy's
// /oauth2/auth with bearer tokens: requests per second, and the server
// process's CPU time per request (utime+stime from /proc/PID/stat), in
// one interleaved run on the same tokens. Linux only (it reads /proc).
//
//	cd cmd/entraguard && go build -o /tmp/eg . && (cd ../.. && go build -o /tmp/nethttp ./examples/nethttp)
//	go run ./internal/sidecar/bench -sidecar /tmp/eg -nethttp /tmp/nethttp -oauth2-proxy /tmp/o2p/oauth2-proxy
//
// docs/sidecar.md ("Performance") reports a run.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

type target struct {
	name   string
	cmd    *exec.Cmd
	url    string
	header func(token string) http.Header
	out    *os.File
}

func main() {
	sidecar := flag.String("sidecar", "", "the entraguard binary (required)")
	nethttp := flag.String("nethttp", "", "the examples/nethttp binary (required)")
	o2p := flag.String("oauth2-proxy", "", "the oauth2-proxy binary (optional)")
	rules := flag.String("rules", "../../examples/sidecar/rules.yaml", "the sidecar's rules file")
	clients := flag.Int("clients", 32, "concurrent keep-alive clients")
	duration := flag.Duration("duration", 5*time.Second, "length of one measurement")
	rounds := flag.Int("rounds", 3, "rounds; each measures every target once, interleaved")
	ntokens := flag.Int("tokens", 64, "distinct tokens, used in turn")
	flag.Parse()
	if *sidecar == "" || *nethttp == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*sidecar, *nethttp, *o2p, *rules, *clients, *duration, *rounds, *ntokens); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sidecarBin, nethttpBin, o2pBin, rules string, clients int, duration time.Duration, rounds, ntokens int) error {
	srv := entratest.NewServer()
	defer srv.Close()
	tokens := make([]string, ntokens)
	for i := range tokens {
		tokens[i] = srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ExpiresAt: time.Now().Add(2 * time.Hour), Claims: map[string]any{"email": fmt.Sprintf("user%d@example.com", i)}})
	}
	env := append(os.Environ(), "ENTRA_TENANT_ID="+srv.TenantID, "ENTRA_CLIENT_ID="+srv.ClientID, "ENTRA_AUTHORITY_HOST="+srv.URL+"/")
	dir, err := os.MkdirTemp("", "entraguard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var targets []*target
	defer func() {
		for _, t := range targets {
			_ = t.cmd.Process.Kill()
			_ = t.cmd.Wait()
			_ = t.out.Close()
		}
	}()
	start := func(name string, cmd *exec.Cmd, addr, url string, header func(string) http.Header) error {
		out, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr, cmd.Env = out, out, append(cmd.Env, env...)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		t := &target{name: name, cmd: cmd, url: url, header: header, out: out}
		targets = append(targets, t)
		if err := waitOK(t, tokens[0]); err != nil {
			b, _ := os.ReadFile(out.Name())
			return fmt.Errorf("%s does not accept a valid token: %v\n%s", name, err, b)
		}
		// Each server must check signatures, or its figures mean nothing.
		tampered := tokens[0][:len(tokens[0])-6] + "AAAAAA"
		if status, err := once(http.DefaultClient, t, tampered); err != nil || status/100 == 2 {
			return fmt.Errorf("%s accepts a token with a tampered signature (%d, %v): its configuration is wrong", name, status, err)
		}
		return nil
	}

	addr := freeAddr()
	if err := start("sidecar", exec.Command(sidecarBin, "sidecar", "-addr", addr, "-config", rules, "-log-level", "warn"), addr, "http://"+addr+"/", func(tok string) http.Header {
		return http.Header{"Authorization": {"Bearer " + tok}, "X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/api/me"}, "X-Forwarded-Host": {"api.example.com"}}
	}); err != nil {
		return err
	}
	addr = freeAddr()
	cmd := exec.Command(nethttpBin)
	cmd.Env = []string{"ADDR=" + addr}
	if err := start("nethttp middleware", cmd, addr, "http://"+addr+"/api/me", bearerHeader); err != nil {
		return err
	}
	if o2pBin != "" {
		addr = freeAddr()
		secret := make([]byte, 16)
		_, _ = rand.Read(secret)
		cmd := exec.Command(o2pBin,
			"--http-address="+addr,
			"--provider=oidc",
			"--oidc-issuer-url="+srv.Issuer("2.0", srv.TenantID),
			"--client-id="+srv.ClientID,
			"--client-secret=unused",
			"--cookie-secret="+base64.RawURLEncoding.EncodeToString(secret)[:16]+strings.Repeat("x", 16),
			"--cookie-secure=false",
			"--email-domain=*",
			"--skip-jwt-bearer-tokens=true",
			"--insecure-oidc-allow-unverified-email=true",
			"--upstream=static://200",
			"--request-logging=false",
			"--auth-logging=false",
			"--standard-logging=false",
		)
		if err := start("oauth2-proxy", cmd, addr, "http://"+addr+"/oauth2/auth", bearerHeader); err != nil {
			return err
		}
	}

	type total struct {
		reqs, errs int64
		secs, cpu  float64
		perRound   []float64
	}
	totals := make([]total, len(targets))
	fmt.Printf("%d clients, %v per measurement, %d rounds, %d tokens, GOMAXPROCS of each server: default\n", clients, duration, rounds, ntokens)
	for r := 0; r < rounds; r++ {
		for i, t := range targets {
			reqs, errs, secs, cpu, err := measure(t, tokens, clients, duration)
			if err != nil {
				return err
			}
			tt := &totals[i]
			tt.reqs += reqs
			tt.errs += errs
			tt.secs += secs
			tt.cpu += cpu
			tt.perRound = append(tt.perRound, float64(reqs)/secs)
			fmt.Printf("round %d  %-20s %8.0f req/s  %6.1f µs CPU/req  (%d errors)\n", r+1, t.name, float64(reqs)/secs, cpu/float64(reqs)*1e6, errs)
		}
	}
	fmt.Println()
	fmt.Printf("%-20s %10s %14s %8s\n", "server", "req/s", "CPU µs/req", "errors")
	for i, t := range targets {
		tt := totals[i]
		fmt.Printf("%-20s %10.0f %14.1f %8d   (req/s per round: %s)\n", t.name, float64(tt.reqs)/tt.secs, tt.cpu/float64(tt.reqs)*1e6, tt.errs, fmtList(tt.perRound))
	}
	rate := func(i int) float64 { return float64(totals[i].reqs) / totals[i].secs }
	cpu := func(i int) float64 { return totals[i].cpu / float64(totals[i].reqs) }
	fmt.Printf("\nsidecar / nethttp middleware: %.2f× req/s, %.2f× CPU per request\n", rate(0)/rate(1), cpu(0)/cpu(1))
	if len(targets) > 2 {
		fmt.Printf("sidecar / oauth2-proxy:       %.2f× req/s, %.2f× CPU per request\n", rate(0)/rate(2), cpu(0)/cpu(2))
	}
	return nil
}

func fmtList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(s, " ")
}

func bearerHeader(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitOK waits (30 s at most) until t answers a valid token with 2xx.
func waitOK(t *target, token string) error {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		status, err := once(http.DefaultClient, t, token)
		if err == nil && status/100 == 2 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status %d", status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

func once(c *http.Client, t *target, token string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, t.url, nil)
	req.Header = t.header(token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// measure loads t with clients keep-alive connections for d and returns
// the requests answered, the non-2xx ones, the seconds, and the server's
// CPU seconds over the same window.
func measure(t *target, tokens []string, clients int, d time.Duration) (reqs, errs int64, secs, cpu float64, err error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	headers := make([]http.Header, len(tokens))
	for i, tok := range tokens {
		headers[i] = t.header(tok)
	}
	// Warm the connections (and the server's cache) before measuring.
	for i := range clients {
		_, _ = once(hc, t, tokens[i%len(tokens)])
	}
	var n, bad atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	before, err := cpuSeconds(t.cmd.Process.Pid)
	if err != nil {
		cancel()
		return 0, 0, 0, 0, err
	}
	began := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
			for i := c; ctx.Err() == nil; i++ {
				req.Header = headers[i%len(headers)]
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					bad.Add(1)
				}
				n.Add(1)
			}
		}()
	}
	time.Sleep(d)
	after, err := cpuSeconds(t.cmd.Process.Pid)
	elapsed := time.Since(began).Seconds()
	done := n.Load()
	cancel()
	wg.Wait()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if done == 0 {
		return 0, 0, 0, 0, errors.New(t.name + " answered nothing")
	}
	return done, bad.Load(), elapsed, after - before, nil
}

// cpuSeconds returns utime+stime of process pid from /proc/pid/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc/pid/stat")
	}
	f := strings.Fields(s[i+1:])
	// After ")": state(3) ppid(4) ... utime(14) stime(15): indexes 11, 12.
	if len(f) < 13 {
		return 0, errors.New("short /proc/pid/stat")
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (ut + st) / clockTicks, nil
}
