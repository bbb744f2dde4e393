package sidecar

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	entra "github.com/entraguard/entraguard/core"
	entraredis "github.com/entraguard/entraguard/redis"
	"github.com/redis/go-redis/v9"
)

// DefaultAddr is where the sidecar listens without -addr or ADDR: loopback,
// so that only the proxy beside it can ask.
const DefaultAddr = "127.0.0.1:8181"

// Options configure [Run].
type Options struct {
	// Addr is the listen address (host:port).
	Addr string
	// ConfigFile is the rules file; "" for the default policy.
	ConfigFile string
	// Entra configures the validator (entra.ConfigFromEnv on the command line).
	Entra entra.Config
	// ReloadInterval is how often the rules file's modification time and
	// size are checked; 0 disables polling (SIGHUP still reloads).
	ReloadInterval time.Duration
	// MaxHeaderBytes bounds a request's header block (default 32 KiB).
	MaxHeaderBytes int
	// HeaderTimeout bounds the time a client may take to send its request
	// headers (default 5 s); slow clients are disconnected.
	HeaderTimeout time.Duration
	// TLSCert and TLSKey serve HTTPS when both are set.
	TLSCert, TLSKey string
	// Logger receives JSON logs; never a token or a claim.
	Logger *slog.Logger
	// GRPCAddr, if set, serves Envoy's ext_authz (gRPC) there.
	GRPCAddr string
	// Listening, if set, is called with the bound addresses once they
	// serve (grpcAddr is "" without GRPCAddr).
	Listening func(addr, grpcAddr string)
	// Reload, if set, replaces SIGHUP as the reload trigger (tests).
	Reload <-chan struct{}
	// RedisURL, if set, shares revocations with every replica through
	// Redis (redis:// or rediss://, as go-redis' ParseURL reads it): the
	// sidecar mirrors the list entraredis keeps under RedisPrefix, refuses
	// what it holds, and reports not ready while the mirror is not in sync.
	RedisURL string
	// RedisPrefix is the revocation list's key prefix (default
	// entraredis.DefaultPrefix).
	RedisPrefix string
}

