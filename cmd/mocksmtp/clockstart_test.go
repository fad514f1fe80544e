package main

import (
	"bufio"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// getClock returns GET /api/clock.
func getClock(t *testing.T, p *proc) clockJSON {
	t.Helper()
	var c clockJSON
	getJSON(t, p, "/api/clock", 200, &c)
	return c
}

// A suite whose clock is fake at an instant of its choosing (Jest's
// setSystemTime, freezegun's freeze_time("2026-01-01")) starts the
// program's frozen clock there: GET /api/clock reads it, the greylist
// window counts from it, exactly, and the sessions' clockStart is it
// plus the moves before them.
func TestClockStartGreylistBoundaryCountsFromIt(t *testing.T) {
	t.Parallel()
	x := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	p := start(t, nil, "-clock", "frozen", "-clock-start", "2026-01-01T00:00:00Z")
	c0 := getClock(t, p)
	if !c0.Now.Equal(x) || c0.Offset != 0 || c0.Mode != "frozen" || c0.Start == nil || !c0.Start.Equal(x) {
		t.Fatalf("GET /api/clock with -clock-start %v: %+v, want now and start %v, offset 0s, mode frozen", x, c0, x)
	}
	putFaults(t, p, `[{"greylistFor": "5m"}]`)
	mustBeGreylisted(t, "first attempt", sendAppToBob(p))
	short := 5*time.Minute - time.Nanosecond
	var moved clockJSON
	postJSON(t, p, "POST", "/api/clock/advance", `{"by": "4m59.999999999s"}`, 200, &moved)
	if !moved.Now.Equal(x.Add(short)) || moved.Start == nil || !moved.Start.Equal(x) {
		t.Fatalf("advance 5m-1ns: %+v, want now %v, start %v", moved, x.Add(short), x)
	}
	mustBeGreylisted(t, "retry at 5m-1ns from the start", sendAppToBob(p))
	advance(t, p, "1ns")
	if err := sendAppToBob(p); err != nil {
		t.Fatalf("retry at 5m from the start: %v, want it delivered", err)
	}
	for id, want := range map[string]time.Time{"1": x, "2": x.Add(short), "3": x.Add(5 * time.Minute)} {
		checkClockStart(t, p, id, want, "-clock-start plus the moves before it")
	}
	var waited clockJSON
	getJSON(t, p, "/api/wait/clock?count=0", 200, &waited)
	if waited.Start == nil || !waited.Start.Equal(x) || !waited.Now.Equal(x.Add(5*time.Minute)) {
		t.Errorf("GET /api/wait/clock: %+v, want start %v, now %v", waited, x, x.Add(5*time.Minute))
	}
}

// The Exchange persona's greeting says the server's time, as Exchange's
// does: with -clock frozen, the clock's, so that it is the same octets
// every run (a golden transcript, a suite that asserts it), in the zone
// -clock-start gives, and it moves with the clock.
func TestClockStartExchangeGreetingDate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		start, want, after1h string
	}{
		{"2026-01-01T00:00:00Z", "Thu, 01 Jan 2026 00:00:00 +0000", "Thu, 01 Jan 2026 01:00:00 +0000"},
		{"2026-01-01T09:30:00.75+09:00", "Thu, 01 Jan 2026 09:30:00 +0900", "Thu, 01 Jan 2026 10:30:00 +0900"},
		{"1970-01-01T00:00:00-05:00", "Thu, 01 Jan 1970 00:00:00 -0500", "Thu, 01 Jan 1970 01:00:00 -0500"},
	} {
		t.Run(tt.start, func(t *testing.T) {
			t.Parallel()
			p := start(t, nil, "-persona", "exchange", "-clock-start", tt.start)
			const prefix = "220 localhost Microsoft ESMTP MAIL Service ready at "
			if got := greeting(t, p.smtp); got != prefix+tt.want {
				t.Errorf("greeting: %q, want %q", got, prefix+tt.want)
			}
			advance(t, p, "1h")
			if got := greeting(t, p.smtp); got != prefix+tt.after1h {
				t.Errorf("greeting after a move of 1h: %q, want %q", got, prefix+tt.after1h)
			}
		})
	}
}

// Without -clock-start too, the greeting reads the faults' clock, not
// real time: on the frozen clock moved a day, the day after its start.
func TestFrozenClockExchangeGreetingFollowsTheClock(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-persona", "exchange", "-clock", "frozen")
	c := advance(t, p, "24h")
	const prefix = "220 localhost Microsoft ESMTP MAIL Service ready at "
	if got, want := greeting(t, p.smtp), prefix+c.Now.Format(time.RFC1123Z); got != want {
		t.Errorf("greeting on a clock moved 24h: %q, want %q (the clock's time)", got, want)
	}
}

