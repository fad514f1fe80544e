package mocksmtp

import "testing"

// TestTrimURLBoundaries checks trimURL's byte loop at its boundaries.
func TestTrimURLBoundaries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""}, {".", ""}, {")", ""}, {"(", "("}, {"h", "h"}, {"é", "é"}, {"é.", "é"}, {"é)", "é"},
		{"http://x.test/a.", "http://x.test/a"}, {"http://x.test/(a)", "http://x.test/(a)"},
		{"http://x.test/a)", "http://x.test/a"}, {"http://x.test/a))", "http://x.test/a"},
		{"http://x.test/(a))", "http://x.test/(a)"}, {"http://x.test/a).", "http://x.test/a"},
		{"http://x.test/a]", "http://x.test/a"}, {"http://x.test/[a]]", "http://x.test/[a]"},
		{"http://x.test/a)(", "http://x.test/a)("}, {"http://x.test/)a)", "http://x.test/)a"},
		{"http://x.test/a'*!?", "http://x.test/a"},
	} {
		if got := trimURL(c.in); got != c.want {
			t.Errorf("trimURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
