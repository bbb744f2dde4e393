package entraguard_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// examples are the example programs, which must all serve the same contract.
var examples = []string{"nethttp", "gin", "echo", "echov5", "fiber", "fiberv3"}

// clients are the example programs that call the API with MSAL Go; demo
// mode prints how to run them.
var clients = []string{"client", "obo"}

// Bounds of the waits on a program.
const (
	startTimeout = 30 * time.Second // until it logs its URL and answers /healthz
	stopTimeout  = 10 * time.Second // from SIGTERM to its exit
)

// TestExamples builds every example program and runs it as a separate
// process: against the fake authority with the shared HTTP conformance
// suite, so that the programs cannot drift apart, and in demo mode, where
// the requests it prints must get the answers it promises.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example programs; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the programs with SIGTERM")
	}
	bins := buildExamples(t)

	t.Run("conformance", func(t *testing.T) {
		for _, name := range examples {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
					p := startProgram(t, bins[name], map[string]string{
						"ENTRA_TENANT_ID":      srv.TenantID,
						"ENTRA_CLIENT_ID":      srv.ClientID,
						"ENTRA_AUTHORITY_HOST": srv.URL + "/",
						"ADDR":                 "127.0.0.1:0",
					})
					return p.url
				})
			})
		}
	})

	t.Run("demo mode", func(t *testing.T) {
		for _, name := range examples {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testDemo(t, bins[name], bins)
			})
		}
	})

	t.Run("MSAL examples without settings", func(t *testing.T) {
		for _, name := range clients {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				p := runProgram(t, bins[name], map[string]string{"AZURE_CLIENT_ID": "x", "ADDR": "127.0.0.1:0"})
				select {
				case <-p.done:
				case <-time.After(startTimeout):
					t.Fatalf("still running without AZURE_TENANT_ID, API_URL and API_SCOPE")
				}
				if code := p.cmd.ProcessState.ExitCode(); code != 1 {
					t.Errorf("exit code %d, want 1", code)
				}
				for _, v := range []string{"AZURE_TENANT_ID", "API_URL", "API_SCOPE", "make run"} {
					if !strings.Contains(p.stderr.String(), v) {
						t.Errorf("the error does not name %s:\n%s", v, p.stderr.String())
					}
				}
			})
		}
	})

	// A user in 150 groups has a token of about 8 KB, over the 4 KB that
	// Fiber reads by default: every program must still serve it.
	t.Run("large token", func(t *testing.T) {
		for _, name := range examples {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := entratest.NewServer()
				t.Cleanup(srv.Close)
				p := startProgram(t, bins[name], map[string]string{
					"ENTRA_TENANT_ID":      srv.TenantID,
					"ENTRA_CLIENT_ID":      srv.ClientID,
					"ENTRA_AUTHORITY_HOST": srv.URL + "/",
					"ADDR":                 "127.0.0.1:0",
				})
				groups := make([]string, 150)
				for i := range groups {
					groups[i] = fmt.Sprintf("%08x-1111-2222-3333-%012x", i, i)
				}
				tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Groups: groups})
				if len(tok) < 7500 {
					t.Fatalf("a 150-group token of %d bytes; want about 8 KB", len(tok))
				}
				if code, body := call(t, newClient(t), "GET", p.url+"/api/orders", tok, nil); code != http.StatusOK {
					t.Errorf("a 150-group token: %d %.200s, want 200", code, body)
				}
			})
		}
	})

	// A multi-tenant program accepts the tenants ENTRA_ALLOWED_TENANTS
	// lists, or any tenant with "*"; without it, it refuses to start (see
	// "configuration error").
	t.Run("multi-tenant", func(t *testing.T) {
		const listed, other = "6babcaad-604b-40ac-a9d7-9fd97c0b779f", "9e3a1f50-1c8b-4b5f-9f3c-2a7d4c1e8b90"
		for _, name := range examples {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := entratest.NewServer()
				t.Cleanup(srv.Close)
				for _, tc := range []struct {
					allowed string
					want    map[string]int // tenant: status of GET /api/me
				}{
					{"*", map[string]int{listed: http.StatusOK, other: http.StatusOK}},
					{listed, map[string]int{listed: http.StatusOK, other: http.StatusUnauthorized}},
				} {
					p := startProgram(t, bins[name], map[string]string{
						"ENTRA_TENANT_ID":       "organizations",
						"ENTRA_CLIENT_ID":       srv.ClientID,
						"ENTRA_ALLOWED_TENANTS": tc.allowed,
						"ENTRA_AUTHORITY_HOST":  srv.URL + "/",
						"ADDR":                  "127.0.0.1:0",
					})
					for tid, want := range tc.want {
						tok := srv.Mint(entratest.Token{TenantID: tid, Scopes: []string{"Orders.Read"}})
						if code, body := call(t, newClient(t), "GET", p.url+"/api/me", tok, nil); code != want {
							t.Errorf("ENTRA_ALLOWED_TENANTS=%s, a token of tenant %s: %d %.200s, want %d", tc.allowed, tid, code, body, want)
						}
					}
				}
			})
		}
	})

	t.Run("configuration error", func(t *testing.T) {
		cases := []struct {
			name string
			env  map[string]string
			want []string
		}{
			// AZURE_TENANT_ID is read as a fallback: no demo mode, but the
			// missing client ID is named by entraguard's own variable.
			{"no client ID", map[string]string{"AZURE_TENANT_ID": "organizations"}, []string{"ENTRA_CLIENT_ID"}},
			// A multi-tenant API must say which tenants it accepts.
			{"multi-tenant without ENTRA_ALLOWED_TENANTS", map[string]string{
				"ENTRA_TENANT_ID": "organizations",
				"ENTRA_CLIENT_ID": "33333333-3333-4333-8333-333333333333",
			}, []string{"AllowedTenants", "ENTRA_ALLOWED_TENANTS=*"}},
			// A tenant ID that cannot be right is refused before any fetch.
			{"tenant ID in braces", map[string]string{
				"ENTRA_TENANT_ID": "{6babcaad-604b-40ac-a9d7-9fd97c0b779f}",
				"ENTRA_CLIENT_ID": "33333333-3333-4333-8333-333333333333",
			}, []string{"Config.TenantID", "in braces"}},
			// In an AKS pod with workload identity the AZURE_ names are the
			// pod's own identity: refused, naming what to set.
			{"workload identity", map[string]string{
				"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
				"AZURE_TENANT_ID":            "6babcaad-604b-40ac-a9d7-9fd97c0b779f",
				"AZURE_CLIENT_ID":            "33333333-3333-4333-8333-333333333333",
			}, []string{"ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "workload identity"}},
		}
		for _, name := range examples {
			for _, tc := range cases {
				t.Run(name+"/"+tc.name, func(t *testing.T) {
					t.Parallel()
					env := map[string]string{"ADDR": "127.0.0.1:0"}
					for k, v := range tc.env {
						env[k] = v
					}
					p := runProgram(t, bins[name], env)
					select {
					case <-p.done:
					case <-time.After(startTimeout):
						t.Fatalf("still running with a wrong configuration")
					}
					if code := p.cmd.ProcessState.ExitCode(); code != 1 {
						t.Errorf("exit code %d, want 1", code)
					}
					for _, w := range tc.want {
						if !strings.Contains(p.stderr.String(), w) {
							t.Errorf("the error does not name %s:\n%s", w, p.stderr.String())
						}
					}
				})
			}
		}
	})
}

// buildExamples builds example programs (those named, else every API
// example and client) into a temporary directory and returns their paths
// by name.
func buildExamples(t *testing.T, names ...string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	if len(names) == 0 {
		names = append(slices.Clone(examples), clients...)
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, name := range names {
		args = append(args, "./examples/"+name)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	bins := map[string]string{}
	for _, name := range names {
		bins[name] = filepath.Join(dir, name)
	}
	return bins
}

// program is a running example program.
type program struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed when it has exited
	err            error         // of Wait, once done
	url            string        // its base URL, once it listens
}

// syncBuffer is a bytes.Buffer safe for the copying goroutines of os/exec.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runProgram starts bin with env on top of this process's environment
// without its AZURE_*, ENTRA_* and ADDR variables. At cleanup it stops the
// program with SIGTERM and checks that it exits cleanly.
func runProgram(t *testing.T, bin string, env map[string]string) *program {
	t.Helper()
	p := &program{cmd: exec.Command(bin), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURE_") && !strings.HasPrefix(kv, "ENTRA_") && !strings.HasPrefix(kv, "ADDR=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return // it exited on its own; the test checks how
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("%s did not exit cleanly on SIGTERM: %v\nstderr:\n%s", filepath.Base(bin), p.err, p.stderr.String())
			}
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s did not stop within %v of SIGTERM; killed\nstderr:\n%s", filepath.Base(bin), stopTimeout, p.stderr.String())
		}
	})
	return p
}

