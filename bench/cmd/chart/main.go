// Command chart reads `go test -bench` output and writes a horizontal bar
// chart of ns/op per benchmark as a self-contained SVG (no dependencies).
//
//	go test -run '^$' -bench BenchmarkValidate -count 10 . > bench.txt
//	go run ./cmd/chart -in bench.txt -out ../docs/performance.svg
//
// With -count > 1 (or several runs appended to one file) every benchmark's
// bar is the median of its runs; the label shows the median and the spread
// (min–max) of the runs. With -md it also prints a Markdown table of the
// medians (ns/op, B/op, allocs/op) and each one's ratio to -base.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "-", "go test -bench output to read (- for stdin)")
	out := flag.String("out", "-", "SVG file to write (- for stdout)")
	prefix := flag.String("prefix", "BenchmarkValidate/", "chart only benchmarks whose name starts with this; it is cut from the labels")
	title := flag.String("title", "Validating one Entra access token (RS256, cached key): ns/op, lower is better", "chart title")
	note := flag.String("note", "", "a second line under the title (machine, Go version...)")
	md := flag.Bool("md", false, "also print a Markdown table of the medians to stdout")
	base := flag.String("base", "raw-rsa", "the benchmark (name after -prefix) that ratios are relative to (\"\" for none)")
	flag.Parse()

	r := io.Reader(os.Stdin)
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		r = f
	}
	res, err := parse(r, *prefix)
	if err != nil {
		fatal(err)
	}
	if *md {
		if err := table(os.Stdout, res, *base); err != nil {
			fatal(err)
		}
	}
	svg := render(*title, *note, *base, res)
	if *out == "-" {
		_, err = os.Stdout.WriteString(svg)
	} else {
		err = os.WriteFile(*out, []byte(svg), 0o644)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chart:", err)
	os.Exit(1)
}

// result is one benchmark's runs.
type result struct {
	name          string
	ns            []float64
	bytes, allocs []float64 // from -benchmem, when present
}

func (r result) median() float64 { return median(r.ns) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// benchLine matches "BenchmarkX/y-8   1000   1234 ns/op ...".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.e+]+) ns/op`)

// benchMem matches -benchmem's "1234 B/op  12 allocs/op".
var benchMem = regexp.MustCompile(`\s([0-9.]+) B/op\s+([0-9.]+) allocs/op`)

// parse collects ns/op per benchmark in order of first appearance.
func parse(r io.Reader, prefix string) ([]result, error) {
	var res []result
	idx := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil || !strings.HasPrefix(m[1], prefix) {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("bad ns/op in %q: %v", sc.Text(), err)
		}
		name := strings.TrimPrefix(m[1], prefix)
		i, ok := idx[name]
		if !ok {
			i = len(res)
			idx[name] = i
			res = append(res, result{name: name})
		}
		res[i].ns = append(res[i].ns, ns)
		if m := benchMem.FindStringSubmatch(sc.Text()); m != nil {
			b, _ := strconv.ParseFloat(m[1], 64)
			a, _ := strconv.ParseFloat(m[2], 64)
			res[i].bytes = append(res[i].bytes, b)
			res[i].allocs = append(res[i].allocs, a)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, errors.New("no benchmark lines with prefix " + strconv.Quote(prefix))
	}
	return res, nil
}

func human(ns float64) string {
	switch {
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'f', 2, 64) + " ms"
	case ns >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'f', 1, 64) + " µs"
	default:
		return strconv.FormatFloat(ns, 'f', 0, 64) + " ns"
	}
}

// table prints the medians as Markdown, with each one's ratio to base.
func table(w io.Writer, res []result, base string) error {
	baseNS := math.NaN()
	for _, r := range res {
		if r.name == base {
			baseNS = r.median()
		}
	}
	if math.IsNaN(baseNS) {
		return fmt.Errorf("-base %q is not among the benchmarks", base)
	}
	fmt.Fprintf(w, "| validator | ns/op (median of %d) | B/op | allocs/op | × %s |\n", len(res[0].ns), base)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for _, r := range res {
		med := r.median()
		ratio := med / baseNS
		rs := strconv.FormatFloat(ratio, 'f', 2, 64)
		if ratio < 0.01 {
			rs = strconv.FormatFloat(ratio, 'f', 4, 64)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.name, groupDigits(med), groupDigits(median(r.bytes)), groupDigits(median(r.allocs)), rs)
	}
	return nil
}

// groupDigits formats v with thousands separators, and one decimal below 100.
func groupDigits(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v < 100 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// render draws one bar per result, on a linear scale, in input order.
func render(title, note, base string, res []result) string {
	const (
		labelW = 190
		barW   = 520
		valueW = 230
		rowH   = 28
		barH   = 18
		top    = 64
		bottom = 36
	)
	width := labelW + barW + valueW
	height := top + rowH*len(res) + bottom
	maxNS, baseNS := 0.0, math.NaN()
	for _, r := range res {
		maxNS = max(maxNS, r.median())
		if r.name == base {
			baseNS = r.median()
		}
	}
	scale := niceCeil(maxNS)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="24" font-size="15" font-weight="600" fill="#222">%s</text>`+"\n", html.EscapeString(title))
	if note != "" {
		fmt.Fprintf(&b, `<text x="10" y="44" font-size="12" fill="#555">%s</text>`+"\n", html.EscapeString(note))
	}
	// Grid and axis ticks.
	for i := 0; i <= 4; i++ {
		v := scale * float64(i) / 4
		x := float64(labelW) + barW*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e3e3"/>`+"\n", x, top-6, x, top+rowH*len(res))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", x, top+rowH*len(res)+16, human(v))
	}
	for i, r := range res {
		y := top + rowH*i
		med := r.median()
		w := math.Max(1, barW*med/scale)
		color := "#8aa4c8"
		switch {
		case strings.HasPrefix(r.name, "entraguard"):
			color = "#2f6fca"
		case strings.HasPrefix(r.name, "raw"):
			color = "#9a9a9a"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#222">%s</text>`+"\n", labelW-8, y+barH-4, html.EscapeString(r.name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: median %s over %d runs</title></rect>`+"\n",
			labelW, y, w, barH, color, html.EscapeString(r.name), human(med), len(r.ns))
		label := human(med)
		if !math.IsNaN(baseNS) && r.name != base {
			if ratio := med / baseNS; ratio >= 0.01 {
				label += fmt.Sprintf(" · %.2f×", ratio)
			} else {
				label += fmt.Sprintf(" · 1/%.0f", 1/ratio)
			}
		}
		if len(r.ns) > 1 {
			label += fmt.Sprintf("  (%s to %s, %d runs)", human(slices.Min(r.ns)), human(slices.Max(r.ns)), len(r.ns))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#222">%s</text>`+"\n", float64(labelW)+w+6, y+barH-4, html.EscapeString(label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2, 2.5, 4, 5, 6 or 8 times a power of ten
// (each divides into four readable ticks).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
