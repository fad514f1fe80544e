package mocksmtp

import (
	pathpkg "path"
	"strings"
	"testing"
)

// matchAddress is path.Match where the address has no "/", and where it
// has one, path.Match with "*" and "?" let across it: the same answer as
// path.Match gives for the address with each "/" taken as "" by a "*" or
// matched by a class or a "\/". Checked against path.Match itself on
// addresses without a "/", and on a few with one by hand.
func TestMatchAddressIsPathMatchWithoutSlash(t *testing.T) {
	t.Parallel()
	patterns := []string{"", "*", "**", "?", "a", "a*", "*a", "*@x", "a?c@x", "[a-c]*", "[^a]*", "[]a]", "[\\]]*",
		"\\*x", "a\\?", "*a*b*", "*[!-~]*", "[é-ü]?", "?é*", "[a-]", "\\", "[", "[a", "[^]", "*@*.*"}
	addrs := []string{"", "a", "abc@x", "b", "]", "*x", "a?", "aab", "x@y.z", "é", "éa", "ü", "a-", "ab@x", "a\xffb"}
	for _, p := range patterns {
		for _, a := range addrs {
			want, err := pathpkg.Match(p, a)
			if err != nil {
				want = false
			}
			if got := matchAddress(p, a); got != want {
				t.Errorf("matchAddress(%q, %q) = %v, path.Match says %v (%v)", p, a, got, want, err)
			}
		}
	}
	for _, tc := range []struct {
		p, a string
		want bool
	}{
		{"*@x", "a/b@x", true},
		{"a?b@x", "a/b@x", true},
		{"a\\/b@x", "a/b@x", true},
		{"a[/]b@x", "a/b@x", true},
		{"a[^/]b@x", "a/b@x", false},
		{"a[^x]b@x", "a/b@x", true},
		{"a[!-~]b@x", "a/b@x", true},
		{"a[0-9]b@x", "a/b@x", false},
		{"a[/-9]b@x", "a+b@x", false},
		{"a\x00b@x", "a/b@x", false},
		{"*/*", "a/b/c", true},
	} {
		if got := matchAddress(tc.p, tc.a); got != tc.want {
			t.Errorf("matchAddress(%q, %q) = %v, want %v", tc.p, tc.a, got, tc.want)
		}
	}
}

// FuzzMatchAddress: on an address without "/", matchAddress says what
// path.Match says; it never panics on any pattern.
func FuzzMatchAddress(f *testing.F) {
	f.Add("*@x.test", "bob@x.test")
	f.Add("[a-c]?*\\*", "b1*")
	f.Fuzz(func(t *testing.T, p, a string) {
		got := matchAddress(p, a)
		if strings.Contains(a, "/") {
			return
		}
		want, err := pathpkg.Match(p, a)
		if err == nil && got != want {
			t.Errorf("matchAddress(%q, %q) = %v, path.Match says %v", p, a, got, want)
		}
	})
}
