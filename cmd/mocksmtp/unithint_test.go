package main

import (
	"strings"
	"testing"
	"time"
)

// A number sent for a duration is answered with what to send instead,
// and that is a duration the server takes: "1e3ms" is none (Go's
// durations have no exponent), a number past time.Duration's range has
// none to offer.
func TestUnitHintSaysADurationThatParses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ raw, want string }{
		{`300000`, `: a number has no unit ("300000ms" for milliseconds)`},
		{`1.5`, `: a number has no unit ("1.5ms" for milliseconds)`},
		{`0`, `: a number has no unit ("0ms" for milliseconds)`},
		{`-5`, `: a number has no unit ("-5ms" for milliseconds)`},
		{`1e3`, `: a number has no unit ("1000ms" for milliseconds)`},
		{`2.5E+3`, `: a number has no unit ("2500ms" for milliseconds)`},
		{`1e-3`, `: a number has no unit ("0.001ms" for milliseconds)`},
		{`1e30`, `: a number has no unit`},
		{`99999999999999999999`, `: a number has no unit`},
		{strings.Repeat("9", 400), `: a number has no unit`},
		{"0." + strings.Repeat("0", 400) + "1", `: a number has no unit`},
		{`"5m"`, ``},
		{`true`, ``},
		{`null`, ``},
	} {
		got := unitHint([]byte(tt.raw))
		if got != tt.want {
			t.Errorf("unitHint(%.40s) = %q, want %q", tt.raw, got, tt.want)
		}
		if _, s, ok := strings.Cut(got, `("`); ok {
			s, _, _ = strings.Cut(s, `"`)
			if _, err := time.ParseDuration(s); err != nil {
				t.Errorf("unitHint(%.40s) suggests %q: %v", tt.raw, s, err)
			}
		}
	}
}
