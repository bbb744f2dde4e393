package entra

import "testing"

func TestConcatEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b [3]string
		want bool
	}{
		{[3]string{"https://h/", "t", "/v2.0"}, [3]string{"https://h/t/v2.0", "", ""}, true},
		{[3]string{"https://h/", "t", "/v2.0"}, [3]string{"https://h", "/t/", "v2.0"}, true},
		{[3]string{"", "", ""}, [3]string{"", "", ""}, true},
		{[3]string{"https://h/", "t", "/v2.0"}, [3]string{"https://h/u/v2.0", "", ""}, false},
		{[3]string{"https://h/", "t", "/v2.0"}, [3]string{"https://h/t/v2.", "", ""}, false},
		{[3]string{"ab", "", ""}, [3]string{"", "a", "c"}, false},
	} {
		if got := concatEqual(tc.a[0], tc.a[1], tc.a[2], tc.b[0], tc.b[1], tc.b[2]); got != tc.want {
			t.Errorf("concatEqual(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		concatEqual("https://login.microsoftonline.com/", "72f988bf-86f1-41af-91ab-2d7cd011db47", "/v2.0", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "", "")
	}); n != 0 {
		t.Errorf("concatEqual allocates %v times", n)
	}
}
