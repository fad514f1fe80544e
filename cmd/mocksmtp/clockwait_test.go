package main

import (
	"io"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// waitClock waits (GET /api/wait/clock) until n waits on the program's
// clock are in progress, and returns the clock it answers.
func waitClock(t *testing.T, p *proc, n string) clockJSON {
	t.Helper()
	var c clockJSON
	getJSON(t, p, "/api/wait/clock?count="+n+"&timeout=10s", 200, &c)
	return c
}

// The suite's test of a slow server at DATA, on a fake clock: a client
// sends MAIL and RCPT, then DATA, whose 354 a fault delays an hour. The
// suite cannot know when the server has read DATA and begun the delay,
// and a move of the clock before that counts toward the wait for the
// client, not the delay: it waits for the server's wait on the clock
// (GET /api/wait/clock), then moves the clock an hour, and the client
// gets its 354 and delivers. No sleep, no polling of the transcript.
func TestClockWaitThenMoveEndsADelayAtData(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "DATA", "delay": "1h"}]`)
	c := dialSMTP(t, p)
	if err := c.Hello("app.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := c.Data() // its 354 comes after the delay
		if err == nil {
			_, err = io.WriteString(w, "Subject: slow\r\n\r\nbody\r\n")
		}
		if err == nil {
			err = w.Close()
		}
		done <- err
	}()
	if got := waitClock(t, p, "1"); got.Waits != 1 || got.Offset != 0 {
		t.Fatalf("GET /api/wait/clock: %+v, want 1 wait and the clock not moved", got)
	}
	select {
	case err := <-done:
		t.Fatalf("DATA ended before the clock moved, within a delay of 1h: %v", err)
	default:
	}
	if got := advance(t, p, "1h"); got.Waits != 0 {
		t.Errorf("the move past the delay's end answered %d waits in progress, want 0: it ended the delay", got.Waits)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("DATA after the clock passed the delay: %v, want 354 and then 250", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock passed the end of the delay at DATA, and the client got no 354 within 10 s")
	}
	var ms []messageJSON
	getJSON(t, p, "/api/wait?count=1&timeout=10s", 200, &ms)
	lines := waitLine(t, p, "1", "354 ")
	var got []string
	for _, l := range lines {
		if l.Dir == "*" || strings.HasPrefix(l.Text, "354 ") {
			got = append(got, l.Dir+": "+l.Text)
		}
		if strings.HasPrefix(l.Text, "354 ") {
			break
		}
	}
	want := []string{"*: fault PUT /api/faults:1: DATA attempt 1 → delay 1h0m0s", "*: clock moved ahead 1h0m0s (1h0m0s in all)", "S: 354 End data with <CR><LF>.<CR><LF>"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the transcript's notes and 354:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With nothing waiting on the clock, the wait times out with 408, and
// says what it waited for, what it saw, and where each open session
// stands; with one wait in progress, a wait for two says it saw one.
func TestClockWaitTimesOutWhenNothingWaits(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	var timedOut clockWaitTimeoutJSON
	getJSON(t, p, "/api/wait/clock?timeout=20ms", 408, &timedOut)
	if want := "waited 20ms for 1 wait on the clock in progress (" + clockWaitsAre + "), and 0 is; 0 sessions open"; timedOut.Error != want || timedOut.Clock.Waits != 0 {
		t.Errorf("408 with no session: %q, %+v, want %q and 0 waits", timedOut.Error, timedOut.Clock, want)
	}

	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}]`)
	idle, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO idle.example", 250)
	getJSON(t, p, "/api/wait/clock?timeout=20ms", 408, &timedOut)
	if !strings.Contains(timedOut.Error, "and 0 is; 1 session open, where each stands:\nsession 1 ") ||
		!strings.Contains(timedOut.Error, "C: EHLO idle.example") {
		t.Errorf("408 with a session waiting for its client: %q, want its transcript", timedOut.Error)
	}
	if _, err := idle.Write([]byte("MAIL FROM:<app@example.com>\r\n")); err != nil {
		t.Fatal(err)
	}
	waitClock(t, p, "1")
	getJSON(t, p, "/api/wait/clock?count=2&timeout=20ms", 408, &timedOut)
	if !strings.Contains(timedOut.Error, "waited 20ms for 2 waits on the clock in progress (") ||
		!strings.Contains(timedOut.Error, "and 1 is; 1 session open") || !strings.Contains(timedOut.Error, "MAIL attempt 1 → delay 1h0m0s") ||
		timedOut.Clock.Waits != 1 {
		t.Errorf("408 of a wait for 2 with 1 in progress: %q, %+v", timedOut.Error, timedOut.Clock)
	}
	var c clockJSON
	if getJSON(t, p, "/api/clock", 200, &c); c.Waits != 1 {
		t.Errorf("GET /api/clock during the delay: %+v, want 1 wait", c)
	}
	// count=0 is met at once.
	if got := waitClock(t, p, "0"); got.Waits != 1 {
		t.Errorf("count=0: %+v", got)
	}
	for _, q := range []string{"count=x", "count=-1", "timeout=x", "timeout=-1s", "timeout=1000h", "since=1"} {
		res, b := do(t, p, "GET", "/api/wait/clock?"+q, "")
		if res.StatusCode != 400 {
			t.Errorf("GET /api/wait/clock?%s: %d %s, want 400", q, res.StatusCode, b)
		}
	}
	if res, b := do(t, p, "POST", "/api/wait/clock", `{}`); res.StatusCode != 405 {
		t.Errorf("POST /api/wait/clock: %d %s, want 405", res.StatusCode, b)
	}
}

