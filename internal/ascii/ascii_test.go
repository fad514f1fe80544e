package ascii

import "testing"

func TestHasEightBit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"plain ascii text, longer than eight", false},
		{"\x80", true},
		{"1234567\xff", true},  // last octet of the first word
		{"12345678\xc3", true}, // in the tail
		{"12345678abcdefgh\xc3\xa9", true},
		{"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", false},
	} {
		if got := HasEightBit([]byte(tt.in)); got != tt.want {
			t.Errorf("HasEightBit(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
