package entraguard_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// `make run` stopped as a user stops it — Ctrl-C in the terminal (SIGINT to
// the whole foreground process group) or `kill` of make (SIGTERM to make
// alone) — stops the example too, instead of leaving it serving.
func TestMakeRunStopsWithMake(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Gin example through make; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("uses process groups and signals")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	tests := []struct {
		name string
		stop func(pid int) error
	}{
		{"Ctrl-C", func(pid int) error { return syscall.Kill(-pid, syscall.SIGINT) }},
		{"kill make", func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			cmd := exec.Command("make", "--no-print-directory", "run")
			cmd.Env = append(os.Environ(), "ADDR="+addr, "ENTRA_TENANT_ID=", "AZURE_TENANT_ID=")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's job
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() {
				_ = cmd.Wait()
				close(exited)
			}()
			t.Cleanup(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			})

			// Building can take minutes on a busy machine; wait for the event.
			deadline := time.Now().Add(5 * time.Minute)
			for !answers(addr) {
				select {
				case <-exited:
					t.Fatalf("make run exited before serving:\n%s", out.String())
				case <-time.After(200 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("the example never answered on %s:\n%s", addr, out.String())
				}
			}

			if err := tc.stop(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(time.Minute):
				t.Fatalf("make did not exit after the signal:\n%s", out.String())
			}
			// The program gets its signal and shuts down gracefully; wait
			// for the port to close rather than assuming when it does.
			deadline = time.Now().Add(time.Minute)
			for answers(addr) {
				if time.Now().After(deadline) {
					t.Fatalf("the example still serves on %s after make stopped:\n%s", addr, out.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// answers reports whether GET /healthz at addr answers 200.
func answers(addr string) bool {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}
