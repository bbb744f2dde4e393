// Command loadgen measures requests per second of the /bare and /protected
// endpoints that loadserver serves, per framework, over loopback HTTP with
// keep-alive connections. It only ever talks to loopback addresses, and
// every run is bounded by a duration and a request count, so it always stops
// by itself.
//
//	loadserver -info /tmp/info.json &
//	loadgen -info /tmp/info.json -c 16 -d 3s -rounds 3
//
// Runs alternate bare and protected (bare, protected, bare, ...) so that any
// drift of the machine hits both alike; the figure per endpoint is the
// median over the rounds.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Info is what loadserver writes: the token and one base URL per framework.
type Info struct {
	Token   string   `json:"token"`
	Servers []Server `json:"servers"`
}

// Server is one framework's base URL; it serves /bare and /protected.
type Server struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

func main() {
	infoPath := flag.String("info", "", "JSON file written by loadserver (required)")
	conc := flag.Int("c", 16, "concurrent keep-alive clients")
	dur := flag.Duration("d", 3*time.Second, "duration of one run (one endpoint, one round)")
	maxReq := flag.Int64("n", 2_000_000, "at most this many requests per run")
	rounds := flag.Int("rounds", 3, "runs per endpoint; the median is reported")
	warm := flag.Duration("warmup", 300*time.Millisecond, "warm-up per framework before measuring (not counted)")
	only := flag.String("only", "", "comma-separated frameworks to run (default: all the server offers)")
	flag.Parse()

	if *infoPath == "" || *conc < 1 || *dur <= 0 || *dur > 5*time.Minute || *maxReq < 1 || *rounds < 1 || *rounds > 50 {
		fmt.Fprintln(os.Stderr, "loadgen: need -info, -c ≥ 1, 0 < -d ≤ 5m, -n ≥ 1, 1 ≤ -rounds ≤ 50")
		os.Exit(2)
	}
	raw, err := os.ReadFile(*infoPath)
	if err != nil {
		fatal(err)
	}
	var info Info
	if err := json.Unmarshal(raw, &info); err != nil {
		fatal(fmt.Errorf("reading %s: %w", *infoPath, err))
	}
	if info.Token == "" || len(info.Servers) == 0 {
		fatal(errors.New("info file has no token or no servers"))
	}
	var want map[string]bool
	if *only != "" {
		want = map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			want[strings.TrimSpace(n)] = true
		}
	}

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // never through a proxy: loopback only
			MaxIdleConns:        *conc * 2,
			MaxIdleConnsPerHost: *conc * 2,
			MaxConnsPerHost:     *conc * 2,
			DisableCompression:  true,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	fmt.Printf("loadgen: %d keep-alive clients, %d round(s) of %s per endpoint (at most %d requests each), GOMAXPROCS=%d\n",
		*conc, *rounds, *dur, *maxReq, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "framework\tbare req/s\tprotected req/s\tprotected/bare\toverhead per request\t")
	failed := false
	for _, s := range info.Servers {
		if want != nil && !want[s.Name] {
			continue
		}
		base, err := loopbackURL(s.URL)
		if err != nil {
			fatal(fmt.Errorf("%s: %w", s.Name, err))
		}
		// Both send the same request, token included, so that the only
		// difference is the middleware.
		bare := target{url: base + "/bare", token: info.Token}
		prot := target{url: base + "/protected", token: info.Token}
		// The protected endpoint must really be protected, and really pass the token.
		if code, err := bare.once(client, info.Token); err != nil || code != http.StatusOK {
			fatal(fmt.Errorf("%s /bare: status %d, %v", s.Name, code, err))
		}
		if code, err := prot.once(client, "-"); err != nil || code != http.StatusUnauthorized {
			fatal(fmt.Errorf("%s /protected without a token: want 401, got %d, %v", s.Name, code, err))
		}
		if code, err := prot.once(client, info.Token); err != nil || code != http.StatusOK {
			fatal(fmt.Errorf("%s /protected with the token: want 200, got %d, %v", s.Name, code, err))
		}
		run(client, bare, *conc, *warm/2, *maxReq)
		run(client, prot, *conc, *warm/2, *maxReq)
		var rb, rp []float64
		for range *rounds {
			b := run(client, bare, *conc, *dur, *maxReq)
			p := run(client, prot, *conc, *dur, *maxReq)
			if b.errs > 0 || p.errs > 0 {
				failed = true
				fmt.Fprintf(os.Stderr, "loadgen: %s: %d errors on /bare (%v), %d on /protected (%v)\n", s.Name, b.errs, b.firstErr, p.errs, p.firstErr)
			}
			rb = append(rb, b.rate())
			rp = append(rp, p.rate())
		}
		mb, mp := median(rb), median(rp)
		// At saturation 1/rate is the machine time one request takes, so
		// the overhead per request is (1/mp − 1/mb) / (1/mb) = mb/mp − 1.
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.3f\t%+.1f%% (%+.2f µs)\t\n", s.Name, mb, mp, mp/mb, (mb/mp-1)*100, (1/mp-1/mb)*1e6)
	}
	tw.Flush()
	fmt.Println("overhead per request = bare/protected − 1: the extra machine time a protected request takes at saturation (in brackets: 1/protected − 1/bare)")
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

// loopbackURL accepts only http URLs whose host is a loopback IP or localhost.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("%q: only http:// is supported", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); !(host == "localhost" || ip != nil && ip.IsLoopback()) {
		return "", fmt.Errorf("%q: loadgen only targets loopback addresses", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

type target struct {
	url   string
	token string
}

// once sends one request with the given token ("" or "-" for none) and
// returns the status.
func (t target) once(c *http.Client, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, t.url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" && token != "-" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

type outcome struct {
	n, errs  int64
	elapsed  time.Duration
	firstErr error
}

func (o outcome) rate() float64 { return float64(o.n) / o.elapsed.Seconds() }

// run drives conc workers against t until d has passed or maxReq requests
// were sent, and counts the successful ones.
func run(c *http.Client, t target, conc int, d time.Duration, maxReq int64) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var sent, ok, errs atomic.Int64
	var (
		mu       sync.Mutex
		firstErr error
	)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, t.url, nil)
			if t.token != "" {
				req.Header.Set("Authorization", "Bearer "+t.token)
			}
			for ctx.Err() == nil && sent.Add(1) <= maxReq {
				resp, err := c.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return outcome{n: ok.Load(), errs: errs.Load(), elapsed: time.Since(start), firstErr: firstErr}
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
