package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"strconv"
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
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
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

// sessionOf returns the ID of the session of the client conn, as a suite
// finds it: the session whose remoteAddr is the client's own address.
func sessionOf(t *testing.T, p *proc, conn net.Conn) int {
	t.Helper()
	var ss []sessionJSON
	getJSON(t, p, "/api/sessions", 200, &ss)
	for _, s := range ss {
		if s.RemoteAddr == conn.LocalAddr().String() {
			return s.ID
		}
	}
	t.Fatalf("no session of the client %s in %+v", conn.LocalAddr(), ss)
	return 0
}

// waitsOf returns the waits of a clock's waitList as "session kind".
func waitsOf(c clockJSON) []string {
	var out []string
	for _, w := range c.WaitList {
		out = append(out, fmt.Sprintf("%d %s", w.Session, w.Kind))
	}
	return out
}

// A delay at MAIL after an idleReply at HELO: while the server waits for
// the client's MAIL, the idle time is a wait on the clock, and a suite
// that waited for any wait (count=1) would move the clock on it, ending
// the idle time (the client's 421) instead of the delay. With kind=delay
// the wait returns only once the delay has begun, after the server read
// MAIL (which ended the idle time), and the move ends the delay: the
// client gets its 250.
func TestClockWaitForADelayIsNotTheIdleTimeBeforeIt(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "HELO", "idleReply": {"after": "1h", "code": 421, "text": "4.4.2 idle"}},
		{"at": "MAIL", "delay": "1h"}]`)
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("app.example"); err != nil {
		t.Fatal(err)
	}
	// The idle time runs: it is no delay.
	var idle clockJSON
	getJSON(t, p, "/api/wait/clock?kind=idleReply&timeout=10s", 200, &idle)
	if got := strings.Join(waitsOf(idle), ", "); got != "1 idleReply" {
		t.Errorf("the wait for the idle time listed %q, want \"1 idleReply\"", got)
	}
	var timedOut clockWaitTimeoutJSON
	getJSON(t, p, "/api/wait/clock?kind=delay&timeout=50ms", 408, &timedOut)
	if want := "waited 50ms for 1 wait on the clock of kind delay in progress ("; !strings.HasPrefix(timedOut.Error, want) ||
		timedOut.Clock.Waits != 0 || len(timedOut.Clock.WaitList) != 0 {
		t.Errorf("408 of the wait for a delay during the idle time: %q, %+v, want %q... and no waits", timedOut.Error, timedOut.Clock, want)
	}
	done := make(chan error, 1)
	go func() { done <- c.Mail("app@example.com") }() // its 250 comes after the delay
	var delay clockJSON
	getJSON(t, p, "/api/wait/clock?kind=delay&timeout=10s", 200, &delay)
	if got := strings.Join(waitsOf(delay), ", "); delay.Waits != 1 || got != "1 delay" {
		t.Errorf("the wait for the delay: %d waits, %q, want 1, \"1 delay\"", delay.Waits, got)
	}
	if got := advance(t, p, "1h"); got.Waits != 0 {
		t.Errorf("the move past the delay answered %d waits in progress (%q), want 0", got.Waits, waitsOf(got))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("MAIL after the move: %v, want 250 (the move ended the delay, not the idle time)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock passed the end of the delay at MAIL, and the client got no reply within 10 s")
	}
}

// Two tests share the program, each with a client of its own: each
// waits for its own session's delay (session=ID, the ID GET
// /api/sessions gives for its client's address), not for the other's,
// which a wait for any wait (count=1) returns on.
func TestClockWaitForOneSessionIsNotAnothers(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}]`)
	mail := func() (*smtp.Client, int, chan error) {
		conn, err := net.Dial("tcp", p.smtp)
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Hello("app.example"); err != nil {
			t.Fatal(err)
		}
		return c, sessionOf(t, p, conn), make(chan error, 1)
	}
	first, firstID, firstDone := mail()
	second, secondID, secondDone := mail()

	go func() { firstDone <- first.Mail("first@example.com") }()
	var got clockJSON
	getJSON(t, p, fmt.Sprintf("/api/wait/clock?session=%d&timeout=10s", firstID), 200, &got)
	if want := fmt.Sprintf("%d delay", firstID); strings.Join(waitsOf(got), ", ") != want {
		t.Errorf("the first session's wait: %q, want %q", waitsOf(got), want)
	}
	// The first session's delay is no wait of the second.
	var timedOut clockWaitTimeoutJSON
	getJSON(t, p, fmt.Sprintf("/api/wait/clock?session=%d&timeout=50ms", secondID), 408, &timedOut)
	if want := fmt.Sprintf("waited 50ms for 1 wait on the clock of session %d in progress (", secondID); !strings.HasPrefix(timedOut.Error, want) ||
		!strings.Contains(timedOut.Error, "and 0 is; 1 session open, where each stands:\nsession "+strconv.Itoa(secondID)+" ") ||
		timedOut.Clock.Waits != 0 || len(timedOut.Clock.WaitList) != 0 {
		t.Errorf("408 of the second session's wait during the first's delay: %q, %+v, want %q..., its transcript and no waits", timedOut.Error, timedOut.Clock, want)
	}
	go func() { secondDone <- second.Mail("second@example.com") }()
	getJSON(t, p, fmt.Sprintf("/api/wait/clock?session=%d&kind=delay&timeout=10s", secondID), 200, &got)
	if want := fmt.Sprintf("%d delay", secondID); got.Waits != 1 || strings.Join(waitsOf(got), ", ") != want {
		t.Errorf("the second session's wait: %d, %q, want 1, %q", got.Waits, waitsOf(got), want)
	}
	// Both, in the order of their ends: the first began first.
	var c clockJSON
	getJSON(t, p, "/api/clock", 200, &c)
	if want := fmt.Sprintf("%d delay, %d delay", firstID, secondID); c.Waits != 2 || strings.Join(waitsOf(c), ", ") != want {
		t.Errorf("GET /api/clock: %d waits, %q, want 2, %q", c.Waits, waitsOf(c), want)
	}
	// A wait for either session counts both.
	getJSON(t, p, fmt.Sprintf("/api/wait/clock?session=%d&session=%d&count=2&timeout=10s", secondID, firstID), 200, &got)
	if got.Waits != 2 {
		t.Errorf("the wait for both sessions: %+v, want 2 waits", got)
	}
	advance(t, p, "1h")
	for _, done := range []<-chan error{firstDone, secondDone} {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("MAIL after the move: %v, want 250", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the clock passed the end of the delays, and a client got no reply within 10 s")
		}
	}
}

