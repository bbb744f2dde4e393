package main

import "testing"

func TestLoopbackURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://[::1]:80", "http://localhost:1"} {
		if _, err := loopbackURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:80", "http://example.com", "https://127.0.0.1:443", "http://127.0.0.1.nip.io", "ftp://127.0.0.1"} {
		if _, err := loopbackURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
}
