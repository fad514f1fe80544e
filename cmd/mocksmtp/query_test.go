package main

import (
	"net/url"
	"strings"
	"testing"
)

// A number in a query (count, limit, since) has one spelling, the digits
// the API writes, as an ID in a path has (pathID): +5, 05, -0, 0x10, 1e3
// or 5.0 is a 400 that names the parameter and the spelling it takes, as
// is one past an int64, 1 MiB+1 digits (its error short), and a value
// left empty (which was the parameter left out: every message for
// since=, all of them for limit=). strconv.Atoi took +5 and 05, and
// since=-1 was every message.
func TestQueryNumbersHaveOneSpelling(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, "Subject: x\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=20s", 200, nil)
	params := []struct{ path, name string }{
		{"/api/messages?", "since"},
		{"/api/messages?", "limit"},
		{"/api/messages?subject=x&", "limit"}, // with a filter
		{"/api/sessions?", "limit"},
		{"/api/inboxes?", "limit"},
		{"/api/wait?timeout=1ms&", "count"},
		{"/api/wait?subject=x&timeout=1ms&", "count"},
		{"/api/wait/sessions?timeout=1ms&", "count"},
		{"/api/wait/none?timeout=1ms&", "since"},
	}
	bad := []string{"+5", "05", "00", "-0", "-1", "-5", "0x10", "0b1", "0o7", "1e3", "5.0", "1_000", " 5", "5 ", "٥", "five", "",
		"9223372036854775808", "18446744073709551616", strings.Repeat("9", 1<<20+1)}
	for _, tt := range params {
		for _, v := range bad {
			path := tt.path + tt.name + "=" + url.QueryEscape(v)
			res, b := do(t, p, "GET", path, "")
			what := "GET " + tt.path + tt.name + "=" + clip(v)
			if res.StatusCode != 400 {
				t.Errorf("%s: %d %.200s, want 400", what, res.StatusCode, b)
				continue
			}
			wantJSONError(t, what, b, tt.name+`="`)
			wantJSONError(t, what, b, "in plain digits (such as 12, not +12, 012 or -12), at most 9223372036854775807")
			if len(b) > 400 {
				t.Errorf("%s: an error of %d octets, want it short", what, len(b))
			}
		}
		for _, v := range []string{"0", "1", "9223372036854775807"} {
			if res, b := do(t, p, "GET", tt.path+tt.name+"="+v, ""); res.StatusCode == 400 {
				t.Errorf("GET %s%s=%s: %d %.200s, want it taken", tt.path, tt.name, v, res.StatusCode, b)
			}
		}
	}
}

// A wait's timeout is a Go duration, as time.ParseDuration spells it, of
// 0 to 10m: a negative one, one past an int64 of nanoseconds, one without
// a unit, 1 MiB+1 digits and an empty one are 400s that name it. (An empty
// timeout was the default 5s: on GET /api/wait/none, which requires one,
// a wait of 5s.)
func TestQueryTimeoutsAreDurations(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	dialRaw(t, p) // session 1, open: a wait for its end lasts its timeout
	waits := []string{"/api/wait?", "/api/wait?subject=x&", "/api/wait/sessions?", "/api/wait/sessions/1?",
		"/api/wait/none?", "/api/sessions/1/normalized?"}
	bad := []string{"-1ns", "-1s", "-0.5s", "10m0.000000001s", "11m", "2562048h", "9223372036854775808ns", "5", "5 s", "1e3s", "",
		strings.Repeat("1", 1<<20+1) + "s"}
	for _, wait := range waits {
		for _, v := range bad {
			path := wait + "timeout=" + url.QueryEscape(v)
			res, b := do(t, p, "GET", path, "")
			what := "GET " + wait + "timeout=" + clip(v)
			if res.StatusCode != 400 {
				t.Errorf("%s: %d %.200s, want 400", what, res.StatusCode, b)
				continue
			}
			wantJSONError(t, what, b, `timeout="`)
			wantJSONError(t, what, b, "want a duration such as 5s or 500ms, at most 10m0s")
			if len(b) > 400 {
				t.Errorf("%s: an error of %d octets, want it short", what, len(b))
			}
		}
		if res, b := do(t, p, "GET", wait+"timeout=0", ""); res.StatusCode == 400 {
			t.Errorf("GET %stimeout=0: %d %.200s, want it taken", wait, res.StatusCode, b)
		}
	}
}