// The clock lists its waits: the session that waits, the kind (the
// fault field that makes it wait), when it ends on the clock and how
// long until then, in the order of their ends; a move's answer lists
// those it left, their time left shorter by the move; kind= counts the
// waits of the kinds it names.
func TestClockListsItsWaits(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "HELO", "idleReply": {"after": "1h", "code": 421, "text": "4.4.2 idle"}},
		{"at": "NOOP", "trickle": {"n": 4, "every": "1h"}},
		{"at": "RSET", "splitReply": {"at": 4, "pause": "1h"}},
		{"at": "MAIL", "delay": "1h"}]`)
	var c clockJSON
	if getJSON(t, p, "/api/clock", 200, &c); c.Waits != 0 || c.WaitList == nil || len(c.WaitList) != 0 {
		t.Errorf("GET /api/clock with no wait: %d waits, list %#v, want 0 and []", c.Waits, c.WaitList)
	}
	_, helo := dialExpect(t, p.smtp)
	helo("", 220)
	helo("HELO app.example", 250)
	waitClock(t, p, "1")
	noop, noopReader := dialGreeted(t, p)
	if _, err := noop.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if part, err := io.ReadFull(noopReader, make([]byte, 4)); err != nil {
		t.Fatalf("the first part of NOOP's trickle: %d, %v", part, err)
	}
	waitClock(t, p, "2")
	rset, rsetReader := dialGreeted(t, p)
	if _, err := rset.Write([]byte("RSET\r\n")); err != nil {
		t.Fatal(err)
	}
	if part, err := io.ReadFull(rsetReader, make([]byte, 4)); err != nil {
		t.Fatalf("the first part of RSET's split reply: %d, %v", part, err)
	}
	waitClock(t, p, "3")
	mail, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	if _, err := mail.Write([]byte("MAIL FROM:<app@example.com>\r\n")); err != nil {
		t.Fatal(err)
	}
	getJSON(t, p, "/api/wait/clock?kind=delay&timeout=10s", 200, &c)

	getJSON(t, p, "/api/clock", 200, &c)
	if want := "1 idleReply, 2 trickle, 3 splitReply, 4 delay"; c.Waits != 4 || strings.Join(waitsOf(c), ", ") != want {
		t.Fatalf("GET /api/clock: %d waits, %q, want 4: %s", c.Waits, waitsOf(c), want)
	}
	for i, w := range c.WaitList {
		if left := w.Ends.Sub(c.Now); time.Duration(w.Left) > time.Hour || time.Duration(w.Left) < left-time.Second || time.Duration(w.Left) > left+time.Second {
			t.Errorf("wait %d: left %v, ends %v, now %v: want left at most 1h, ends - now", i, time.Duration(w.Left), w.Ends, c.Now)
		}
		if i > 0 && !c.WaitList[i-1].Ends.Before(w.Ends) {
			t.Errorf("wait %d ends %v, not after the one before it, %v", i, w.Ends, c.WaitList[i-1].Ends)
		}
	}
	moved := advance(t, p, "30m")
	if got := strings.Join(waitsOf(moved), ", "); moved.Waits != 4 || got != strings.Join(waitsOf(c), ", ") {
		t.Fatalf("the move's answer: %d waits, %q, want them all", moved.Waits, got)
	}
	for i, w := range moved.WaitList {
		if !w.Ends.Equal(c.WaitList[i].Ends) || time.Duration(w.Left) > 30*time.Minute {
			t.Errorf("wait %d after a move of 30m: ends %v, left %v, want it to end at %v, at most 30m left", i, w.Ends, time.Duration(w.Left), c.WaitList[i].Ends)
		}
	}
	var paced clockJSON
	getJSON(t, p, "/api/wait/clock?kind=trickle&kind=splitReply&count=2&timeout=10s", 200, &paced)
	if got := strings.Join(waitsOf(paced), ", "); paced.Waits != 2 || got != "2 trickle, 3 splitReply" {
		t.Errorf("the wait for the paced replies: %d, %q, want 2: 2 trickle, 3 splitReply", paced.Waits, got)
	}
}

// The filters of GET /api/wait/clock refuse what names no session and
// no kind of wait, with a 400 that says what to send.
func TestClockWaitRefusesBadFilters(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for _, tc := range []struct{ query, want string }{
		{"kind=bogus", `kind="bogus": ` + kindUsage},
		{"kind=delay,trickle", `kind="delay,trickle": ` + kindUsage},
		{"kind=Delay", `kind="Delay": ` + kindUsage},
		{"kind=", `kind="": ` + kindUsage},
		{"kind=delay&kind=stall", `kind="stall": ` + kindUsage},
		{"session=0", `session="0": ` + sessionUsage},
		{"session=x", `session="x": ` + sessionUsage},
		{"session=-1", `session="-1": ` + sessionUsage},
		{"session=01", `session="01": ` + sessionUsage},
		{"session=", `session="": ` + sessionUsage},
		{"session=1&session=99999999999999999999", `session="99999999999999999999": ` + sessionUsage},
		{"inbox=a-1.inbox.test", `unknown query parameter "inbox"`},
	} {
		res, b := do(t, p, "GET", "/api/wait/clock?timeout=10ms&"+tc.query, "")
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, tc.want) {
			t.Errorf("GET /api/wait/clock?%s: %d %s, want 400 with %q", tc.query, res.StatusCode, b, tc.want)
		}
	}
	// A session that has not started is no error: a suite may wait
	// before its client connects.
	var timedOut clockWaitTimeoutJSON
	getJSON(t, p, "/api/wait/clock?session=7&kind=delay&kind=idleReply&timeout=10ms", 408, &timedOut)
	if want := "waited 10ms for 1 wait on the clock of session 7, of kind delay, idleReply in progress ("; !strings.HasPrefix(timedOut.Error, want) {
		t.Errorf("408 of a session not started: %q, want %q...", timedOut.Error, want)
	}
}
