package jose

import (
	"errors"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader is a small, strict JSON reader for token headers and
// payloads. encoding/json is not used on the request path because it silently
// takes the last of duplicate keys ({"alg":"RS256","alg":"none"}), accepts
// invalid UTF-8, and allocates for every string; this reader refuses
// duplicates at the top level, refuses invalid UTF-8 and control characters,
// bounds nesting, and returns strings that share the input's memory unless
// they contain escapes.
//
// A Reader reads one object: NewReader, then Object, whose member callback
// reads each value with exactly one of Str, Number, Bool, Strings,
// StringList, Skip or RawValue. It is a value meant for the stack; it is
// not safe for concurrent use.
type Reader struct {
	s string
	i int // offset of the next byte to read
}

// The errors of a Reader. Their texts are quoted in package entra's
// answers, so they are part of its output.
var (
	// ErrSyntax is input that is not JSON.
	ErrSyntax = errors.New("invalid JSON")
	// ErrDuplicate is an object that names a member twice.
	ErrDuplicate = errors.New("duplicate member name")
	// ErrDepth is a value nested more than 32 deep.
	ErrDepth = errors.New("JSON nested too deeply")
	// ErrType is a value of another JSON type than the one asked for.
	ErrType = errors.New("unexpected JSON type")
)

const maxDepth = 32

// NewReader returns a Reader of s. Strings it returns share s's memory
// unless they hold escapes.
func NewReader(s string) Reader { return Reader{s: s} }

func (r *Reader) ws() {
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

// Peek returns the next non-space byte, or 0 at the end, without
// consuming it.
func (r *Reader) Peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

func (r *Reader) expect(c byte) error {
	if r.Peek() != c {
		return ErrSyntax
	}
	r.i++
	return nil
}

// Object reads a top-level object and calls member for each name, with the
// reader positioned at the value; member must consume the value, and an
// error it returns ends the reading and is returned. Duplicate names are
// refused (ErrDuplicate). The whole input must be the object.
func (r *Reader) Object(member func(name string) error) error {
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
	if r.Peek() == '}' {
		r.i++
	} else {
		for {
			if r.Peek() != '"' {
				return ErrSyntax
			}
			name, err := r.Str()
			if err != nil {
				return err
			}
			if seenMap != nil {
				if _, dup := seenMap[name]; dup {
					return ErrDuplicate
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
						return ErrDuplicate
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
			switch r.Peek() {
			case ',':
				r.i++
				continue
			case '}':
				r.i++
			default:
				return ErrSyntax
			}
			break
		}
	}
	if r.Peek() != 0 || r.i != len(r.s) {
		return ErrSyntax
	}
	return nil
}

// Str reads a string value (ErrType for any other value). A string
// without escapes is checked for control characters and invalid UTF-8
// eight bytes at a time and returned as a substring of the input.
func (r *Reader) Str() (string, error) {
	if r.Peek() != '"' {
		return "", ErrType
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
func (r *Reader) strLong(start int) (string, error) {
	end := strings.IndexByte(r.s[start:], '"')
	if end < 0 {
		return "", ErrSyntax
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
				return "", ErrSyntax
			case c < utf8.RuneSelf:
				i++
			default:
				ru, size := utf8.DecodeRuneInString(sub[i:])
				if ru == utf8.RuneError && size == 1 {
					return "", ErrSyntax
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
func (r *Reader) strSlow(start int) (string, error) {
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
				return "", ErrSyntax
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
					return "", ErrSyntax
				}
				if utf16.IsSurrogate(ru) {
					// A high surrogate must be followed by an escaped low one.
					if r.i+1 < len(r.s) && r.s[r.i] == '\\' && r.s[r.i+1] == 'u' {
						r.i += 2
						lo, ok := r.hex4()
						if !ok {
							return "", ErrSyntax
						}
						ru = utf16.DecodeRune(ru, lo)
					} else {
						ru = utf8.RuneError
					}
					if ru == utf8.RuneError {
						return "", ErrSyntax
					}
				}
				b.WriteRune(ru)
			default:
				return "", ErrSyntax
			}
		case c < 0x20:
			return "", ErrSyntax
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r.i++
		default:
			ru, size := utf8.DecodeRuneInString(r.s[r.i:])
			if ru == utf8.RuneError && size == 1 {
				return "", ErrSyntax
			}
			b.WriteString(r.s[r.i : r.i+size])
			r.i += size
		}
	}
	return "", ErrSyntax
}

func (r *Reader) hex4() (rune, bool) {
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

// Number reads a JSON number as a float64 (ErrType for any other value).
func (r *Reader) Number() (float64, error) {
	c := r.Peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, ErrType
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
func (r *Reader) skipNumber() error {
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
		return ErrSyntax
	}
	if i < len(s) && s[i] == '.' {
		if d := skipDigits(s, i+1); d > i+1 {
			i = d
		} else {
			r.i = d
			return ErrSyntax
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
			return ErrSyntax
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

// Bool reads true or false (ErrType for any other value).
func (r *Reader) Bool() (bool, error) {
	switch r.Peek() {
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
		return false, ErrType
	}
	return false, ErrSyntax
}

// Strings reads an array of strings (or a lone string when single is true,
// as the aud claim allows). Up to 16 strings, it allocates only the
// returned slice.
func (r *Reader) Strings(single bool) ([]string, error) {
	if single && r.Peek() == '"' {
		s, err := r.Str()
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	if r.Peek() != '[' {
		return nil, ErrType
	}
	r.i++
	// One pass: short arrays are gathered on the stack and long ones
	// (groups) in a growing slice, then copied to one of the exact size.
	var buf [16]string
	out := buf[:0]
	for r.Peek() != ']' {
		if len(out) > 0 {
			if err := r.expect(','); err != nil {
				return nil, err
			}
		}
		s, err := r.Str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	r.i++
	return append(make([]string, 0, len(out)), out...), nil
}

// Skip consumes any value, checking its syntax. depth is the nesting of
// the value (1 for a member of the top-level object); values nested deeper
// than 32 are refused with ErrDepth.
func (r *Reader) Skip(depth int) error {
	if depth > maxDepth {
		return ErrDepth
	}
	switch c := r.Peek(); {
	case c == '"':
		_, err := r.Str()
		return err
	case c == '{':
		r.i++
		if r.Peek() == '}' {
			r.i++
			return nil
		}
		for {
			if _, err := r.Str(); err != nil {
				return ErrSyntax
			}
			if err := r.expect(':'); err != nil {
				return err
			}
			if err := r.Skip(depth + 1); err != nil {
				return err
			}
			switch r.Peek() {
			case ',':
				r.i++
			case '}':
				r.i++
				return nil
			default:
				return ErrSyntax
			}
		}
	case c == '[':
		r.i++
		if r.Peek() == ']' {
			r.i++
			return nil
		}
		for {
			if err := r.Skip(depth + 1); err != nil {
				return err
			}
			switch r.Peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return nil
			default:
				return ErrSyntax
			}
		}
	case c == 't' || c == 'f':
		_, err := r.Bool()
		return err
	case c == 'n':
		if strings.HasPrefix(r.s[r.i:], "null") {
			r.i += 4
			return nil
		}
		return ErrSyntax
	case c == '-' || c >= '0' && c <= '9':
		return r.skipNumber()
	}
	return ErrSyntax
}

// RawValue consumes any value as Skip does and returns its text, to be
// read again with a Reader of its own.
func (r *Reader) RawValue(depth int) (string, error) {
	r.ws()
	start := r.i
	if err := r.Skip(depth); err != nil {
		return "", err
	}
	return r.s[start:r.i], nil
}