// A wait on the clock stops counting when it ends: when the client
// leaves during a delay, and once the client sends its command during an
// idleReply's time; a wait that the clock passes stops counting before
// the move's answer (TestClockWaitThenMoveEndsADelayAtData).
func TestClockWaitsEndWithTheirWait(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}, {"at": "HELO", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle"}}]`)

	// The client leaves during the delay.
	gone, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	if _, err := gone.Write([]byte("MAIL FROM:<app@example.com>\r\n")); err != nil {
		t.Fatal(err)
	}
	waitClock(t, p, "1")
	gone.Close()
	var s sessionJSON
	getJSON(t, p, "/api/wait/sessions/1?timeout=10s", 200, &s)
	var c clockJSON
	if getJSON(t, p, "/api/clock", 200, &c); c.Waits != 0 {
		t.Errorf("after the client left during the delay: %d waits, want 0", c.Waits)
	}

	// The idle time runs while the server waits for the command after
	// HELO's reply, and ends with the command.
	conn, r := dialGreeted(t, p)
	if _, err := conn.Write([]byte("HELO app.example\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 ") {
		t.Fatalf("HELO: %q, %v", line, err)
	}
	waitClock(t, p, "1")
	if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 ") {
		t.Fatalf("NOOP within the idle time: %q, %v", line, err)
	}
	if getJSON(t, p, "/api/clock", 200, &c); c.Waits != 0 {
		t.Errorf("after the command that ended the idle time: %d waits, want 0", c.Waits)
	}
}

// A paced reply's pauses are waits, one at a time: a suite that waits
// for each and moves the clock by one pause reads the reply part by
// part. The move's answer no longer counts the pause it ended, so the
// next wait returns only once the next pause has begun.
func TestClockWaitForEachPauseOfATrickle(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "NOOP", "trickle": {"n": 4, "every": "1h"}}]`)
	conn, r := dialGreeted(t, p)
	if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	// "250 2.0.0 Ok\r\n": four parts, three pauses of an hour.
	var got []string
	for _, want := range []string{"250 ", "2.0.", "0 Ok", "\r\n"} {
		part := make([]byte, len(want))
		if _, err := io.ReadFull(r, part); err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(part))
		if want == "\r\n" {
			break
		}
		waitClock(t, p, "1")
		if c := advance(t, p, "1h"); c.Waits != 0 {
			t.Errorf("the move past pause %d answered %d waits", len(got), c.Waits)
		}
	}
	if strings.Join(got, "|") != "250 |2.0.|0 Ok|\r\n" {
		t.Errorf("the parts: %q", got)
	}
}

// Each session says when it started on the faults' clock (clockStart),
// so that a suite asserts the spacing of a client's retries in fake
// time, as a Go test in a synctest bubble reads it from Start: a retry
// that the suite's clock, and the server's, moved 5m after a greylisted
// attempt started 5m later (and the real time between them), though
// its real start was milliseconds later.
func TestClockStartOfSessions(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"greylistFor": "5m"}]`)
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	send := func() error {
		return smtp.SendMail(p.smtp, nil, "app@example.com", []string{"bob@example.com"}, msg)
	}
	if err := send(); smtpCode(err) != 451 {
		t.Fatalf("first attempt: %v, want 451", err)
	}
	advance(t, p, "5m")
	if err := send(); err != nil {
		t.Fatalf("the retry 5m later: %v", err)
	}
	var ss []sessionJSON
	getJSON(t, p, "/api/wait/sessions?count=2&timeout=10s", 200, &ss)
	if len(ss) != 2 || ss[0].ClockStart == nil || ss[1].ClockStart == nil {
		t.Fatalf("sessions: %+v, want 2 with clockStart", ss)
	}
	real := ss[1].Start.Sub(ss[0].Start)
	if d := ss[1].ClockStart.Sub(*ss[0].ClockStart); d != 5*time.Minute+real {
		t.Errorf("the retry started %v after the first attempt on the clock, want 5m0s and the real %v between them", d, real)
	}
	if !ss[0].ClockStart.Equal(ss[0].Start) {
		t.Errorf("before any move, clockStart %v, want start %v", ss[0].ClockStart, ss[0].Start)
	}
	var one sessionJSON
	getJSON(t, p, "/api/sessions/2", 200, &one)
	if one.ClockStart == nil || !one.ClockStart.Equal(*ss[1].ClockStart) {
		t.Errorf("GET /api/sessions/2: clockStart %v, want %v", one.ClockStart, ss[1].ClockStart)
	}
}

