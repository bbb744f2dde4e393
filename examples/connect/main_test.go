package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExample serves the example on a loopback TCP port against a fake
// authority and calls it in the three protocols, gRPC over cleartext HTTP/2.
func TestExample(t *testing.T) {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, v, ln) }()
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	defer func() {
		h2c.CloseIdleConnections()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	url := "http://" + ln.Addr().String()

	resp, err := h2c.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}

	for _, p := range []struct {
		name string
		opts []connect.ClientOption
	}{{"connect", nil}, {"grpc", []connect.ClientOption{connect.WithGRPC()}}, {"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}}} {
		t.Run(p.name, func(t *testing.T) {
			me := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2c, url+procMe, p.opts...)
			del := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2c, url+procDelete, p.opts...)
			count := connect.NewClient[wrapperspb.StringValue, wrapperspb.Int32Value](h2c, url+procCount, p.opts...)
			call := func(c *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue], token string) (string, error) {
				req := connect.NewRequest(wrapperspb.String(""))
				if token != "" {
					req.Header().Set("Authorization", "Bearer "+token)
				}
				r, err := c.CallUnary(t.Context(), req)
				if err != nil {
					return "", err
				}
				return r.Msg.Value, nil
			}
			if u, err := call(me, authority.UserToken("Profile")); err != nil || u != authority.UserPrincipalName {
				t.Errorf("Me: %q %v", u, err)
			}
			_, err := call(me, "")
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated || !strings.Contains(ce.Message(), "no bearer token") || !strings.HasPrefix(ce.Meta().Get("Www-Authenticate"), "Bearer ") {
				t.Errorf("Me without a token: %v", err)
			}
			if _, err := call(del, authority.UserToken("Orders.Write")); connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Errorf("Delete: %v", err)
			}
			s := count.CallClientStream(t.Context())
			s.RequestHeader().Set("Authorization", "Bearer "+authority.UserToken("Orders.Write"))
			for range 3 {
				if err := s.Send(wrapperspb.String("x")); err != nil {
					t.Fatal(err)
				}
			}
			if r, err := s.CloseAndReceive(); err != nil || r.Msg.Value != 3 {
				t.Errorf("Count: %v %v", r, err)
			}
		})
	}
}

func TestPrintDemo(t *testing.T) {
	authority := entratest.NewServer()
	defer authority.Close()
	var b bytes.Buffer
	printDemo(&b, authority, "http://127.0.0.1:9999")
	if n := strings.Count(b.String(), "curl -i"); n != 3 || !strings.Contains(b.String(), "http://127.0.0.1:9999"+procMe) {
		t.Errorf("demo output:\n%s", b.String())
	}
}
