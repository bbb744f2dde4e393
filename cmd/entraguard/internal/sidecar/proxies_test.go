package sidecar

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

var lookPath = exec.LookPath

// proxy starts a reverse proxy on loopback in front of upstreamURL that
// asks the sidecar at sidecarAddr about each request, and returns its base URL.
type proxy struct {
	name  string
	start func(t *testing.T, sidecarAddr, upstreamURL string, identity []string) string
}

var proxies = []proxy{
	{"nginx", startNginx},
	{"caddy", startCaddy},
	{"forwardauth", startGoForwardAuth},
}

// nginxConf is the configuration docs/sidecar.md shows, with paths in a
// temporary directory so that it runs without root.
var nginxConf = template.Must(template.New("nginx").Funcs(template.FuncMap{
	"var": func(h string) string { return "entra_" + strings.ReplaceAll(strings.ToLower(h), "-", "_") },
	"up":  func(h string) string { return "upstream_http_" + strings.ReplaceAll(strings.ToLower(h), "-", "_") },
}).Parse(`daemon off;
master_process off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    large_client_header_buffers 4 16k;

    upstream entraguard {
        server {{.Sidecar}};
        keepalive 16;
    }

    server {
        listen {{.Listen}};

        # BEGIN entraguard (docs/sidecar.md)
        location = /_entraguard/auth {
            internal;
            proxy_pass http://entraguard/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Entraguard-Nginx auth;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Original-Method "";
            proxy_set_header X-Original-URI "";
            proxy_set_header X-Original-URL "";
        }
        # nginx itself refuses a request with two Authorization headers
        # (400); the sidecar gives it the library's answer.
        error_page 400 = @entraguard_bad_request;
        location @entraguard_bad_request {
            rewrite ^ / break;
            proxy_pass http://entraguard;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Entraguard-Nginx bad-request;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Original-Method "";
            proxy_set_header X-Original-URI "";
            proxy_set_header X-Original-URL "";
        }
        location @entraguard_refusal {
            rewrite ^ / break;
            proxy_pass http://entraguard;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Entraguard-Nginx refusal;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Original-Method "";
            proxy_set_header X-Original-URI "";
            proxy_set_header X-Original-URL "";
        }
        # END entraguard

        location / {
            auth_request /_entraguard/auth;
            error_page 401 = @entraguard_refusal;
{{- range .Identity}}
            auth_request_set ${{var .}} ${{up .}};
            proxy_set_header {{.}} ${{var .}};
{{- end}}
            proxy_pass {{.Upstream}};
        }
    }
}
`))

func startNginx(t *testing.T, sidecarAddr, upstreamURL string, identity []string) string {
	t.Helper()
	bin := needBinary(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	listen := freePort(t)
	var conf bytes.Buffer
	if err := nginxConf.Execute(&conf, map[string]any{"Dir": dir, "Sidecar": sidecarAddr, "Listen": listen, "Upstream": upstreamURL, "Identity": identity}); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	runProxy(t, "nginx", dir, listen, exec.Command(bin, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log")))
	return "http://" + listen
}

var caddyfile = template.Must(template.New("caddy").Parse(`{
	admin off
	auto_https off
	storage file_system {{.Dir}}/data
}

http://:{{.Port}} {
	bind 127.0.0.1
	# BEGIN entraguard (docs/sidecar.md)
	route {
		request_header -X-Entra-*
		forward_auth {{.Sidecar}} {
			uri /
			copy_headers{{range .Identity}} {{.}}{{end}}
		}
		reverse_proxy {{.Upstream}}
	}
	# END entraguard
}
`))

func startCaddy(t *testing.T, sidecarAddr, upstreamURL string, identity []string) string {
	t.Helper()
	bin := needBinary(t, "caddy", "/usr/bin/caddy")
	dir := t.TempDir()
	listen := freePort(t)
	var conf bytes.Buffer
	if err := caddyfile.Execute(&conf, map[string]any{"Dir": dir, "Sidecar": sidecarAddr, "Port": listen[strings.LastIndexByte(listen, ':')+1:], "Upstream": strings.TrimPrefix(upstreamURL, "http://"), "Identity": identity}); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confFile, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", confFile, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	runProxy(t, "caddy", dir, listen, cmd)
	return "http://" + listen
}

// runProxy starts cmd, waits until it listens on listen, and stops it
// (SIGTERM, then SIGKILL) when the test ends. Its output goes to a file in
// dir, shown when the test fails.
func runProxy(t *testing.T, name, dir, listen string, cmd *exec.Cmd) {
	t.Helper()
	logFile, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logFile.Close()
		if t.Failed() {
			for _, f := range []string{name + ".out", "error.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil && len(b) > 0 {
					t.Logf("%s %s:\n%s", name, f, b)
				}
			}
		}
	})
	waitListening(t, listen, exited)
}

// startGoForwardAuth is a forward-auth proxy written the way Traefik's
// forwardAuth middleware works: it asks the sidecar with the client's
// headers plus X-Forwarded-Method/-Uri/-Host, answers the sidecar's
// refusal as it is, and on 2xx copies the identity headers (replacing the
// client's) to the request it proxies.
func startGoForwardAuth(t *testing.T, sidecarAddr, upstreamURL string, identity []string) string {
	t.Helper()
	target, _ := url.Parse(upstreamURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	client := &http.Client{Timeout: 30 * time.Second}
	srv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ask, _ := http.NewRequest(http.MethodGet, "http://"+sidecarAddr+"/", nil)
		for k, v := range r.Header {
			ask.Header[k] = v
		}
		ask.Header.Set("X-Forwarded-Method", r.Method)
		ask.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
		ask.Header.Set("X-Forwarded-Host", r.Host)
		resp, err := client.Do(ask)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			return
		}
		for _, h := range identity {
			r.Header.Del(h)
			if v := resp.Header.Values(h); len(v) > 0 {
				r.Header[http.CanonicalHeaderKey(h)] = v
			}
		}
		rp.ServeHTTP(w, r)
	}))
	return srv
}

func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return fmt.Sprintf("http://%s", ln.Addr())
}
