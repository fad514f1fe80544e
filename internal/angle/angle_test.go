package angle

import "testing"

func TestClose(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int
	}{
		{"<>", 1},
		{"<bob@x>", 6},
		{"<bob@x> SIZE=1", 6},
		{`<"a>b"@x>`, 8},
		{`<"a\">b"@x>`, 10},
		{`<"a\\">b`, 6},
		{`<"a>b@x`, -1},
		{"<bob@x", -1},
		{"<", -1},
		{"", -1},
		{`<"\`, -1},
	} {
		if got := Close(tt.s); got != tt.want {
			t.Errorf("Close(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
