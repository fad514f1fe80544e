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
	c := dialSMTP(t, p)
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
	// The 408 says what the session waits for instead: the idle time,
	// which "waits" and "waitList" leave out (they are the delays').
	other := "; waits of other kinds: session 1 is in an idleReply wait, which ends at " + idle.WaitList[0].Ends.Format(time.RFC3339Nano) + " on the clock, "
	for _, q := range []string{"kind=delay", "session=1&kind=delay&kind=trickle"} {
		getJSON(t, p, "/api/wait/clock?timeout=50ms&"+q, 408, &timedOut)
		if !strings.Contains(timedOut.Error, other) || timedOut.Clock.Waits != 0 || len(timedOut.Clock.WaitList) != 0 {
			t.Errorf("408 of the wait for a delay (%s) during the idle time: %q, %+v; want it to say %q..., and no waits", q, timedOut.Error, timedOut.Clock, other)
		}
	}
	getJSON(t, p, "/api/wait/clock?timeout=50ms&session=2&kind=delay", 408, &timedOut)
	if strings.Contains(timedOut.Error, "waits of other kinds") {
		t.Errorf("408 of the wait for session 2's delay names the waits of session 1: %q", timedOut.Error)
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

// A move's answer is one instant: "waitList" lists the waits that
// "waits" counts, those the move left, not the next pause of a paced
// reply that began once the move had ended the one before it. A reply
// of 64 octets trickled one octet an hour: each move of an hour ends a
// pause, and the session begins the next at once; 30 moves, each of
// which answers no wait left and lists none.
func TestClockMoveListsTheWaitsItCounts(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "NOOP", "reply": "250 2.0.0 `+strings.Repeat("o", 52)+`", "trickle": {"n": 1, "every": "1h"}}]`)
	conn, r := dialGreeted(t, p)
	if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		t.Fatalf("the first octet of NOOP's trickle: %v", err)
	}
	for i := range 30 { // of 63 pauses
		getJSON(t, p, "/api/wait/clock?kind=trickle&timeout=10s", 200, new(clockJSON))
		if moved := advance(t, p, "1h"); moved.Waits != 0 || len(moved.WaitList) != 0 {
			t.Fatalf("move %d past a pause of the trickle answered %d waits and listed %q, want none left", i+1, moved.Waits, waitsOf(moved))
		}
	}
}

// The answer of a wait on the clock is the clock at one instant, that
// of the waits it saw: each listed wait's "left" is its "ends" less the
// answer's "now", to the nanosecond, as in GET /api/clock's, so that a
// move that came after the wait saw them does not show as a "now" past
// the end of a wait listed as in progress.
func TestClockWaitAnswersOneInstant(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "NOOP", "delay": "1h"}]`)
	c := dialSMTP(t, p)
	done := make(chan error, 1)
	go func() { done <- c.Noop() }()
	for _, path := range []string{"/api/wait/clock?kind=delay&timeout=10s", "/api/clock"} {
		var got clockJSON
		getJSON(t, p, path, 200, &got)
		if len(got.WaitList) != 1 {
			t.Fatalf("GET %s: %q, want the delay", path, waitsOf(got))
		}
		if w := got.WaitList[0]; time.Duration(w.Left) != w.Ends.Sub(got.Now) {
			t.Errorf("GET %s: the delay ends %v with %v left, at now %v: %v before its end", path, w.Ends, time.Duration(w.Left), got.Now, w.Ends.Sub(got.Now))
		}
	}
	advance(t, p, "1h")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("NOOP after the move past its delay: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock passed the end of the delay at NOOP, and the client got no reply within 10 s")
	}
}