var listeningLine = regexp.MustCompile(`msg=listening .*\burl=(http://\S+)`)

// startProgram runs bin and waits until it logs the URL it listens on and
// answers GET /healthz with 200 {"status":"ok"}.
func startProgram(t *testing.T, bin string, env map[string]string) *program {
	t.Helper()
	p := runProgram(t, bin, env)
	deadline := time.Now().Add(startTimeout)
	for p.url == "" {
		if m := listeningLine.FindStringSubmatch(p.stderr.String()); m != nil {
			p.url = m[1]
			break
		}
		wait(t, p, deadline, "to log its URL")
	}
	client := newClient(t)
	for {
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var h struct{ Status string }
				if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" {
					t.Fatalf("/healthz answered %s", body)
				}
				return p
			}
		}
		wait(t, p, deadline, "to answer /healthz")
	}
}

// wait pauses briefly, failing t if p has exited or the deadline passed.
func wait(t *testing.T, p *program, deadline time.Time, what string) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited (%v) before it started\nstderr:\n%s", filepath.Base(p.cmd.Path), p.err, p.stderr.String())
	case <-time.After(20 * time.Millisecond):
	}
	if time.Now().After(deadline) {
		t.Fatalf("%s: waited %v %s\nstderr:\n%s", filepath.Base(p.cmd.Path), startTimeout, what, p.stderr.String())
	}
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// The lines demo mode prints.
var (
	sampleLine  = regexp.MustCompile(`^curl -i (?:-H "Authorization: Bearer ([^"$]+)" )?(http://\S+)$`)
	statusNote  = regexp.MustCompile(`: (\d{3})\b`)
	tokenLine   = regexp.MustCompile(`^TOKEN=\$\(curl -s --cacert (\S+) (https://\S+) ((?:-d \S+ ?)+) \| (sed .*)\)$`)
	runLine     = regexp.MustCompile(`^env ((?:[A-Z_]+=\S+ )+)go run \./examples/(client|obo)$`)
	userToken   = regexp.MustCompile(`^USER_TOKEN=(\S+)$`)
	webCall     = regexp.MustCompile(`^curl -i -H "Authorization: Bearer \$USER_TOKEN" http://127\.0\.0\.1:8081(/\S+)$`)
	formParam   = regexp.MustCompile(`-d (\S+)`)
	callLine    = regexp.MustCompile(`^curl -i -H "Authorization: Bearer \$TOKEN" (http://\S+)$`)
	sedExtract  = `sed -E 's/.*"access_token":"([^"]+)".*/\1/'`
	sedEquivRE  = regexp.MustCompile(`.*"access_token":"([^"]+)".*`)
	demoBanners = []string{"DEMO MODE", "LOCAL ENTRA ID EMULATOR", "NOT Microsoft Entra ID"}
)

