package interop_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/entraguard/entraguard/emulator"
)

// lockedBuffer is a bytes.Buffer safe for os/exec's copying goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningURL = regexp.MustCompile(`msg=listening .*\burl=(http://\S+)`)

// startExample runs an example program built from the root module with env
// and returns the URL it logs; it is stopped (SIGTERM) at cleanup.
func startExample(t *testing.T, bin string, env map[string]string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = nodeEnv(nil)
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, "ENTRA_") || strings.HasPrefix(kv, "ADDR=") || strings.HasPrefix(kv, "WEB_") || strings.HasPrefix(kv, "API_") {
			cmd.Env[i] = "IGNORED_" + kv
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	// A generous bound for a loaded machine: a failure, never a measure.
	deadline := time.Now().Add(time.Minute)
	for {
		if m := listeningURL.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", filepath.Base(bin), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log its URL:\n%s", filepath.Base(bin), stderr.String())
		}
	}
}

// TestBrowserWebApp signs a user in to examples/webapp in Chromium, on the
// emulator's sign-in page, calls the API (examples/nethttp) through it and
// signs out: the form_post answer, the web app's cookies and its Content
// Security Policy as a browser applies them.
func TestBrowserWebApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the examples and runs Chromium; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goTool, "build", "-o", dir+string(filepath.Separator), "./examples/webapp", "./examples/nethttp")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	api, web := newID(), newID()
	_, ts := serveEmulator(t, emulator.Config{
		TenantID: emuTenant, ClientID: api, APIScopes: []string{"Orders.Read"},
		Users: []emulator.User{
			{ObjectID: emuAdele, Name: "Adele Vance", UPN: "adele@contoso.example"},
			{ObjectID: nodeBen, Name: "Ben Walters", UPN: "ben@contoso.example"},
		},
		Apps: []emulator.App{{ClientID: web, Name: "Orders web", Secret: emuWebSec, RedirectURIs: []string{"http://127.0.0.1/auth/callback", "http://127.0.0.1/"}}},
	})
	caFile := writePEM(t, dir, "emulator.pem", ts.Certificate())
	apiURL := startExample(t, filepath.Join(dir, "nethttp"), map[string]string{
		"ENTRA_TENANT_ID": emuTenant, "ENTRA_CLIENT_ID": api, "ENTRA_AUTHORITY_HOST": ts.URL + "/", "ENTRA_AUTHORITY_CA_FILE": caFile, "ADDR": "127.0.0.1:0",
	})
	webURL := startExample(t, filepath.Join(dir, "webapp"), map[string]string{
		"ENTRA_TENANT_ID": emuTenant, "ENTRA_AUTHORITY_HOST": ts.URL + "/", "WEB_CLIENT_ID": web, "WEB_CLIENT_SECRET": emuWebSec,
		"API_URL": apiURL, "API_SCOPE": "api://" + api + "/Orders.Read", "EMULATOR_CA_FILE": caFile, "ADDR": "127.0.0.1:0",
	})

	b := chromium(t, ts.Certificate(), true)
	// Sign in: the web app's link, the emulator's page (Ben, by keyboard),
	// its form_post answer back to the web app.
	if err := chromedp.Do(b,
		chromedp.Navigate(webURL+"/"),
		chromedp.WaitReady(chromedp.CSS(`#login`)),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitReady(chromedp.CSS(`button[value="accept"]`)),
		keys(kb.Tab, kb.ArrowDown, kb.Tab, kb.Enter),
		chromedp.WaitReady(chromedp.CSS(`#user`)),
	); err != nil {
		t.Fatalf("signing in: %v\n%s", err, outerHTML(t, b))
	}
	if name, err := chromedp.Run(b, chromedp.TextContent(chromedp.CSS(`#user`))); err != nil || name != "Ben Walters" {
		t.Fatalf("signed in as %q (%v)", name, err)
	}
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`a[href="/me"]`)), chromedp.WaitReady(chromedp.CSS(`#answer`))); err != nil {
		t.Fatalf("calling the API: %v\n%s", err, outerHTML(t, b))
	}
	answer, err := chromedp.Run(b, chromedp.TextContent(chromedp.CSS(`#answer`)))
	if err != nil || !strings.Contains(answer, nodeBen) || !strings.Contains(answer, "Orders.Read") {
		t.Errorf("the API's answer through the web app: %q (%v)", answer, err)
	}
	// Sign out: the form posts to the web app, which redirects to the
	// emulator's logout, which comes back.
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitReady(chromedp.CSS(`#login`))); err != nil {
		t.Fatalf("signing out: %v\n%s", err, outerHTML(t, b))
	}
	loc, err := chromedp.Run(b, chromedp.Location())
	if err != nil || loc != webURL+"/" {
		t.Errorf("after sign-out the browser is at %q (%v), want %s/", loc, err, webURL)
	}
}
