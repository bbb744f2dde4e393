package entra

import (
	"errors"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small, strict JSON reader for token headers and
// payloads. encoding/json is not used on the request path because it silently
// takes the last of duplicate keys ({"alg":"RS256","alg":"none"}), accepts
// invalid UTF-8, and allocates for every string; this reader refuses
// duplicates at the top level, refuses invalid UTF-8 and control characters,
// bounds nesting, and returns strings that share the input's memory unless
// they contain escapes.

var (
	errJSONSyntax    = errors.New("invalid JSON")
	errJSONDuplicate = errors.New("duplicate member name")
	errJSONDepth     = errors.New("JSON nested too deeply")
	errJSONType      = errors.New("unexpected JSON type")
)

const maxJSONDepth = 32

type jsonReader struct {
	s string
	i int
}

func (r *jsonReader) ws() {
	// Tokens are compact JSON: the first byte is almost never a space, and
	// every JSON space is at most ' '.
	for r.i < len(r.s) && r.s[r.i] <= ' ' {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

func (r *jsonReader) expect(c byte) error {
	if r.peek() != c {
		return errJSONSyntax
	}
	r.i++
	return nil
}

// object reads a top-level object and calls member for each name, with the
// reader positioned at the value; member must consume the value. Duplicate
// names are refused. The whole input must be the object.
func (r *jsonReader) object(member func(name string) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	// Duplicate names are found with a small open-addressing set on the
	// stack: a cheap signature (length, first, middle and last byte) picks
	// the slot, and names are compared only when signatures match. Past
	// 48 names a map takes over.
	var seen [48]string
	var sigs [48]uint32
	var slots [64]uint8 // index+1 into seen; 0 is empty
	nSeen := 0
	var seenMap map[string]struct{}
	if r.peek() == '}' {
		r.i++
	} else {
		for {
			if r.peek() != '"' {
				return errJSONSyntax
			}
			name, err := r.str()
			if err != nil {
				return err
			}
			if seenMap != nil {
				if _, dup := seenMap[name]; dup {
					return errJSONDuplicate
				}
				seenMap[name] = struct{}{}
			} else {
				sig := uint32(len(name)) << 24
				if len(name) > 0 {
					sig |= uint32(name[0])<<16 | uint32(name[len(name)/2])<<8 | uint32(name[len(name)-1])
				}
				h := (sig * 0x9e3779b1) >> 26
				for slots[h] != 0 {
					if k := slots[h] - 1; sigs[k] == sig && seen[k] == name {
						return errJSONDuplicate
					}
					h = (h + 1) & 63
				}
				if nSeen < len(seen) {
					seen[nSeen], sigs[nSeen] = name, sig
					nSeen++
					slots[h] = uint8(nSeen)
				} else {
					seenMap = make(map[string]struct{}, 2*nSeen)
					for _, n := range seen[:nSeen] {
						seenMap[n] = struct{}{}
					}
					seenMap[name] = struct{}{}
				}
			}
			if err := r.expect(':'); err != nil {
				return err
			}
			r.ws()
			if err := member(name); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
				continue
			case '}':
				r.i++
			default:
				return errJSONSyntax
			}
			break
		}
	}
	if r.peek() != 0 || r.i != len(r.s) {
		return errJSONSyntax
	}
	return nil
}

// str reads a string value. The closing quote is found with
// strings.IndexByte; a string without escapes is then checked for control
// characters and invalid UTF-8 eight bytes at a time, and returned as a
// substring of the input.
func (r *jsonReader) str() (string, error) {
	if r.peek() != '"' {
		return "", errJSONType
	}
	r.i++
	start := r.i
	// Eight bytes at a time: the first byte that is not printable ASCII
	// or is '"' or '\\' ends the fast path. A '"' ends a plain string,
	// returned as a substring; anything else (escapes, UTF-8, control
	// characters) goes on in strLong.
	i := start
	for ; i+8 <= len(r.s); i += 8 {
		w := r.s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if m := specialBytes(x); m != 0 {
			i += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; i < len(r.s) && plain[r.s[i]]; i++ {
	}
	if i < len(r.s) && r.s[i] == '"' {
		r.i = i + 1
		return r.s[start:i], nil
	}
	return r.strLong(start)
}

// specialBytes returns a mask with the top bit of each byte of the
// eight bytes x (the first in the low byte) set at least for the first byte
// below 0x20, at or above 0x80, or equal to '"' or '\\', and 0 when there
// is none. Only the lowest set bit is exact: bits above it may be false
// positives (borrows), which is all the caller reads.
func specialBytes(x uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	q := x ^ ('"' * ones)
	b := x ^ ('\\' * ones)
	return ((x-0x20*ones)&^x | (q-ones)&^q | (b-ones)&^b | x) & highs
}

// plain marks the bytes a string may hold without a closer look: printable
// ASCII other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strLong finishes str for a string that starts at start and is long or
// not plain ASCII.
func (r *jsonReader) strLong(start int) (string, error) {
	end := strings.IndexByte(r.s[start:], '"')
	if end < 0 {
		return "", errJSONSyntax
	}
	sub := r.s[start : start+end]
	if strings.IndexByte(sub, '\\') >= 0 {
		return r.strSlow(start)
	}
	if !printableASCII(sub) {
		for i := 0; i < len(sub); {
			c := sub[i]
			switch {
			case c < 0x20:
				return "", errJSONSyntax
			case c < utf8.RuneSelf:
				i++
			default:
				ru, size := utf8.DecodeRuneInString(sub[i:])
				if ru == utf8.RuneError && size == 1 {
					return "", errJSONSyntax
				}
				i += size
			}
		}
	}
	r.i = start + end + 1
	return sub, nil
}

// printableASCII reports whether every byte of s is in 0x20..0x7f.
func printableASCII(s string) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte below 0x20 borrows in x-lo; a byte of 0x80 or more has its top bit.
		if (x|(x-lo))&hi != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// strSlow decodes a string with escapes, from start (after the quote).
func (r *jsonReader) strSlow(start int) (string, error) {
	var b strings.Builder
	b.WriteString(r.s[start:r.i])
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return b.String(), nil
		case c == '\\':
			if r.i+1 >= len(r.s) {
				return "", errJSONSyntax
			}
			e := r.s[r.i+1]
			r.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				ru, ok := r.hex4()
				if !ok {
					return "", errJSONSyntax
				}
				if utf16.IsSurrogate(ru) {
					// A high surrogate must be followed by an escaped low one.
					if r.i+1 < len(r.s) && r.s[r.i] == '\\' && r.s[r.i+1] == 'u' {
						r.i += 2
						lo, ok := r.hex4()
						if !ok {
							return "", errJSONSyntax
						}
						ru = utf16.DecodeRune(ru, lo)
					} else {
						ru = utf8.RuneError
					}
					if ru == utf8.RuneError {
						return "", errJSONSyntax
					}
				}
				b.WriteRune(ru)
			default:
				return "", errJSONSyntax
			}
		case c < 0x20:
			return "", errJSONSyntax
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r.i++
		default:
			ru, size := utf8.DecodeRuneInString(r.s[r.i:])
			if ru == utf8.RuneError && size == 1 {
				return "", errJSONSyntax
			}
			b.WriteString(r.s[r.i : r.i+size])
			r.i += size
		}
	}
	return "", errJSONSyntax
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.i+4 > len(r.s) {
		return 0, false
	}
	var v rune
	for _, c := range []byte(r.s[r.i : r.i+4]) {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.i += 4
	return v, true
}

// number reads a JSON number as a float64.
func (r *jsonReader) number() (float64, error) {
	c := r.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, errJSONType
	}
	start := r.i
	if err := r.skipNumber(); err != nil {
		return 0, err
	}
	// Fast path for the usual case, a non-negative integer of at most 15
	// digits (exactly representable); anything else goes to ParseFloat.
	if n := r.i - start; n <= 15 {
		var v int64
		for i := start; i < r.i; i++ {
			c := r.s[i]
			if c < '0' || c > '9' {
				return strconv.ParseFloat(r.s[start:r.i], 64)
			}
			v = v*10 + int64(c-'0')
		}
		return float64(v), nil
	}
	return strconv.ParseFloat(r.s[start:r.i], 64)
}

// skipNumber consumes a number following the JSON grammar exactly.
func (r *jsonReader) skipNumber() error {
	s, i := r.s, r.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		r.i = i
		return errJSONSyntax
	}
	if i < len(s) && s[i] == '.' {
		if d := skipDigits(s, i+1); d > i+1 {
			i = d
		} else {
			r.i = d
			return errJSONSyntax
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if d := skipDigits(s, i); d > i {
			i = d
		} else {
			r.i = d
			return errJSONSyntax
		}
	}
	r.i = i
	return nil
}

// skipDigits returns the index of the first byte at or after i in s that
// is not a decimal digit.
func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// boolean reads true or false.
func (r *jsonReader) boolean() (bool, error) {
	switch r.peek() {
	case 't':
		if strings.HasPrefix(r.s[r.i:], "true") {
			r.i += 4
			return true, nil
		}
	case 'f':
		if strings.HasPrefix(r.s[r.i:], "false") {
			r.i += 5
			return false, nil
		}
	default:
		return false, errJSONType
	}
	return false, errJSONSyntax
}

// strings reads an array of strings (or a lone string when single is true,
// as the aud claim allows). Up to 16 strings, it allocates only the
// returned slice.
func (r *jsonReader) strings(single bool) ([]string, error) {
	if single && r.peek() == '"' {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	if r.peek() != '[' {
		return nil, errJSONType
	}
	r.i++
	// One pass: short arrays are gathered on the stack and long ones
	// (groups) in a growing slice, then copied to one of the exact size.
	var buf [16]string
	out := buf[:0]
	for r.peek() != ']' {
		if len(out) > 0 {
			if err := r.expect(','); err != nil {
				return nil, err
			}
		}
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	r.i++
	return append(make([]string, 0, len(out)), out...), nil
}

// skip consumes any value, checking its syntax.
func (r *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	switch c := r.peek(); {
	case c == '"':
		_, err := r.str()
		return err
	case c == '{':
		r.i++
		if r.peek() == '}' {
			r.i++
			return nil
		}
		for {
			if _, err := r.str(); err != nil {
				return errJSONSyntax
			}
			if err := r.expect(':'); err != nil {
				return err
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case '}':
				r.i++
				return nil
			default:
				return errJSONSyntax
			}
		}
	case c == '[':
		r.i++
		if r.peek() == ']' {
			r.i++
			return nil
		}
		for {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return nil
			default:
				return errJSONSyntax
			}
		}
	case c == 't' || c == 'f':
		_, err := r.boolean()
		return err
	case c == 'n':
		if strings.HasPrefix(r.s[r.i:], "null") {
			r.i += 4
			return nil
		}
		return errJSONSyntax
	case c == '-' || c >= '0' && c <= '9':
		return r.skipNumber()
	}
	return errJSONSyntax
}
