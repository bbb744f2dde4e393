package sidecar

import (
	"net/http"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkForwardAuth is one accepted forward-auth decision with the
// examples' rules, in process (cmd/entraguard/internal/sidecar/bench
// measures it over loopback HTTP): go test -run '^$' -bench ForwardAuth -benchmem
func BenchmarkForwardAuth(b *testing.B) {
	srv := entratest.NewServer()
	defer srv.Close()
	p, err := ParsePolicy("rules.yaml", []byte(contractRules))
	if err != nil {
		b.Fatal(err)
	}
	v := newValidatorB(b, srv)
	s := New(v, p, nil)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
	req.Header.Set("Authorization", "Bearer "+srv.UserToken("Orders.Read"))
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", "/api/orders?page=2")
	req.Header.Set("X-Forwarded-Host", "api.example.com")
	w := &discardWriter{h: http.Header{}}
	s.ServeHTTP(w, req)
	if w.h.Get("X-Entra-Scopes") != "Orders.Read" {
		b.Fatalf("not accepted: %v", w.h)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.ServeHTTP(w, req)
	}
}