// testDemo starts bin in demo mode and sends the requests it prints, as
// printed: each sample token must get the status its comment promises,
// both client credentials flows must get a token the API accepts, and the
// MSAL examples (bins["client"], bins["obo"]) run as printed must call it.
func testDemo(t *testing.T, bin string, bins map[string]string) {
	p := startProgram(t, bin, map[string]string{"ADDR": "127.0.0.1:0"})
	deadline := time.Now().Add(startTimeout)
	for !strings.Contains(p.stdout.String(), "Press Ctrl+C to stop.") {
		wait(t, p, deadline, "to print the demo")
	}
	out := p.stdout.String()
	for _, b := range demoBanners {
		if !strings.Contains(out, b) {
			t.Errorf("the demo does not say %q", b)
		}
	}
	client := newClient(t)

	var samples, flows, runs int
	var note string // the last comment line
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "#"):
			note = line
		case sampleLine.MatchString(line):
			m := sampleLine.FindStringSubmatch(line)
			want := statusNote.FindStringSubmatch(note)
			if want == nil {
				t.Fatalf("no status promised before %q (comment %q)", line[:40], note)
			}
			if !strings.HasPrefix(m[2], p.url+"/api/") {
				t.Errorf("the demo calls %s, not the API at %s", m[2], p.url)
			}
			code, body := call(t, client, "GET", m[2], m[1], nil)
			if strconv.Itoa(code) != want[1] {
				t.Errorf("%q: status %d, the demo promises %s: %s", note, code, want[1], body)
			}
			if samples == 0 && (code != http.StatusOK || !bytes.Contains(body, []byte(`"orders"`))) {
				t.Errorf("the first sample request: %d %s, want 200 with the orders", code, body)
			}
			samples++
		case tokenLine.MatchString(line):
			m := tokenLine.FindStringSubmatch(line)
			if m[4] != sedExtract {
				t.Errorf("the token is extracted with %q", m[4])
			}
			form := url.Values{}
			for _, d := range formParam.FindAllStringSubmatch(m[3], -1) {
				k, v, _ := strings.Cut(d[1], "=")
				form.Add(k, v)
			}
			resp, err := trustingClient(t, m[1]).PostForm(m[2], form)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("token endpoint (%s): %d %s", flow(form), resp.StatusCode, answer)
			}
			tm := sedEquivRE.FindSubmatch(bytes.TrimSpace(answer))
			if tm == nil {
				t.Fatalf("the printed sed finds no access_token in %s", answer)
			}
			if i+1 >= len(lines) || !callLine.MatchString(lines[i+1]) {
				t.Fatalf("no call with $TOKEN after %q", line[:40])
			}
			apiURL := callLine.FindStringSubmatch(lines[i+1])[1]
			if code, body := call(t, client, "GET", apiURL, string(tm[1]), nil); code != http.StatusOK {
				t.Errorf("the API refuses the token from the endpoint (%s): %d %s", flow(form), code, body)
			}
			flows++
		case runLine.MatchString(line):
			m := runLine.FindStringSubmatch(line)
			env := map[string]string{}
			for _, kv := range strings.Fields(m[1]) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			if !strings.HasPrefix(env["API_URL"], p.url) {
				t.Errorf("examples/%s is told to call %s, not the API at %s", m[2], env["API_URL"], p.url)
			}
			if m[2] == "client" {
				testClientExample(t, bins["client"], env)
			} else {
				testOBOExample(t, bins["obo"], env, lines[i+1:])
			}
			runs++
		}
	}
	if samples != 6 || flows != 2 || runs != 2 {
		t.Errorf("found %d sample requests, %d client credentials flows and %d MSAL examples, want 6, 2 and 2:\n%s", samples, flows, runs, out)
	}
}

