package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/entraguard/entraguard/bench/internal/apps"
	entra "github.com/entraguard/entraguard/core"
)

// BenchmarkMiddleware measures what entraguard's middleware adds to a
// request, per framework: the same handler served bare and behind
// Authenticate + RequireScope, with the token cache on (a repeat token, as
// a client sends it until it expires).
//
//   - <framework>/{bare,protected}: one request at a time over real
//     loopback HTTP (127.0.0.1, one keep-alive connection); ns/op is the
//     round trip, client included.
//   - <framework>-inprocess/{bare,protected}: the framework's ServeHTTP
//     called directly with a reused request and a discarding
//     ResponseWriter (net/http, Gin, Echo), or Fiber over fasthttp's
//     in-memory listener: ns/op and allocs/op of the middleware itself are
//     the difference between the two.
func BenchmarkMiddleware(b *testing.B) {
	f := newFixture(b)
	v := middlewareValidator(b, f)
	for _, fw := range apps.Frameworks {
		b.Run(fw, func(b *testing.B) {
			base, stop, err := apps.Start(fw, v)
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, DisableCompression: true}}
			defer client.CloseIdleConnections()
			for _, ep := range []string{"bare", "protected"} {
				b.Run(ep, func(b *testing.B) {
					req := newRequest(b, base+"/"+ep, f.token)
					do := func() error {
						resp, err := client.Do(req)
						if err != nil {
							return err
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err == nil && resp.StatusCode != http.StatusOK {
							err = &statusError{resp.StatusCode}
						}
						return err
					}
					if err := do(); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if err := do(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}

	inProcess := []struct {
		name string
		h    http.Handler
	}{
		{"nethttp-inprocess", apps.NetHTTP(v)},
		{"gin-inprocess", apps.Gin(v)},
		{"echo-inprocess", apps.Echo(v)},
		{"echov5-inprocess", apps.EchoV5(v)},
	}
	for _, ip := range inProcess {
		b.Run(ip.name, func(b *testing.B) {
			for _, ep := range []string{"bare", "protected"} {
				b.Run(ep, func(b *testing.B) {
					req := newRequest(b, "http://api.test/"+ep, f.token)
					w := &discardWriter{h: http.Header{}}
					serve := func() error {
						clear(w.h)
						w.code = 0
						ip.h.ServeHTTP(w, req)
						if w.code != http.StatusOK {
							return &statusError{w.code}
						}
						return nil
					}
					if err := serve(); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					defer cpuPerOp(b)()
					for b.Loop() {
						if err := serve(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}

	// Fiber v2 and v3 over fasthttp's in-memory listener.
	type fiberApp struct {
		name  string
		serve func(net.Listener) error
		stop  func() error
	}
	f2, f3 := apps.Fiber(v), apps.FiberV3(v)
	fibers := []fiberApp{
		{"fiber-inmemory", f2.Listener, func() error { return f2.ShutdownWithTimeout(5 * time.Second) }},
		{"fiberv3-inmemory", func(ln net.Listener) error { return f3.Listener(ln, apps.ListenConfigV3) },
			func() error { return f3.ShutdownWithTimeout(5 * time.Second) }},
	}
	for _, fb := range fibers {
		b.Run(fb.name, func(b *testing.B) {
			ln := fasthttputil.NewInmemoryListener()
			done := make(chan struct{})
			go func() { defer close(done); _ = fb.serve(ln) }()
			defer func() { _ = fb.stop(); <-done }()
			client := &fasthttp.HostClient{Addr: "api.test", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 4}
			for _, ep := range []string{"bare", "protected"} {
				b.Run(ep, func(b *testing.B) {
					req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
					defer fasthttp.ReleaseRequest(req)
					defer fasthttp.ReleaseResponse(resp)
					req.SetRequestURI("http://api.test/" + ep)
					req.Header.Set("Authorization", "Bearer "+f.token)
					do := func() error {
						resp.Reset()
						if err := client.Do(req, resp); err != nil {
							return err
						}
						if resp.StatusCode() != http.StatusOK {
							return &statusError{resp.StatusCode()}
						}
						return nil
					}
					if err := do(); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if err := do(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// cpuPerOp reports the CPU time the process spends per operation
// (cpu-ns/op, garbage collection included) until the returned function is
// called: on a machine shared with other jobs it is far steadier than
// wall-clock ns/op.
func cpuPerOp(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkMiddlewarePaired measures the same thing as the loopback half
// of BenchmarkMiddleware, but robustly on a busy machine: every iteration
// sends one bare and one protected request over the same keep-alive
// connection (alternating which goes first) and times each, so drift in the
// machine's load hits both alike. It reports the mean round trip of each
// (bare-ns, protected-ns), the overhead of protected over bare
// (overhead-%), and the same from the medians (bare-p50-ns,
// protected-p50-ns, p50-overhead-%), which ignore stalls caused by other
// processes.
func BenchmarkMiddlewarePaired(b *testing.B) {
	f := newFixture(b)
	v := middlewareValidator(b, f)
	for _, fw := range apps.Frameworks {
		b.Run(fw, func(b *testing.B) {
			base, stop, err := apps.Start(fw, v)
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, DisableCompression: true}}
			defer client.CloseIdleConnections()
			reqs := [2]*http.Request{newRequest(b, base+"/bare", f.token), newRequest(b, base+"/protected", f.token)}
			do := func(req *http.Request) (time.Duration, error) {
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					return 0, err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = &statusError{resp.StatusCode}
				}
				return d, err
			}
			for _, r := range reqs {
				if _, err := do(r); err != nil {
					b.Fatal(err)
				}
			}
			var lat [2][]time.Duration
			var sum [2]time.Duration
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				for k := range 2 {
					which := k ^ (i & 1) // bare first on even iterations
					d, err := do(reqs[which])
					if err != nil {
						b.Fatal(err)
					}
					sum[which] += d
					lat[which] = append(lat[which], d)
				}
				i++
			}
			n := float64(len(lat[0]))
			mb, mp := float64(sum[0])/n, float64(sum[1])/n
			b.ReportMetric(mb, "bare-ns")
			b.ReportMetric(mp, "protected-ns")
			b.ReportMetric((mp/mb-1)*100, "overhead-%")
			pb, pp := float64(medianDuration(lat[0])), float64(medianDuration(lat[1]))
			b.ReportMetric(pb, "bare-p50-ns")
			b.ReportMetric(pp, "protected-p50-ns")
			b.ReportMetric((pp/pb-1)*100, "p50-overhead-%")
		})
	}
}

func medianDuration(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

// TestMiddlewareApps checks that every framework's /protected really
// refuses a request without a token and admits the token, over loopback,
// so that the middleware benchmarks measure protection that works.
func TestMiddlewareApps(t *testing.T) {
	f := newFixture(t)
	v := middlewareValidator(t, f)
	for _, fw := range apps.Frameworks {
		t.Run(fw, func(t *testing.T) {
			base, stop, err := apps.Start(fw, v)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			for _, c := range []struct {
				path, token string
				want        int
			}{
				{"/bare", "", 200},
				{"/protected", "", 401},
				{"/protected", f.token, 200},
				{"/protected", f.srv.UserToken("User.Read"), 403},
			} {
				req := newRequest(t, base+c.path, c.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("%s (token %v): status %d, want %d: %s", c.path, c.token != "", resp.StatusCode, c.want, body)
				}
			}
		})
	}
}

func middlewareValidator(tb testing.TB, f *fixture) *entra.Validator {
	tb.Helper()
	v, err := entra.NewValidator(f.cfg) // token cache on: the default
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		tb.Fatal(err)
	}
	return v
}

// newRequest builds a GET with the token as a bearer token ("" for none).
// The bare endpoints get the header too, so both send the same bytes.
func newRequest(tb testing.TB, url, token string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.code) }

// discardWriter is a reusable ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
