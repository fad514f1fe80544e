package smtpd

import (
	"strings"
	"testing"
)

// asciiCases are the boundaries of the hand-written byte loops that
// compare verbs and keywords: empty, one byte, the letters' neighbours,
// all lower or upper case, non-ASCII and invalid UTF-8 at either end.
var asciiCases = []string{"", "a", "z", "A", "Z", "`", "{", "@", "[", "ab", "mail", "MAIL", "MaIl",
	"ma\u0131l", "\u017f", "\u00e9", "a\u00e9", "\u00e9a", "xyz\xff", "\xffabc", strings.Repeat("a", 100), strings.Repeat("Aa", 33) + "\u0131"}

// upperASCIIWant is upperASCII written plainly, byte by byte.
func upperASCIIWant(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

func TestUpperASCIIBoundaries(t *testing.T) {
	t.Parallel()
	for _, s := range asciiCases {
		if got, want := upperASCII(s), upperASCIIWant(s); got != want {
			t.Errorf("upperASCII(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestEqualFoldASCIIBoundaries(t *testing.T) {
	t.Parallel()
	for _, a := range asciiCases {
		for _, b := range asciiCases {
			if got, want := equalFoldASCII(a, b), upperASCIIWant(a) == upperASCIIWant(b); got != want {
				t.Errorf("equalFoldASCII(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
	if equalFoldASCII("POST", "PO\u017fT") || equalFoldASCII("HOST:", "HO\u017fT:") {
		t.Error("a long s is taken for an S")
	}
}
