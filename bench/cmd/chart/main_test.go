package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkValidate/raw-rsa-2         	   49237	     24000 ns/op	      1348 token-bytes	    1376 B/op	       9 allocs/op
BenchmarkValidate/entraguard-cache-2   	 3645334	        65.11 ns/op	      1348 token-bytes	       0 B/op	       0 allocs/op
BenchmarkValidate/raw-rsa-2         	   49237	     22000 ns/op	      1348 token-bytes	    1376 B/op	       9 allocs/op
BenchmarkValidate/entraguard-cache-2   	 3645334	        70 ns/op	      1348 token-bytes	       0 B/op	       0 allocs/op
BenchmarkValidate/raw-rsa-2         	   49237	     23000 ns/op	      1348 token-bytes	    1376 B/op	       9 allocs/op
BenchmarkMiddleware/gin/bare-2   	   10000	     25123 ns/op
PASS
`

func TestParseTableRender(t *testing.T) {
	res, err := parse(strings.NewReader(sample), "BenchmarkValidate/")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].name != "raw-rsa" || res[1].name != "entraguard-cache" {
		t.Fatalf("parsed %+v", res)
	}
	if m := res[0].median(); m != 23000 {
		t.Errorf("median of raw-rsa = %v, want 23000", m)
	}
	if m := res[1].median(); m != 67.555 {
		t.Errorf("median of entraguard-cache = %v, want 67.555", m)
	}
	var b strings.Builder
	if err := table(&b, res, "raw-rsa"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| raw-rsa | 23,000 | 1,376 | 9 | 1.00 |", "| entraguard-cache | 67.6 | 0 | 0 | 0.0029 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if err := table(&b, res, "nope"); err == nil {
		t.Error("unknown -base accepted")
	}
	svg := render("t <&>", "", "raw-rsa", res)
	if !strings.HasPrefix(svg, "<svg ") || !strings.Contains(svg, "t &lt;&amp;&gt;") || strings.Count(svg, "<rect ") != 3 {
		t.Errorf("unexpected SVG:\n%s", svg)
	}
	if _, err := parse(strings.NewReader("PASS\n"), "BenchmarkValidate/"); err == nil {
		t.Error("no benchmarks: want an error")
	}
}