// An idleReply's time that PUT /api/faults, DELETE /api/faults or DELETE
// /api/messages did away with (the session is no longer closed at its
// end) is no wait of the server any more, and stops counting at once:
// else the next test of a suite that shares the program, waiting for
// its own delay (count=1), would return on the old session's idle time,
// before its delay had begun, and its move would not end the delay.
func TestClockWaitsEndWhenTheScriptDoesAwayWithAnIdleTime(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	idleFault := `[{"at": "HELO", "idleReply": {"after": "1h", "code": 421, "text": "4.4.2 idle"}}]`
	for _, rearm := range []struct{ method, path, body string }{
		{"PUT", "/api/faults", `[{"at": "MAIL", "delay": "1h"}]`},
		{"DELETE", "/api/faults", ""},
		{"DELETE", "/api/messages", ""},
	} {
		putFaults(t, p, idleFault)
		_, expect := dialExpect(t, p.smtp)
		expect("", 220)
		expect("HELO app.example", 250)
		if got := waitClock(t, p, "1"); got.Waits != 1 {
			t.Fatalf("the idle time: %d waits, want 1", got.Waits)
		}
		if res, b := do(t, p, rearm.method, rearm.path, rearm.body); res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", rearm.method, rearm.path, res.StatusCode, b)
		}
		var c clockJSON
		if getJSON(t, p, "/api/clock", 200, &c); c.Waits != 0 {
			t.Errorf("after %s %s ended the idle time: %d waits in progress, want 0", rearm.method, rearm.path, c.Waits)
		}
		// The session goes on as without the fault, past the end of
		// its idle time.
		advance(t, p, "2h")
		expect("NOOP", 250)
	}
}

// A fault script that slows every RCPT down before greylisting, on the
// suite's fake clock: the delay decides nothing, so greylisting, after it
// in the script, still sees the pair and refuses it, once the clock has
// passed the delay, as the Go API's script does.
func TestClockDelayDoesNotHideGreylistingAfterIt(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "RCPT", "delay": "1h"}, {"greylist": true}]`)
	c := dialSMTP(t, p)
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Rcpt("bob@example.com") }() // its reply comes after the delay
	waitClock(t, p, "1")
	advance(t, p, "1h")
	select {
	case err := <-done:
		if smtpCode(err) != 451 {
			t.Fatalf("RCPT after the delay: %v, want 451 from greylisting", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock passed the end of the delay at RCPT, and the client got no reply within 10 s")
	}
	var got []string
	for _, l := range waitLine(t, p, "1", "451 ") {
		if l.Dir == "*" && strings.HasPrefix(l.Text, "fault ") {
			got = append(got, l.Text)
		}
	}
	want := []string{
		"fault PUT /api/faults:1: RCPT attempt 1 → delay 1h0m0s",
		"fault PUT /api/faults:1: RCPT attempt 1 → 451 4.7.1 Greylisted, please try again later (greylist)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the transcript's fault notes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
