package entraredis

import (
	"encoding/json"
	"testing"
)

// The fast reader of stored entries agrees with encoding/json, and leaves
// whatever it does not handle to it.
func TestFastWire(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{"kind":"user","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","oid":"abc","before":1764600000,"expires":1764704400,"reason":"x y"}`, true},
		{`{"kind":"token","token":"AbC-_","expires":1764704400}`, true},
		{` { "kind" : "app" , "app" : "a", "expires" : 17 } `, true},
		{`{"kind":"app","app":"a","expires":17,"reason":"a\/b \"q\""}`, false},
		{`{"kind":"app","app":"a","expires":1.7e9}`, false},
		{`{"kind":"app","app":"a","expires":17,"extra":1}`, false},
		{`{"kind":"app","kind":"user","expires":17}`, false},
		{`{"kind":"app","expires":17}x`, false},
		{`[]`, false},
		{`{"kind":"app",`, false},
	} {
		w, ok := fastWire(tc.in)
		if ok != tc.fast {
			t.Fatalf("%s: fast %v, want %v", tc.in, ok, tc.fast)
		}
		var want wire
		if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
			if ok {
				t.Fatalf("%s: fast path read what encoding/json refuses", tc.in)
			}
			continue
		}
		if ok && w != want {
			t.Fatalf("%s: fast %+v, encoding/json %+v", tc.in, w, want)
		}
		if _, err := decodeEntry(tc.in); err != nil && want.Expires != 0 {
			t.Fatalf("%s: decodeEntry: %v", tc.in, err)
		}
	}
}