// testClientExample runs examples/client with the environment demo mode
// printed: it must call the API with both credentials and exit 0.
func testClientExample(t *testing.T, bin string, env map[string]string) {
	t.Helper()
	p := runProgram(t, bin, env)
	select {
	case <-p.done:
	case <-time.After(startTimeout):
		t.Fatalf("examples/client still runs after %v\nstderr:\n%s", startTimeout, p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("examples/client: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout.String(), p.stderr.String())
	}
	for _, cred := range []string{"client secret", "certificate"} {
		if !regexp.MustCompile(`(?m)^` + cred + `: token expires \S+; GET /api/orders: 200 \{"orders"`).MatchString(p.stdout.String()) {
			t.Errorf("examples/client did not call the API with its %s:\n%s", cred, p.stdout.String())
		}
	}
}

// testOBOExample runs examples/obo with the environment demo mode printed
// (on a free port instead of 8081) and sends it the printed request with
// the printed user token, twice: the web tier must call the API on behalf
// of the user, then reuse the cached token.
func testOBOExample(t *testing.T, bin string, env map[string]string, rest []string) {
	t.Helper()
	if env["ADDR"] != "127.0.0.1:8081" {
		t.Errorf("examples/obo is told to listen on %q, not the 127.0.0.1:8081 the curl line calls", env["ADDR"])
	}
	env["ADDR"] = "127.0.0.1:0"
	web := startProgram(t, bin, env)
	var token, path string
	for _, l := range rest {
		if m := userToken.FindStringSubmatch(l); m != nil && token == "" {
			token = m[1]
		}
		if m := webCall.FindStringSubmatch(l); m != nil && path == "" {
			path = m[1]
		}
	}
	if token == "" || path == "" {
		t.Fatal("demo mode prints no USER_TOKEN and call for examples/obo")
	}
	client := newClient(t)
	for i, want := range []string{"identity_provider", "cache"} {
		req, _ := http.NewRequest(http.MethodGet, web.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"api_status":200`)) || !bytes.Contains(body, []byte(`"orders"`)) {
			t.Fatalf("examples/obo, request %d: %d %s\nstderr:\n%s", i+1, resp.StatusCode, body, web.stderr.String())
		}
		if got := resp.Header.Get("X-Token-Source"); got != want {
			t.Errorf("examples/obo, request %d: the API token came from %q, want %q", i+1, got, want)
		}
	}
	if code, _ := call(t, client, "GET", web.url+path, "", nil); code != http.StatusUnauthorized {
		t.Errorf("examples/obo without a token: %d, want 401", code)
	}
}

// trustingClient is a client that trusts the PEM certificate in caFile.
func trustingClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("the demo's --cacert file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no PEM certificate", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// call sends a request with an optional bearer token.
func call(t *testing.T, client *http.Client, method, u, token string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// flow names a client credentials flow without its credential.
func flow(form url.Values) string {
	if form.Has("client_assertion") {
		return "client assertion"
	}
	return "client secret"
}
