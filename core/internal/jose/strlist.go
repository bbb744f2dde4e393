package jose

import (
	"math/bits"
	"sync/atomic"
)

// StrList is a JSON array of strings that is read only when asked for: the
// groups claim, which can hold 200 GUIDs, most of a large token's payload.
// Parsing proves the array well-formed (strings only, valid UTF-8, no
// control characters) and counts it; the strings themselves are made on
// first use, once, and then shared: the Claims they belong to may be read by
// concurrent requests.
type StrList struct {
	raw    string // the array as signed, '[' to ']'; "" when absent
	n      int
	values atomic.Pointer[[]string]
}

// StringList reads an array of strings as a StrList. Elements that are
// plain (printable ASCII without escapes, such as group GUIDs) are checked
// in place eight bytes at a time; any other element, and whitespace, take
// the general reader.
func (r *Reader) StringList() (StrList, error) {
	if r.Peek() != '[' {
		return StrList{}, ErrType
	}
	start := r.i
	r.i++
	if r.Peek() == ']' {
		r.i++
		return StrList{raw: r.s[start:r.i]}, nil
	}
	n := 0
	for {
		if j := r.plainString(); j > 0 {
			r.i = j
		} else if _, err := r.Str(); err != nil {
			return StrList{}, err
		}
		n++
		if r.i < len(r.s) && r.s[r.i] == ',' {
			r.i++
			continue
		}
		switch r.Peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return StrList{raw: r.s[start:r.i], n: n}, nil
		default:
			return StrList{}, ErrSyntax
		}
	}
}

// plainString returns the index after the closing quote of the string at
// r.i when it is plain (printable ASCII, no '\\'), and 0 otherwise.
func (r *Reader) plainString() int {
	s := r.s
	if r.i >= len(s) || s[r.i] != '"' {
		return 0
	}
	j := r.i + 1
	for ; j+8 <= len(s); j += 8 {
		w := s[j : j+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if m := specialBytes(x); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; j < len(s) && plain[s[j]]; j++ {
	}
	if j < len(s) && s[j] == '"' {
		return j + 1
	}
	return 0
}

// Len returns the number of strings.
func (l *StrList) Len() int { return l.n }

// All returns the strings, made on first use, or nil when there are none.
// The caller must not change the slice. It is safe for concurrent use.
func (l *StrList) All() []string {
	if l.n == 0 {
		return nil
	}
	if p := l.values.Load(); p != nil {
		return *p
	}
	out := make([]string, 0, l.n)
	r := Reader{s: l.raw}
	r.i = 1
	for len(out) < l.n {
		if len(out) > 0 {
			_ = r.expect(',')
		}
		s, err := r.Str()
		if err != nil {
			// Unreachable: raw was read by stringList. Fail closed with
			// what was read rather than panic on a request.
			break
		}
		out = append(out, s)
	}
	l.values.CompareAndSwap(nil, &out)
	return *l.values.Load()
}
