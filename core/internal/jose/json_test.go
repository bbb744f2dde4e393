package jose

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The JSON reader is the parser of every token: its verdicts are checked
// against the edge cases here and against encoding/json by FuzzSignedToken.
func TestJSONReaderStrings(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"plain"`, "plain", true},
		{`""`, "", true},
		{`"exactly8"`, "exactly8", true},
		{`"sixteen-bytes-ok"`, "sixteen-bytes-ok", true},
		{`"tab\tinside"`, "tab\tinside", true},
		{`"quote \" inside"`, `quote " inside`, true},
		{`"slash \/ and \\"`, `slash / and \`, true},
		{`"\u00e9t\u00E9"`, "été", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"été 😀"`, "été 😀", true},
		{"\"control \x01 byte\"", "", false},
		{"\"newline \n raw\"", "", false},
		{"\"12345678\x1f\"", "", false},
		{"\"invalid \xff utf8\"", "", false},
		{"\"1234567\xc3\"", "", false},
		{`"lone \ud83d surrogate"`, "", false},
		{`"bad \x escape"`, "", false},
		{`"bad \u12 escape"`, "", false},
		{`"unterminated`, "", false},
		{`"ends with backslash\"`, "", false},
	}
	for _, tc := range tests {
		r := NewReader(tc.in)
		got, err := r.Str()
		if (err == nil) != tc.ok || (tc.ok && (got != tc.want || r.i != len(tc.in))) {
			t.Errorf("str(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestJSONReaderObjects(t *testing.T) {
	many := func(n int, dup bool) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
		}
		if dup {
			b.WriteString(`,"k":2`)
		}
		b.WriteString("}")
		return b.String()
	}
	tests := []struct {
		in      string
		wantErr error
	}{
		{`{}`, nil},
		{` { "a" : 1 , "b" : [1, {"c": null}] } `, nil},
		{`{"a":1,"a":2}`, ErrDuplicate},
		{`{"aa":1,"ab":2,"ba":3,"aa":4}`, ErrDuplicate},
		{many(100, false), nil},
		{many(100, true), ErrDuplicate},
		{`{"a":1}x`, ErrSyntax},
		{`{"a":1,}`, ErrSyntax},
		{`{"a" 1}`, ErrSyntax},
		{`{"a":01}`, ErrSyntax},
		{`{"a":1.}`, ErrSyntax},
		{`{"a":-}`, ErrSyntax},
		{`{"a":tru}`, ErrSyntax},
		{`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, ErrDepth},
		{`[1]`, ErrSyntax},
	}
	for _, tc := range tests {
		r := NewReader(tc.in)
		err := r.Object(func(string) error { return r.Skip(1) })
		if err != tc.wantErr {
			t.Errorf("object(%.40q): %v, want %v", tc.in, err, tc.wantErr)
		}
	}
}

func TestJSONReaderNumbers(t *testing.T) {
	for in, want := range map[string]float64{
		"0": 0, "1700000000": 1700000000, "123456789012345": 123456789012345,
		"1234567890123456": 1234567890123456, "1.5": 1.5, "-2": -2, "1e3": 1000, "2.5E-1": 0.25,
	} {
		r := NewReader(in)
		got, err := r.Number()
		if err != nil || got != want {
			t.Errorf("number(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestStrMatchesByteLoop checks the eight-bytes-at-a-time scan of str
// against a byte-by-byte reading of the same rules, for a special byte at
// every position of strings of every length up to 40.
func TestStrMatchesByteLoop(t *testing.T) {
	specials := []byte{'"', '\\', 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff, ' ', '!', '#', '[', ']'}
	for n := 0; n <= 40; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range specials {
				b := []byte(strings.Repeat("a", n))
				b[pos] = c
				in := `"` + string(b) + `"` + `,"tail"`
				r := NewReader(in)
				got, err := r.Str()
				want, wantErr := referenceStr(in)
				if (err != nil) != (wantErr != nil) || got != want {
					t.Fatalf("str(%q) = %q, %v; byte loop gives %q, %v", in, got, err, want, wantErr)
				}
			}
		}
	}
}

// referenceStr reads the JSON string at the start of in with
// encoding/json's rules for what it may hold, and this reader's: control
// characters and invalid UTF-8 are refused.
func referenceStr(in string) (string, error) {
	end := 1
	for end < len(in) && in[end] != '"' {
		if in[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(in) {
		return "", ErrSyntax
	}
	var s string
	if err := json.Unmarshal([]byte(in[:end+1]), &s); err != nil {
		return "", err
	}
	raw := in[1:end]
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 {
			return "", ErrSyntax
		}
	}
	if !utf8.ValidString(raw) {
		return "", ErrSyntax
	}
	return s, nil
}

// TestStringListMatchesStrings checks the groups reader against the
// general array reader: the same verdict for every array, and the same
// values.
func TestStringListMatchesStrings(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for _, elem := range []string{"0000002a-1b2c-4d3e-8f40-0000000148b7", "a", "abcdefg", "abcdefgh"} {
			arr := "[" + strings.TrimSuffix(strings.Repeat(`"`+elem+`",`, n), ",") + "]"
			for _, tail := range []string{"", "}", `,"x":1}`} {
				r := Reader{s: arr + tail}
				l, err := r.StringList()
				if err != nil || l.n != n || r.i != len(arr) || len(l.All()) != n || l.All()[n-1] != elem {
					t.Fatalf("stringList(%q): n %d, at %d, err %v; want %d elements ending at %d", arr+tail, l.n, r.i, err, n, len(arr))
				}
			}
		}
	}
	for _, in := range []string{
		`[]`, `[ ]`, `["a"]`, `["a","b"]`, `[ "a" , "b" ]`, `["a",]`, `[,"a"]`, `["a" "b"]`, `["a",,"b"]`,
		`["a\"b","c"]`, `["\u00e9","x"]`, "[\"a\x01\"]", "[\"\xff\"]", `["a"`, `["a",`, `[1]`, `["a",1]`, `[null]`,
		`["0000002a-1b2c-4d3e-8f40-0000000148b7","0000002b-1b2c-4d3e-8f40-0000000148b8"]`,
		`["0000002a-1b2c-4d3e-8f40-0000000148b7"` + "\n" + `,"x"]`, `["é"]`, `["ab\\"]`, `{"a":1}`, `"a"`,
		`["a"#]`, `["#a"]`, `["a",#"b"]`, `["a","b"#`, `["a"],`, `["a","b"]]`, `["a",["b"]]`, `["a","b",]`,
		`["a"]` + "\x00", `["\u0022"]`, `["a","\x7f"]`, "[\"a\",\"\x1f\"]", `["a""b"]`, `["a",,]`,
	} {
		r1 := Reader{s: in + `,"next":1`}
		l, err1 := r1.StringList()
		r2 := Reader{s: in + `,"next":1`}
		want, err2 := r2.Strings(false)
		if (err1 != nil) != (err2 != nil) {
			t.Errorf("stringList(%q) error %v, strings gives %v", in, err1, err2)
			continue
		}
		if err1 != nil {
			continue
		}
		if r1.i != r2.i || l.n != len(want) || !slices.Equal(l.All(), want) {
			t.Errorf("stringList(%q) = %q (n %d, at %d); strings gives %q (at %d)", in, l.All(), l.n, r1.i, want, r2.i)
		}
	}
}

// FuzzStringList checks the groups reader against the general array
// reader on any input: the same verdict, position and values.
func FuzzStringList(f *testing.F) {
	for _, s := range []string{`[]`, `["a","b"]`, `[ "a" ,"b\"c" ]`, `["0000002a-1b2c-4d3e-8f40-0000000148b7"]`, `["a",]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r1, r2 := Reader{s: in}, Reader{s: in}
		l, err1 := r1.StringList()
		want, err2 := r2.Strings(false)
		if (err1 != nil) != (err2 != nil) {
			t.Fatalf("stringList(%q) error %v, strings gives %v", in, err1, err2)
		}
		if err1 == nil && (r1.i != r2.i || l.n != len(want) || !slices.Equal(l.All(), want)) {
			t.Fatalf("stringList(%q) = %q (at %d); strings gives %q (at %d)", in, l.All(), r1.i, want, r2.i)
		}
	})
}

// TestObjectDuplicates checks the duplicate-name set: objects of up to 100
// distinct names (past the 48 the stack set holds) pass, names that share
// a signature but differ are not duplicates, and a repeat of any earlier
// name is refused wherever it comes.
func TestObjectDuplicates(t *testing.T) {
	read := func(names []string) error {
		var b strings.Builder
		b.WriteByte('{')
		for i, n := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + n + `":0`)
		}
		b.WriteByte('}')
		r := Reader{s: b.String()}
		return r.Object(func(string) error { return r.Skip(1) })
	}
	for n := 1; n <= 100; n++ {
		var names []string
		for i := range n {
			// Same length, first, middle and last byte for many names.
			names = append(names, fmt.Sprintf("a%03dxa", i))
		}
		if err := read(names); err != nil {
			t.Fatalf("%d distinct names: %v", n, err)
		}
		for _, dup := range []int{0, n / 2, n - 1} {
			if err := read(append(slices.Clone(names), names[dup])); err != ErrDuplicate {
				t.Fatalf("%d names and a repeat of #%d: %v, want a duplicate", n, dup, err)
			}
		}
	}
	for _, names := range [][]string{{"", ""}, {"a", "a"}, {"axxb", "ayxb", "axxb"}} {
		if err := read(names); err != ErrDuplicate {
			t.Errorf("%q: %v, want a duplicate", names, err)
		}
	}
	if err := read([]string{"axxb", "ayxb", "", "a"}); err != nil {
		t.Errorf("distinct names with equal signatures refused: %v", err)
	}
}

// BenchmarkStringList reads a 200-GUID groups array, as a large token
// carries it.
func BenchmarkStringList(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"%08x-1b2c-4d3e-8f40-%012x"`, i, i*7919)
	}
	sb.WriteString(`],"next":1`)
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(in)
		if l, err := r.StringList(); err != nil || l.n != 200 {
			b.Fatal(l.n, err)
		}
	}
}

// TestJSONReaderNumberGrammar checks that a number is read exactly as far
// as JSON's grammar allows: valid alone precisely when encoding/json says.
func TestJSONReaderNumberGrammar(t *testing.T) {
	for _, in := range []string{
		"0", "-0", "01", "00", "1.", "1.e3", ".5", "-", "+1", "1e", "1e+", "1E-5", "1.5e10",
		"-1.25E+2", "0.0", "2e0", "1x", "-.5", "1.5.2", "1e5e5", "12345678901234567890", "-01", "0e", "0e-0",
	} {
		r := NewReader(in)
		err := r.Skip(1)
		got := err == nil && r.i == len(in)
		if want := json.Valid([]byte(in)); got != want {
			t.Errorf("%q read as a whole number: %v (err %v, at %d); encoding/json says %v", in, got, err, r.i, want)
		}
	}
}

// TestRawValue checks that RawValue returns exactly the text of the value
// it consumes (what package entra reads again for cnf and _claim_names),
// and Skip's verdict on it.
func TestRawValue(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{`{"m": {"x5t#S256":"abc","n":[1,{"a":null}]} ,"next":1}`, `{"x5t#S256":"abc","n":[1,{"a":null}]}`, nil},
		{`{"m":"s"}`, `"s"`, nil},
		{`{"m":[]}`, `[]`, nil},
		{`{"m":-1.5e3}`, `-1.5e3`, nil},
		{`{"m":{"a":1,}}`, ``, ErrSyntax},
		{`{"m":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, ``, ErrDepth},
	} {
		r := NewReader(tc.in)
		var got string
		err := r.Object(func(name string) error {
			if name != "m" {
				return r.Skip(1)
			}
			var err error
			got, err = r.RawValue(1)
			return err
		})
		if err != tc.err || got != tc.want {
			t.Errorf("RawValue in %.50q = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