// Run serves the sidecar until ctx ends, then shuts down gracefully:
// in-flight requests get up to 10 seconds.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var pol *Policy
	if o.ConfigFile != "" {
		var err error
		if pol, err = LoadPolicy(o.ConfigFile); err != nil {
			return err
		}
	}
	var mirror *entraredis.Mirror
	if o.RedisURL != "" {
		ropt, err := redis.ParseURL(o.RedisURL)
		if err != nil {
			// ParseURL's error may quote the URL, and so its password.
			return errors.New("-redis-url (ENTRA_REVOCATION_REDIS_URL): not a redis:// or rediss:// URL")
		}
		rdb := redis.NewClient(ropt)
		defer rdb.Close()
		if mirror, err = entraredis.New(rdb, entraredis.Options{Prefix: o.RedisPrefix, Logger: log}); err != nil {
			return fmt.Errorf("revocations through Redis: %w", err)
		}
		defer mirror.Close()
		o.Entra.Revocations = mirror
	}
	v, err := entra.NewValidator(o.Entra)
	if err != nil {
		return err
	}
	defer v.Close()
	s := New(v, pol, log)
	if mirror != nil {
		s.revocationsReady = mirrorReady(mirror)
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set -addr or ADDR)", o.Addr, err)
	}
	maxHeader := o.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = 32 << 10
	}
	headerTimeout := o.HeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = 5 * time.Second
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := make(chan struct{})
	defer close(stop)
	if o.ConfigFile != "" {
		rl := newReloader(o.ConfigFile, s, log)
		trigger := o.Reload
		if trigger == nil {
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			c := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-hup:
						select {
						case c <- struct{}{}:
						case <-stop:
							return
						}
					case <-stop:
						return
					}
				}
			}()
			trigger = c
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rl.loop(stop, trigger, o.ReloadInterval)
		}()
	}

	errc := make(chan error, 2)
	grpcAddr := ""
	if o.GRPCAddr != "" {
		gln, err := net.Listen("tcp", o.GRPCAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on %s: %w (set -grpc-addr)", o.GRPCAddr, err)
		}
		grpcAddr = gln.Addr().String()
		g := grpc.NewServer(grpc.MaxRecvMsgSize(maxHeader+64<<10), grpc.ConnectionTimeout(headerTimeout))
		NewExtAuthz(s).Register(g)
		go func() {
			if err := g.Serve(gln); err != nil {
				errc <- fmt.Errorf("ext_authz: %w", err)
			}
		}()
		defer g.GracefulStop()
	}
	go func() {
		if o.TLSCert != "" || o.TLSKey != "" {
			errc <- srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	rules := "default policy (any valid token carrying scp or roles)"
	if pol != nil {
		rules = fmt.Sprintf("%d rules from %s", len(pol.rules), o.ConfigFile)
	}
	log.Info("entraguard sidecar: serving", "addr", ln.Addr().String(), "ext_authz", grpcAddr, "rules", rules, "tls", o.TLSCert != "")
	if o.Listening != nil {
		o.Listening(ln.Addr().String(), grpcAddr)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("entraguard sidecar: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// reloader reloads the rules file when it changes or is asked to; an
// invalid new file keeps the rules in force and logs why.
type reloader struct {
	file    string
	s       *Server
	log     *slog.Logger
	mtime   time.Time
	size    int64
	missing bool // the last stat failed
}

func newReloader(file string, s *Server, log *slog.Logger) *reloader {
	r := &reloader{file: file, s: s, log: log}
	if fi, err := os.Stat(file); err == nil {
		r.mtime, r.size = fi.ModTime(), fi.Size()
	}
	return r
}

func (r *reloader) loop(stop <-chan struct{}, trigger <-chan struct{}, every time.Duration) {
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-stop:
			return
		case <-trigger:
			r.reload(true)
		case <-tick:
			r.reload(false)
		}
	}
}

// reload loads the file if forced or if its modification time or size
// changed, and reports whether new rules are in force.
func (r *reloader) reload(force bool) bool {
	fi, err := os.Stat(r.file)
	if err != nil {
		// Logged once per outage, not on every poll.
		if !r.missing || force {
			r.log.Error("entraguard sidecar: rules file unreadable; the rules in force stay", "file", r.file, "error", err.Error())
		}
		r.missing = true
		return false
	}
	r.missing = false
	if !force && fi.ModTime().Equal(r.mtime) && fi.Size() == r.size {
		return false
	}
	r.mtime, r.size = fi.ModTime(), fi.Size()
	p, err := LoadPolicy(r.file)
	if err != nil {
		r.log.Error("entraguard sidecar: the new rules file is invalid; the rules in force stay", "file", r.file, "error", err.Error())
		return false
	}
	r.s.SetPolicy(p)
	r.log.Info("entraguard sidecar: rules reloaded", "file", r.file, "rules", len(p.rules))
	return true
}

const usage = `Usage: entraguard sidecar [flags]
       entraguard sidecar check FILE

Serves the library's decisions to proxies and services in any language:
forward-auth (nginx auth_request, Traefik forwardAuth, Caddy forward_auth)
on every path but /healthz, /readyz, /introspect (RFC 7662),
/api/v1/introspect (NAIS) and /Validate (Microsoft's auth sidecar).
Configured like the examples: ENTRA_TENANT_ID, ENTRA_CLIENT_ID,
ENTRA_AUDIENCES, ENTRA_ALLOWED_TENANTS, ENTRA_AUTHORITY_HOST,
ENTRA_AUTHORITY_CA_FILE, ADDR;
OTEL_EXPORTER_OTLP_ENDPOINT exports metrics (OTLP/HTTP). See docs/sidecar.md.

Flags:
`

// Main is `entraguard sidecar ARGS`: it returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "check" {
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: entraguard sidecar check FILE")
			return 2
		}
		p, err := LoadPolicy(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: OK: %d rules; identity headers %s\n", args[1], len(p.rules), strings.Join(p.HeaderNames(), ", "))
		return 0
	}
	fs := flag.NewFlagSet("entraguard sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	addr := getenv("ADDR")
	if addr == "" {
		addr = DefaultAddr
	}
	o := Options{}
	fs.StringVar(&o.Addr, "addr", addr, "listen `address` (env ADDR); keep it on loopback or a private network")
	fs.StringVar(&o.GRPCAddr, "grpc-addr", "", "also serve Envoy ext_authz (gRPC) on this `address`, e.g. 127.0.0.1:9191")
	fs.StringVar(&o.ConfigFile, "config", "", "rules `file` (YAML, see docs/sidecar.md); without it every request needs a valid token with scp or roles")
	fs.DurationVar(&o.ReloadInterval, "reload-interval", 2*time.Second, "how often to check the rules file for changes (0: only on SIGHUP)")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", 32<<10, "largest request header block accepted, in bytes")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "serve HTTPS with this certificate `file` (PEM)")
	fs.StringVar(&o.TLSKey, "tls-key", "", "the private key `file` of -tls-cert (PEM)")
	fs.StringVar(&o.RedisURL, "redis-url", getenv("ENTRA_REVOCATION_REDIS_URL"), "share revocations through Redis at this `URL` (redis:// or rediss://; env ENTRA_REVOCATION_REDIS_URL); see docs/revocation.md")
	fs.StringVar(&o.RedisPrefix, "redis-prefix", getenv("ENTRA_REVOCATION_REDIS_PREFIX"), "the revocation list's key `prefix` in Redis (env ENTRA_REVOCATION_REDIS_PREFIX; default "+entraredis.DefaultPrefix+")")
	level := fs.String("log-level", "info", "log level: debug (one line per decision), info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "entraguard sidecar: unexpected argument %q (did you mean \"check FILE\"?)\n", fs.Arg(0))
		return 2
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		fmt.Fprintln(stderr, "entraguard sidecar: -tls-cert and -tls-key go together")
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "entraguard sidecar: -log-level %q: use debug, info, warn or error\n", *level)
		return 2
	}
	o.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lv}))
	o.Entra = entra.ConfigFromEnv()
	o.Entra.Logger = o.Logger
	obs, shutdown, err := otelObserver(ctx, getenv, o.Logger)
	if err != nil {
		o.Logger.Error("entraguard sidecar: stopped", "error", err.Error())
		return 1
	}
	if obs != nil {
		o.Entra.Observer = obs
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(sctx); err != nil {
				o.Logger.Warn("entraguard sidecar: flushing metrics", "error", err.Error())
			}
		}()
	}
	if err := Run(ctx, o); err != nil {
		o.Logger.Error("entraguard sidecar: stopped", "error", err.Error())
		return 1
	}
	return 0
}

// mirrorReady reports, without waiting, whether the mirror is in sync with
// Redis: Ready with an expired context answers at once, as a probe reads it.
func mirrorReady(m *entraredis.Mirror) func() error {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	return func() error { return m.Ready(done) }
}
