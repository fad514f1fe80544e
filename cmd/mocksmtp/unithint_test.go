package main

import (
	"strings"
	"testing"
	"time"
)

// A number sent for a duration is answered with what to send instead,
// in seconds (a Python suite's time.sleep, freezegun's tick) and in
// milliseconds (JavaScript's setTimeout), each a duration the server
// takes: "1e3ms" is none (Go's
// durations have no exponent), a number past time.Duration's range has
// none to offer.
func TestUnitHintSaysADurationThatParses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ raw, want string }{
		{`300000`, `: a number has no unit ("300000s" for seconds, "300000ms" for milliseconds)`},
		{`1.5`, `: a number has no unit ("1.5s" for seconds, "1.5ms" for milliseconds)`},
		{`0`, `: a number has no unit ("0s" for seconds, "0ms" for milliseconds)`},
		{`-5`, `: a number has no unit ("-5s" for seconds, "-5ms" for milliseconds)`},
		{`1e3`, `: a number has no unit ("1000s" for seconds, "1000ms" for milliseconds)`},
		{`2.5E+3`, `: a number has no unit ("2500s" for seconds, "2500ms" for milliseconds)`},
		{`1e-3`, `: a number has no unit ("0.001s" for seconds, "0.001ms" for milliseconds)`},
		{`1e12`, `: a number has no unit ("1000000000000ms" for milliseconds)`}, // too many seconds
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
		for _, part := range strings.Split(got, `"`)[1:] {
			if strings.HasPrefix(part, " for ") {
				continue
			}
			if _, err := time.ParseDuration(part); err != nil {
				t.Errorf("unitHint(%.40s) suggests %q: %v", tt.raw, part, err)
			}
		}
	}
}

// A Python suite mirrors a backoff it counts in seconds onto the clock:
// {"by": 60} is refused with what to send for 60 seconds. Before, the
// hint offered only "60ms" (JavaScript's milliseconds), which, sent as
// told, moves the clock a thousandth of the backoff and passes no window.
func TestClockAdvanceNumberSaysSeconds(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-clock", "frozen")
	var e struct {
		Error string `json:"error"`
	}
	postJSON(t, p, "POST", "/api/clock/advance", `{"by": 60}`, 400, &e)
	if want := `got 60: a number has no unit ("60s" for seconds, "60ms" for milliseconds)`; !strings.Contains(e.Error, want) {
		t.Errorf("the 400's error: %s\nwant it to say %s", e.Error, want)
	}
}