// -clock-start takes an RFC 3339 time, also from MOCKSMTP_CLOCK_START
// (the flag wins), to the nanosecond, in any zone it names, and implies
// -clock frozen; with -clock real it is a usage error, and so is every
// value that is no RFC 3339 time or that the clock cannot read out.
func TestClockStartFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string // the clock's start, as JSON writes it
	}{
		{"flag", nil, []string{"-clock-start", "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"with -clock frozen", nil, []string{"-clock=frozen", "-clock-start=2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"environment", []string{"MOCKSMTP_CLOCK_START=2030-06-15T12:00:00Z"}, nil, "2030-06-15T12:00:00Z"},
		{"the flag wins", []string{"MOCKSMTP_CLOCK_START=2030-06-15T12:00:00Z"}, []string{"-clock-start", "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"fractional seconds", nil, []string{"-clock-start", "2026-01-01T00:00:00.123456789Z"}, "2026-01-01T00:00:00.123456789Z"},
		{"milliseconds, as JavaScript's toISOString", nil, []string{"-clock-start", "2026-01-01T00:00:00.000Z"}, "2026-01-01T00:00:00Z"},
		{"an offset", nil, []string{"-clock-start", "2026-01-01T09:00:00+09:00"}, "2026-01-01T09:00:00+09:00"},
		{"a negative offset", nil, []string{"-clock-start", "2025-12-31T19:00:00-05:00"}, "2025-12-31T19:00:00-05:00"},
		{"-00:00", nil, []string{"-clock-start", "2026-01-01T00:00:00-00:00"}, "2026-01-01T00:00:00Z"},
		{"lower case t and z (RFC 3339 5.6)", nil, []string{"-clock-start", "2026-01-01t00:00:00z"}, "2026-01-01T00:00:00Z"},
		{"a space for T, as Python's str(datetime)", nil, []string{"-clock-start", "2026-01-01 00:00:00+00:00"}, "2026-01-01T00:00:00Z"},
		{"the Unix epoch, sinon's fake timers' start", nil, []string{"-clock-start", "1970-01-01T00:00:00Z"}, "1970-01-01T00:00:00Z"},
		{"the earliest start", nil, []string{"-clock-start", "0001-01-01T00:00:00.000000001Z"}, "0001-01-01T00:00:00.000000001Z"},
		{"the earliest start in a zone", nil, []string{"-clock-start", "0001-01-01T01:00:00.000000001+01:00"}, "0001-01-01T01:00:00.000000001+01:00"},
		{"the latest start", nil, []string{"-clock-start", "8999-12-31T23:59:59.999999999Z"}, "8999-12-31T23:59:59.999999999Z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, tt.args...)
			res, b := do(t, p, "GET", "/api/clock", "")
			var c struct {
				Now   json.RawMessage `json:"now"`
				Start json.RawMessage `json:"start"`
				Mode  string          `json:"mode"`
			}
			if err := json.Unmarshal(b, &c); err != nil || res.StatusCode != 200 {
				t.Fatalf("GET /api/clock: %d %s", res.StatusCode, b)
			}
			want := `"` + tt.want + `"`
			if string(c.Now) != want || string(c.Start) != want || c.Mode != "frozen" {
				t.Errorf("GET /api/clock: %s, want now and start %s, mode frozen", b, want)
			}
		})
	}
	// Linux refuses to run a program with an argument or a variable
	// longer than 128 KiB (E2BIG): the longest a flag can be.
	const maxArg = 128<<10 - 1
	long := func(n int) string {
		return "2026-01-01T00:00:00." + strings.Repeat("0", n-len("2026-01-01T00:00:00.Z")) + "Z"
	}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"empty", nil, []string{"-clock-start="}, `invalid value "" for flag -clock-start: want an RFC 3339 time, such as 2026-01-01T00:00:00Z`},
		{"empty in the environment", []string{"MOCKSMTP_CLOCK_START="}, nil, `mocksmtp: MOCKSMTP_CLOCK_START="": want an RFC 3339 time`},
		{"garbage", nil, []string{"-clock-start", "tomorrow"}, `invalid value "tomorrow" for flag -clock-start: want an RFC 3339 time, such as 2026-01-01T00:00:00Z`},
		{"garbage in the environment", []string{"MOCKSMTP_CLOCK_START=now"}, nil, `mocksmtp: MOCKSMTP_CLOCK_START="now": want an RFC 3339 time`},
		{"a date alone", nil, []string{"-clock-start", "2026-01-01"}, `a date alone: add the time and the zone, 2026-01-01T00:00:00Z`},
		{"no zone", nil, []string{"-clock-start", "2026-01-01T00:00:00"}, `no zone: add Z for UTC, or the offset, as in 2026-01-01T00:00:00+09:00`},
		{"Unix seconds", nil, []string{"-clock-start", "1767225600"}, `want an RFC 3339 time`},
		{"a day out of range", nil, []string{"-clock-start", "2026-02-30T00:00:00Z"}, `day out of range`},
		{"a leap second", nil, []string{"-clock-start", "2016-12-31T23:59:60Z"}, `second out of range`},
		{"an offset of 24h", nil, []string{"-clock-start", "2026-01-01T00:00:00+24:00"}, `the offset +24:00: want hours 00 to 23 and minutes 00 to 59`},
		// What Go's time.Parse takes beside RFC 3339 (go.dev/issue/54580).
		{"an offset's minute 60", nil, []string{"-clock-start", "2026-01-01T00:00:00+05:60"}, `the offset +05:60: want hours 00 to 23 and minutes 00 to 59`},
		{"an hour of one digit", nil, []string{"-clock-start", "2026-01-01T9:00:00Z"}, `invalid value "2026-01-01T9:00:00Z" for flag -clock-start: want an RFC 3339 time`},
		{"a comma for the point", nil, []string{"-clock-start", "2026-01-01T00:00:00,1234567891Z"}, `invalid value "2026-01-01T00:00:00,1234567891Z" for flag -clock-start: want an RFC 3339 time`},
		{"no zone, an hour of one digit", nil, []string{"-clock-start", "2026-01-01T9:00:00"}, `invalid value "2026-01-01T9:00:00" for flag -clock-start: want an RFC 3339 time`},
		{"more than nanoseconds", nil, []string{"-clock-start", "2026-01-01T00:00:00.1234567891Z"}, `10 digits of fractional seconds: the clock counts nanoseconds, 9 digits at most`},
		{"year 10000", nil, []string{"-clock-start", "10000-01-01T00:00:00Z"}, `want an RFC 3339 time`},
		{"far past", nil, []string{"-clock-start", "0000-01-01T00:00:00Z"}, `want a time after 0001-01-01T00:00:00Z: the server takes that instant for no time at all`},
		{"the zero time", nil, []string{"-clock-start", "0001-01-01T00:00:00Z"}, `want a time after 0001-01-01T00:00:00Z`},
		{"the zero time in a zone", nil, []string{"-clock-start", "0001-01-01T01:00:00+01:00"}, `want a time after 0001-01-01T00:00:00Z`},
		{"far future", nil, []string{"-clock-start", "9000-01-01T00:00:00Z"}, `want a time before 9000-01-01T00:00:00Z`},
		{"far future in a zone", nil, []string{"-clock-start", "9000-01-01T09:00:00+09:00"}, `want a time before 9000-01-01T00:00:00Z`},
		{"64 octets", nil, []string{"-clock-start", long(64)}, `for flag -clock-start: 43 digits of fractional seconds: the clock counts nanoseconds, 9 digits at most`},
		{"65 octets", nil, []string{"-clock-start", long(65)}, `for flag -clock-start: want an RFC 3339 time, such as 2026-01-01T00:00:00Z or 2026-01-01T09:00:00.5+09:00 (65 octets: too long for one)`},
		{"128 KiB", nil, []string{"-clock-start", long(maxArg)}, `for flag -clock-start: want an RFC 3339 time`},
		{"128 KiB in the environment", []string{"MOCKSMTP_CLOCK_START=" + long(maxArg-len("MOCKSMTP_CLOCK_START="))}, nil, `mocksmtp: MOCKSMTP_CLOCK_START="2026-01-01T00:00:00.0000`},
		{"with -clock real", nil, []string{"-clock", "real", "-clock-start", "2026-01-01T00:00:00Z"}, `mocksmtp: -clock-start sets the start of the frozen clock: not with -clock real`},
		{"with MOCKSMTP_CLOCK=real", []string{"MOCKSMTP_CLOCK=real"}, []string{"-clock-start", "2026-01-01T00:00:00Z"}, `mocksmtp: -clock-start sets the start of the frozen clock: not with -clock real`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// On free ports, should it run.
			code, _, stderr := runOnce(t, tt.env, append([]string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%.2000s\nwant exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// A move of 0 is no move: a suite that mirrors its fake timers' moves
// one to one (a backoff of 0, jest.advanceTimersByTime(0)) sends it as
// any other, and gets the clock as it stands, unmoved; a session's
// transcript notes no move. A negative move is still refused.
func TestClockAdvanceByZeroIsNoMove(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen")
	putFaults(t, p, `[{"at": "MAIL", "delay": "1m"}]`)
	_, done := dialMail(t, p)
	x := waitClock(t, p, "1").Now
	for _, by := range []string{"0s", "0", "0ns", "-0s", "0h0m0s"} {
		var c clockJSON
		postJSON(t, p, "POST", "/api/clock/advance", `{"by": "`+by+`"}`, 200, &c)
		if !c.Now.Equal(x) || c.Offset != 0 || c.Waits != 1 || c.Mode != "frozen" {
			t.Errorf("POST /api/clock/advance by %q: %+v, want the clock unmoved at %v with the delay in progress", by, c, x)
		}
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	for _, l := range s.Transcript {
		if strings.Contains(l.Text, "clock moved") {
			t.Errorf("a move of 0 noted in the transcript: %q", l.Text)
		}
	}
	moved := time.Now()
	advance(t, p, "1m")
	mailAfter(t, done, moved)
	for _, body := range []string{`{"by": "-1ns"}`, `{"by": "-0.5s"}`} {
		res, b := do(t, p, "POST", "/api/clock/advance", body)
		if res.StatusCode != 400 || !strings.Contains(string(b), "is negative: the clock never goes back") {
			t.Errorf("POST %s: %d %s, want 400", body, res.StatusCode, b)
		}
	}
}

// rfc3339 is the date-time of RFC 3339 5.6 as -clock-start takes it: T
// or a space, any case, at most 9 digits of fractional seconds, no leap
// second (Go's time has none).
var rfc3339 = regexp.MustCompile(`(?i)^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

// parseClockStart takes RFC 3339 times only, and reads each back as it
// was given: the same wall clock in the same offset.
func FuzzClockStart(f *testing.F) {
	for _, s := range []string{
		"2026-01-01T00:00:00Z", "2026-01-01t09:30:00.75+09:00", "2026-01-01 00:00:00-00:00", "1970-01-01T00:00:00-05:00",
		"2026-01-01T9:00:00Z", "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00,1234567891Z", "2026-01-01T00:00:00+05:60",
		"2026-01-01T00:00:00+24:00", "2016-12-31T23:59:60Z", "2026-01-01", "2026-01-01T00:00:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseClockStart(s)
		if err != nil {
			return
		}
		if !rfc3339.MatchString(s) {
			t.Fatalf("parseClockStart(%q) = %v, want an error: no RFC 3339 time", s, got)
		}
		wall := strings.ToUpper(s[:10] + "T" + s[11:19])
		_, off := got.Zone()
		wantOff := 0
		if z := s[len(s)-6:]; z[0] == '+' || z[0] == '-' {
			h, m := int(z[1]-'0')*10+int(z[2]-'0'), int(z[4]-'0')*10+int(z[5]-'0')
			wantOff = (h*60 + m) * 60
			if z[0] == '-' {
				wantOff = -wantOff
			}
		}
		if got.Format("2006-01-02T15:04:05") != wall || off != wantOff {
			t.Fatalf("parseClockStart(%q) = %v, want %s at the offset %ds", s, got, wall, wantOff)
		}
	})
}

// The Exchange greeting says the server's time when it goes out: after a
// delay at the greeting that a move of the clock ended, the end of the
// delay, when the server counts that the reply went out (as a greylist
// counts its 451's); what the move went past it counts for the
// session's next wait.
func TestClockStartExchangeGreetingAfterADelay(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-persona", "exchange", "-clock-start", "2026-01-01T00:00:00Z")
	putFaults(t, p, `[{"at": "greeting", "delay": "5m"}]`)
	c, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitClock(t, p, "1")
	moved := advance(t, p, "7m")
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	want := "220 localhost Microsoft ESMTP MAIL Service ready at " + moved.Now.Add(-2*time.Minute).Format(time.RFC1123Z) + "\r\n"
	if line != want {
		t.Errorf("greeting after a delay of 5m ended by a move of 7m: %q, want %q (the end of the delay)", line, want)
	}
}
